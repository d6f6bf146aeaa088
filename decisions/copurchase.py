"""Item-to-item similarity from baskets, a customer's time-decayed affinity, and recommendations.

SAR-style (Microsoft Recommenders' Simple Algorithm for Recommendation), stdlib only, pure: the
same code builds the ``co_purchase`` section at head office and runs at the edge over a store's
cached history. Lines are bundle dicts or compact tuples (see ``decisions.rfm``).

Co-occurrence
-------------
Each basket counts as the set of its distinct skus (quantities and repeated lines do not add).
``c_ii`` is the number of baskets holding item i, ``c_ij`` the number holding both i and j.
Baskets with more than ``max_basket_items`` (50) distinct skus are skipped entirely, for both
counts: a basket of n items makes n(n-1)/2 pairs, so one stock-up basket of 300 items would cost
as much as 20,000 ordinary ones while saying little about what goes with what.

Minimum support: a pair is kept only when ``c_ij >= min_pair_count`` (3) and both items have
``c_ii >= min_item_count`` (5).

Similarity of a kept pair:

* ``"jaccard"``: ``c_ij / (c_ii + c_jj - c_ij)``, in (0, 1], the share of the baskets holding
  either item that hold both;
* ``"lift"``: SAR's ``c_ij / (c_ii * c_jj)``, divided by the largest such value among the kept
  pairs so the strongest pair scores 1.0 and every score is in (0, 1]. Lift favours rarer items
  that go together; the normalisation makes the scale comparable between runs but means a score
  is relative to the run's strongest pair.

Top N: every item keeps its ``top_n`` (20) best neighbours, ranked by score, then count, then
sku. A pair is emitted when it is among the top N of either of its items, so an item may end up
with more than N neighbours but never loses one of its own top N.

The rows match the ``co_purchase`` section: ``{"a", "b", "score", "count"}`` with ``a < b``,
sorted by (a, b).

Recommendations
---------------
``affinity`` weights each of a customer's purchases of an item by ``0.5 ** (age_days /
half_life_days)``: bought now counts 1, bought one half-life ago 0.5. Each distinct (basket, sku)
counts once, at its earliest line. The weights are summed as integers in units of 2**-32 so the result does not depend
on the order of the lines (a float sum would, in its last bits, and could flip a close ranking).

``recommend`` scores a candidate j as ``sum_i affinity[i] * similarity(i, j)`` over the
customer's items i (in sku order, so the sum is reproducible), ranks by score then sku, and walks
down the ranking skipping excluded and out-of-stock items until it has ``k``: filtering after
ranking while keeping on scanning, so a few sold-out favourites do not leave the list short (the
lesson of Gorse PR #1192). The stock check is only called for the candidates it walks past. An
item is never recommended for itself; items the customer already buys may be recommended unless
the caller passes them in ``exclude``. Each recommendation carries up to ``max_reasons`` (2)
reasons in plain words, naming the customer's items that contributed most.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

from sync.runtime import gc_paused

from .reasons import Reason
from .rfm import DAY, Line, as_rows, epoch, iter_lines

SIMILARITIES = ("jaccard", "lift")
DEFAULT_MAX_BASKET_ITEMS = 50
DEFAULT_MIN_PAIR_COUNT = 3
DEFAULT_MIN_ITEM_COUNT = 5
DEFAULT_TOP_N = 20
ONE = 1 << 32  # affinity weights are summed in fixed point, 2**-32 units: exact, so line order cannot matter

LineLike = Line | tuple | Mapping[str, Any]


def basket_items(
    lines: Iterable[LineLike], *, since: float | None = None, until: float | None = None
) -> list[list[str]]:
    """The skus of every basket (as listed, repeats included), optionally only lines in (since, until].

    The order of the baskets is unspecified; co-occurrence counts do not depend on it.
    """
    by_basket: defaultdict[str, list[str]] = defaultdict(list)
    with gc_paused():
        if since is None and until is None:
            for bid, _pid, sku, _qty, _amount, _at in as_rows(lines):
                by_basket[bid].append(sku)
        else:
            lo = float("-inf") if since is None else since
            hi = float("inf") if until is None else until
            for bid, _pid, sku, _qty, _amount, at in as_rows(lines):
                if lo < at <= hi:
                    by_basket[bid].append(sku)
        return list(by_basket.values())


def co_occurrence(
    baskets: Iterable[Iterable[str]], *, max_basket_items: int = DEFAULT_MAX_BASKET_ITEMS
) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """Item counts c_ii and pair counts c_ij (keys (a, b) with a < b) over baskets of skus."""
    items: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    update_items, update_pairs = items.update, pairs.update
    with gc_paused():
        for basket in baskets:
            distinct = sorted(set(basket))
            n = len(distinct)
            if n > max_basket_items:
                continue
            update_items(distinct)
            if n > 1:
                update_pairs(combinations(distinct, 2))
    return items, pairs


def similarity_rows(
    items: Mapping[str, int],
    pairs: Mapping[tuple[str, str], int],
    *,
    similarity: str = "jaccard",
    min_pair_count: int = DEFAULT_MIN_PAIR_COUNT,
    min_item_count: int = DEFAULT_MIN_ITEM_COUNT,
    top_n: int = DEFAULT_TOP_N,
) -> list[dict[str, Any]]:
    """``co_purchase`` rows from co-occurrence counts, with minimum support and top N per item."""
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, not {similarity!r}")
    kept: list[tuple[str, str, int, float]] = []
    for (a, b), c in pairs.items():
        if c < min_pair_count:
            continue
        ca, cb = items[a], items[b]
        if ca < min_item_count or cb < min_item_count:
            continue
        kept.append((a, b, c, c / (ca + cb - c) if similarity == "jaccard" else c / (ca * cb)))
    if similarity == "lift" and kept:
        top = max(s for *_, s in kept)
        kept = [(a, b, c, s / top) for a, b, c, s in kept]

    ranked: defaultdict[str, list[tuple[float, int, str]]] = defaultdict(list)
    for a, b, c, s in kept:
        ranked[a].append((-s, -c, b))
        ranked[b].append((-s, -c, a))
    chosen: set[tuple[str, str]] = set()
    for item, cands in ranked.items():
        cands.sort()
        for _s, _c, other in cands[:top_n]:
            chosen.add((item, other) if item < other else (other, item))
    return [{"a": a, "b": b, "score": s, "count": c} for a, b, c, s in sorted(kept) if (a, b) in chosen]


def co_purchase(
    lines: Iterable[LineLike],
    *,
    similarity: str = "jaccard",
    min_pair_count: int = DEFAULT_MIN_PAIR_COUNT,
    min_item_count: int = DEFAULT_MIN_ITEM_COUNT,
    top_n: int = DEFAULT_TOP_N,
    max_basket_items: int = DEFAULT_MAX_BASKET_ITEMS,
    now: datetime | float | None = None,
    window_days: float | None = None,
) -> list[dict[str, Any]]:
    """The ``co_purchase`` section from basket lines (optionally only the ``window_days`` up to ``now``)."""
    until = None if now is None else epoch(now)
    since = None
    if window_days is not None:
        if until is None:
            raise ValueError("window_days needs now")
        since = until - window_days * DAY
    items, pairs = co_occurrence(basket_items(lines, since=since, until=until), max_basket_items=max_basket_items)
    return similarity_rows(items, pairs, similarity=similarity, min_pair_count=min_pair_count,
                           min_item_count=min_item_count, top_n=top_n)


def neighbour_index(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """sku -> {neighbour sku: score} from ``co_purchase`` rows, in both directions."""
    index: defaultdict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        a, b, s = row["a"], row["b"], float(row["score"])
        index[a][b] = s
        index[b][a] = s
    return dict(index)


def affinity(lines: Iterable[LineLike], now: datetime | float, half_life_days: float = 30) -> dict[str, float]:
    """One customer's time-decayed affinity per sku; a purchase one half-life old weighs half of one now."""
    t_now = epoch(now)
    first: dict[tuple[str, str], float] = {}  # (basket, sku) -> its earliest line up to now
    for bid, _pid, sku, _qty, _amount, at in iter_lines(lines):
        if at <= t_now:
            seen = first.get((bid, sku))
            if seen is None or at < seen:
                first[bid, sku] = at
    fixed: dict[str, int] = {}
    scale = 1.0 / (half_life_days * DAY)
    for (_bid, sku), at in first.items():
        fixed[sku] = fixed.get(sku, 0) + round(0.5 ** ((t_now - at) * scale) * ONE)
    return {sku: w / ONE for sku, w in fixed.items()}


