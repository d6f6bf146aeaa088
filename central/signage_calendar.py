"""A store's signage week as a calendar: which playlists play when, in the store's wall-clock time.

Computed with the player's own schedule (``signage.schedule.evaluate``): from each local midnight, the active set and
the instant it can next change, hop by hop to the next midnight, so every block starts and ends where the player
would swap (no sampling grid). Plays are not counted (a capped entry shows where it may play; its cap is in its
words). A day is as long as the clock makes it: 23 hours on a spring-forward night (the skipped hour is listed), 25 on
a fall-back night (the repeated hour is listed; a block across it is one block on the wall clock).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from signage.schedule import WEEKDAYS, Entry, Schedule, ScheduleContext, evaluate

DAY_MIN = 24 * 60


@dataclass(frozen=True)
class Block:
    """A stretch of a day with one active set, placed on the wall clock in minutes from midnight (``end`` 1440 is
    midnight at the day's end)."""

    start_min: int
    end_min: int
    playlists: tuple[str, ...]
    entries: tuple[Entry, ...]

    @property
    def label(self) -> str:
        return f"{_hhmm(self.start_min)}–{_hhmm(self.end_min)}"

    @property
    def default(self) -> bool:
        return bool(self.entries) and all(e.default for e in self.entries)


@dataclass(frozen=True)
class Day:
    day: date
    hours: float  # 23, 24 or 25
    blocks: tuple[Block, ...]
    skipped: tuple[int, int] | None = None  # wall minutes that never show (spring forward)
    repeated: tuple[int, int] | None = None  # wall minutes that show twice (fall back)

    @property
    def name(self) -> str:
        return WEEKDAYS[self.day.weekday()]


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week(docs: Sequence[Mapping], timezone: str, monday: date, zone: str = "main") -> list[Day]:
    """The seven days from ``monday`` for the layout zone ``zone``; ScheduleError when an entry cannot be read."""
    schedule = Schedule.from_docs(docs, timezone)
    return [_day(schedule, ZoneInfo(timezone), monday + timedelta(days=n), zone) for n in range(7)]


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tz).astimezone(UTC)


def _day(schedule: Schedule, tz: ZoneInfo, day: date, zone: str) -> Day:
    start, end = _midnight(day, tz), _midnight(day + timedelta(days=1), tz)
    runs: list[tuple[datetime, datetime, tuple[Entry, ...]]] = []
    at = start
    while at < end:
        active, deadline = evaluate(schedule, at, ScheduleContext())
        until = min(deadline, end)
        entries = active.zones.get(zone, ())
        if runs and runs[-1][2] == entries:
            runs[-1] = (runs[-1][0], until, entries)
        else:
            runs.append((at, until, entries))
        at = until
    blocks: list[Block] = []
    for a, b, entries in runs:
        pieces = _wall_pieces(a, b, tz, start)
        if pieces:  # across a clock change the pieces meet or overlap on the wall: one block
            lo, hi = min(p[0] for p in pieces), max(p[1] for p in pieces)
            blocks.append(Block(lo, hi, tuple(e.playlist for e in entries), entries))
    skipped, repeated = _shift(start, end, tz)
    return Day(day, (end - start).total_seconds() / 3600, tuple(blocks), skipped, repeated)


def _wall_pieces(a: datetime, b: datetime, tz: ZoneInfo, midnight: datetime) -> list[tuple[int, int]]:
    """``[a, b)`` on the day's wall clock, in minutes: one piece per stretch of one UTC offset (a stretch across a
    fall-back is two pieces, the second starting again in the repeated hour; one across a spring-forward jumps the
    skipped hour)."""
    base = midnight.astimezone(tz).replace(tzinfo=None)
    pieces = []
    lo = a
    while lo < b:
        offset = lo.astimezone(tz).utcoffset()
        # the end of this offset's stretch: the first whole hour at which the offset differs, or b
        step = lo.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        while step < b and step.astimezone(tz).utcoffset() == offset:
            step += timedelta(hours=1)
        hi = min(step, b)
        wall = [round(((t + offset).replace(tzinfo=None) - base).total_seconds() / 60) for t in (lo, hi)]
        if wall[1] > wall[0]:
            pieces.append((wall[0], min(wall[1], DAY_MIN)))
        lo = hi
    return pieces


def _shift(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """The day's skipped or repeated wall minutes, when its clock changes (zones change on whole hours, UTC)."""
    at = start.replace(minute=0, second=0, microsecond=0)
    while at < end:
        before, after = (at - timedelta(seconds=1)).astimezone(tz).utcoffset(), at.astimezone(tz).utcoffset()
        if at > start and before != after:
            base = start.astimezone(tz).replace(tzinfo=None)
            old = round(((at + before).replace(tzinfo=None) - base).total_seconds() / 60)
            new = round(((at + after).replace(tzinfo=None) - base).total_seconds() / 60)
            return ((old, new), None) if new > old else (None, (new, old))
        at += timedelta(hours=1)
    return None, None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _runs(values: list, following: Callable) -> list[tuple]:
    """Sorted values as (first, last) runs of consecutive ones: Mon, Tue, Wed as Mon–Wed."""
    runs: list[list] = []
    for v in values:
        if runs and following(runs[-1][1]) == v:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return [tuple(r) for r in runs]


def entry_words(entry: Entry) -> str:
    """Why an entry plays when it does, as the schedule page lists it."""
    parts = []
    if entry.default:
        parts.append("default: plays when nothing else is scheduled")
    if entry.weekdays is not None and len(entry.weekdays) < 7:
        parts.append(", ".join(WEEKDAYS[lo].capitalize() if lo == hi else
                               f"{WEEKDAYS[lo].capitalize()}–{WEEKDAYS[hi].capitalize()}"
                               for lo, hi in _runs(sorted(entry.weekdays), lambda d: d + 1)))
    if entry.windows:
        parts.append(", ".join(f"{_hhmm(a // 60)}–{_hhmm(b // 60) if b else '24:00'}" for a, b in entry.windows))
    if entry.dates:
        days = sorted({lo + timedelta(days=n) for lo, hi in entry.dates for n in range((hi - lo).days + 1)})
        parts.append(", ".join(str(lo) if lo == hi else f"{lo} to {hi}"
                               for lo, hi in _runs(days, lambda d: d + timedelta(days=1))))
    parts.append(f"priority {entry.priority}")
    if entry.max_per_hour:
        parts.append(f"at most {entry.max_per_hour} items an hour")
    return "; ".join(parts)
