"""The offer decision: hard rules, eligibility, arbitration, variants, reasons.

Order of work for each offer of the channel, cheapest first:
1. schedule window (store local time);
2. hard rule, stock: every product the offer needs is in stock (unknown stock counts as none);
3. hard rule, caps (``caps.py``);
4. eligibility conditions (``conditions.py``); a shopper without consent is anonymous here;
5. hard rule, experiments: a shopper in the holdout never sees the offer (the decision lists it
   under ``held_out`` so that head office can count exposures of the control group).

Arbitration: priority tier first (``priority // 10``), then relevance, then priority, then id.
Diversity: at most one offer per product. The list is filled up to ``k`` by scanning on past
everything filtered out, so it is short only when fewer than ``k`` offers qualify.

Relevance (every part is said in the reasons when it counts):
``affinity(sku)`` (time-decayed purchases, half-life 30 days) + 0.5 x ``affinity(category)``
+ co-purchase with the basket + trending in this store.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

from . import bandit, copurchase, experiments
from .caps import CapCounts, capped
from .catalog import Catalog
from .conditions import Facts, Node
from .context import Context
from .playbook import Offer, Playbook
from .reasons import Listing, Reason, in_stock
from .shopper import Shopper

HALF_LIFE_DAYS = 30.0


@dataclass(frozen=True)
class OfferChoice:
    offer_id: str
    sku: str | None
    title: Mapping[str, str]
    variant: str  # a variant id, or "default" for the offer's own title
    arm: str | None  # experiment arm, when the offer runs one
    score: float
    reasons: tuple[str, ...]
    raw: Mapping


@dataclass(frozen=True)
class OfferDecision:
    mode: str  # "personal" or "anonymous"
    offers: tuple[OfferChoice, ...]
    held_out: tuple[str, ...] = ()
    skipped: Mapping[str, str] = field(default_factory=dict)  # offer id -> why (hard rules, diversity)
    reasons: tuple[str, ...] = ()
    global_holdout: bool = False  # the customer is in the chain's global holdout: decided as for anyone


@dataclass(frozen=True)
class Situation:
    """The offers still possible at one moment and place, whoever the shopper is."""

    possible: tuple[tuple[Offer, Node | bool], ...]  # (offer, what its condition still asks: True if nothing)
    skipped: Mapping[str, str]


def situation(playbook: Playbook, catalog: Catalog, ctx: Context, lang: str = "en") -> Situation:
    """Schedule, stock and the context-only part of every condition: the same for every shopper."""
    facts = Facts(ctx, Shopper.anonymous(), stock=catalog.stock, category_of=catalog.category_map(),
                  name_of=lambda sku: catalog.name(sku, lang))
    possible: list[tuple[Offer, Node | bool]] = []
    skipped: dict[str, str] = {}
    for offer in playbook.by_channel[ctx.channel]:
        if not offer.scheduled(facts.local):
            continue
        missing = next((p for p in offer.products if not catalog.in_stock(p)), None)
        if missing is not None:
            skipped[offer.id] = f"out of stock: {catalog.name(missing, lang)}"
            continue
        left = offer.condition.residual(facts)
        if left is not False:
            possible.append((offer, left))
    possible.sort(key=lambda p: -p[0].tier)  # arbitration takes whole tiers, best first
    return Situation(tuple(possible), skipped)


def situation_key(ctx: Context, lang: str, minute_matters: bool) -> tuple:
    """Everything ``situation()`` depends on. Without hour windows in the playbook, the daypart
    and the date decide the schedule, so one situation serves a whole daypart."""
    local = ctx.local
    w = ctx.current_weather
    return (ctx.channel, ctx.store, ctx.region, local.date(), ctx.daypart,
            local.strftime("%H:%M") if minute_matters else None,
            (w.temperature_c, w.precipitation_mm_h, w.condition) if w else None, ctx.basket, lang)


def decide_offers(playbook: Playbook, catalog: Catalog, ctx: Context, shopper: Shopper, caps: CapCounts, *,
                  k: int = 6, seed: int = 0, stats: Mapping | None = None, lang: str = "en",
                  situations: dict | None = None, global_holdout: experiments.GlobalHoldout | None = None,
                  ) -> OfferDecision:
    """``situations``: a dict the caller keeps to reuse situations between decisions (see Engine).
    ``global_holdout``: the chain's; a customer it holds gets what an anonymous shopper gets (time, place, weather
    and stock: the non-personal offers), no offer decided from their profile and no experiment's arm."""
    held_globally = experiments.held_out(global_holdout, shopper.profile_id)
    if held_globally:
        shopper = Shopper.anonymous()
    if situations is None:
        now = situation(playbook, catalog, ctx, lang)
    else:
        key = situation_key(ctx, lang, playbook.has_hours)
        now = situations.get(key)
        if now is None:
            if len(situations) >= 64:
                situations.clear()
            now = situations[key] = situation(playbook, catalog, ctx, lang)
    facts = Facts(ctx, shopper, stock=catalog.stock, category_of=catalog.category_map(),
                  name_of=lambda sku: catalog.name(sku, lang))
    personal = shopper.personal
    affinity = _affinity(shopper, catalog, ctx.now) if personal else {}
    skipped: dict[str, str] = dict(now.skipped)
    held_out: list[str] = []
    verdicts: dict[str, bool] = {}  # residual condition -> result, shared by the offers that have it
    ranked: list[tuple[tuple, Offer, str | None, float]] = []
    products: set[str] = set()
    for tier, group in groupby(now.possible, key=lambda p: p[0].tier):
        if len(products) >= k:
            break  # every lower tier ranks below a full list
        scored = []
        for offer, left in group:
            if offer.caps:
                cap = capped(offer, caps, personal)
                if cap:
                    skipped[offer.id] = f"cap reached: {cap.replace('_', ' ')}"
                    continue
            if left is not True:
                verdict = verdicts.get(left.key)
                if verdict is None:
                    verdict = verdicts[left.key] = left.test(facts)
                if not verdict:
                    continue
            arm = experiments.assign(offer.experiment, shopper.profile_id) if offer.experiment and personal else None
            if arm == experiments.HOLDOUT:
                held_out.append(offer.id)
                continue
            score = _relevance(offer, catalog, ctx, affinity)
            scored.append(((-tier, -score, -offer.priority, offer.id), offer, arm, score))
            products.add(offer.sku or offer.id)
        ranked += sorted(scored, key=lambda c: c[0])
    candidates = ranked

    rng = random.Random(seed)
    chosen: list[OfferChoice] = []
    taken: set[str] = set()
    for _, offer, arm, score in candidates:
        product = offer.sku or offer.id
        if product in taken:
            skipped[offer.id] = "another offer for the same product ranks higher"
            continue
        if len(chosen) == k:
            break
        taken.add(product)
        variant, title, variant_reason = _variant(offer, arm, facts, ctx, stats or {}, rng)
        reasons = offer.condition.reasons(facts) + _stock_reasons(offer, catalog, lang)
        reasons += _relevance_reasons(offer, catalog, ctx, affinity, lang)
        if variant_reason:
            reasons.append(variant_reason)
        chosen.append(OfferChoice(offer.id, offer.sku, title, variant, arm, round(score, 4),
                                  tuple(dict.fromkeys(reasons)), offer.raw))
    mode = "personal" if personal else "anonymous"
    why = ("personal offers: the shopper consented",) if personal else (
        "anonymous: decided from time, place, weather and stock only",)
    if held_globally:
        why = ("global holdout: this customer gets no personal offers, so that head office can measure the"
               " programme's lift",) + why
    if ctx.current_weather is None:
        why += ("weather unknown",)
    return OfferDecision(mode, tuple(chosen), tuple(held_out), skipped, why, held_globally)


