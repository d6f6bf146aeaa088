"""Events in: store each once (dedupe by event id), and feed what they say to the rest of the store.

A batch is bulk-loaded into a staging table (COPY on PostgreSQL) and moved into ``events`` with
``INSERT ... SELECT ... ON CONFLICT (id, wall_time) DO NOTHING RETURNING id``: the ids that come
back are the events seen for the first time, and only those feed the derived tables, in the same
transaction. So a duplicate (a device resending after a lost ack), a reordered batch or a late
event from a device that was offline for a week is stored once and counted once. The key holds
``wall_time`` because PostgreSQL partitions ``events`` by it (``central.partitions``); a resend is
the outbox's row sent again, with the same wall time, so the pair still names one event.

What the events feed:

- profiles: ``identified``, ``sale``, ``redeemed``, ``assisted_sale`` are visits (``profile_stores``,
  ``profiles.last_visit``); ``sale`` lines go to ``basket_lines`` and the co-purchase queue;
  ``consent_given`` / ``consent_withdrawn`` append to the consent ledger; ``erasure`` (asked for at a
  device) is returned to the caller with the shopper's proof, which it checks before it erases centrally
  and tells the other stores (the proof itself is not stored);
- ``play_hours``: a player's hourly ``proof_of_play`` summary, one row per item and zone (an old single-play
  event, one row), by the instant the plays started;
- ``health`` and every other event: the device's last seen time, its health and its last error; each health
  report is also a row of ``device_health`` (fps, memory, disk, outbox depth) for the device page's chart,
  kept ``HEALTH_HISTORY_S`` (older rows of the reporting device go in the same transaction);
- ``content_rejected``: the last bundle the device refused (scope, version, reasons), for the fleet view;
- ``erasure_applied``: the device carried out an erase delta; its store's confirmation of the erasure
  (``central.privacy_requests.confirm``: by the erased ids' hashes, the store and device from the topic);
- ``override_shown``: whether an emergency override is on the device's screen now (the newest report wins),
  for the count of screens that show it (``central.overrides``);
- offer results (``offer_shown``, ``offer_held_out``, ``offer_sent_to_phone``, ``redeemed``, ``sale``)
  are read from ``events`` by the reports;
- every event: the daily rollups (``central.rollups``), which outlive the raw events.

Events about an erased customer (a device that was offline did not know yet) are stored without
the person.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from sync.protocol import lookup as lookup_wire
from sync.protocol.erasure import applied_subjects

from . import privacy_requests
from .consents import PURPOSES, STATUSES, record_consent
from .db import Database
from .erasure import erased_among, strip_person
from .plays import plays_of
from .profiles import resolve_many
from .rollups import add_events

log = logging.getLogger("store_edge.central.ingest")
PROOF_KEYS = lookup_wire.KEYS

VISIT_TYPES = frozenset({"identified", "sale", "redeemed", "assisted_sale"})
HEALTH_HISTORY_S = 7 * 86_400.0
HEALTH_COLUMNS = ("store", "device", "at", "fps", "rss_bytes", "disk_free_bytes", "disk_used_bytes", "outbox_rows")
MAX_OVERRIDE_ID = 100
STAGE_COLUMNS = ("id", "store", "device", "seq", "type", "wall_time", "received_at", "profile_id", "body")
EVENT_STAGE = ("(id TEXT, store TEXT, device TEXT, seq BIGINT, type TEXT, wall_time DOUBLE PRECISION,"
               " received_at DOUBLE PRECISION, profile_id TEXT, body TEXT)")
# Per device, the newest of each report in a batch, with the time it was made: an older one never replaces it.
DEVICE_REPORTS = ("health", "last_error", "rejected")


@dataclass(frozen=True)
class ErasureRequest:
    """A shopper's erasure asked for at a device, with the proof they gave there (phone hash or QR token)."""

    profile_id: str
    store: str
    device: str
    proof: tuple[str, str] | None
    at: float


@dataclass
class Ingested:
    new: list[dict] = field(default_factory=list)
    duplicates: int = 0
    erasure_requests: list[ErasureRequest] = field(default_factory=list)


