"""One device's past for the console's device page: its health reports over a window, and its recent events.

Events are shown by type and time, with a detail only for the device's own events (health, a refused bundle,
a failed command): a shopper's events carry personal data, which the device page has no reason to show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .db import Database

DETAIL_TYPES = ("health", "content_rejected", "command_result")


@dataclass(frozen=True)
class HealthPoint:
    at: float
    fps: float | None
    rss_bytes: int | None
    disk_free_bytes: int | None
    disk_used_bytes: int | None
    outbox_rows: int | None


@dataclass(frozen=True)
class DeviceEvent:
    at: float | None
    type: str
    seq: int
    detail: str


def health_history(db: Database, store: str, device: str, *, since: float, until: float) -> list[HealthPoint]:
    """The device's health reports from ``since`` to ``until``, oldest first."""
    return [HealthPoint(*r) for r in db.execute(
        "SELECT at, fps, rss_bytes, disk_free_bytes, disk_used_bytes, outbox_rows FROM device_health"
        " WHERE store = ? AND device = ? AND at >= ? AND at <= ? ORDER BY at", (store, device, since, until))]


def recent_events(db: Database, store: str, device: str, *, limit: int = 20) -> list[DeviceEvent]:
    """The device's newest events by its own clock."""
    rows = db.execute("SELECT wall_time, type, seq, body FROM events WHERE store = ? AND device = ?"
                      " ORDER BY wall_time DESC LIMIT ?", (store, device, limit))
    return [DeviceEvent(at, kind, seq, _detail(kind, body)) for at, kind, seq, body in rows]


def _detail(kind: str, body: str) -> str:
    if kind not in DETAIL_TYPES:
        return ""
    payload = json.loads(body).get("payload")
    if not isinstance(payload, dict):
        return ""
    if kind == "content_rejected":
        reasons = payload.get("reasons") or []
        return f"{payload.get('scope')} v{payload.get('version')}: {reasons[0] if reasons else 'no reason given'}"
    if kind == "command_result":
        return f"{payload.get('command', 'command')}: {payload.get('error') or 'ok'}"
    return f"outbox {payload.get('outbox_rows', '–')}" + (f", {payload['last_error']}" if payload.get("last_error")
                                                          else "")