def offer_price(raw: Mapping, catalog: Catalog) -> tuple[int, str] | None:
    """What the shopper pays with the offer: the combo price, the product's price less the offer's
    percentage, or the product's own price for an offer that only highlights it; None when the offer
    names no price (double points, say)."""
    benefit = raw.get("benefit") or {}
    product_price = catalog.prices.get(raw.get("sku") or "")
    currency = (product_price or {}).get("currency", "EUR")
    if isinstance(benefit.get("price_cents"), int):
        return benefit["price_cents"], currency
    percent = (raw.get("discount") or {}).get("percent")
    if product_price and isinstance(percent, int | float):
        return int(round(product_price["price_cents"] * (100 - percent) / 100)), currency
    if product_price and benefit.get("type") == "highlight":
        return product_price["price_cents"], currency
    return None


def _affinity(shopper: Shopper, catalog: Catalog, now: datetime) -> dict[str, float]:
    """sku and 'category:<c>' -> time-decayed purchase weight (``copurchase.affinity``)."""
    weights = copurchase.affinity(shopper.history, now, HALF_LIFE_DAYS)
    for sku, w in list(weights.items()):
        category = catalog.category(sku)
        if category:
            weights["category:" + category] = weights.get("category:" + category, 0.0) + w
    return weights


def _basket_pull(offer: Offer, catalog: Catalog, ctx: Context) -> float:
    if not offer.sku or not ctx.basket:
        return 0.0
    near = catalog.neighbours.get(offer.sku, {})
    return max((near.get(s, 0.0) for s in ctx.basket), default=0.0)


