"""QR cards: tokens issued here with the active key (``decisions.identity.qr`` makes and checks them).

Each issued token is recorded (its id is the first 32 hex digits of the token's sha256) and becomes
a ``qr_token`` identifier of the profile, so head office can find the customer behind a card and
an erasure removes the link.
"""

from __future__ import annotations

import hashlib

from decisions.identity.qr import QrResult, issue_token, verify_token

from .db import Database
from .keys import Keyring
from .profiles import link, resolve


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def issue_card(db: Database, keys: Keyring, profile_id: str, *, now: float, ttl_s: int = 365 * 86400) -> str:
    with db.transaction():
        golden = resolve(db, "profile_id", profile_id)
        if golden is None:
            raise ValueError(f"no profile {profile_id!r}")
        token = issue_token(keys.active, golden, now=now, ttl_s=ttl_s)
        tid = token_id(token)
        db.execute("INSERT INTO qr_tokens (token_id, profile_id, key_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                   (tid, golden, keys.active_id, int(now), int(now) + int(ttl_s)))
        link(db, golden, "qr_token", tid)
    return token


def check_card(keys: Keyring, token: str, *, now: float) -> QrResult:
    """Check a card as a device would, against every key head office ever signed with."""
    return verify_token(token, keys.trusted(), now=now)