def stored_wall_time(value: object) -> float:
    """``wall_time`` as the key stores it: the device's number, or 0 when it sent none usable.

    The key cannot hold NULL, and the value must be the same every time the event comes: the time
    head office received it would differ on a resend and store the event twice. 0 ("no time of its
    own", as ingest has always read a missing time) lands in the default partition; the derived
    tables and the rollups take the received time for it, as before."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return 0.0


def store_events(db: Database, events: Iterable[dict], *, now: float) -> Ingested:
    """Store a batch of event envelopes; returns the new ones (in arrival order) and the duplicate count."""
    unique: dict[str, dict] = {}
    total = 0
    for e in events:
        total += 1
        unique.setdefault(e["id"], e)
    out = Ingested()
    if not unique:
        return out
    with db.transaction():
        batch = _without_erased(db, list(unique.values()))
        stage = db.stage("event_stage", EVENT_STAGE, (
            (e["id"], e.get("store"), e.get("device"), e["seq"], e["type"], stored_wall_time(e.get("wall_time")), now,
             _profile_of(e), json.dumps(without_proof(e), ensure_ascii=False)) for e in batch))
        cols = ", ".join(STAGE_COLUMNS)
        new_ids = {r[0] for r in db.execute(
            f"INSERT INTO events ({cols}) SELECT {cols} FROM {stage} WHERE true"
            " ON CONFLICT (id, wall_time) DO NOTHING RETURNING id")}
        out.new = [e for e in batch if e["id"] in new_ids]
        out.duplicates = total - len(out.new)
        if out.new:
            _derive(db, out, now)
            add_events(db, out.new, received_at=now)
    return out


def _profile_of(event: dict) -> str | None:
    payload = event.get("payload")
    pid = payload.get("profile_id") if isinstance(payload, dict) else None
    return pid if isinstance(pid, str) and pid else None


def _proof(payload: dict) -> tuple[str, str] | None:
    return next(((key, payload[key]) for key in PROOF_KEYS if isinstance(payload.get(key), str)), None)


def without_proof(event: dict) -> dict:
    """The event as stored: an erasure's proof (the shopper's phone hash or QR token) is checked, never kept."""
    payload = event.get("payload")
    if event.get("type") != "erasure" or not isinstance(payload, dict):
        return event
    return {**event, "payload": {k: v for k, v in payload.items() if k not in PROOF_KEYS}}


def _without_erased(db: Database, batch: list[dict]) -> list[dict]:
    erased = erased_among(db, {p for e in batch if (p := _profile_of(e))})
    if not erased:
        return batch
    return [strip_person(e) if _profile_of(e) in erased else e for e in batch]


def _number(value: object) -> float | None:
    """A figure from a device's report, or None: a device's claim is never trusted to be a number."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        and abs(value) < 1e18 else None


def health_row(store: str, device: str, at: float, payload: dict) -> tuple:
    """One ``device_health`` row: disk used is the cache file and media (the agent's), free disk the player's."""
    def whole(key: str) -> int | None:
        value = _number(payload.get(key))
        return None if value is None else int(value)

    used = [v for v in (whole("cache_file_bytes"), whole("media_bytes")) if v is not None]
    return (store, device, at, _number(payload.get("fps")), whole("rss_bytes"), whole("disk_free_bytes"),
            sum(used) if used else None, whole("outbox_rows"))


