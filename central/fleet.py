"""The fleet view: every device with presence, last seen, content versions, health and last error.

A device is ``offline`` when its presence says so (its will, or a clean stop), ``stale`` when it
says it is online but nothing (no event, no presence) came for ``stale_after_s``, and ``never seen``
when ``stores.csv`` lists it and it has never connected.

``rejected`` is the last bundle the device refused (it kept its last good content): scope, version and
reasons; ``versions`` what it has applied (its health). ``restarts`` counts its boots after the first
(each start draws a new boot id) and ``crashes`` those that followed a boot that never said
``offline`` itself.

``refused`` is what head office refused from the device, by reason (``central.worker``): events
claiming another device, lookups asking for the answer elsewhere, without the shopper's proof, or
over the device's rate. A genuine device never causes any, so the view flags each one.

``till_refusals`` is what a store's till endpoint refused (``pos.http``, in the device's health report
under ``pos``): requests without a valid till key, and requests over a till's rate. A working till
causes none, so the view flags these too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from .content_files import Store
from .db import Database

TILL_REFUSALS = ("unauthorized", "rate_limited")


@dataclass(frozen=True)
class DeviceRow:
    store: str
    device: str
    status: str  # online | stale | offline | never seen
    last_seen: float | None
    versions: dict
    health: dict
    last_error: str | None
    refused: dict[str, int] = field(default_factory=dict)
    rejected: dict | None = None  # {"scope", "version", "reasons", "applied"}
    restarts: int = 0
    crashes: int = 0

    @property
    def till_refusals(self) -> dict[str, int]:
        counts = self.health.get("pos") or {}
        return {kind: counts[kind] for kind in TILL_REFUSALS if counts.get(kind)}


def record_presence(db: Database, store: str, device: str, doc: Mapping) -> None:
    """A device's presence message (``docs/protocol.md``): its state, and a start or a crash when its boot id
    is new."""
    state, boot = doc.get("state"), doc.get("boot_id")
    if state == "offline":
        # A will from an older boot must not mark a newer session offline. Only a clean stop says "clean".
        db.execute("UPDATE devices SET state = 'offline', presence_at = ?, clean_stop = ?"
                   " WHERE store = ? AND device = ? AND (boot_id IS NULL OR boot_id = ?)",
                   (doc.get("ts"), 1 if doc.get("clean") is True else 0, store, device, boot))
        return
    # A new boot id is a start; one after a boot that never said 'offline' itself is a crash (or a power cut):
    # its will came, or the restart beat the will's delay.
    db.execute(
        "INSERT INTO devices (store, device, state, boot_id, presence_at, last_seen, boots, crashes, clean_stop)"
        " VALUES (?, ?, ?, ?, ?, ?, 1, 0, 0)"
        " ON CONFLICT (store, device) DO UPDATE SET state = excluded.state, boot_id = excluded.boot_id,"
        f" presence_at = excluded.presence_at, last_seen = {db.dialect.greatest}("
        "coalesce(devices.last_seen, 0), excluded.last_seen),"
        " boots = coalesce(devices.boots, 0) + CASE WHEN devices.boot_id = excluded.boot_id THEN 0 ELSE 1 END,"
        " crashes = coalesce(devices.crashes, 0) + CASE WHEN devices.boot_id <> excluded.boot_id"
        " AND coalesce(devices.clean_stop, 0) = 0 THEN 1 ELSE 0 END,"
        " clean_stop = CASE WHEN devices.boot_id = excluded.boot_id THEN devices.clean_stop ELSE 0 END",
        (store, device, state, boot, doc.get("ts"), doc.get("ts") or 0))


def fleet(db: Database, *, now: float, stale_after_s: float, stores: list[Store] = ()) -> list[DeviceRow]:
    rows = {(s, d): rest for s, d, *rest in db.execute(
        "SELECT store, device, state, last_seen, health, last_error, rejected, boots, crashes FROM devices")}
    unknown = (None,) * 7
    refused: dict[tuple[str, str], dict[str, int]] = {}
    for s, d, reason, count in db.execute("SELECT store, device, reason, count FROM device_refusals"):
        refused.setdefault((s, d), {})[reason] = count
        rows.setdefault((s, d), unknown)
    for store in stores:
        for device in store.devices:
            rows.setdefault((store.store, device), unknown)
    out = []
    for (store, device), (state, seen, health, err, rejected, boots, crashes) in sorted(rows.items()):
        h = json.loads(health) if health else {}
        if seen is None:
            status = "never seen"
        elif state == "offline":
            status = "offline"
        elif now - seen > stale_after_s:
            status = "stale"
        else:
            status = "online"
        # The agent's health says what it applied; a signage player's, what it shows.
        versions = h.get("sync_state") or h.get("content_versions") or {}
        out.append(DeviceRow(store, device, status, seen, versions, h, err,
                             refused.get((store, device), {}), json.loads(rejected) if rejected else None,
                             max((boots or 0) - 1, 0), crashes or 0))
    return out


def format_fleet(rows: list[DeviceRow], *, now: float) -> str:
    lines = [f"{'store':<8} {'device':<14} {'status':<10} {'last seen':>10}  {'outbox':>6}  versions / last error"]
    for r in rows:
        ago = f"{int(now - r.last_seen)}s ago" if r.last_seen else "-"
        versions = " ".join(f"{k}=v{v}" for k, v in sorted(r.versions.items())) or "-"
        extra = f"{versions}" + (f"  ERROR: {r.last_error}" if r.last_error else "")
        if r.restarts or r.crashes:
            extra += f"  restarts={r.restarts} crashes={r.crashes}"
        if r.rejected:
            reasons = r.rejected.get("reasons") or ["?"]
            more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
            extra += f"  REJECTED {r.rejected.get('scope')} v{r.rejected.get('version')}: {reasons[0]}{more}"
        if r.refused:
            extra += "  REFUSED: " + " ".join(f"{reason}={n}" for reason, n in sorted(r.refused.items()))
        if r.till_refusals:
            extra += "  TILL REFUSED: " + " ".join(f"{kind}={n}" for kind, n in r.till_refusals.items())
        lines.append(f"{r.store:<8} {r.device:<14} {r.status:<10} {ago:>10}  {r.health.get('outbox_rows', '-'):>6}"
                     f"  {extra}")
    problems = [r for r in rows if r.status != "online"]
    lines.append(f"{len(rows)} device(s); {len(problems)} not online"
                 + (": " + ", ".join(f"{r.store}/{r.device} ({r.status})" for r in problems) if problems else ""))
    refusing = [r for r in rows if r.rejected and r.versions.get(r.rejected.get("scope"), 0)
                < (r.rejected.get("version") or 0)]  # not yet put right by a newer version
    if refusing:
        lines.append(f"{len(refusing)} device(s) refused content and kept their last good version: "
                     + ", ".join(f"{r.store}/{r.device} ({r.rejected.get('scope')} v{r.rejected.get('version')})"
                                 for r in refusing))
    suspects = [r for r in rows if r.refused]
    if suspects:
        lines.append(f"{len(suspects)} device(s) sent what head office refused: "
                     + ", ".join(f"{r.store}/{r.device} ({sum(r.refused.values())})" for r in suspects))
    doors = [r for r in rows if r.till_refusals]
    if doors:
        lines.append(f"{len(doors)} till endpoint(s) refused requests (a wrong key or too fast): "
                     + ", ".join(f"{r.store}/{r.device} ({sum(r.till_refusals.values())})" for r in doors))
    return "\n".join(lines)
