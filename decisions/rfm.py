"""RFM: recency, frequency and monetary value per customer, their 1-5 scores and a named tier.

The same code runs at head office (its output goes to the ``rfm`` field of the ``profiles``
section) and at the edge over a store's cached history, so it is pure and stdlib only: the
clock comes in as ``now`` (an aware datetime or epoch seconds).

Basket lines
------------
Every analytics function (here, in ``copurchase`` and in ``popularity``) takes an iterable of
basket lines in either form, mixed freely:

* the bundle form, a dict with ``basket_id``, ``profile_id`` (optional), ``sku``, ``qty``,
  ``amount_cents`` and ``at`` (ISO 8601 with an offset or ``Z``; a time without an offset is
  read as UTC);
* the compact form, a tuple ``(basket_id, profile_id | None, sku, qty, amount_cents, at)`` with
  ``at`` in epoch seconds: :class:`Line`, or a plain tuple in that order. :func:`compact`
  turns bundle lines into it once, parsing each distinct ``at`` string once; it is what to
  keep when several analyses run over the same history.

Lines later than ``now`` are ignored by every analysis that takes ``now``, so running "as of" a
past moment sees exactly the history up to it. ``qty`` is not used by RFM; ``line_id`` is not used at all (deduplicating
lines is the cache's job).

Metrics
-------
Over the window ``(now - window_days, now]`` (default 365 days), for every customer with a
``profile_id``:

* ``recency_days``: whole days (floor) from the customer's last purchase to ``now``;
* ``frequency``: distinct baskets;
* ``monetary_cents``: the sum of ``amount_cents`` (refund lines, if negative, reduce it).

Scores
------
Each metric gets a score 1-5, 5 best (recency: fewer days is better), from the customer's
place among the customers active in the window. With ``below`` = the number of other customers
with a strictly worse value and ``n`` customers::

    score = min(5, 1 + floor(5 * below / (n - 1)))

i.e. beating under 20 % of the others scores 1, 20-40 % scores 2, ... 80-100 % scores 5. Ties
share a score (the one of the lowest rank in the tie), so the result does not depend on the
order of the input and the customers with the worst value always score 1. With fewer than five
customers the spread still runs from 1 to 5 (two customers: 1 and 5; three: 1, 3, 5). When all
customers share one value (this includes a single customer) nobody is ranked: everyone scores 3.
Scores are relative to the population given: a store's own history gives store-relative scores.

Tiers
-----
The first rule that matches names the tier (``TIER_RULES``; R, F, M are the scores):

====================  =====================================================================
``new``               first purchase (in all the lines given, not only the window) less
                      than ``new_days`` (30) days before ``now``, and frequency 1 or 2
``champions``         R >= 4 and F >= 4 and M >= 4
``at_risk``           R <= 2 and F >= 3: used to come often, has not lately
``loyal``             F >= 4 (R >= 3 here, the rule above took R <= 2)
``lost``              R == 1 (F <= 2 here)
``promising``         R >= 4 (F <= 3 here): recent but not yet frequent
``needs_attention``   everything else (R 2-3 with F <= 3, R == 2 with F <= 2, ...)
====================  =====================================================================

Customers whose purchases all lie before the window are "dormant": they are reported with
frequency 0, monetary 0, R = F = M = 1 and tier ``lost``, and are left out of the ranking so
they do not shift the scores of the active customers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sync.runtime import gc_paused

DAY = 86_400.0
DEFAULT_WINDOW_DAYS = 365
DEFAULT_NEW_DAYS = 30
TIERS = ("new", "champions", "at_risk", "loyal", "lost", "promising", "needs_attention")


class Line(NamedTuple):
    """One basket line in the compact form; ``at`` is epoch seconds."""

    basket_id: str
    profile_id: str | None
    sku: str
    qty: int
    amount_cents: int
    at: float


def epoch(value: datetime | float | int | str) -> float:
    """Epoch seconds of an aware datetime, an ISO 8601 string or a number. Naive datetimes are refused;
    an ISO string without an offset is read as UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        dt = datetime.fromisoformat(value)
        return (dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("now must be timezone-aware (or epoch seconds)")
        return value.timestamp()
    raise TypeError(f"not a time: {value!r}")


def iter_lines(lines: Iterable[Line | tuple | Mapping[str, Any]]) -> Iterator[tuple]:
    """Yield every line in the compact form; dicts are converted, tuples pass through untouched."""
    parsed: dict[str, float] = {}
    for ln in lines:
        if isinstance(ln, tuple):
            yield ln
            continue
        at = ln["at"]
        t = parsed.get(at)
        if t is None:
            try:
                t = parsed[at] = epoch(at)
            except (TypeError, ValueError) as e:
                raise ValueError(f"basket line {ln.get('line_id')!r}: bad 'at' {at!r}") from e
        yield (ln["basket_id"], ln.get("profile_id"), ln["sku"], ln["qty"], ln["amount_cents"], t)


def compact(lines: Iterable[Line | tuple | Mapping[str, Any]]) -> list[tuple]:
    """The lines as a list of compact tuples, ready to be read by several analyses."""
    return list(iter_lines(lines))


def as_rows(lines: Iterable[Line | tuple | Mapping[str, Any]]) -> Sequence[tuple]:
    """The lines themselves when they are already a list or tuple of compact tuples, else ``compact(lines)``."""
    if isinstance(lines, list | tuple) and all(isinstance(ln, tuple) for ln in lines):
        return lines
    return compact(lines)


@dataclass(frozen=True, slots=True)
class RfmScore:
    profile_id: str
    recency_days: int
    frequency: int
    monetary_cents: int
    r: int
    f: int
    m: int
    tier: str


# (tier, rule in words, predicate over (r, f, m, frequency, is_new)); the first match wins.
TierRule = tuple[str, str, Callable[[int, int, int, int, bool], bool]]
TIER_RULES: tuple[TierRule, ...] = (
    ("new", "first purchase within new_days and frequency 1-2", lambda r, f, m, n, new: new and 1 <= n <= 2),
    ("champions", "R>=4 and F>=4 and M>=4", lambda r, f, m, n, new: r >= 4 and f >= 4 and m >= 4),
    ("at_risk", "R<=2 and F>=3", lambda r, f, m, n, new: r <= 2 and f >= 3),
    ("loyal", "F>=4", lambda r, f, m, n, new: f >= 4),
    ("lost", "R==1", lambda r, f, m, n, new: r == 1),
    ("promising", "R>=4", lambda r, f, m, n, new: r >= 4),
    ("needs_attention", "anything else", lambda r, f, m, n, new: True),
)


def tier(r: int, f: int, m: int, *, frequency: int = 0, is_new: bool = False) -> str:
    """The tier of a customer's scores by ``TIER_RULES`` (``frequency`` and ``is_new`` feed the "new" rule)."""
    for name, _words, matches in TIER_RULES:
        if matches(r, f, m, frequency, is_new):
            return name
    raise AssertionError("the last tier rule matches everything")  # pragma: no cover


def quintiles(values: Mapping[str, float]) -> dict[str, int]:
    """Score every key 1-5 by its value, higher values better, with the tie and small-n rules above."""
    n = len(values)
    distinct = sorted(set(values.values()))
    if len(distinct) <= 1:
        return dict.fromkeys(values, 3)
    counts: dict[float, int] = {}
    for v in values.values():
        counts[v] = counts.get(v, 0) + 1
    score_of: dict[float, int] = {}
    below = 0
    for v in distinct:
        score_of[v] = min(5, 1 + (5 * below) // (n - 1))
        below += counts[v]
    return {k: score_of[v] for k, v in values.items()}


def rfm_scores(
    lines: Iterable[Line | tuple | Mapping[str, Any]],
    now: datetime | float,
    *,
    window_days: float = DEFAULT_WINDOW_DAYS,
    new_days: float = DEFAULT_NEW_DAYS,
) -> list[RfmScore]:
    """RFM metrics, scores and tier of every customer in the lines, sorted by profile_id."""
    t_now = epoch(now)
    start = t_now - window_days * DAY
    # per customer: [first purchase, last purchase, monetary in window]; (customer, basket) pairs in window
    state: dict[str, list] = {}
    baskets: set[tuple[str, str]] = set()
    add_basket = baskets.add
    with gc_paused():
        for bid, pid, _sku, _qty, amount, at in as_rows(lines):
            if pid is None or at > t_now:
                continue
            st = state.get(pid)
            if st is None:
                st = state[pid] = [at, at, 0]
            elif at < st[0]:
                st[0] = at
            elif at > st[1]:
                st[1] = at
            if at > start:
                st[2] += amount
                add_basket((pid, bid))

    frequency: dict[str, int] = {}
    for pid, _bid in baskets:
        frequency[pid] = frequency.get(pid, 0) + 1

    active = {pid: st for pid, st in state.items() if pid in frequency}
    recency = {pid: int((t_now - st[1]) // DAY) for pid, st in state.items()}
    r_score = quintiles({pid: -recency[pid] for pid in active})
    f_score = quintiles({pid: frequency[pid] for pid in active})
    m_score = quintiles({pid: st[2] for pid, st in active.items()})
    new_after = t_now - new_days * DAY

    out = []
    for pid in sorted(state):
        st = state[pid]
        if pid in active:
            r, f, m, n = r_score[pid], f_score[pid], m_score[pid], frequency[pid]
            name = tier(r, f, m, frequency=n, is_new=st[0] > new_after)
            out.append(RfmScore(pid, recency[pid], n, st[2], r, f, m, name))
        else:
            out.append(RfmScore(pid, recency[pid], 0, 0, 1, 1, 1, "lost"))
    return out


def profile_rfm(score: RfmScore) -> dict[str, int | str]:
    """The ``rfm`` field of a profile in a bundle: ``{"r", "f", "m", "tier"}``."""
    return {"r": score.r, "f": score.f, "m": score.m, "tier": score.tier}


def profiles_rfm(scores: Iterable[RfmScore]) -> dict[str, dict[str, int | str]]:
    """profile_id -> its ``rfm`` field, for every score."""
    return {s.profile_id: profile_rfm(s) for s in scores}
