"""The fleet view: every device with presence, last seen, content versions, health and last error.

A device is ``offline`` when its presence says so (its will, or a clean stop), ``stale`` when it
says it is online but nothing (no event, no presence) came for ``stale_after_s``, and ``never seen``
when ``stores.csv`` lists it and it has never connected.

``refused`` is what head office refused from the device, by reason (``central.worker``): events
claiming another device, lookups asking for the answer elsewhere, without the shopper's proof, or
over the device's rate. A genuine device never causes any, so the view flags each one.

``till_refusals`` is what a store's till endpoint refused (``pos.http``, in the device's health report
under ``pos``): requests without a valid till key, and requests over a till's rate. A working till
causes none, so the view flags these too.
"""

from __future__ import annotations

import json
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

    @property
    def till_refusals(self) -> dict[str, int]:
        counts = self.health.get("pos") or {}
        return {kind: counts[kind] for kind in TILL_REFUSALS if counts.get(kind)}


def fleet(db: Database, *, now: float, stale_after_s: float, stores: list[Store] = ()) -> list[DeviceRow]:
    rows = {(s, d): (state, seen, health, err) for s, d, state, seen, health, err in db.execute(
        "SELECT store, device, state, last_seen, health, last_error FROM devices")}
    refused: dict[tuple[str, str], dict[str, int]] = {}
    for s, d, reason, count in db.execute("SELECT store, device, reason, count FROM device_refusals"):
        refused.setdefault((s, d), {})[reason] = count
        rows.setdefault((s, d), (None, None, None, None))
    for store in stores:
        for device in store.devices:
            rows.setdefault((store.store, device), (None, None, None, None))
    out = []
    for (store, device), (state, seen, health, err) in sorted(rows.items()):
        h = json.loads(health) if health else {}
        if seen is None:
            status = "never seen"
        elif state == "offline":
            status = "offline"
        elif now - seen > stale_after_s:
            status = "stale"
        else:
            status = "online"
        out.append(DeviceRow(store, device, status, seen, h.get("sync_state") or {}, h, err,
                             refused.get((store, device), {})))
    return out


def format_fleet(rows: list[DeviceRow], *, now: float) -> str:
    lines = [f"{'store':<8} {'device':<14} {'status':<10} {'last seen':>10}  {'outbox':>6}  versions / last error"]
    for r in rows:
        ago = f"{int(now - r.last_seen)}s ago" if r.last_seen else "-"
        versions = " ".join(f"{k}=v{v}" for k, v in sorted(r.versions.items())) or "-"
        extra = f"{versions}" + (f"  ERROR: {r.last_error}" if r.last_error else "")
        if r.refused:
            extra += "  REFUSED: " + " ".join(f"{reason}={n}" for reason, n in sorted(r.refused.items()))
        if r.till_refusals:
            extra += "  TILL REFUSED: " + " ".join(f"{kind}={n}" for kind, n in r.till_refusals.items())
        lines.append(f"{r.store:<8} {r.device:<14} {r.status:<10} {ago:>10}  {r.health.get('outbox_rows', '-'):>6}"
                     f"  {extra}")
    problems = [r for r in rows if r.status != "online"]
    lines.append(f"{len(rows)} device(s); {len(problems)} not online"
                 + (": " + ", ".join(f"{r.store}/{r.device} ({r.status})" for r in problems) if problems else ""))
    suspects = [r for r in rows if r.refused]
    if suspects:
        lines.append(f"{len(suspects)} device(s) sent what head office refused: "
                     + ", ".join(f"{r.store}/{r.device} ({sum(r.refused.values())})" for r in suspects))
    doors = [r for r in rows if r.till_refusals]
    if doors:
        lines.append(f"{len(doors)} till endpoint(s) refused requests (a wrong key or too fast): "
                     + ", ".join(f"{r.store}/{r.device} ({sum(r.till_refusals.values())})" for r in doors))
    return "\n".join(lines)
