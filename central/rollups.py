"""Daily rollups per store, kept when raw events go (``central.partitions``, retention).

Three tables, each one row per day (UTC) and store:

- ``rollup_event_counts``: events by type;
- ``rollup_offers``: per offer and arm, impressions (``offer_shown``; ``offer_held_out`` as arm
  ``holdout``), sends (``offer_sent_to_phone``) and redemptions (``redeemed``, by the arm the
  redemption names). A code redeemed twice counts twice here: the ``offers`` report's
  de-duplication, exposed customers and lift are per person and need the raw events;
- ``rollup_plays``: proof of play per item, plays and seconds, on the UTC day the plays started
  (``central.plays`` reads them, as ingest does for ``play_hours``): :func:`proof_of_play_rows` gives the
  ``proof_of_play`` report's rows of a chain whose report zone is UTC, zones summed.

They are added to at ingest, in the transaction that stores the events, from the events seen
for the first time only, so they count each event once (duplicates and late events alike).
Migration 9 fills them from the events stored before it (:func:`rebuild`).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from .db import Database
from .plays import plays_of

# The day of a time no calendar can hold (a broken clock: 1e300, say) is the day head office received it.
_LATEST = datetime(9999, 12, 31, tzinfo=UTC).timestamp()
_EPOCH = date(1970, 1, 1)


def day_of(ts: object, received_at: float) -> str:
    """The UTC day of ``ts`` when it is a usable time (not 0, missing or absurd), else of ``received_at``."""
    t = ts if isinstance(ts, int | float) and not isinstance(ts, bool) and math.isfinite(ts) else 0
    if not 0 < t < _LATEST:
        t = received_at
    return _utc_day(int(t // 86_400))


@lru_cache(maxsize=8192)
def _utc_day(index: int) -> str:
    return (_EPOCH + timedelta(days=index)).isoformat()


OFFER_COLUMNS = {"offer_shown": 0, "offer_held_out": 0, "offer_sent_to_phone": 1, "redeemed": 2}
PAYLOAD_TYPES = (*OFFER_COLUMNS, "proof_of_play")


class Cells:
    """Rollup counts of a set of events, before they are added to the tables."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.offers: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        self.plays: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0.0])

    def add(self, event: Mapping, received_at: float) -> None:
        kind, store = event["type"], str(event.get("store") or "?")
        day = day_of(event.get("wall_time"), received_at)
        self.counts[day, store, kind] += 1
        payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
        column = OFFER_COLUMNS.get(kind)
        if column is not None and payload.get("offer"):
            arm = "holdout" if kind == "offer_held_out" else str(payload.get("arm") or "none")
            self.offers[day, store, str(payload["offer"]), arm][column] += 1
        elif kind == "proof_of_play":
            wall = event.get("wall_time")
            at = wall if isinstance(wall, int | float) and not isinstance(wall, bool) and wall > 0 else received_at
            for item, _zone, started, plays, _full, seconds in plays_of(payload, at):
                cell = self.plays[day_of(started, received_at), store, item]
                cell[0] += plays
                cell[1] += seconds

    def save(self, db: Database) -> None:
        """Add these counts to the rollup tables (in the caller's transaction)."""
        _add(db, "rollup_event_counts", ("day", "store", "type"), ("n",),
             [(*k, n) for k, n in sorted(self.counts.items())])
        _add(db, "rollup_offers", ("day", "store", "offer", "arm"), ("impressions", "sends", "redemptions"),
             [(*k, *v) for k, v in sorted(self.offers.items())])
        _add(db, "rollup_plays", ("day", "store", "item"), ("plays", "seconds"),
             [(*k, int(p), s) for k, (p, s) in sorted(self.plays.items())])


def _add(db: Database, table: str, keys: tuple[str, ...], values: tuple[str, ...], rows: list[tuple]) -> None:
    """Upsert ``rows``, adding their values to the rows already there. Keys come sorted, so two workers
    adding to the same rows take their locks in one order."""
    db.insert_rows(table, (*keys, *values), rows,
                   f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
                   + ", ".join(f"{v} = {table}.{v} + excluded.{v}" for v in values))


def add_events(db: Database, events: Iterable[Mapping], *, received_at: float) -> None:
    """Count newly stored events into the rollups (ingest calls it in its transaction)."""
    cells = Cells()
    for e in events:
        cells.add(e, received_at)
    cells.save(db)


def rebuild(db: Database, *, batch: int = 200_000) -> int:
    """Empty the rollups and count every stored event again; returns how many were read. Only the events
    whose payload a rollup reads (offers, proof of play) bring their body."""
    for table in ("rollup_event_counts", "rollup_offers", "rollup_plays"):
        db.execute(f"DELETE FROM {table}")
    marks = ", ".join("?" for _ in PAYLOAD_TYPES)
    cells, n = Cells(), 0
    for kind, store, wall_time, received_at, body in db.stream(
            f"SELECT type, store, wall_time, received_at, CASE WHEN type IN ({marks}) THEN body END FROM events",
            PAYLOAD_TYPES):
        payload = json.loads(body).get("payload") if body else None
        cells.add({"type": kind, "store": store, "wall_time": wall_time, "payload": payload}, float(received_at))
        n += 1
        if n % batch == 0:  # the cells of a year of events would not fit in memory at once
            cells.save(db)
            cells = Cells()
    cells.save(db)
    return n


def proof_of_play_rows(db: Database) -> list[dict]:
    """The ``proof_of_play`` report's rows (``central.reports.proof_of_play_rows``), from the rollup."""
    rows = db.execute("SELECT day, store, item, plays, seconds FROM rollup_plays ORDER BY day, store, item")
    return [{"day": d, "store": s, "item": i, "plays": int(n), "seconds": round(float(sec), 1)}
            for d, s, i, n, sec in rows]


def offer_totals(db: Database) -> list[dict]:
    """Per offer and arm, all days: impressions, sends and redemptions (the ``offers`` report's first columns)."""
    rows = db.execute("SELECT offer, arm, sum(impressions), sum(sends), sum(redemptions) FROM rollup_offers"
                      " GROUP BY offer, arm ORDER BY offer, arm")
    return [{"offer": o, "arm": a, "impressions": int(i), "sends": int(s), "redemptions": int(r)}
            for o, a, i, s, r in rows]


def offer_days(db: Database, first_day: str, last_day: str) -> dict[str, tuple[int, int]]:
    """Per offer, its arms together (the holdout saw nothing), impressions and redemptions on the UTC days from
    ``first_day`` to ``last_day``, both included."""
    rows = db.execute("SELECT offer, sum(impressions), sum(redemptions) FROM rollup_offers WHERE day >= ? AND day <= ?"
                      " AND arm <> 'holdout' GROUP BY offer", (first_day, last_day))
    return {o: (int(i), int(r)) for o, i, r in rows}


def event_counts(db: Database, *, since_day: str = "0000-00-00") -> list[dict]:
    """Events per day, store and type from ``since_day`` on."""
    rows = db.execute("SELECT day, store, type, n FROM rollup_event_counts WHERE day >= ?"
                      " ORDER BY day, store, type", (since_day,))
    return [{"day": d, "store": s, "type": t, "events": int(n)} for d, s, t, n in rows]
