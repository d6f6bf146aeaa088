"""The consent ledger: append-only rows (purpose, status, time, wording version, channel, store).

Nothing here updates or deletes a row, except erasure, which removes the person entirely. The
current state per purpose is the last row per purpose, in ledger order.
"""

from __future__ import annotations

from .db import Database

PURPOSES = ("personal_offers", "e_receipt", "marketing")
STATUSES = ("granted", "denied", "withdrawn")
# How strict each status is, for merging two people's consents: the stricter one stands.
STRICTNESS = {"granted": 0, "denied": 1, "withdrawn": 2}
LEDGER_COLUMNS = ("profile_id", "purpose", "status", "at", "wording_version", "channel", "store", "source")


def record_consent(db: Database, profile_id: str, purpose: str, status: str, *, at: float,
                   wording_version: str | None, channel: str | None, store: str | None, source: str) -> None:
    """Append one decision. ``source``: ``device`` (a shopper at a screen), ``head_office`` or ``merge``."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown consent purpose {purpose!r}; one of {PURPOSES}")
    if status not in STATUSES:
        raise ValueError(f"unknown consent status {status!r}; one of {STATUSES}")
    db.execute(f"INSERT INTO consents ({', '.join(LEDGER_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (profile_id, purpose, status, at, wording_version, channel, store, source))


def history(db: Database, profile_id: str) -> list[dict]:
    """Every ledger row of one profile, oldest first."""
    rows = db.execute(f"SELECT {', '.join(LEDGER_COLUMNS)} FROM consents WHERE profile_id = ? ORDER BY id",
                      (profile_id,))
    return [dict(zip(LEDGER_COLUMNS, r, strict=True)) for r in rows]


def current_consents(db: Database, profile_id: str) -> dict[str, str]:
    """purpose -> status of its last row; purposes never asked are absent."""
    state: dict[str, str] = {}
    for purpose, status in db.execute("SELECT purpose, status FROM consents WHERE profile_id = ? ORDER BY id",
                                      (profile_id,)):
        state[purpose] = status
    return state


def strictest(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if STRICTNESS[a] >= STRICTNESS[b] else b
