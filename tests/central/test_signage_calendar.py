"""The signage week calendar (central/signage_calendar.py) with fixed dates in Europe/Sofia: an overnight daypart on
both of its days, the 23-hour spring-forward Sunday and the 25-hour fall-back Sunday, priorities, date ranges and the
default playlist, each from the player's own schedule code."""

from __future__ import annotations

from datetime import date

from central.signage_calendar import Day, entry_words, monday_of, week
from signage.schedule import Entry

SOFIA = "Europe/Sofia"


def _blocks(day: Day) -> list[tuple[str, tuple[str, ...]]]:
    return [(b.label, b.playlists) for b in day.blocks if b.playlists]


def test_an_overnight_daypart_shows_on_the_day_it_starts_and_the_morning_after():
    docs = [{"id": "late", "playlist": "pl-late", "weekdays": ["fri"], "dayparts": [{"from": "22:00", "to": "02:00"}]}]
    days = week(docs, SOFIA, date(2026, 11, 23))
    assert [d.name for d in days] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert _blocks(days[4]) == [("22:00–24:00", ("pl-late",))]
    assert _blocks(days[5]) == [("00:00–02:00", ("pl-late",))]  # Saturday 01:00 belongs to Friday's night
    assert all(not _blocks(d) for d in days[:4] + days[6:])
    assert all(d.hours == 24 and d.skipped is None and d.repeated is None for d in days)


def test_the_spring_forward_sunday_has_23_hours_and_skips_03_00():
    docs = [{"id": "night", "playlist": "pl-night", "dayparts": [{"from": "22:00", "to": "02:00"}]},
            {"id": "early", "playlist": "pl-early", "dayparts": [{"from": "02:30", "to": "05:00"}]}]
    monday = monday_of(date(2026, 3, 29))  # the last Sunday of March 2026: 03:00 EET becomes 04:00 EEST
    sunday = week(docs, SOFIA, monday)[6]
    assert sunday.day == date(2026, 3, 29) and sunday.hours == 23
    assert sunday.skipped == (180, 240) and sunday.repeated is None
    assert _blocks(sunday) == [("00:00–02:00", ("pl-night",)), ("02:30–05:00", ("pl-early",)),
                               ("22:00–24:00", ("pl-night",))]
    saturday = week(docs, SOFIA, monday)[5]
    assert saturday.hours == 24


def test_the_fall_back_sunday_has_25_hours_and_03_00_twice():
    docs = [{"id": "night", "playlist": "pl-night", "dayparts": [{"from": "22:00", "to": "02:00"}]},
            {"id": "early", "playlist": "pl-early", "dayparts": [{"from": "02:30", "to": "05:00"}]}]
    sunday = week(docs, SOFIA, monday_of(date(2026, 10, 25)))[6]  # 04:00 EEST becomes 03:00 EET
    assert sunday.day == date(2026, 10, 25) and sunday.hours == 25
    assert sunday.repeated == (180, 240) and sunday.skipped is None
    assert _blocks(sunday) == [("00:00–02:00", ("pl-night",)), ("02:30–05:00", ("pl-early",)),
                               ("22:00–24:00", ("pl-night",))]
    assert [(b.label, b.playlists) for b in sunday.blocks][1] == ("02:00–02:30", ())


def test_priorities_date_ranges_and_the_default_playlist():
    docs = [{"id": "all-day", "playlist": "pl-default", "default": True},
            {"id": "lunch", "playlist": "pl-lunch", "priority": 10, "dayparts": [{"from": "11:00", "to": "15:00"}]},
            {"id": "xmas", "playlist": "pl-xmas", "priority": 50, "max_per_hour": 6,
             "dates": [{"from": "2026-12-24", "to": "2026-12-26"}], "dayparts": [{"from": "12:00", "to": "13:00"}]}]
    days = week(docs, SOFIA, date(2026, 12, 21))
    assert _blocks(days[0]) == [("00:00–11:00", ("pl-default",)), ("11:00–15:00", ("pl-lunch",)),
                                ("15:00–24:00", ("pl-default",))]
    assert days[0].blocks[0].default and not days[0].blocks[1].default
    assert _blocks(days[3]) == [("00:00–11:00", ("pl-default",)), ("11:00–12:00", ("pl-lunch",)),
                                ("12:00–13:00", ("pl-xmas",)), ("13:00–15:00", ("pl-lunch",)),
                                ("15:00–24:00", ("pl-default",))]
    assert entry_words(Entry.from_doc(docs[2])) == ("12:00–13:00; 2026-12-24 to 2026-12-26; priority 50;"
                                                    " at most 6 items an hour")
    listed = {"id": "x", "playlist": "p", "weekdays": ["mon", "tue", "wed", "fri", "sun"],
              "dates": ["2026-12-15", "2026-12-16", "2026-12-17", "2026-12-31"]}
    assert entry_words(Entry.from_doc(listed)) == "Mon–Wed, Fri, Sun; 2026-12-15 to 2026-12-17, 2026-12-31; priority 0"