def _trend(ctx: Context, sku: str) -> float:
    """Trending in this store, scaled to 0..1 by the store's top item (raw scores are decayed units)."""
    top = max(ctx.trending.values(), default=0.0)
    return ctx.trending.get(sku, 0.0) / top if top > 0 else 0.0


def _relevance(offer: Offer, catalog: Catalog, ctx: Context, affinity: Mapping[str, float]) -> float:
    score = _basket_pull(offer, catalog, ctx)
    if offer.sku:
        score += affinity.get(offer.sku, 0.0) + _trend(ctx, offer.sku)
        category = catalog.category(offer.sku)
        if category:
            score += 0.5 * affinity.get("category:" + category, 0.0)
    return score


def _stock_reasons(offer: Offer, catalog: Catalog, lang: str) -> list[str]:
    return [in_stock(catalog.name(p, lang), catalog.stock(p)) for p in offer.products]


def _relevance_reasons(offer: Offer, catalog: Catalog, ctx: Context, affinity: Mapping[str, float],
                       lang: str) -> list[str]:
    reasons = []
    if offer.sku and affinity.get(offer.sku):
        reasons.append(Reason("buys {item} often (recent purchases weigh {weight:.1f})",
                              item=catalog.name(offer.sku, lang), weight=affinity[offer.sku]))
    pull = _basket_pull(offer, catalog, ctx)
    if pull:
        partner = max(ctx.basket, key=lambda s: catalog.neighbours.get(offer.sku, {}).get(s, 0.0))
        reasons.append(Reason("often bought with {item} in the basket", item=catalog.name(partner, lang)))
    if offer.sku and ctx.trending.get(offer.sku):
        reasons.append(Reason("trending in this store ({share:.0%} of the top item)", share=_trend(ctx, offer.sku)))
    return reasons


def _variant(offer: Offer, arm: str | None, facts: Facts, ctx: Context, stats: Mapping,
             rng: random.Random) -> tuple[str, Mapping[str, str], str | None]:
    by_id = {v.id: v for v in offer.variants}
    if arm is not None:
        variant = by_id.get(arm)
        return arm, (variant.title if variant else offer.title), Reason("experiment arm: {arm}", arm=arm)
    eligible = [v for v in offer.variants if v.audience.test(facts)]
    if offer.adaptive and len(eligible) > 1:
        weather = facts.weather.band if facts.weather else None
        context = bandit.stats_context(facts.daypart, weather)
        winner, rate = bandit.choose(offer.id, [v.id for v in eligible], context, stats, rng)
        return winner, by_id[winner].title, Reason(
            "variant {variant}: best sampled redemption rate ({rate:.0%}) for {context}", variant=winner, rate=rate,
            context=context)
    if eligible:
        v = eligible[0]
        why = v.audience.reasons(facts)
        return v.id, v.title, Reason("copy for {why}", why=Listing(why)) if why else None
    return "default", offer.title, None