def _derive(db: Database, out: Ingested, now: float) -> None:
    golden = resolve_many(db, {p for e in out.new if (p := _profile_of(e))})
    visits: dict[tuple[str, str], list[float]] = {}
    lines, baskets, plays, consents = [], set(), [], []
    seen: dict[tuple[str, str], float] = {}
    health: dict[tuple[str, str], tuple[float, str]] = {}
    errors: dict[tuple[str, str], tuple[float, str]] = {}
    rejected: dict[tuple[str, str], tuple[float, str]] = {}
    confirmed: list[tuple[str, str, list[str]]] = []
    history: list[tuple] = []
    screens: dict[tuple[str, str, str], tuple[float, int, bool]] = {}
    for e in out.new:
        store, device, kind = e.get("store"), e.get("device"), e["type"]
        at = stored_wall_time(e.get("wall_time")) or now
        payload = e.get("payload") if isinstance(e.get("payload"), dict) else {}
        raw = _profile_of(e)
        pid = golden.get(raw, raw) if raw else None  # an id head office has not met yet is kept as it is
        key = (store, device)
        if store and device:
            seen[key] = max(seen.get(key, 0.0), at)
        if pid and store and kind in VISIT_TYPES:
            visits.setdefault((pid, store), []).append(at)
        if kind == "sale":
            basket = str(payload.get("basket_id") or e["id"])
            sale_at = float(payload.get("at") or at)
            for n, line in enumerate(payload.get("lines") or []):
                lines.append((f"{e['id']}:{n}", basket, pid, line["sku"], int(line["qty"]), int(line["amount_cents"]),
                              sale_at, store))
            baskets.add(basket)
        elif kind in ("consent_given", "consent_withdrawn") and pid:
            if payload.get("purpose") in PURPOSES and payload.get("status") in STATUSES:
                consents.append((pid, payload, store, at))
        elif kind == "proof_of_play":
            plays.extend((e["id"], n, store, device, *play) for n, play in enumerate(plays_of(payload, at)))
        elif kind == "health":
            if store and device:
                history.append(health_row(store, device, at, payload))
            if at >= health.get(key, (0.0, ""))[0]:
                health[key] = (at, json.dumps(payload))
            if payload.get("last_error"):
                errors[key] = (at, str(payload["last_error"]))
        elif kind == "content_rejected":
            if at >= rejected.get(key, (0.0, ""))[0]:
                rejected[key] = (at, json.dumps(payload))
        elif kind == "override_shown" and store and device and _override_report(payload):
            screen = (payload["override_id"], store, device)
            if (at, e["seq"]) >= screens.get(screen, (0.0, 0, False))[:2]:
                screens[screen] = (at, e["seq"], payload["on_screen"])
        elif kind == "command_result" and payload.get("error"):
            errors[key] = (at, f"{payload.get('command', 'command')}: {payload['error']}")
        elif kind == "erasure" and raw:
            out.erasure_requests.append(ErasureRequest(raw, store, device, _proof(payload), at))
        elif kind == "erasure_applied" and store and device:
            try:
                confirmed.append((store, device, applied_subjects(payload)))
            except ValueError as exc:
                log.warning("erasure_applied from %s/%s does not confirm anything: %s", store, device, exc)

    g = db.dialect.greatest
    db.copy_rows("basket_lines", ("line_id", "basket_id", "profile_id", "sku", "qty", "amount_cents", "at", "store"),
                 lines)
    db.insert_rows("basket_queue", ("basket_id",), [(b,) for b in sorted(baskets)], "ON CONFLICT DO NOTHING")
    _save_visits(db, visits)
    for pid, payload, store, at in consents:
        record_consent(db, pid, payload["purpose"], payload["status"], at=at,
                       wording_version=payload.get("wording_version"), channel=payload.get("channel"), store=store,
                       source="device")
    db.insert_rows("play_hours", ("event_id", "n", "store", "device", "item", "zone", "started_at", "plays",
                                  "full_plays", "seconds"), plays, "ON CONFLICT DO NOTHING")
    reports = {"health": health, "last_error": errors, "rejected": rejected}
    db.insert_rows("devices", ("store", "device", "last_seen", *(c for r in DEVICE_REPORTS for c in (r, f"{r}_at"))),
                   [(s, d, t, *(v for r in DEVICE_REPORTS for v in _report(reports[r].get((s, d)))))
                    for (s, d), t in sorted(seen.items())],
                   "ON CONFLICT (store, device) DO UPDATE SET"
                   f" last_seen = {g}(coalesce(devices.last_seen, 0), excluded.last_seen), "
                   + ", ".join(f"{c} = CASE WHEN excluded.{r}_at >= coalesce(devices.{r}_at, 0) THEN excluded.{c}"
                               f" ELSE devices.{c} END" for r in DEVICE_REPORTS for c in (r, f"{r}_at")))
    if history:
        db.copy_rows("device_health", HEALTH_COLUMNS, history)
        # Row by row on purpose: each is an index range read, where a set-wise DELETE over a staged list
        # (no statistics on a temporary table) made PostgreSQL read the whole history table every batch.
        db.executemany("DELETE FROM device_health WHERE store = ? AND device = ? AND at < ?",
                       [(s, d, t - HEALTH_HISTORY_S) for (s, d), (t, _) in sorted(health.items()) if s and d])
    for store, device, subjects in confirmed:
        privacy_requests.confirm(db, store, device, subjects, now=now)
    db.executemany(
        "INSERT INTO override_screens (override_id, store, device, on_screen, at, seq) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (override_id, store, device) DO UPDATE SET on_screen = excluded.on_screen, at = excluded.at,"
        " seq = excluded.seq WHERE excluded.at > override_screens.at"
        " OR (excluded.at = override_screens.at AND excluded.seq > override_screens.seq)",
        [(o, s, d, int(on), t, seq) for (o, s, d), (t, seq, on) in sorted(screens.items())])


def _report(newest: tuple[float, str] | None) -> tuple[str | None, float | None]:
    """A device report's (body, made at) columns, or NULLs when the batch holds none of that kind."""
    return (newest[1], newest[0]) if newest else (None, None)


def _save_visits(db: Database, visits: dict[tuple[str, str], list[float]]) -> None:
    """Visits per customer and store, and each customer's last visit anywhere, from this batch's visits."""
    g = db.dialect.greatest
    db.insert_rows(
        "profile_stores", ("profile_id", "store", "first_seen", "last_seen", "visits"),
        [(pid, store, min(ts), max(ts), len(ts)) for (pid, store), ts in sorted(visits.items())],
        "ON CONFLICT (profile_id, store) DO UPDATE SET"
        f" first_seen = {db.dialect.least}(profile_stores.first_seen, excluded.first_seen),"
        f" last_seen = {g}(profile_stores.last_seen, excluded.last_seen),"
        " visits = profile_stores.visits + excluded.visits")
    last: dict[str, float] = {}
    for (pid, _store), ts in visits.items():
        last[pid] = max(last.get(pid, 0.0), max(ts))
    if last:
        stage = db.stage("last_visit_stage", "(profile_id TEXT, at DOUBLE PRECISION)", sorted(last.items()))
        db.execute(f"UPDATE profiles SET last_visit = {g}(coalesce(profiles.last_visit, 0), s.at) FROM {stage} s"
                   " WHERE profiles.profile_id = s.profile_id")


def _override_report(payload: dict) -> bool:
    """A well-formed ``override_shown`` payload (a device is not trusted to send one)."""
    oid = payload.get("override_id")
    return isinstance(oid, str) and 0 < len(oid) <= MAX_OVERRIDE_ID and isinstance(payload.get("on_screen"), bool)
