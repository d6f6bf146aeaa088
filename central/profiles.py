"""Golden profiles: one row per customer, found through any of its identifiers (aliases).

Every identifier is a row of ``aliases`` (kind, value) -> profile_id: the profile's own id, the
ids of profiles merged into it, its phone hash, loyalty id and the QR tokens issued to it. A
lookup is two primary-key reads (alias, then profile) plus the profile's consent rows by index:
no table scans, whatever the number of profiles.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from decisions.rfm import epoch

from .consents import current_consents, record_consent
from .db import Database

ALIAS_KINDS = ("profile_id", "phone_hash", "loyalty_id", "qr_token")
JSON_FIELDS = ("segments", "rfm", "purchase_summary", "attributes")
PLAIN_FIELDS = ("first_name", "phone_hash", "loyalty_id")
COLUMNS = ("profile_id", "created_at", "updated_at", *PLAIN_FIELDS, *JSON_FIELDS, "last_visit")
LOOKUP_KEYS = {"phone_hash": "phone_hash", "profile_id": "profile_id", "loyalty_id": "loyalty_id",
               "qr_token": "qr_token"}


class AliasTaken(ValueError):
    """An identifier already names another profile: the two are one person, merge them."""

    def __init__(self, kind: str, value: str, owner: str):
        super().__init__(f"{kind} already belongs to profile {owner}; merge the profiles")
        self.kind, self.value, self.owner = kind, value, owner


def new_profile_id() -> str:
    """128 random bits: an id that says nothing and cannot be guessed from another (``c-0001`` is demo data)."""
    return f"c-{secrets.token_hex(16)}"


def resolve(db: Database, kind: str, value: str) -> str | None:
    """The golden profile id an identifier names, or None."""
    return db.scalar("SELECT profile_id FROM aliases WHERE kind = ? AND value = ?", (kind, value))


def resolve_many(db: Database, profile_ids: set[str]) -> dict[str, str]:
    """profile id as a device knows it -> the golden id now (a merged-away id maps to its winner)."""
    if not profile_ids:
        return {}
    among, ids = db.any_of(sorted(profile_ids))
    return dict(db.execute(f"SELECT value, profile_id FROM aliases WHERE kind = 'profile_id' AND value {among}",
                           (ids,)))


def link(db: Database, profile_id: str, kind: str, value: str) -> None:
    """Add an identifier to a profile; AliasTaken if it names another one."""
    if kind not in ALIAS_KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; one of {ALIAS_KINDS}")
    with db.transaction():
        db.execute("INSERT INTO aliases (kind, value, profile_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                   (kind, value, profile_id))
        owner = resolve(db, kind, value)
        if owner != profile_id:
            raise AliasTaken(kind, value, owner)


def upsert_profile(db: Database, profile: Mapping, *, now: float, channel: str = "import") -> str:
    """Create or update a profile from head office's data (fields as in the ``profiles`` section, plus
    ``loyalty_id``, ``attributes`` and ``created_at``). A ``consents`` map is appended to the ledger
    where it differs from the current state. Without a ``profile_id`` it updates the profile its phone
    hash or loyalty id names, else creates one with a new random id. Returns the golden id."""
    with db.transaction():
        pid = profile.get("profile_id") or next(
            (owner for kind in ("phone_hash", "loyalty_id") if profile.get(kind)
             and (owner := resolve(db, kind, profile[kind]))), None) or new_profile_id()
        golden = resolve(db, "profile_id", pid)
        if golden is not None and golden != pid:
            pid = golden  # an update addressed to a merged-away id lands on the winner
        exists = db.scalar("SELECT 1 FROM profiles WHERE profile_id = ?", (pid,))
        values = {f: profile.get(f) for f in PLAIN_FIELDS}
        if profile.get("last_visit"):
            values["last_visit"] = epoch(profile["last_visit"])
        values.update({f: json.dumps(profile[f], ensure_ascii=False)
                       for f in JSON_FIELDS if profile.get(f) is not None})
        if exists:
            sets = {k: v for k, v in values.items() if v is not None}
            if sets:
                assignments = ", ".join(f"{k} = ?" for k in sets)
                db.execute(f"UPDATE profiles SET {assignments}, updated_at = ? WHERE profile_id = ?",
                           (*sets.values(), now, pid))
                _update_own_fields(db, pid, sets)
        else:
            created = float(profile.get("created_at") or now)
            cols = ["profile_id", "created_at", "updated_at", *values]
            db.execute(f"INSERT INTO profiles ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                       (pid, created, now, *values.values()))
            link(db, pid, "profile_id", pid)
        for kind in ("phone_hash", "loyalty_id"):
            if profile.get(kind):
                link(db, pid, kind, profile[kind])
        current = current_consents(db, pid)
        for purpose, status in (profile.get("consents") or {}).items():
            if current.get(purpose) != status:
                record_consent(db, pid, purpose, status, at=now, wording_version=profile.get("wording_version"),
                               channel=channel, store=None, source="head_office")
    return pid


def _update_own_fields(db: Database, profile_id: str, sets: dict) -> None:
    """Head office's data for a profile that has absorbed others is its own: the next merge ranks it by its age."""
    kept = db.scalar("SELECT own_fields FROM profiles WHERE profile_id = ?", (profile_id,))
    if kept:
        own = json.loads(kept) | {k: json.loads(v) if k in JSON_FIELDS else v for k, v in sets.items()}
        db.execute("UPDATE profiles SET own_fields = ? WHERE profile_id = ?",
                   (json.dumps(own, ensure_ascii=False), profile_id))


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else None


