"""Trending in this store: what sold here in the last hours, recent sales weighing most (issue 8).

Pure and stdlib only; the clock is an argument. The edge recomputes it every minute from its own
cache (``CacheReader.sales_since`` and ``CacheReader.redeemed_skus_since``) and hands the scores to
the engine as ``Context.trending`` (``scores(trending(...))``), which menus and offers rank by.

The model:

* Only events in the window ``(now - window_s, now]`` count (default the last 2 hours). An event
  exactly ``window_s`` old is out; one at ``now`` is in; one in the future (a till clock ahead of
  ours) is ignored, as is a time that is not a number.
* Each event weighs by its age ``now - at`` with an exponential decay of half-life ``half_life_s``
  (default 30 minutes): ``2 ** (-age / half_life_s)``. A unit sold now weighs 1, one sold a
  half-life ago 0.5, two half-lives ago 0.25; a sale line weighs ``qty`` times that.
* A coupon redeemed here counts for the offer's sku, ``redemption_weight`` times a unit sold at
  the same moment (default 1.0; 0 ignores redemptions). It adds to the line the till reports for
  the same basket: a redemption is a stronger signal than a sale, not a replacement for it.
* An item's score is the sum of its events' weights. Items scoring below ``min_score`` (default
  0.5: one unit sold a half-life ago still trends) are left out.
* An item's weights are added with ``math.fsum``, the correctly rounded sum of the exact values,
  so a score (and the ranking) does not depend on the order of the events, as a running float sum
  would in its last bits. (``decisions.popularity`` gets the same from fixed-point integers; fsum
  measured faster here, where every minute counts.)
* The result is ordered by score, highest first, then by sku; ``top`` keeps the first ``top``.
* Scores are decayed units, not normalised: in a busy store the best seller scores in the
  hundreds (``benchmarks/trends_bench.py``). Menus only compare them with each other; offers add
  them to a relevance made of affinities, where such a score outweighs everything else.

Each item comes with the plain counts in the window (units sold, coupons redeemed), for the
reasons a screen shows: ``describe(trend, window_s)`` says "12 sold here in the last 2 hours"
(from the counts: a decayed score is no number of anything a shopper could check).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .reasons import Reason

WINDOW_S = 7200.0
HALF_LIFE_S = 1800.0
MIN_SCORE = 0.5


@dataclass(frozen=True)
class Trend:
    score: float  # decayed units (see the module docstring)
    units: int  # units sold in the window, not decayed
    redeemed: int = 0  # coupons for the item redeemed in the window, not decayed


def trending(
    sales: Iterable[tuple[str, int, float]],
    redemption_skus: Iterable[tuple[str, float]] = (),
    *,
    now: float,
    window_s: float = WINDOW_S,
    half_life_s: float = HALF_LIFE_S,
    redemption_weight: float = 1.0,
    min_score: float = MIN_SCORE,
    top: int | None = None,
) -> dict[str, Trend]:
    """sku -> Trend from (sku, qty, at) sale lines and (sku, at) redemptions, ``at`` in unix seconds."""
    if not window_s > 0:
        raise ValueError(f"window_s must be > 0, got {window_s!r}")
    if not half_life_s > 0:
        raise ValueError(f"half_life_s must be > 0, got {half_life_s!r}")
    if not redemption_weight >= 0:
        raise ValueError(f"redemption_weight must be >= 0, got {redemption_weight!r}")
    if top is not None and top < 0:
        raise ValueError(f"top must be >= 0, got {top!r}")
    start = now - window_s
    hl = half_life_s  # divide, not multiply by 1/hl: a whole number of half-lives ago is exactly 2**-n
    exp2 = math.exp2
    weights: defaultdict[str, list[float]] = defaultdict(list)  # sku -> the weight of each event
    units: defaultdict[str, int] = defaultdict(int)
    for sku, qty, at in sales:
        if start < at <= now:
            weights[sku].append(qty * exp2((at - now) / hl))
            units[sku] += qty
    redeemed: defaultdict[str, int] = defaultdict(int)
    if redemption_weight:
        for sku, at in redemption_skus:
            if start < at <= now:
                weights[sku].append(redemption_weight * exp2((at - now) / hl))
                redeemed[sku] += 1
    fsum = math.fsum
    ranked = sorted((-score, sku) for sku, w in weights.items() if (score := fsum(w)) >= min_score)
    if top is not None:
        ranked = ranked[:top]
    return {sku: Trend(-s, units.get(sku, 0), redeemed.get(sku, 0)) for s, sku in ranked}


def scores(trends: Mapping[str, Trend]) -> dict[str, float]:
    """The plain {sku: score} that ``Context.trending`` takes, in the same order."""
    return {sku: t.score for sku, t in trends.items()}


def _window_words(window_s: float) -> Reason:
    minutes = round(window_s / 60)
    if minutes == 0:
        return Reason("{seconds:g} seconds", seconds=window_s)
    if minutes % 60 == 0:
        return Reason("hour", plural="{n} hours", n=minutes // 60)
    return Reason("minute", plural="{n} minutes", n=minutes)


def describe(trend: Trend, window_s: float = WINDOW_S) -> str:
    """Words for a reason: "12 sold here in the last 2 hours" (and the coupons, when there were any)."""
    sold = Reason("{n} sold", plural="{n} sold", n=trend.units) if trend.units else None
    redeemed = Reason("{n} coupon redeemed", plural="{n} coupons redeemed", n=trend.redeemed) if trend.redeemed \
        else None
    if sold and redeemed:
        what = Reason("{sold} and {redeemed}", sold=sold, redeemed=redeemed)
    else:
        what = sold or redeemed or Reason("trending")
    return Reason("{what} here in the last {window}", what=what, window=_window_words(window_s))
