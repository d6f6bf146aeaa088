"""The one clock: every part of store-edge that needs the date or the time asks a :class:`Clock`.

An entry point (a ``__main__``, the demo) makes one clock and hands it down: production passes
:data:`SYSTEM`, the tests a :class:`FixedClock` that moves only when told (or by ``step`` seconds at
each reading). Nothing else reads the wall clock, so nothing depends on the day it runs.

Intervals (timeouts, backoff, frame timing) use ``time.monotonic()`` directly: they measure how long
something took, never what time it is, so no date or time zone can change them.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def time(self) -> float:
        """Unix seconds."""

    def now(self) -> datetime:
        """The same moment as an aware datetime in UTC."""


class SystemClock:
    """The wall clock; the only class here that reads it."""

    def time(self) -> float:
        return time.time()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM = SystemClock()


class FixedClock:
    """A clock that stands still until ``set`` or ``advance``; with ``step``, each reading moves it on
    by ``step`` seconds (a stepping clock). Thread-safe: an agent's I/O thread and a screen may share it."""

    def __init__(self, at: datetime | float, step: float = 0.0):
        self._t = _seconds(at)
        self.step = step
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            t = self._t
            self._t += self.step
            return t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def set(self, at: datetime | float) -> None:
        with self._lock:
            self._t = _seconds(at)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += seconds

    def __repr__(self) -> str:
        return f"FixedClock({datetime.fromtimestamp(self._t, UTC).isoformat()}, step={self.step})"


class OffsetClock:
    """The wall clock moved to start at a chosen moment and run on from there (the demo's ``--at``)."""

    def __init__(self, at: datetime, base: Clock = SYSTEM):
        self.base = base
        self.offset = _seconds(at) - base.time()

    def time(self) -> float:
        return self.base.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)


def _seconds(at: datetime | float) -> float:
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError(f"{at!r}: a clock needs an aware datetime (with its time zone)")
        return at.timestamp()
    return float(at)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_AT = re.compile(r"^\s*(?:(?P<day>[a-z]+)\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})\s*$", re.IGNORECASE)


def store_time(text: str, tz: str, *, today: datetime) -> datetime:
    """``'mon 08:30'`` or ``'23:30'`` in the store's zone: the next such moment from ``today`` (that day
    included), as an aware UTC datetime. Raises ValueError naming what is wrong."""
    match = _AT.match(text)
    if not match:
        raise ValueError(f"{text!r}: expected a store time such as 'mon 08:30' or '23:30'")
    hour, minute = int(match["h"]), int(match["m"])
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r}: {hour:02d}:{minute:02d} is not a time of day")
    local = today.astimezone(ZoneInfo(tz))
    day = local.date()
    if match["day"]:
        name = match["day"].lower()
        weekday = next((i for i, full in enumerate(WEEKDAYS) if len(name) >= 3 and full.startswith(name)), None)
        if weekday is None:
            raise ValueError(f"{text!r}: {match['day']!r} is not a weekday (mon, tue, ... sun)")
        day += timedelta(days=(weekday - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz)).astimezone(UTC)
