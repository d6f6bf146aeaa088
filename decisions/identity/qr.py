"""Shopper QR tokens: short, versioned, signed by head office with Ed25519.

A token looks like ``SE1.<payload>.<signature>``:

* ``SE1`` names the format and its version;
* ``<payload>`` is the base64url (no padding) of compact JSON
  ``{"v":1,"pid":profile id,"iat":issued at,"exp":expires at,"kid":key id}``, times in whole unix seconds;
* ``<signature>`` is the base64url (no padding) of the 64-byte Ed25519 signature over the ASCII text
  ``SE1.<payload>``, so the version tag and the payload exactly as written are both signed.

Head office holds the private key and issues tokens (the shopper's app shows them as a QR code).
A device holds only public keys (:class:`sync.protocol.signing.TrustedKeys`), so it can check a token
but not make one: a stolen kiosk cannot mint tokens for anybody's profile. ``kid`` names the key,
so head office can rotate keys while devices still trust the previous one.

:func:`verify_token` never raises, whatever it is given; it answers a :class:`QrResult` whose ``reason``
is one of :data:`REASONS` and whose ``message`` can be shown to the shopper as it is.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.protocol.signing import TrustedKeys, key_id

PREFIX = "SE"
VERSION = 1
TAG = f"{PREFIX}{VERSION}"
SIGNATURE_BYTES = 64
SIGNATURE_CHARS = 86  # unpadded base64url of 64 bytes
MAX_TOKEN_CHARS = 1024  # ours are about 200; anything far longer is not a token we issued

MESSAGES = {
    "ok": "Welcome back!",
    "not_ours": "That isn't one of our codes. Please scan the code in our app.",
    "unsupported_version": "This kiosk can't read this kind of code yet. Please ask a member of staff.",
    "malformed": "We couldn't read that code. Please try scanning it again.",
    "truncated": "We only read part of that code. Please hold your phone steady and scan it again.",
    "unknown_key": "We can't check this code here yet. Open the app to get a fresh one, or ask a member of staff.",
    "forged": "This code isn't valid. Open the app to get a fresh one.",
    "expired": "This code has expired. Open the app to get a fresh one.",
    "not_yet_valid": "We can't accept this code right now. Please ask a member of staff.",
}
REASONS = frozenset(MESSAGES) - {"ok"}
"""Every reason a token can be refused for; ``"ok"`` is the reason of an accepted one."""

_TAG_RE = re.compile(rf"{PREFIX}([0-9]{{1,4}})(?:\.|$)")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class QrResult:
    ok: bool
    profile_id: str | None
    reason: str
    message: str


def _result(reason: str, profile_id: str | None = None) -> QrResult:
    return QrResult(ok=reason == "ok", profile_id=profile_id, reason=reason, message=MESSAGES[reason])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes | None:
    """Strict decoding: base64url alphabet, no padding, and only the canonical spelling of the bytes."""
    if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # Unused low bits in the last character would let two spellings carry the same bytes.
    return data if _b64url(data) == text else None


def issue_token(key: Ed25519PrivateKey, profile_id: str, *, now: float, ttl_s: int) -> str:
    """A token for ``profile_id``, valid from ``now`` for ``ttl_s`` seconds. Head office only."""
    if not isinstance(profile_id, str) or not profile_id:
        raise ValueError("profile_id must be a non-empty string")
    if int(ttl_s) < 1:
        raise ValueError("ttl_s must be at least 1 second")
    iat = int(now)
    payload = {"v": VERSION, "pid": profile_id, "iat": iat, "exp": iat + int(ttl_s), "kid": key_id(key.public_key())}
    body = f"{TAG}.{_b64url(json.dumps(payload, separators=(',', ':'), ensure_ascii=False).encode('utf-8'))}"
    return f"{body}.{_b64url(key.sign(body.encode('ascii')))}"


def verify_token(text: object, keys: TrustedKeys, *, now: float, leeway_s: float = 60) -> QrResult:
    """Check a scanned token. Never raises; ``ok`` only for a genuine token inside its validity window.

    ``leeway_s`` allows for the device's clock being a little off: a token is accepted until
    ``exp + leeway_s`` and from ``iat - leeway_s``.
    """
    raw = text
    if isinstance(raw, bytearray | memoryview):
        raw = bytes(raw)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")  # undecodable bytes can only end up not_ours or malformed
    if not isinstance(raw, str):
        return _result("not_ours")
    text = raw.strip()  # scanners often append a newline
    tag = _TAG_RE.match(text)
    if tag is None:
        return _result("not_ours")
    if tag.group(1) != str(VERSION):
        return _result("unsupported_version")
    if len(text) > MAX_TOKEN_CHARS:
        return _result("malformed")

    parts = text.split(".")
    if len(parts) < 3:
        return _result("truncated")  # cut off before the signature began: "SE1", "SE1.", "SE1.<part of payload>"
    if len(parts) > 3:
        return _result("malformed")
    _, payload_part, signature_part = parts
    if not _B64URL_RE.fullmatch(payload_part) or not _B64URL_RE.fullmatch(signature_part):
        return _result("malformed")
    if len(signature_part) < SIGNATURE_CHARS:
        return _result("truncated")
    signature = _unb64url(signature_part)
    if signature is None or len(signature) != SIGNATURE_BYTES:
        return _result("malformed")

    payload = _payload(payload_part)
    if payload is None:
        return _result("malformed")
    if payload["kid"] not in keys:
        return _result("unknown_key")
    signed = f"{TAG}.{payload_part}".encode("ascii")
    if not keys.verify(payload["kid"], base64.b64encode(signature).decode("ascii"), signed):
        return _result("forged")
    if payload["iat"] > now + leeway_s:
        return _result("not_yet_valid")
    if now > payload["exp"] + leeway_s:
        return _result("expired")
    return _result("ok", payload["pid"])


def _payload(part: str) -> dict | None:
    data = _unb64url(part)
    if not data:
        return None
    try:
        payload = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    if not isinstance(payload, dict):
        return None

    def is_int(name: str) -> bool:
        return type(payload.get(name)) is int  # not bool, not float

    def is_text(name: str) -> bool:
        return isinstance(payload.get(name), str) and bool(payload[name])

    if not (is_int("v") and is_int("iat") and is_int("exp") and is_text("pid") and is_text("kid")):
        return None
    if payload["v"] != VERSION or payload["exp"] <= payload["iat"]:
        return None
    return payload
