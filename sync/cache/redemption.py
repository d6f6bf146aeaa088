"""Coupons issued on this device and coupons redeemed here; single use is the table's key."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass

from .db import Cache
from .outbox import Outbox


@dataclass(frozen=True)
class Issued:
    code: str
    offer_id: str
    arm: str | None
    variant: str | None
    profile_id: str | None
    store: str
    expires_at: float
    issued_at: float


def record_coupon_issued(cache: Cache, outbox: Outbox, coupon: Issued, *, channel: str, context: str) -> None:
    """The shopper took a coupon to their phone: remember it and tell head office, in one transaction."""
    with cache.transaction() as conn:
        conn.execute("INSERT INTO coupons (code, offer_id, arm, variant, profile_id, store, expires_at, issued_at)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (coupon.code, coupon.offer_id, coupon.arm, coupon.variant, coupon.profile_id, coupon.store,
                      coupon.expires_at, coupon.issued_at))
        outbox.append(conn, "offer_sent_to_phone", {
            "code": coupon.code, "offer": coupon.offer_id, "arm": coupon.arm, "variant": coupon.variant,
            "profile_id": coupon.profile_id, "expires_at": coupon.expires_at, "channel": channel,
            "context": context})


def issued_count(cache: Cache, offer_id: str, expires_at: float) -> int:
    """Coupons this device issued for one offer and expiry hour (the next coupon's serial)."""
    return cache.query("SELECT count(*) FROM coupons WHERE offer_id = ? AND expires_at = ?",
                       (offer_id, expires_at))[0][0]


def issued(cache: Cache, code: str) -> Issued | None:
    rows = cache.query("SELECT code, offer_id, arm, variant, profile_id, store, expires_at, issued_at FROM coupons"
                       " WHERE code = ?", (code,))
    return Issued(*rows[0]) if rows else None


@dataclass(frozen=True)
class Redeemed:
    code: str
    offer_id: str
    arm: str | None
    basket_id: str
    basket_sha256: str | None
    discount_cents: int


def basket_digest(basket: list[dict]) -> str:
    """The basket's lines (``sku``, ``qty``, ``amount_cents``) in any order give the same digest: a till may
    list a retried basket differently."""
    lines = sorted((line["sku"], line["qty"], line["amount_cents"]) for line in basket)
    return hashlib.sha256(json.dumps(lines, separators=(",", ":")).encode()).hexdigest()


def redeemed(cache: Cache, code: str) -> Redeemed | None:
    """This device's redemption of ``code`` (the printed form), if it has one."""
    rows = cache.query("SELECT code, offer_id, arm, basket_id, basket_sha256, discount_cents FROM redemptions"
                       " WHERE code = ?", (code,))
    return Redeemed(*rows[0]) if rows else None


def record_redemption(cache: Cache, outbox: Outbox, *, code: str, offer_id: str, arm: str | None,
                      basket_id: str, basket: list[dict], discount_cents: int, at: float) -> bool:
    """Redeem once. False (and nothing written) when this device has redeemed the code before."""
    coupon = issued(cache, code)
    profile_id = coupon.profile_id if coupon else None
    try:
        with cache.transaction() as conn:
            conn.execute("INSERT INTO redemptions (code, offer_id, arm, profile_id, basket_id, basket_sha256,"
                         " discount_cents, redeemed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (code, offer_id, arm, profile_id, basket_id, basket_digest(basket), discount_cents, at))
            outbox.append(conn, "redeemed", {
                "code": code, "offer": offer_id, "arm": arm, "variant": coupon.variant if coupon else None,
                "profile_id": profile_id, "basket_id": basket_id, "basket": basket,
                "discount_cents": discount_cents, "at": at})
    except sqlite3.IntegrityError:
        return False
    return True
