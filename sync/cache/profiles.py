"""Writes about customers: lookup answers, the consent ledger and erasure."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from ..protocol import lookup as lookup_wire
from .db import Cache
from .outbox import Outbox
from .schema import LOOKUP_SCOPE

CONSENT_PURPOSES = ("personal_offers", "e_receipt", "marketing")
CONSENT_STATUSES = ("granted", "denied", "withdrawn")


def remember_lookup(cache: Cache, profile: dict, ttl_s: float, now: float) -> None:
    """Cache a profile that head office sent in answer to a lookup, until ``now + ttl_s``."""
    expires = now + ttl_s
    with cache.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO profiles (profile_id, scope, rank, body, phone_hash, expires_at)"
            " VALUES (?, ?, -1, ?, ?, ?)",
            (profile["profile_id"], LOOKUP_SCOPE, json.dumps(profile, ensure_ascii=False),
             profile.get("phone_hash"), expires),
        )


def purge_expired(cache: Cache, now: float) -> dict[str, int]:
    """The scheduled TTL purge: profiles past their ``expires_at`` (lookup answers), then the local
    consent rows of customers no longer on this device whose events have all left the outbox.

    Consent rows of a customer still in the cache stay (the screens need them), and so do rows whose
    consent event head office has not acknowledged yet (they are the device's only record of it).

    It ends with a WAL checkpoint, purged or not: that also clears what an earlier checkpoint left
    behind (held back by a reader), and the outbox rows of an erasure once head office acked them.
    """
    with cache.transaction() as conn:
        profiles = conn.execute("DELETE FROM profiles WHERE expires_at IS NOT NULL AND expires_at <= ?",
                                (now,)).rowcount
        consents = conn.execute(
            "DELETE FROM consents WHERE profile_id NOT IN (SELECT profile_id FROM profiles)"
            " AND profile_id NOT IN (SELECT json_extract(payload, '$.profile_id') FROM outbox"
            " WHERE json_extract(payload, '$.profile_id') IS NOT NULL)").rowcount
    cache.checkpoint()
    return {"profiles": profiles, "consents": consents}


def forget_lookups(cache: Cache) -> int:
    with cache.transaction() as conn:
        removed = conn.execute("DELETE FROM profiles WHERE scope = ?", (LOOKUP_SCOPE,)).rowcount
    cache.checkpoint()
    return removed


def record_consent(
    cache: Cache, outbox: Outbox, *, profile_id: str, purpose: str, status: str,
    wording_version: str, channel: str, at: float,
) -> None:
    """Append one consent decision, made at ``at`` (unix seconds), to the ledger and the outbox, in one transaction."""
    if purpose not in CONSENT_PURPOSES:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    if status not in CONSENT_STATUSES:
        raise ValueError(f"unknown consent status {status!r}")
    stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
    event = "consent_withdrawn" if status == "withdrawn" else "consent_given"
    with cache.transaction() as conn:
        conn.execute(
            "INSERT INTO consents (profile_id, purpose, status, wording_version, channel, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (profile_id, purpose, status, wording_version, channel, stamp),
        )
        outbox.append(conn, event, {"profile_id": profile_id, "purpose": purpose, "status": status,
                                    "wording_version": wording_version, "channel": channel, "at": stamp})


def erase_profile(cache: Cache, outbox: Outbox | None, profile_id: str,
                  proof: tuple[str, str] | None = None) -> None:
    """Purge a profile, its consents and its unsent events from this device.

    With an outbox (an erasure the shopper asked for on this device) the erasure is reported to head
    office with ``proof``, what the shopper gave here to be known: ``("phone_hash", h)`` or
    ``("qr_token", t)``. Head office erases nobody on a device's word alone. Without an outbox (an
    erasure head office sent) nothing more is said.
    """
    report = None
    if outbox is not None:
        if proof is None or proof[0] not in lookup_wire.KEYS or not isinstance(proof[1], str):
            raise ValueError("an erasure asked for at a device carries the shopper's phone_hash or qr_token")
        report = {"profile_id": profile_id, proof[0]: proof[1]}
    with cache.transaction() as conn:
        purge_profile(conn, profile_id)
        if outbox is not None:
            outbox.append(conn, "erasure", report)
    cache.checkpoint()


def purge_profile(conn: sqlite3.Connection, profile_id: str) -> None:
    """Inside an open transaction: remove every trace of one profile from this device.

    The caller checkpoints the WAL after the commit (``Cache.checkpoint``): the deleted rows are
    zeroed in the pages (``secure_delete``), but the WAL still holds the pages as they were.
    """
    conn.execute("DELETE FROM profiles WHERE profile_id = ?", (profile_id,))
    conn.execute("DELETE FROM consents WHERE profile_id = ?", (profile_id,))
    conn.execute("DELETE FROM outbox WHERE json_extract(payload, '$.profile_id') = ?", (profile_id,))
    conn.execute("DELETE FROM basket_lines WHERE profile_id = ?", (profile_id,))
    conn.execute("DELETE FROM impressions WHERE profile_id = ?", (profile_id,))
    conn.execute("UPDATE assisted_sales SET profile_id = NULL WHERE profile_id = ?", (profile_id,))  # staff KPIs stay
    # Sales, coupons and redemptions stay (trends, single use), without the person.
    for table in ("sales", "coupons", "redemptions"):
        conn.execute(f"UPDATE {table} SET profile_id = NULL WHERE profile_id = ?", (profile_id,))