def row_dict(row: tuple) -> dict:
    doc = dict(zip(COLUMNS, row, strict=True))
    for f in JSON_FIELDS:
        doc[f] = json.loads(doc[f]) if doc[f] else None
    return doc


def load(db: Database, profile_id: str) -> dict | None:
    """The stored row of a live profile (not a merged-away tombstone), JSON fields decoded."""
    row = db.query_one(f"SELECT {', '.join(COLUMNS)} FROM profiles WHERE profile_id = ? AND merged_into IS NULL",
                       (profile_id,))
    return row_dict(row) if row else None


def _wire(doc: dict, consents: dict[str, str]) -> dict:
    out = {"profile_id": doc["profile_id"], "consents": consents}
    for f in ("phone_hash", "first_name", "segments", "rfm", "purchase_summary"):
        if doc[f] is not None:
            out[f] = doc[f]
    if doc["last_visit"]:
        out["last_visit"] = _iso(doc["last_visit"])
    return out


def wire_profile(db: Database, profile_id: str) -> dict | None:
    """The profile as a device gets it (the ``profiles`` bundle section and lookup answers)."""
    doc = load(db, profile_id)
    return _wire(doc, current_consents(db, profile_id)) if doc else None


def wire_profiles(db: Database, profile_ids: list[str]) -> list[dict]:
    """Many profiles as devices get them, in the order given (unknown ids left out): two queries."""
    if not profile_ids:
        return []
    among, ids = db.any_of(profile_ids)
    docs = {r[0]: row_dict(r) for r in db.execute(
        f"SELECT {', '.join(COLUMNS)} FROM profiles WHERE profile_id {among} AND merged_into IS NULL", (ids,))}
    consents: dict[str, dict[str, str]] = {}
    for pid, purpose, status in db.execute(
            f"SELECT profile_id, purpose, status FROM consents WHERE profile_id {among} ORDER BY id", (ids,)):
        consents.setdefault(pid, {})[purpose] = status
    return [_wire(docs[pid], consents.get(pid, {})) for pid in profile_ids if pid in docs]


def lookup(db: Database, key: str, value: str) -> dict | None:
    """Answer a device's lookup (``phone_hash`` or ``profile_id``): alias, then profile, by primary key."""
    pid = resolve(db, LOOKUP_KEYS[key], value)
    return wire_profile(db, pid) if pid else None
