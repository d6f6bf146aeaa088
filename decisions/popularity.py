"""What sells at a store in each daypart: the fallback for unknown shoppers and for new items.

Pure and stdlib only; the same code runs at head office (one store's lines at a time) and at the
edge over the store's cached history. Lines are bundle dicts or compact tuples (see
``decisions.rfm``); the caller passes one store's lines and that store's time zone.

* Dayparts are a mapping ``name -> ("HH:MM", "HH:MM")`` in store local time, each the window
  [from, to). A window whose end is before its start wraps midnight (``("22:00", "02:00")``); one
  whose end equals its start is the whole day. Windows may overlap: a line counts in each
  daypart that holds its local time. Local time comes from ``zoneinfo``, so DST is honoured.
* Only lines in the window ``(now - window_days, now]`` (default 28 days) count. An item scores
  the number of distinct baskets holding it in the daypart, or with ``half_life_days`` the sum of
  ``0.5 ** (age_days / half_life_days)`` over those baskets, so recent sales (and items that are
  new and selling) rise faster than a long-window count would let them. Weights are summed as
  integers in units of 2**-32, so the scores (and the ranking) do not depend on the order of the
  lines, as a float sum would in its last bits.
* A basket counts once per sku, at the time of its earliest line of that sku in the window;
  quantities do not add.
* ``popular`` ranks by score then sku and walks down the ranking past excluded and out-of-stock
  items until it has ``k``, calling ``in_stock`` only for the items it walks past. It reads the
  lines on every call; a screen asking many times computes ``popularity_by_daypart`` once (per
  bundle, say) and asks ``rank`` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sync.runtime import gc_paused

from .reasons import Reason, Term
from .rfm import DAY, Line, as_rows, epoch

DEFAULT_WINDOW_DAYS = 28
ONE = 1 << 32  # decayed weights are summed in fixed point, 2**-32 units: exact, so the order of lines cannot matter
ALL_DAY = "all day"

LineLike = Line | tuple | Mapping[str, Any]


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 23 and 0 <= m <= 59) or len(minutes) != 2:
        raise ValueError(f"not a time of day HH:MM: {hhmm!r}")
    return h * 60 + m


def _contains(start: int, end: int, minute: int) -> bool:
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end  # wraps midnight; start == end is the whole day


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _minute_table(dayparts: Mapping[str, tuple[str, str]]) -> list[tuple[str, ...]]:
    """minute of the day (0-1439) -> the names of the dayparts holding it."""
    windows = [(name, _minutes(a), _minutes(b)) for name, (a, b) in dayparts.items()]
    return [tuple(name for name, a, b in windows if _contains(a, b, m)) for m in range(1440)]


def daypart_at(when: datetime | float, tz: str | tzinfo, dayparts: Mapping[str, tuple[str, str]]) -> str | None:
    """The first daypart (in mapping order) holding the moment ``when`` in the zone ``tz``, or None."""
    local = datetime.fromtimestamp(epoch(when), _zone(tz))
    minute = local.hour * 60 + local.minute
    for name, (a, b) in dayparts.items():
        if _contains(_minutes(a), _minutes(b), minute):
            return name
    return None


class _Offsets:
    """UTC offset in seconds of epoch instants in a zone, cached per hour when constant through it."""

    def __init__(self, zone: tzinfo):
        self.zone = zone
        self.by_hour: dict[int, int | None] = {}

    def exact(self, t: int) -> int:
        off = datetime.fromtimestamp(t, self.zone).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    def hour(self, hour: int) -> int | None:
        """The offset through the whole hour (epoch seconds // 3600), or None if it changes within it."""
        if hour not in self.by_hour:
            first, last = self.exact(hour * 3600), self.exact(hour * 3600 + 3599)
            self.by_hour[hour] = first if first == last else None
        return self.by_hour[hour]


def popularity_by_daypart(
    lines: Iterable[LineLike],
    *,
    tz: str | tzinfo,
    dayparts: Mapping[str, tuple[str, str]],
    now: datetime | float,
    window_days: float = DEFAULT_WINDOW_DAYS,
    half_life_days: float | None = None,
) -> dict[str, dict[str, tuple[float, int]]]:
    """daypart -> sku -> (score, baskets), plus ``ALL_DAY`` for the whole day, in one pass over the lines."""
    if ALL_DAY in dayparts:
        raise ValueError(f"{ALL_DAY!r} is reserved for the whole day's figures")
    t_now = epoch(now)
    start = t_now - window_days * DAY
    minute_dayparts = _minute_table(dayparts)
    offsets = _Offsets(_zone(tz))
    by_hour = offsets.by_hour
    scale = None if half_life_days is None else 1.0 / (half_life_days * DAY)
    out: dict[str, dict[str, list]] = {name: {} for name in dayparts}
    out[ALL_DAY] = {}
    # minute of the local day -> the score tables a sale at that minute counts in
    tables = [(out[ALL_DAY], *(out[name] for name in names)) for names in minute_dayparts]
    with gc_paused():
        first: dict[tuple[str, str], float] = {}  # (basket, sku) -> its earliest line in the window
        for bid, _pid, sku, _qty, _amount, at in as_rows(lines):
            if start < at <= t_now:
                key = (bid, sku)
                seen = first.get(key)
                if seen is None or at < seen:
                    first[key] = at
        for (_bid, sku), at in first.items():
            # whole seconds as datetime.fromtimestamp sees them: it rounds to the microsecond, half to even
            sec = int(at // 1)
            if (at - sec) * 1e6 >= 999_999.5:
                sec += 1
            hour = sec // 3600
            off = by_hour[hour] if hour in by_hour else offsets.hour(hour)
            if off is None:  # a DST switch within this hour: work the offset out exactly
                off = offsets.exact(sec)
            w = ONE if scale is None else round(0.5 ** ((t_now - at) * scale) * ONE)
            for scores in tables[(sec + off) // 60 % 1440]:
                acc = scores.get(sku)
                if acc is None:
                    scores[sku] = [w, 1]
                else:
                    acc[0] += w
                    acc[1] += 1
    return {name: {sku: (acc[0] / ONE, acc[1]) for sku, acc in scores.items()} for name, scores in out.items()}


def popular(
    lines: Iterable[LineLike],
    *,
    tz: str | tzinfo,
    dayparts: Mapping[str, tuple[str, str]],
    daypart: str | None,
    now: datetime | float,
    k: int,
    in_stock: Callable[[str], bool],
    window_days: float = DEFAULT_WINDOW_DAYS,
    half_life_days: float | None = None,
    exclude: Iterable[str] = (),
) -> list[tuple[str, float, str]]:
    """The ``k`` best-selling in-stock items of the daypart (None: the whole day) as (sku, score, reason)."""
    if daypart is not None and daypart not in dayparts:
        raise ValueError(f"unknown daypart {daypart!r}")
    if k <= 0:
        return []
    wanted = {} if daypart is None else {daypart: dayparts[daypart]}
    table = popularity_by_daypart(lines, tz=tz, dayparts=wanted, now=now, window_days=window_days,
                                  half_life_days=half_life_days)
    return rank(table[ALL_DAY if daypart is None else daypart], daypart=daypart, k=k, in_stock=in_stock,
                exclude=exclude, window_days=window_days)


def rank(
    scores: Mapping[str, tuple[float, int]],
    *,
    daypart: str | None,
    k: int,
    in_stock: Callable[[str], bool],
    exclude: Iterable[str] = (),
    window_days: float = DEFAULT_WINDOW_DAYS,
) -> list[tuple[str, float, str]]:
    """``popular`` over one daypart's figures from ``popularity_by_daypart``, computed once and kept.

    ``window_days`` only feeds the words of the reason and should be the one the figures used.
    """
    excluded = set(exclude)
    out: list[tuple[str, float, str]] = []
    if k <= 0:
        return out
    for sku in sorted(scores, key=lambda s: (-scores[s][0], s)):
        if sku in excluded or not in_stock(sku):
            continue
        score, baskets = scores[sku]
        out.append((sku, score, _popular(baskets, window_days, daypart)))
        if len(out) == k:
            break
    return out


def _popular(baskets: int, days: float, daypart: str | None) -> Reason:
    if daypart is None:
        return Reason("popular at this store (in {n} basket in the last {days:g} days)",
                      plural="popular at this store (in {n} baskets in the last {days:g} days)", n=baskets, days=days)
    return Reason("popular at this store in the {daypart} (in {n} basket in the last {days:g} days)",
                  plural="popular at this store in the {daypart} (in {n} baskets in the last {days:g} days)",
                  n=baskets, days=days, daypart=Term(daypart))
