"""Merging two profiles that turn out to be one person. Deterministic, and nothing is lost.

The rules (docs/central.md repeats them for head office) are applied afresh at every merge to the own fields of
every profile in the merged set, oldest first, so the golden profile is the same whatever the order of the
merges that made it:

- the **oldest** profile (smaller ``created_at``; on a tie the smaller id) wins and keeps its id;
- ``first_name``, ``phone_hash``, ``loyalty_id``, ``rfm``, ``purchase_summary``: the value of the oldest
  profile in the set that has one;
- ``segments``: the union, the oldest profile's first, then each younger one's new ones in age order;
- ``attributes``: the union of keys, on a clash the value of the oldest profile that has the key;
- ``last_visit``: the latest;
- consents: per purpose, the **strictest** current status wins (withdrawn > denied > granted); where
  that differs from the winner's current state a ``merge`` row is appended to the winner's ledger.
  The loser's ledger rows stay, under its id, and are part of the winner's export;
- every identifier of the loser (its own id too) becomes an alias of the winner; its events, basket
  lines, store visits and QR tokens move to the winner;
- a profile's **own fields** are its row as it was before it first absorbed another (the winner keeps them in
  ``own_fields``; head office's later updates to it go there too);
- the loser's row stays as a tombstone: ``merged_into`` names the winner and ``merged_snapshot`` holds its own
  fields (not what it had absorbed: those are their own tombstones), so a wrong merge can be read back field
  by field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .consents import current_consents, record_consent, strictest
from .db import Database
from .profiles import COLUMNS, JSON_FIELDS, load, resolve


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

        own_winner, own_loser = _own(db, winner), _own(db, loser)
        merged = _golden_fields([own_winner, own_loser, *_absorbed(db, w), *_absorbed(db, lo)])
        visits = [v for v in (winner["last_visit"], loser["last_visit"]) if v]
        merged["last_visit"] = max(visits) if visits else None
        assignments = ", ".join(f"{k} = ?" for k in merged)
        db.execute(f"UPDATE profiles SET {assignments}, own_fields = ?, updated_at = ? WHERE profile_id = ?",
                   (*merged.values(), _json(own_winner), now, w))
        _merge_consents(db, w, lo, now)

        db.execute("UPDATE profiles SET merged_into = ?, merged_at = ?, merged_snapshot = ?, own_fields = NULL"
                   " WHERE profile_id = ?", (w, now, _json(own_loser), lo))
        db.execute("UPDATE profiles SET merged_into = ? WHERE merged_into = ?", (w, lo))  # earlier tombstones
        for table in ("aliases", "basket_lines", "events", "qr_tokens", "privacy_requests"):
            db.execute(f"UPDATE {table} SET profile_id = ? WHERE profile_id = ?", (w, lo))
        _merge_visits(db, w, lo)
        stores = tuple(r[0] for r in db.execute("SELECT store FROM store_cache WHERE profile_id = ? ORDER BY store",
                                                (lo,)))
    return Merge(w, lo, stores)


def _json(value: object) -> str | None:
    return json.dumps(value, ensure_ascii=False) if value is not None else None


def _own(db: Database, profile: dict) -> dict:
    """A live profile's own fields: kept since it first absorbed another, else its row."""
    kept = db.scalar("SELECT own_fields FROM profiles WHERE profile_id = ?", (profile["profile_id"],))
    return json.loads(kept) if kept else {k: profile[k] for k in COLUMNS}


def _absorbed(db: Database, profile_id: str) -> list[dict]:
    """The own fields of every profile already merged into this one."""
    return [json.loads(r[0]) for r in db.execute(
        "SELECT merged_snapshot FROM profiles WHERE merged_into = ? AND merged_snapshot IS NOT NULL", (profile_id,))]


def _golden_fields(parts: list[dict]) -> dict:
    """The merge rules over the own fields of every profile in the set, oldest first: no field depends on which
    merge came first."""
    parts = sorted(parts, key=lambda p: (p["created_at"], p["profile_id"]))
    out: dict = {}
    for f in ("first_name", "phone_hash", "loyalty_id", "rfm", "purchase_summary"):
        value = next((p[f] for p in parts if p[f] is not None), None)
        out[f] = _json(value) if f in JSON_FIELDS else value
    segments: list[str] = []
    for p in parts:
        segments += [s for s in p["segments"] or [] if s not in segments]
    out["segments"] = _json(segments or None)
    attributes: dict = {}
    for p in reversed(parts):
        attributes.update(p["attributes"] or {})
    out["attributes"] = _json(attributes or None)
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
