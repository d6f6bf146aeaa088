"""Emergency overrides: a signed message or playlist that takes every screen in a scope.

Published retained at QoS 1 on ``override/{scope}`` (scope as for bundles), so a device that
was offline gets the current one when it reconnects::

    {"kind": "store-edge/override", "format": 1, "chain": "demo", "scope": "region/north",
     "override_id": "ov-2026-11-22-flood", "issued_at": 1795355000, "expires_at": 1795358600,
     "action": "start", "message": {"title": "...", "body": "...", "style": "alert"},
     "playlist": null, "key_id": "<16 hex>", "signature": "<base64 Ed25519>"}

``action`` is ``start`` or ``end``; an ``end`` carries the id it ends and no body. Exactly one of
``message`` and ``playlist`` is set on a ``start``. The signature covers every field but itself,
in canonical JSON, so a device trusts an override exactly as far as it trusts a bundle.
A device keeps, per scope, the override with the newest ``issued_at``; one whose
``expires_at`` has passed is over whether or not its ``end`` ever arrives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import signing
from .topics import is_valid_scope

KIND = "store-edge/override"
FORMAT = 1
ACTIONS = ("start", "end")
MAX_DURATION_S = 7 * 24 * 3600
# How a message override looks on a screen (signage/kv/signage.kv): head office offers these and refuses others.
STYLES = {"alert": "red, for danger and closing", "notice": "the chain's colours, for information"}


class OverrideRejected(ValueError):
    """An override that must not be shown; the message is one line for the log."""


@dataclass(frozen=True)
class Override:
    chain: str
    scope: str
    override_id: str
    issued_at: float
    expires_at: float
    action: str
    message: dict | None = None
    playlist: list | None = None

    def active_at(self, now: float) -> bool:
        return self.action == "start" and self.issued_at <= now < self.expires_at

    def to_doc(self) -> dict:
        return {
            "kind": KIND,
            "format": FORMAT,
            "chain": self.chain,
            "scope": self.scope,
            "override_id": self.override_id,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "action": self.action,
            "message": self.message,
            "playlist": self.playlist,
        }


def _signed_bytes(doc: dict) -> bytes:
    body = {k: v for k, v in doc.items() if k not in ("key_id", "signature")}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def sign_override(override: Override, key: Ed25519PrivateKey) -> bytes:
    """The payload to publish retained on ``topics.override_topic(chain, scope)``."""
    _check(override)
    doc = override.to_doc()
    doc["key_id"] = signing.key_id(key.public_key())
    doc["signature"] = signing.sign(key, _signed_bytes(doc))
    return orjson.dumps(doc)


def parse_override(raw: bytes, *, chain: str, scope: str, keys: signing.TrustedKeys) -> Override:
    """Parse and verify a payload received on ``override/{scope}``; raise OverrideRejected."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise OverrideRejected(f"override on {scope}: not JSON") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND or doc.get("format") != FORMAT:
        raise OverrideRejected(f"override on {scope}: not a store-edge override of format 1")
    kid, sig = doc.get("key_id"), doc.get("signature")
    if not isinstance(kid, str) or not isinstance(sig, str):
        raise OverrideRejected(f"override on {scope}: unsigned")
    if kid not in keys:
        raise OverrideRejected(f"override on {scope}: signed with unknown key {kid}")
    if not keys.verify(kid, sig, _signed_bytes(doc)):
        raise OverrideRejected(f"override on {scope}: bad signature")
    if doc.get("chain") != chain or doc.get("scope") != scope:
        raise OverrideRejected(f"override on {scope}: names chain {doc.get('chain')!r} scope {doc.get('scope')!r}")
    try:
        override = Override(
            chain=chain,
            scope=scope,
            override_id=str(doc["override_id"]),
            issued_at=float(doc["issued_at"]),
            expires_at=float(doc["expires_at"]),
            action=doc["action"],
            message=doc.get("message"),
            playlist=doc.get("playlist"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise OverrideRejected(f"override on {scope}: missing or malformed field {exc}") from None
    _check(override)
    return override


def check_override(override: Override) -> None:
    """Raise OverrideRejected when ``override`` breaks the rules (for one that arrives unsigned, by command)."""
    _check(override)


def _check(o: Override) -> None:
    where = f"override {o.override_id!r} on {o.scope}"
    if not is_valid_scope(o.scope):
        raise OverrideRejected(f"{where}: invalid scope")
    if not o.override_id:
        raise OverrideRejected(f"{where}: override_id is empty")
    if o.action not in ACTIONS:
        raise OverrideRejected(f"{where}: action must be one of {ACTIONS}, not {o.action!r}")
    if o.action == "start":
        if (o.message is None) == (o.playlist is None):
            raise OverrideRejected(f"{where}: needs exactly one of message and playlist")
        if o.message is not None and not isinstance(o.message, dict):
            raise OverrideRejected(f"{where}: message must be an object")
        if o.playlist is not None and not isinstance(o.playlist, list):
            raise OverrideRejected(f"{where}: playlist must be a list of items")
        if not 0 < o.expires_at - o.issued_at <= MAX_DURATION_S:
            raise OverrideRejected(f"{where}: expires_at must be after issued_at and within 7 days")
