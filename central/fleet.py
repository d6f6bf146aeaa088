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
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .content_files import Store, load_stores
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
    region: str | None = None  # from stores.csv
    kind: str = "other"  # device_kind(device)

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


# A device's kind by the start of its id, in any case (kiosk-1, tablet-1, signage-1 or sign-1): the one rule, in
# Python and in SQL.
KIND_PREFIXES = (("kiosk", "kiosk"), ("tablet", "tablet"), ("sign", "signage"))
KINDS = ("kiosk", "tablet", "signage", "other")
STATES = ("online", "stale", "offline", "never seen")


def device_kind(device: str) -> str:
    return next((kind for prefix, kind in KIND_PREFIXES if device.lower().startswith(prefix)), "other")


_KIND_SQL = "CASE " + " ".join(f"WHEN lower(d.device) LIKE '{prefix}%' THEN '{kind}'"
                               for prefix, kind in KIND_PREFIXES) + " ELSE 'other' END"
# Every device head office knows of is a row of ``devices``: seen (presence, events), or listed in stores.csv
# (set_roster adds those, never seen). One table, read in its key's order, so a page stops after its rows.
_DEVICES = f"""SELECT d.store, d.device, s.region, d.state, d.last_seen, d.health, d.last_error, d.rejected, d.boots,
    d.crashes, {_KIND_SQL} AS kind,
    CASE WHEN d.last_seen IS NULL THEN 'never seen' WHEN d.state = 'offline' THEN 'offline'
         WHEN ? - d.last_seen > ? THEN 'stale' ELSE 'online' END AS status
    FROM devices d LEFT JOIN fleet_stores s ON s.store = d.store"""


@dataclass(frozen=True)
class FleetFilter:
    """What the fleet page (and the CLI, with none) asks for; an empty value is no filter. ``stores``: only these
    stores (a store manager's), None for every store."""

    region: str = ""
    store: str = ""
    state: str = ""
    kind: str = ""
    stores: tuple[str, ...] | None = None

    def where(self, *, with_state: bool = True) -> tuple[str, list]:
        terms, params = [], []
        for column, value in (("region", self.region), ("store", self.store), ("kind", self.kind),
                              ("status", self.state if with_state else "")):  # columns of _DEVICES
            if value:
                terms.append(f"{column} = ?")
                params.append(value)
        if self.stores is not None:
            terms.append(f"store IN ({', '.join('?' for _ in self.stores)})" if self.stores else "false")
            params += self.stores
        return (" WHERE " + " AND ".join(terms)) if terms else "", params


@dataclass(frozen=True)
class FleetPage:
    rows: list[DeviceRow]
    total: int  # matching the whole filter
    counts: dict[str, int]  # by state, matching the filter


def set_roster(db: Database, stores: list[Store]) -> None:
    """The stores (with their regions) and devices ``stores.csv`` lists: a device listed and never seen is a row
    of ``devices`` without a last seen time, and goes when it is no longer listed."""
    listed = {(s.store, d) for s in stores for d in s.devices}
    with db.transaction():
        db.execute("DELETE FROM fleet_stores")
        db.copy_rows("fleet_stores", ("store", "region"), {s.store: (s.store, s.region) for s in stores}.values())
        unseen = set(db.execute("SELECT store, device FROM devices d WHERE last_seen IS NULL AND state IS NULL"
                                " AND health IS NULL AND NOT EXISTS (SELECT 1 FROM device_refusals r"
                                " WHERE r.store = d.store AND r.device = d.device)"))
        db.executemany("DELETE FROM devices WHERE store = ? AND device = ? AND last_seen IS NULL AND state IS NULL",
                       sorted(unseen - listed))
        db.executemany("INSERT INTO devices (store, device) VALUES (?, ?) ON CONFLICT DO NOTHING", sorted(listed))