def purchase_counts(lines: Iterable[LineLike], now: datetime | float, days: float = 30) -> dict[str, int]:
    """How many baskets in the last ``days`` up to ``now`` held each sku (for the words of a reason)."""
    t_now = epoch(now)
    start = t_now - days * DAY
    seen: set[tuple[str, str]] = set()
    for bid, _pid, sku, _qty, _amount, at in iter_lines(lines):
        if start < at <= t_now:
            seen.add((bid, sku))
    return dict(Counter(sku for _bid, sku in seen))


@dataclass(slots=True)
class Recommendation:
    sku: str
    score: float
    reasons: list[str] = field(default_factory=list)


def recommend(
    affinity: Mapping[str, float],
    neighbours: Mapping[str, Mapping[str, float] | Iterable[tuple[str, float]]],
    in_stock: Callable[[str], bool],
    k: int,
    exclude: Iterable[str] = (),
    *,
    name: Callable[[str], str] = str,
    counts: Mapping[str, int] | None = None,
    counts_days: float = 30,
    max_reasons: int = 2,
) -> list[Recommendation]:
    """Up to ``k`` in-stock items, best first, each with plain-words reasons.

    ``neighbours`` maps a sku to its neighbours with their similarity (a mapping, as from
    ``neighbour_index``, or pairs). ``counts`` (from ``purchase_counts``) lets a reason say how
    often the customer bought the item behind it in the last ``counts_days``.
    """
    if k <= 0:
        return []
    scores: dict[str, float] = {}
    because: defaultdict[str, list[tuple[float, str]]] = defaultdict(list)
    for i in sorted(affinity):
        weight = affinity[i]
        if weight <= 0:
            continue
        near = neighbours.get(i)
        if not near:
            continue
        for j, sim in near.items() if isinstance(near, Mapping) else near:
            if j == i:
                continue
            contribution = weight * sim
            scores[j] = scores.get(j, 0.0) + contribution
            because[j].append((contribution, i))
    excluded = set(exclude)
    out: list[Recommendation] = []
    for j in sorted(scores, key=lambda s: (-scores[s], s)):
        if scores[j] <= 0 or j in excluded or not in_stock(j):
            continue
        top = sorted(because[j], key=lambda ci: (-ci[0], ci[1]))[:max_reasons]
        out.append(Recommendation(j, scores[j], [_reason(i, name, counts, counts_days) for _c, i in top]))
        if len(out) == k:
            break
    return out


def _reason(i: str, name: Callable[[str], str], counts: Mapping[str, int] | None, days: float) -> Reason:
    if counts is None:
        return Reason("often bought with {item}, which you buy", item=name(i))
    n = counts.get(i, 0)
    if n == 0:
        return Reason("often bought with {item}, which you have bought before", item=name(i))
    return Reason("often bought with {item} (you bought it once in {days:g} days)",
                  plural="often bought with {item} (you bought it {n} times in {days:g} days)", n=n, item=name(i),
                  days=days)
