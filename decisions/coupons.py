"""Coupons a shopper takes to the till: a short code (and a QR code of it), verifiable offline.

A code is 20 Crockford base32 characters, shown as ``XXXXX-XXXXX-XXXXX-XXXXX`` and read back
whatever the case, the dashes, or O/0 and I/L/1 mix-ups. It packs 100 bits:

| bits | field |
|---|---|
| 2 | format version (1) |
| 8 | store tag: sha256(store)[0] |
| 16 | offer tag: the first 16 bits of sha256(offer id) |
| 4 | arm: 0 no experiment, n = the offer's n-th experiment arm |
| 18 | expiry, in hours since 2026-01-01 UTC |
| 16 | serial: the issuing device's index in its store (4 bits) and its count of coupons for this
offer and expiry hour (12 bits), so two coupons can never share a code |
| 36 | MAC: HMAC-SHA256 with the store's coupon key over every field above *and* the full store id,
offer id and arm name |

The MAC key is per store: head office derives it as HMAC(chain coupon secret, "store:" + store)
and gives it to that store's devices only, so a device can issue and check coupons for its own
store and for no other. A code from another store is refused as ``wrong_store`` before any MAC;
offer tags that collide in a big playbook are told apart by the MAC, which covers the full id.

The code does not carry the profile: the issuing device records (code -> offer, arm, variant,
profile) in its ``offer_sent_to_phone`` event, and head office joins the redemption to it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from .playbook import Offer, Playbook

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
EPOCH = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
VERSION = 1
CODE_CHARS = 20
MAC_BITS = 36
REASONS = {
    "ok": "Coupon accepted.",
    "malformed": "That is not a coupon code. Check the letters and numbers.",
    "unsupported_version": "This coupon is from a newer system; ask a supervisor.",
    "wrong_store": "This coupon belongs to another store.",
    "forged": "This coupon is not valid.",
    "unknown_offer": "This coupon's offer is not running here any more.",
    "expired": "This coupon has expired.",
    "already_used": "This coupon has already been used.",
    "not_applicable": "The basket has none of the products this coupon is for.",
}


def store_key(chain_secret: bytes, store: str) -> bytes:
    """What head office gives the devices of one store."""
    return hmac.new(chain_secret, b"store:" + store.encode(), hashlib.sha256).digest()


def _tag(text: str, bits: int) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> (32 - bits)


def _arm_index(offer: Offer, arm: str | None) -> int:
    if arm is None or offer.experiment is None:
        return 0
    names = [a for a, _ in offer.experiment.arms]
    return names.index(arm) + 1 if arm in names else 0


def _arm_name(offer: Offer, index: int) -> str | None:
    if index == 0 or offer.experiment is None or index > len(offer.experiment.arms):
        return None
    return offer.experiment.arms[index - 1][0]


def _mac(key: bytes, fields: int, store: str, offer_id: str, arm: str | None) -> int:
    msg = f"{fields:016x}|{store}|{offer_id}|{arm or ''}".encode()
    return int.from_bytes(hmac.new(key, msg, hashlib.sha256).digest()[:5], "big") >> (40 - MAC_BITS)


def _encode(value: int) -> str:
    chars = []
    for _ in range(CODE_CHARS):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return _grouped("".join(reversed(chars)))


def _grouped(text: str) -> str:
    return "-".join(text[i:i + 5] for i in range(0, CODE_CHARS, 5))


def normalise(code: str) -> str | None:
    """The 20 canonical characters of a typed or scanned code, or None if it cannot be one."""
    if not isinstance(code, str):
        return None
    text = code.strip().upper().replace("-", "").replace(" ", "")
    text = text.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    if len(text) != CODE_CHARS or any(c not in ALPHABET for c in text):
        return None
    return text


def printed(code: object) -> str | None:
    """The code as printed (four groups of five) from however it was typed or scanned; None if it cannot be one."""
    text = normalise(code)  # type: ignore[arg-type]
    return _grouped(text) if text else None


@dataclass(frozen=True)
class Coupon:
    code: str
    offer_id: str
    arm: str | None
    store: str
    expires_at: float


def expiry_slot(expires_at: float) -> float:
    """The end of the hour a coupon wanted to expire in: what the code can say, and what it will say."""
    return EPOCH + (int((expires_at - EPOCH) // 3600) + 1) * 3600


def serial_for(device_index: int, issued_before: int) -> int:
    """A serial no other device of the store can give for the same offer and expiry hour."""
    if not 0 <= device_index < 16:
        raise ValueError("a store's device index is 0-15")
    if issued_before >= 2**12:
        raise ValueError("more than 4,096 coupons for one offer in one hour on one device")
    return device_index << 12 | issued_before


def issue(key: bytes, *, store: str, offer: Offer, arm: str | None, expires_at: float, serial: int) -> Coupon:
    """A new coupon for ``offer`` in ``store``; ``serial`` from ``serial_for`` keeps codes unique."""
    hours = int((expires_at - EPOCH) // 3600)
    if not 0 <= hours < 2**18:
        raise ValueError("expiry out of range (2026-2055)")
    if not 0 <= serial < 2**16:
        raise ValueError("serial is 16 bits")
    fields = VERSION
    for value, bits in ((_tag(store, 8), 8), (_tag(offer.id, 16), 16), (_arm_index(offer, arm), 4),
                        (hours, 18), (serial, 16)):
        fields = (fields << bits) | value
    code = (fields << MAC_BITS) | _mac(key, fields, store, offer.id, arm)
    return Coupon(_encode(code), offer.id, arm, store, EPOCH + (hours + 1) * 3600)


@dataclass(frozen=True)
class CouponCheck:
    ok: bool
    reason: str
    message: str
    code: str | None = None
    offer: Offer | None = None
    arm: str | None = None
    expires_at: float | None = None


def _refuse(reason: str, code: str | None = None) -> CouponCheck:
    return CouponCheck(False, reason, REASONS[reason], code)


class OfferIndex:
    """A playbook's offers by coupon tag; build once per playbook, not per redemption."""

    def __init__(self, playbook: Playbook):
        self.playbook = playbook
        self.by_tag: dict[int, list[Offer]] = {}
        for offer in playbook.offers:
            self.by_tag.setdefault(_tag(offer.id, 16), []).append(offer)