class Roster:
    """``stores.csv`` as a long-running process sees it: read again only when the file changed (the console
    asks on each request; a stat costs nothing), and the fleet's roster kept in step with it."""

    def __init__(self, content_dir: str | Path):
        self.path = Path(content_dir) / "stores.csv"
        self._read: tuple[int, int] | None = None
        self._stores: list[Store] = []
        self._synced: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def _current(self) -> tuple[tuple[int, int], list[Store]] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        with self._lock:
            if self._read != (st.st_mtime_ns, st.st_size):
                self._stores = load_stores(self.path.parent)
                self._read = (st.st_mtime_ns, st.st_size)
            return self._read, list(self._stores)

    def stores(self) -> list[Store]:
        """Head office's stores; none when ``stores.csv`` is not there yet."""
        current = self._current()
        return current[1] if current else []

    def refresh(self, db: Database) -> None:
        current = self._current()
        if current is None:
            return  # no stores.csv: the fleet is the devices seen
        version, stores = current
        with self._lock:
            if self._synced != version:
                set_roster(db, stores)
                self._synced = version


def find_devices(db: Database, *, now: float, stale_after_s: float, where: FleetFilter = FleetFilter(),
                 limit: int | None = None, offset: int = 0) -> FleetPage:
    """The devices matching ``where``, by store and device, ``limit`` from ``offset``; filtered, counted and
    paged in SQL, so a page of a 25,000-device fleet reads 50 rows (benchmarks/console_bench.py)."""
    clause, params = where.where(with_state=False)
    per_state = ", ".join(f"count(*) FILTER (WHERE status = '{state}')" for state in STATES)  # one pass, no hash
    counts = dict(zip(STATES, db.query_one(f"SELECT {per_state} FROM ({_DEVICES}) f{clause}",
                                           (now, stale_after_s, *params)), strict=True))
    counts = {state: n for state, n in counts.items() if n}
    if where.state:
        counts = {where.state: counts.get(where.state, 0)}
    clause, params = where.where()
    page = " LIMIT ? OFFSET ?" if limit is not None else ""
    found = db.execute(f"SELECT * FROM ({_DEVICES}) f{clause} ORDER BY store, device{page}",
                       (now, stale_after_s, *params, *((limit, offset) if limit is not None else ())))
    refused: dict[tuple[str, str], dict[str, int]] = {}
    if found:
        keys = {(r[0], r[1]) for r in found}
        stores = sorted({s for s, _ in keys})
        for s, d, reason, count in db.execute("SELECT store, device, reason, count FROM device_refusals WHERE store"
                                              f" IN ({', '.join('?' for _ in stores)})", stores):
            if (s, d) in keys:
                refused.setdefault((s, d), {})[reason] = count
    rows = []
    for store, device, region, _state, seen, health, err, rejected, boots, crashes, kind, status in found:
        h = json.loads(health) if health else {}
        # The agent's health says what it applied; a signage player's, what it shows.
        versions = h.get("sync_state") or h.get("content_versions") or {}
        rows.append(DeviceRow(store, device, status, seen, versions, h, err, refused.get((store, device), {}),
                              json.loads(rejected) if rejected else None, max((boots or 0) - 1, 0), crashes or 0,
                              region, kind))
    return FleetPage(rows, sum(counts.values()), counts)


def store_names(db: Database, stores: tuple[str, ...] | None = None, *, limit: int | None = None) -> list[str] | None:
    """Every store on the roster or with a device seen; only ``stores`` when given (a store manager's). None when
    the roster lists more than ``limit`` (a list that long is no help to a person, and costs every page)."""
    if stores is None and limit is not None and db.scalar("SELECT count(*) FROM fleet_stores") > limit:
        return None
    names = {s for (s,) in db.execute("SELECT store FROM fleet_stores UNION SELECT store FROM devices")}
    return sorted(names if stores is None else names & set(stores))


def region_names(db: Database, stores: tuple[str, ...] | None = None) -> list[str]:
    """The regions of the roster's stores (of ``stores`` only, when given)."""
    return sorted({region for store, region in db.execute("SELECT store, region FROM fleet_stores")
                   if stores is None or store in stores})


def fleet(db: Database, *, now: float, stale_after_s: float, stores: list[Store] = ()) -> list[DeviceRow]:
    """Every device (the CLI's ``fleet``); ``stores``, when given, replaces the roster first."""
    if stores:
        set_roster(db, list(stores))
    return find_devices(db, now=now, stale_after_s=stale_after_s).rows


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
