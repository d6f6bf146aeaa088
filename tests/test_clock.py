"""The one clock: fixed and stepping clocks for the tests, the demo's offset clock, and store times."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from sync.clock import SYSTEM, FixedClock, OffsetClock, store_time

MONDAY = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # Monday 08:30 in Sofia


def test_a_fixed_clock_stands_still_until_told():
    clock = FixedClock(MONDAY)
    assert clock.now() == clock.now() == MONDAY
    assert clock.time() == MONDAY.timestamp()
    clock.advance(90)
    assert clock.now() == datetime(2026, 11, 23, 6, 31, 30, tzinfo=UTC)
    clock.set(MONDAY.timestamp() + 3600)
    assert clock.now().hour == 7


def test_a_stepping_clock_moves_on_at_each_reading_even_across_threads():
    clock = FixedClock(MONDAY, step=0.5)
    readings: list[float] = []

    def read() -> None:
        for _ in range(1000):
            readings.append(clock.time())

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(readings) == [MONDAY.timestamp() + 0.5 * i for i in range(4000)]


def test_a_clock_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2026, 11, 23, 8, 30))


def test_an_offset_clock_starts_where_asked_and_runs_with_its_base():
    base = FixedClock(datetime(2030, 5, 1, 12, 0, tzinfo=UTC))
    clock = OffsetClock(MONDAY, base=base)
    assert clock.now() == MONDAY
    base.advance(61)
    assert clock.time() == MONDAY.timestamp() + 61
    assert abs(OffsetClock(MONDAY).time() - MONDAY.timestamp()) < 5  # on the system clock


def test_the_system_clock_tells_the_time_in_utc():
    assert SYSTEM.now().tzinfo is UTC
    assert abs(SYSTEM.now().timestamp() - SYSTEM.time()) < 5


@pytest.mark.parametrize(("text", "expected"), [
    ("mon 08:30", datetime(2026, 11, 23, 6, 30, tzinfo=UTC)),   # that same Monday
    ("08:00", datetime(2026, 11, 23, 6, 0, tzinfo=UTC)),        # today, even if it has passed
    ("sun 23:30", datetime(2026, 11, 29, 21, 30, tzinfo=UTC)),  # the coming Sunday, store time
    ("Tuesday 7:05", datetime(2026, 11, 24, 5, 5, tzinfo=UTC)),
])
def test_store_time_reads_a_weekday_and_a_time_in_the_stores_zone(text, expected):
    assert store_time(text, "Europe/Sofia", today=MONDAY) == expected


def test_store_time_in_summer_uses_summer_time():
    july = datetime(2027, 7, 5, 12, 0, tzinfo=UTC)  # a Monday, Sofia on UTC+3
    assert store_time("mon 08:30", "Europe/Sofia", today=july) == datetime(2027, 7, 5, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "8", "24:00", "08:60", "someday 08:30", "mo 08:30", "monday"])
def test_store_time_names_what_it_cannot_read(text):
    with pytest.raises(ValueError, match=repr(text).replace("(", r"\(")):
        store_time(text, "Europe/Sofia", today=MONDAY)