def verify(code: object, key: bytes, *, store: str, playbook: Playbook | OfferIndex, now: float) -> CouponCheck:
    """Check a code offline. Never raises; the reason is one of REASONS."""
    index = playbook if isinstance(playbook, OfferIndex) else OfferIndex(playbook)
    text = normalise(code)  # type: ignore[arg-type]
    if text is None:
        return _refuse("malformed")
    value = 0
    for c in text:
        value = (value << 5) | ALPHABET.index(c)
    pretty = _encode(value)
    mac, fields = value & (2**MAC_BITS - 1), value >> MAC_BITS
    serial_hours = fields & (2**34 - 1)
    hours = serial_hours >> 16
    arm_index = (fields >> 34) & 0xF
    offer_tag = (fields >> 38) & 0xFFFF
    store_tag = (fields >> 54) & 0xFF
    version = fields >> 62
    if version != VERSION:
        return _refuse("unsupported_version", pretty)
    if store_tag != _tag(store, 8):
        return _refuse("wrong_store", pretty)
    candidates = index.by_tag.get(offer_tag, [])
    for offer in candidates:
        arm = _arm_name(offer, arm_index)
        if hmac.compare_digest(_mac(key, fields, store, offer.id, arm).to_bytes(5, "big"), mac.to_bytes(5, "big")):
            expires_at = EPOCH + (hours + 1) * 3600
            if now >= expires_at:
                return CouponCheck(False, "expired", REASONS["expired"], pretty, offer, arm, expires_at)
            return CouponCheck(True, "ok", REASONS["ok"], pretty, offer, arm, expires_at)
    # No offer with this tag verifies: either a forgery, or an offer head office has withdrawn.
    return _refuse("forged" if candidates else "unknown_offer", pretty)


@dataclass(frozen=True)
class BasketLine:
    sku: str
    qty: int
    amount_cents: int


def discount_cents(offer: Offer, basket: Sequence[BasketLine]) -> int:
    """What the coupon takes off this basket; 0 when it does not apply.

    A combo (``benefit.price_cents`` over ``benefit.skus``) needs every product in the basket and
    takes off what they cost above the combo price; otherwise ``discount.percent`` of the offer's
    product lines (or of the combo's lines).
    """
    amounts: dict[str, int] = {}  # sku -> unit price on this basket
    for line in basket:
        amounts.setdefault(line.sku, line.amount_cents // max(line.qty, 1))
    benefit = offer.raw.get("benefit") or {}
    combo = benefit.get("skus") or []
    if combo and isinstance(benefit.get("price_cents"), int):
        if not all(s in amounts for s in combo):
            return 0
        return max(0, sum(amounts[s] for s in combo) - benefit["price_cents"])
    percent = (offer.raw.get("discount") or {}).get("percent")
    targets = combo or ([offer.sku] if offer.sku else [])
    if not isinstance(percent, int | float) or not targets:
        return 0
    return int(round(sum(amounts.get(s, 0) for s in targets) * percent / 100))
