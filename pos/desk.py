"""Redemption at the till: verify offline, check the basket, enforce single use at once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from decisions.context import DEFAULT_DAYPARTS
from decisions.coupons import REASONS, BasketLine, OfferIndex, discount_cents, printed, verify
from decisions.playbook import Playbook
from sync.cache.db import Cache
from sync.cache.outbox import Outbox
from sync.cache.read import CacheReader
from sync.cache.redemption import basket_digest, record_redemption, redeemed
from sync.clock import Clock

MAX_BASKET_LINES = 500


class BadRequest(ValueError):
    """The request itself is wrong (types, missing fields); the message names the field."""


@dataclass(frozen=True)
class Answer:
    accepted: bool
    reason: str
    message: str
    code: str | None = None
    offer: str | None = None
    arm: str | None = None
    discount_cents: int = 0

    def to_json(self) -> dict:
        return asdict(self)


def parse_basket(raw: object) -> list[BasketLine]:
    if not isinstance(raw, list) or not raw:
        raise BadRequest("basket: must be a non-empty list of lines")
    if len(raw) > MAX_BASKET_LINES:
        raise BadRequest(f"basket: at most {MAX_BASKET_LINES} lines")
    lines = []
    for i, line in enumerate(raw):
        if not isinstance(line, dict):
            raise BadRequest(f"basket[{i}]: must be an object")
        sku, qty, amount = line.get("sku"), line.get("qty", 1), line.get("amount_cents")
        if not isinstance(sku, str) or not sku:
            raise BadRequest(f"basket[{i}].sku: must be a product sku")
        if type(qty) is not int or qty < 1:
            raise BadRequest(f"basket[{i}].qty: must be a whole number of at least 1")
        if type(amount) is not int or amount < 0:
            raise BadRequest(f"basket[{i}].amount_cents: must be a whole number of cents")
        lines.append(BasketLine(sku, qty, amount))
    return lines


class Desk:
    """One store device's redemption desk. Thread-safe: the cache serialises writes.

    ``clock`` decides whether a coupon has expired and stamps the redemption.
    """

    def __init__(self, cache: Cache, outbox: Outbox, *, store: str, coupon_key: bytes, clock: Clock,
                 dayparts: Mapping[str, tuple[str, str]] = DEFAULT_DAYPARTS):
        self.cache = cache
        self.clock = clock
        self.outbox = outbox
        self.store = store
        self.key = coupon_key
        self.reader = CacheReader(cache)
        self.dayparts = dayparts
        self._offers: tuple[object, OfferIndex] | None = None

    def offers(self) -> OfferIndex:
        """The offers in the cache, compiled again only when a bundle changed them."""
        version = tuple(sorted((k, v["version"]) for k, v in self.reader.sync_state().items()))
        if self._offers is None or self._offers[0] != version:
            self._offers = (version, OfferIndex(Playbook.load(self.reader.offers(), self.dayparts)))
        return self._offers[1]

    def playbook(self) -> Playbook:
        return self.offers().playbook

    def redeem(self, request: Mapping) -> Answer:
        """``request``: {"code": str, "basket_id": str, "basket": [{"sku", "qty", "amount_cents"}]}."""
        now = self.clock.time()
        code, basket_id = request.get("code"), request.get("basket_id")
        if not isinstance(code, str) or not code or len(code) > 64:
            raise BadRequest("code: must be the coupon's code as text")
        if not isinstance(basket_id, str) or not basket_id or len(basket_id) > 128:
            raise BadRequest("basket_id: must be the till's basket id as text")
        basket = parse_basket(request.get("basket"))
        lines = [asdict(line) for line in basket]
        digest = basket_digest(lines)
        again = self._answered_before(code, basket_id, digest)
        if again is not None:
            return again
        check = verify(code, self.key, store=self.store, playbook=self.offers(), now=now)
        if not check.ok:
            return Answer(False, check.reason, check.message, check.code,
                          check.offer.id if check.offer else None, check.arm)
        offer = check.offer
        discount = discount_cents(offer, basket)
        if discount <= 0:
            return Answer(False, "not_applicable", REASONS["not_applicable"], check.code, offer.id, check.arm)
        if not record_redemption(self.cache, self.outbox, code=check.code, offer_id=offer.id, arm=check.arm,
                                 basket_id=basket_id, basket=lines, discount_cents=discount, at=now):
            # Another till, or this one retrying at the same instant, got there first.
            return self._answered_before(code, basket_id, digest) or Answer(
                False, "already_used", REASONS["already_used"], check.code, offer.id, check.arm)
        return Answer(True, "ok", REASONS["ok"], check.code, offer.id, check.arm, discount)

    def _answered_before(self, code: str, basket_id: str, digest: str) -> Answer | None:
        """The answer to a till that asks again for the very redemption this device made (same code, basket id
        and basket) because it lost the first answer; checked before the clock, so a retry after the coupon's
        hour still gets it. None for anything else: a different basket id or basket is ``already_used``."""
        pretty = printed(code)
        done = redeemed(self.cache, pretty) if pretty else None
        if done is None or (done.basket_id, done.basket_sha256) != (basket_id, digest):
            return None
        return Answer(True, "ok", REASONS["ok"], done.code, done.offer_id, done.arm, done.discount_cents)


def answer(desk: Desk, raw: bytes) -> tuple[int, dict]:
    """One redemption request as bytes -> (HTTP-style status, JSON body); for every door to the desk."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return 400, {"error": "bad_json", "message": "the body is not valid JSON"}
    if not isinstance(body, dict):
        return 400, {"error": "bad_request", "message": "the body must be a JSON object"}
    try:
        result = desk.redeem(body)
    except BadRequest as exc:
        return 400, {"error": "bad_request", "message": str(exc)}
    return (200 if result.accepted else 422), result.to_json()
