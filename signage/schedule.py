"""Which playlists play now, and until when: a pure function of (schedule, now, context).

    schedule = Schedule.from_docs(reader.schedules(), "Europe/Sofia")
    active, deadline = evaluate(schedule, now, ScheduleContext(plays_this_hour=..., overrides=...))

The player sleeps until ``deadline`` (or an item boundary); it never polls the schedule.

Rules, all in the store's wall-clock time (``zoneinfo``, so DST shifts move nothing):

- An entry matches when its date ranges, weekday mask and daypart windows all allow the moment
  (an absent control allows everything). A window ``22:00-02:00`` wraps midnight; its part after
  midnight belongs to the day it started on, so a Friday-only 22:00-02:00 plays Saturday 01:00.
- Per zone, the matching entries of the highest priority play (several at equal priority are
  rotated together, by id). ``default`` entries play only when nothing else in their zone matches.
- An entry that has played ``max_per_hour`` items in the current hour (UTC hours, as proof of play
  counts them) drops out until the next hour. Plays are the caller's to count; the player evaluates
  again after each play of a capped entry.
- An active override beats every schedule: the most specific scope, then the newest, wins.

A window boundary that falls in a DST gap (02:30 on a spring-forward night where 03:00 jumps to
04:00) takes effect at the jump; one in the repeated hour of a fall-back night takes effect both times.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sync.cache.bundles import scope_rank
from sync.protocol.overrides import Override

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_S = 86400
HOUR_S = 3600


class ScheduleError(ValueError):
    """A schedule entry that cannot be read; the message names the entry and the field."""


@dataclass(frozen=True)
class Entry:
    id: str
    playlist: str
    priority: int = 0
    zone: str = "main"
    dates: tuple[tuple[date, date], ...] = ()
    weekdays: frozenset[int] | None = None
    windows: tuple[tuple[int, int], ...] = ()  # (start, end) in seconds of the local day; start > end wraps
    max_per_hour: int | None = None
    default: bool = False

    @classmethod
    def from_doc(cls, doc: Mapping) -> Entry:
        where = f"schedule {doc.get('id')!r}"
        try:
            return cls(
                id=doc["id"], playlist=doc["playlist"], priority=int(doc.get("priority", 0)),
                zone=doc.get("zone") or "main",
                dates=tuple(_date_range(d) for d in doc.get("dates") or ()),
                weekdays=frozenset(_weekday(w) for w in doc["weekdays"]) if doc.get("weekdays") else None,
                windows=tuple((_seconds(w["from"]), _seconds(w["to"])) for w in doc.get("dayparts") or ()),
                max_per_hour=doc.get("max_per_hour"), default=bool(doc.get("default", False)),
            )
        except KeyError as exc:
            raise ScheduleError(f"{where}: missing field {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ScheduleError(f"{where}: {exc}") from None

    def day_allows(self, day: date) -> bool:
        if self.weekdays is not None and day.weekday() not in self.weekdays:
            return False
        return not self.dates or any(lo <= day <= hi for lo, hi in self.dates)

    def matches(self, day: date, second: float) -> bool:
        if not self.windows:
            return self.day_allows(day)
        for start, end in self.windows:
            if start < end:
                if start <= second < end and self.day_allows(day):
                    return True
            elif start == end:  # a whole day
                if self.day_allows(day):
                    return True
            elif second >= start:
                if self.day_allows(day):
                    return True
            elif second < end and self.day_allows(day - timedelta(days=1)):
                return True
        return False


def _date_range(value: object) -> tuple[date, date]:
    if isinstance(value, str):
        d = _date(value)
        return d, d
    if isinstance(value, Mapping):
        lo, hi = _date(value["from"]), _date(value["to"])
        if hi < lo:
            raise ValueError(f"date range {lo} to {hi} ends before it starts")
        return lo, hi
    raise ValueError(f"dates: {value!r} is neither 'YYYY-MM-DD' nor {{'from', 'to'}}")


def _date(value: object) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"dates: {value!r} is not a date like 2026-11-22") from None


def _weekday(value: object) -> int:
    if isinstance(value, str) and value.lower()[:3] in WEEKDAYS:
        return WEEKDAYS.index(value.lower()[:3])
    raise ValueError(f"weekdays: {value!r} is not one of {', '.join(WEEKDAYS)}")


def _seconds(text: str) -> int:
    hours, minutes = text.split(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60) or h * 60 + m > 24 * 60:
        raise ValueError(f"daypart time {text!r} is not HH:MM")
    return (h * 60 + m) * 60 % DAY_S


@dataclass(frozen=True)
class Schedule:
    entries: tuple[Entry, ...]
    timezone: str = "Europe/Sofia"
    hourly: bool = field(default=False, compare=False)  # some entry has max_per_hour
    # date -> the seconds-of-day at which some entry's window opens or closes that day (and midnight)
    _bounds: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_docs(cls, docs: Sequence[Mapping], timezone: str) -> Schedule:
        entries = tuple(sorted((Entry.from_doc(d) for d in docs), key=lambda e: (-e.priority, e.id)))
        return cls(entries, timezone, any(e.max_per_hour for e in entries))

    def boundaries(self, day: date) -> tuple[int, ...]:
        """Where the result can change on ``day``: only edges of entries that the day's date and weekday allow,
        so a deadline is never a moment at which nothing can change."""
        found = self._bounds.get(day)
        if found is None:
            edges = {0}
            yesterday = day - timedelta(days=1)
            for e in self.entries:
                today_ok = e.day_allows(day)
                for start, end in e.windows:
                    if start < end:
                        if today_ok:
                            edges.update((start, end))
                    elif start > end:
                        if today_ok:
                            edges.add(start)
                        if e.day_allows(yesterday):
                            edges.add(end)
            if len(self._bounds) > 64:
                self._bounds.clear()
            found = self._bounds[day] = tuple(sorted(edges))
        return found


@dataclass(frozen=True)
class ScheduleContext:
    plays_this_hour: Mapping[str, int] = field(default_factory=dict)  # entry id -> items played this hour
    overrides: Sequence[Override] = ()


@dataclass(frozen=True)
class ActiveSet:
    zones: Mapping[str, tuple[Entry, ...]]  # zone -> the entries playing there, in rotation order
    override: Override | None = None

    def playlists(self, zone: str) -> tuple[str, ...]:
        return tuple(e.playlist for e in self.zones.get(zone, ()))


def evaluate(schedule: Schedule, now: datetime, context: ScheduleContext = ScheduleContext()
             ) -> tuple[ActiveSet, datetime]:
    """The active set at ``now`` (timezone-aware) and the next instant at which it can change."""
    if now.tzinfo is None:
        raise ValueError("evaluate: now must be timezone-aware")
    tz = ZoneInfo(schedule.timezone)
    local = now.astimezone(tz)
    day = local.date()
    second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    plays = context.plays_this_hour
    chosen: dict[str, list[Entry]] = {}
    top: dict[str, int] = {}
    defaults: dict[str, list[Entry]] = {}
    capped = False  # an entry sits out for its max_per_hour: the next hour can change the result
    for e in schedule.entries:  # sorted by priority, highest first
        if e.zone in top and e.priority < top[e.zone]:
            continue
        if not e.matches(day, second):
            continue
        if e.max_per_hour is not None and plays.get(e.id, 0) >= e.max_per_hour:
            capped = True
            continue
        if e.default:
            defaults.setdefault(e.zone, []).append(e)
            continue
        top[e.zone] = e.priority
        chosen.setdefault(e.zone, []).append(e)
    for zone, entries in defaults.items():
        chosen.setdefault(zone, entries)

    deadline = _next_boundary(schedule, tz, now, day, second)
    if capped:
        ts = now.timestamp()
        deadline = min(deadline, datetime.fromtimestamp(ts - ts % HOUR_S + HOUR_S, UTC))
    override = None
    ts = now.timestamp()
    live = [o for o in context.overrides if o.active_at(ts)]
    if live:
        override = min(live, key=lambda o: (-scope_rank(o.scope), -o.issued_at))
    for o in context.overrides:
        for edge in (o.issued_at, o.expires_at):
            if o.action == "start" and edge > ts:
                deadline = min(deadline, datetime.fromtimestamp(edge, UTC))
    return ActiveSet({z: tuple(es) for z, es in chosen.items()}, override), deadline


def _next_boundary(schedule: Schedule, tz: ZoneInfo, now: datetime, day: date, second: float) -> datetime:
    """The first window edge (or midnight) after ``now``, as an instant.

    Wall times in the repeated hour of a fall-back night occur twice, so edges from an hour before the
    current wall time are tried too; the earliest instant after ``now`` wins.
    """
    best: datetime | None = None
    for offset in range(3):
        d = day + timedelta(days=offset)
        bounds = schedule.boundaries(d)
        start = bisect.bisect_left(bounds, second - HOUR_S) if offset == 0 else 0
        for b in bounds[start:]:
            for instant in _instants(d, b, tz):
                if instant > now and (best is None or instant < best):
                    best = instant
            if best is not None and (offset, b) > (0, second + HOUR_S):
                return best
        if best is not None:
            return best
    raise AssertionError("unreachable: midnight is always a boundary")


def _instants(day: date, second: int, tz: ZoneInfo) -> list[datetime]:
    naive = datetime.combine(day, time()) + timedelta(seconds=second)
    early = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if early.astimezone(tz).replace(tzinfo=None) == naive:
        return [early] if early == late else [early, late]
    # In a DST gap this wall time never shows; the edge takes effect at the jump, between the two readings.
    lo, hi = int(min(early, late).timestamp()), int(max(early, late).timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return [datetime.fromtimestamp(hi, UTC)]


@dataclass(frozen=True)
class Span:
    """One stretch of a day in which the same entries play in a zone (``start`` and ``end`` as instants)."""

    start: datetime
    end: datetime
    entries: tuple[Entry, ...]


def day_spans(schedule: Schedule, day: date, zone: str = "main") -> list[Span]:
    """The day's timeline for ``zone`` in the store's zone, from local midnight to the next: ``evaluate`` at
    each boundary it names, so the timeline is the player's own answer (a DST day is 23 or 25 hours long).
    Hourly caps are left out: they depend on what has played."""
    tz = ZoneInfo(schedule.timezone)
    now = datetime.combine(day, time(), tz).astimezone(UTC)
    last = datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)
    spans: list[Span] = []
    while now < last:
        active, deadline = evaluate(schedule, now)
        end = min(deadline, last)
        entries = active.zones.get(zone, ())
        if spans and spans[-1].entries == entries:
            spans[-1] = Span(spans[-1].start, end, entries)
        else:
            spans.append(Span(now, end, entries))
        now = end
    return spans


def explain(entries: Sequence[Entry]) -> str:
    """Why these entries play (a span's or the active set's), in the schedule's own terms."""
    if not entries:
        return "nothing is scheduled: the store's own screen shows"
    if entries[0].default:
        return "the default (" + ", ".join(e.id for e in entries) + "): nothing else is scheduled now"
    why = "; ".join(f"{e.id}: {_rules(e)}" for e in entries)
    return why + (f"; rotated together at priority {entries[0].priority}" if len(entries) > 1 else "")


def _rules(e: Entry) -> str:
    parts = [f"priority {e.priority}"]
    if e.weekdays is not None:
        parts.append(" ".join(WEEKDAYS[d].capitalize() for d in sorted(e.weekdays)))
    parts += [f"{_hhmm(start)}-{_hhmm(end)}" for start, end in e.windows]
    parts += [f"{lo.isoformat()} to {hi.isoformat()}" for lo, hi in e.dates]
    if e.max_per_hour is not None:
        parts.append(f"at most {e.max_per_hour} plays an hour")
    return ", ".join(parts)


def _hhmm(second: int) -> str:
    return f"{second // 3600:02d}:{second % 3600 // 60:02d}"
