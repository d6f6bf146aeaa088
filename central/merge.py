"""Merging two profiles that turn out to be one person. Deterministic, and nothing is lost.

The rules (docs/central.md repeats them for head office):

- the **oldest** profile (smaller ``created_at``; on a tie the smaller id) wins and keeps its id;
- ``first_name``, ``phone_hash``, ``loyalty_id``, ``rfm``, ``purchase_summary``: the winner's value,
  or the loser's where the winner has none;
- ``segments``: the union (the winner's first, then the loser's new ones);
- ``attributes``: the union of keys, the winner's value on a clash;
- ``last_visit``: the later of the two;
- consents: per purpose, the **strictest** current status wins (withdrawn > denied > granted); where
  that differs from the winner's current state a ``merge`` row is appended to the winner's ledger.
  The loser's ledger rows stay, under its id, and are part of the winner's export;
- every identifier of the loser (its own id too) becomes an alias of the winner; its events, basket
  lines, store visits and QR tokens move to the winner;
- the loser's row stays as a tombstone: ``merged_into`` names the winner and ``merged_snapshot``
  holds its full row as it was, so a wrong merge can be read back field by field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .consents import current_consents, record_consent, strictest
from .db import Database
from .profiles import COLUMNS, load, resolve


@dataclass(frozen=True)
class Merge:
    winner: str
    loser: str
    stores: tuple[str, ...]  # stores that cached the loser: they get a delta (delete loser, upsert winner)


class MergeError(ValueError):
    """The two ids cannot be merged (unknown, or already one profile)."""


def merge_profiles(db: Database, a: str, b: str, *, now: float) -> Merge:
    with db.transaction():
        ids = [resolve(db, "profile_id", x) for x in (a, b)]
        if None in ids:
            raise MergeError(f"unknown profile {(a, b)[ids.index(None)]!r}")
        if ids[0] == ids[1]:
            raise MergeError(f"{a} and {b} are already one profile ({ids[0]})")
        first, second = load(db, ids[0]), load(db, ids[1])
        winner, loser = sorted((first, second), key=lambda p: (p["created_at"], p["profile_id"]))
        w, lo = winner["profile_id"], loser["profile_id"]

        merged = _merged_fields(winner, loser)
        assignments = ", ".join(f"{k} = ?" for k in merged)
        db.execute(f"UPDATE profiles SET {assignments}, updated_at = ? WHERE profile_id = ?",
                   (*merged.values(), now, w))
        _merge_consents(db, w, lo, now)

        snapshot = json.dumps({k: loser[k] for k in COLUMNS}, ensure_ascii=False)
        db.execute("UPDATE profiles SET merged_into = ?, merged_at = ?, merged_snapshot = ? WHERE profile_id = ?",
                   (w, now, snapshot, lo))
        db.execute("UPDATE profiles SET merged_into = ? WHERE merged_into = ?", (w, lo))  # earlier tombstones
        for table in ("aliases", "basket_lines", "events", "qr_tokens"):
            db.execute(f"UPDATE {table} SET profile_id = ? WHERE profile_id = ?", (w, lo))
        _merge_visits(db, w, lo)
        stores = tuple(r[0] for r in db.execute("SELECT store FROM store_cache WHERE profile_id = ? ORDER BY store",
                                                (lo,)))
    return Merge(w, lo, stores)


def _merged_fields(winner: dict, loser: dict) -> dict:
    out: dict = {}
    for f in ("first_name", "phone_hash", "loyalty_id"):
        out[f] = winner[f] if winner[f] is not None else loser[f]
    for f in ("rfm", "purchase_summary"):
        value = winner[f] if winner[f] is not None else loser[f]
        out[f] = json.dumps(value, ensure_ascii=False) if value is not None else None
    segments = list(winner["segments"] or [])
    segments += [s for s in loser["segments"] or [] if s not in segments]
    out["segments"] = json.dumps(segments, ensure_ascii=False) if segments else None
    attributes = {**(loser["attributes"] or {}), **(winner["attributes"] or {})}
    out["attributes"] = json.dumps(attributes, ensure_ascii=False) if attributes else None
    visits = [v for v in (winner["last_visit"], loser["last_visit"]) if v]
    out["last_visit"] = max(visits) if visits else None
    return out


def _merge_consents(db: Database, winner: str, loser: str, now: float) -> None:
    mine, theirs = current_consents(db, winner), current_consents(db, loser)
    for purpose in sorted(set(mine) | set(theirs)):
        status = strictest(mine.get(purpose), theirs.get(purpose))
        if status != mine.get(purpose):
            record_consent(db, winner, purpose, status, at=now, wording_version=None, channel=None, store=None,
                           source=f"merge:{loser}")


def _merge_visits(db: Database, winner: str, loser: str) -> None:
    rows = db.execute("SELECT store, first_seen, last_seen, visits FROM profile_stores WHERE profile_id = ?", (loser,))
    g, least = db.dialect.greatest, db.dialect.least
    db.executemany(
        "INSERT INTO profile_stores (profile_id, store, first_seen, last_seen, visits) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (profile_id, store) DO UPDATE SET"
        f" first_seen = {least}(profile_stores.first_seen, excluded.first_seen),"
        f" last_seen = {g}(profile_stores.last_seen, excluded.last_seen),"
        " visits = profile_stores.visits + excluded.visits",
        [(winner, *r) for r in rows])
    db.execute("DELETE FROM profile_stores WHERE profile_id = ?", (loser,))
