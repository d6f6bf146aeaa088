"""Recommendations for the staff tablet and the kiosk: for a shopper, and add-ons for a basket.

A consenting shopper gets items often bought with what they buy (co-purchase over their
time-decayed affinity); everyone else, and anyone whose history gives too few, gets what sells
in this store at this daypart. Every list is in stock and says why each item is there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from . import copurchase, popularity
from .catalog import Catalog
from .context import Context
from .shopper import Shopper


@dataclass(frozen=True)
class Suggestion:
    sku: str
    name: str
    score: float
    reasons: tuple[str, ...]


def for_shopper(catalog: Catalog, popular: Mapping[str, Mapping[str, tuple[float, int]]], ctx: Context,
                shopper: Shopper, *, k: int = 5, lang: str = "en") -> list[Suggestion]:
    def name(sku: str) -> str:
        return catalog.name(sku, lang)

    out: list[Suggestion] = []
    exclude = set(ctx.basket)
    if shopper.personal and shopper.history:
        weights = copurchase.affinity(shopper.history, ctx.now)
        counts = copurchase.purchase_counts(shopper.history, ctx.now)
        for rec in copurchase.recommend(weights, catalog.neighbours, catalog.in_stock, k, exclude, name=name,
                                        counts=counts):
            out.append(Suggestion(rec.sku, name(rec.sku), round(rec.score, 4), tuple(rec.reasons)))
    return out + _popular(catalog, popular, ctx, k - len(out), exclude | {s.sku for s in out}, lang)


def add_ons(catalog: Catalog, popular: Mapping[str, Mapping[str, tuple[float, int]]], ctx: Context, *,
            k: int = 3, lang: str = "en") -> list[Suggestion]:
    """What goes with the basket on the staff tablet: co-purchase with its items, then popularity."""
    def name(sku: str) -> str:
        return catalog.name(sku, lang)

    basket = {sku: 1.0 for sku in ctx.basket}
    out = [Suggestion(r.sku, name(r.sku), round(r.score, 4), tuple(r.reasons))
           for r in copurchase.recommend(basket, catalog.neighbours, catalog.in_stock, k, ctx.basket, name=name)]
    return out + _popular(catalog, popular, ctx, k - len(out), set(ctx.basket) | {s.sku for s in out}, lang)


def popularity_table(lines: Sequence[Mapping], ctx_timezone: str, dayparts: Mapping[str, tuple[str, str]],
                     now: datetime) -> Mapping[str, Mapping[str, tuple[float, int]]]:
    """Per daypart (and all day), from the store's cached history; built once per engine load."""
    return popularity.popularity_by_daypart(lines, tz=ctx_timezone, dayparts=dayparts, now=now)


def _popular(catalog: Catalog, table: Mapping[str, Mapping[str, tuple[float, int]]], ctx: Context, k: int,
             exclude: set[str], lang: str) -> list[Suggestion]:
    if k <= 0:
        return []
    daypart = ctx.daypart if ctx.daypart in table else None
    scores = table.get(daypart if daypart else popularity.ALL_DAY, {})
    return [Suggestion(sku, catalog.name(sku, lang), round(score, 4), (reason,))
            for sku, score, reason in popularity.rank(scores, daypart=daypart, k=k, in_stock=catalog.in_stock,
                                                      exclude=exclude)]
