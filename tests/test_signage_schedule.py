"""Schedule evaluation as a pure function: a store's real-looking week in Europe/Sofia, with dayparts,
an overnight window, the DST changes, deadlines, priorities, overrides with expiry and max plays per hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from signage.ordering import Shuffled, Slot, Weighted, orderer
from signage.schedule import Schedule, ScheduleContext, ScheduleError, day_spans, evaluate, explain
from sync.protocol.overrides import Override

SOFIA = ZoneInfo("Europe/Sofia")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]

STORE_WEEK = [
    {"id": "breakfast", "playlist": "pl-breakfast", "priority": 10, "weekdays": WEEKDAYS,
     "dayparts": [{"from": "06:00", "to": "11:00"}]},
    {"id": "weekend-brunch", "playlist": "pl-brunch", "priority": 10, "weekdays": ["sat", "sun"],
     "dayparts": [{"from": "08:00", "to": "13:00"}]},
    {"id": "lunch", "playlist": "pl-lunch", "priority": 10, "dayparts": [{"from": "11:00", "to": "15:00"}]},
    {"id": "evening", "playlist": "pl-evening", "priority": 10, "dayparts": [{"from": "18:00", "to": "22:00"}]},
    {"id": "late-night", "playlist": "pl-night", "priority": 10, "weekdays": ["fri", "sat"],
     "dayparts": [{"from": "22:00", "to": "02:00"}]},
    {"id": "christmas", "playlist": "pl-xmas", "priority": 50, "max_per_hour": 6,
     "dates": [{"from": "2026-12-15", "to": "2026-12-24"}], "dayparts": [{"from": "07:00", "to": "21:00"}]},
    {"id": "fresh-bread", "playlist": "pl-bread", "priority": 10, "weekdays": WEEKDAYS,
     "dayparts": [{"from": "06:00", "to": "11:00"}]},
    {"id": "house", "playlist": "pl-house", "default": True},
    {"id": "side-menu", "playlist": "pl-menu", "zone": "side"},
]
WEEK = Schedule.from_docs(STORE_WEEK, "Europe/Sofia")


def local(text: str, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SOFIA, fold=fold)


def main_at(when: datetime, ctx: ScheduleContext | None = None, schedule: Schedule = WEEK):
    ctx = ctx or ScheduleContext()
    active, deadline = evaluate(schedule, when, ctx)
    return active.playlists("main"), deadline.astimezone(SOFIA)


def test_a_week_of_dayparts_overnight_windows_and_the_default():
    # Monday 23 Nov 2026 to Sunday 29 Nov: what plays at each hour, and when it next can change.
    expect = {
        "2026-11-23T05:59": (("pl-house",), "2026-11-23T06:00"),
        "2026-11-23T06:00": (("pl-breakfast", "pl-bread"), "2026-11-23T11:00"),  # equal priority: both, by id
        "2026-11-23T10:59:59": (("pl-breakfast", "pl-bread"), "2026-11-23T11:00"),
        "2026-11-23T11:00": (("pl-lunch",), "2026-11-23T15:00"),
        "2026-11-23T16:30": (("pl-house",), "2026-11-23T18:00"),
        "2026-11-23T21:59": (("pl-evening",), "2026-11-23T22:00"),
        "2026-11-23T23:30": (("pl-house",), "2026-11-24T00:00"),  # Monday has no late night
        "2026-11-27T23:30": (("pl-night",), "2026-11-28T00:00"),  # Friday does
        "2026-11-28T01:59": (("pl-night",), "2026-11-28T02:00"),  # Saturday 01:59 belongs to Friday's night
        "2026-11-28T02:00": (("pl-house",), "2026-11-28T08:00"),
        "2026-11-28T09:00": (("pl-brunch",), "2026-11-28T11:00"),
        "2026-11-29T01:00": (("pl-night",), "2026-11-29T02:00"),  # Saturday's night into Sunday
        "2026-11-30T01:00": (("pl-house",), "2026-11-30T06:00"),  # no Sunday night: the default until breakfast
    }
    for when, (playlists, deadline) in expect.items():
        assert main_at(local(when)) == (playlists, local(deadline)), when
    # the side zone has its own always-on entry, which the main zone's choice does not touch
    active, _ = evaluate(WEEK, local("2026-11-23T12:00"))
    assert active.playlists("side") == ("pl-menu",)


def test_deadlines_are_exact_and_the_result_holds_until_each_one():
    """Walk a whole week from deadline to deadline: just before each, the result is the one computed."""
    when = local("2026-11-23T00:00")
    end = local("2026-11-30T00:00")
    changes = 0
    while when < end:
        playlists, deadline = main_at(when)
        assert deadline > when
        assert main_at(deadline - timedelta(seconds=1))[0] == playlists
        changes += main_at(deadline)[0] != playlists
        when = deadline
    assert changes >= 30


def test_dst_spring_forward_and_fall_back_in_sofia():
    night = Schedule.from_docs([
        {"id": "early", "playlist": "pl-early", "dayparts": [{"from": "03:30", "to": "05:00"}]},
        {"id": "repeat", "playlist": "pl-repeat", "dayparts": [{"from": "03:15", "to": "03:45"}]},
        {"id": "house", "playlist": "pl-house", "default": True},
    ], "Europe/Sofia")
    # 29 March 2026: 03:00 EET jumps to 04:00 EEST; 03:30 never shows, so 'early' starts at the jump
    playlists, deadline = main_at(local("2026-03-29T02:59"), schedule=night)
    assert playlists == ("pl-house",)
    assert deadline == local("2026-03-29T04:00") and deadline.utcoffset() == timedelta(hours=3)
    assert deadline.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert main_at(deadline, schedule=night)[0] == ("pl-early",)
    # 25 October 2026: 04:00 EEST falls back to 03:00 EET; 03:15-03:45 happens twice, and so does the window
    first = local("2026-10-25T03:20", fold=0)
    assert main_at(first, schedule=night)[0] == ("pl-repeat",)
    _, deadline = main_at(first, schedule=night)
    assert deadline.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 03:30 EEST, 'early' starts
    playlists, deadline = main_at(local("2026-10-25T03:50", fold=0), schedule=night)
    assert playlists == ("pl-early",)
    # the next change is the second 03:15 (EET), one real hour minus 35 minutes later
    assert deadline.astimezone(UTC) == datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    second = local("2026-10-25T03:20", fold=1)  # the repeated 03:20, an hour after the first
    assert main_at(second, schedule=night) == (("pl-repeat",), local("2026-10-25T03:30", fold=1))
    # a daypart lasts its wall-clock length, whatever the offset: breakfast on the fall-back Monday
    assert main_at(local("2026-10-26T06:00"))[1] == local("2026-10-26T11:00")


def test_priorities_the_higher_wins_and_ties_play_together():
    playlists, _ = main_at(local("2026-12-16T09:00"))  # a Wednesday in the Christmas campaign
    assert playlists == ("pl-xmas",)
    assert main_at(local("2026-12-16T06:30"))[0] == ("pl-breakfast", "pl-bread")  # before its daypart opens
    assert main_at(local("2026-12-25T09:00"))[0] == ("pl-breakfast", "pl-bread")  # after its last date


def test_max_plays_per_hour_drops_an_entry_until_the_next_hour():
    when = local("2026-12-16T09:10")
    ctx = ScheduleContext(plays_this_hour={"christmas": 6})
    playlists, deadline = main_at(when, ctx)
    assert playlists == ("pl-breakfast", "pl-bread")
    assert deadline == local("2026-12-16T10:00")  # the hour's plays are counted again from then
    assert main_at(when, ScheduleContext(plays_this_hour={"christmas": 5}))[0] == ("pl-xmas",)


def test_overrides_take_everything_then_expire_at_their_deadline():
    now = local("2026-11-23T12:00")
    ts = now.timestamp()
    chain = Override("demo", "chain", "ov-chain", ts - 60, ts + 600, "start", message={"title": "Recall"})
    store = Override("demo", "store/s001", "ov-store", ts - 120, ts + 300, "start", message={"title": "Closed"})
    old = Override("demo", "store/s001", "ov-old", ts - 7200, ts - 3600, "start", message={"title": "Over"})
    future = Override("demo", "chain", "ov-later", ts + 900, ts + 1800, "start", message={"title": "Later"})
    active, deadline = evaluate(WEEK, now, ScheduleContext(overrides=[chain, store, old, future]))
    assert active.override.override_id == "ov-store"  # the most specific scope wins
    assert deadline.timestamp() == ts + 300  # it expires then
    active, deadline = evaluate(WEEK, deadline, ScheduleContext(overrides=[chain, store, old, future]))
    assert active.override.override_id == "ov-chain" and deadline.timestamp() == ts + 600
    active, deadline = evaluate(WEEK, deadline, ScheduleContext(overrides=[chain, store, old, future]))
    assert active.override is None and active.playlists("main") == ("pl-lunch",)
    assert deadline.timestamp() == ts + 900  # the next override's start
    ended = Override("demo", "store/s001", "ov-store", ts, ts, "end")
    assert evaluate(WEEK, now, ScheduleContext(overrides=[ended]))[0].override is None


def test_bad_entries_are_named():
    with pytest.raises(ScheduleError, match="schedule 'x'.*weekdays: 'funday'"):
        Schedule.from_docs([{"id": "x", "playlist": "p", "weekdays": ["funday"]}], "Europe/Sofia")
    with pytest.raises(ScheduleError, match="schedule 'y'.*'25:00' is not HH:MM"):
        Schedule.from_docs([{"id": "y", "playlist": "p", "dayparts": [{"from": "25:00", "to": "02:00"}]}], "UTC")
    with pytest.raises(ScheduleError, match="ends before it starts"):
        Schedule.from_docs([{"id": "z", "playlist": "p", "dates": [{"from": "2026-12-02", "to": "2026-12-01"}]}],
                           "UTC")
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(WEEK, datetime(2026, 1, 1))


def test_orders_in_order_shuffled_and_weighted():
    slots = [Slot(x) for x in "abcd"]
    seq = orderer("sequential", slots)
    assert [seq.next().item for _ in range(6)] == list("abcdab")
    shuffled = Shuffled(slots, seed=3)
    rounds = [[shuffled.next().item for _ in range(4)] for _ in range(50)]
    assert all(sorted(r) == list("abcd") for r in rounds)  # each item once per round
    assert len({tuple(r) for r in rounds}) > 5  # in varying orders
    flat = [x for r in rounds for x in r]
    assert all(a != b for a, b in zip(flat, flat[1:], strict=False))  # never twice in a row across rounds
    weighted = Weighted([Slot("big", weight=6), Slot("small", weight=1), Slot("mid", weight=3)], seed=1)
    draws = [weighted.next().item for _ in range(5000)]
    assert all(a != b for a, b in zip(draws, draws[1:], strict=False))
    assert draws.count("big") > draws.count("mid") > draws.count("small") > 0
    with pytest.raises(ValueError, match="order 'random' is not one of"):
        orderer("random", slots)


def test_a_days_spans_are_evaluate_at_each_boundary_and_say_why():
    """The console's preview draws these: Saturday after a Friday late night, on the night the clocks go back
    (2026-10-25 is a Sunday; the Saturday before is an ordinary 24 hours, the Sunday 25)."""
    saturday = day_spans(WEEK, datetime(2026, 10, 24).date())
    assert saturday[0].start == local("2026-10-24T00:00") and saturday[-1].end == local("2026-10-25T00:00")
    assert all(a.end == b.start for a, b in zip(saturday, saturday[1:], strict=False))
    for span in saturday:  # each span is what the player's own evaluate says at its start and just before its end
        for at in (span.start, span.end - timedelta(seconds=1)):
            active, _ = evaluate(WEEK, at)
            assert active.zones.get("main", ()) == span.entries
    assert [(s.start.astimezone(SOFIA).strftime("%H:%M"), [e.id for e in s.entries]) for s in saturday] == [
        ("00:00", ["late-night"]), ("02:00", ["house"]), ("08:00", ["weekend-brunch"]),
        ("11:00", ["lunch", "weekend-brunch"]), ("13:00", ["lunch"]), ("15:00", ["house"]), ("18:00", ["evening"]),
        ("22:00", ["late-night"])]
    sunday = day_spans(WEEK, datetime(2026, 10, 25).date())
    assert (sunday[-1].end - sunday[0].start) == timedelta(hours=25)
    assert explain(saturday[0].entries) == "late-night: priority 10, Fri Sat, 22:00-02:00"
    assert explain(saturday[3].entries).endswith("; rotated together at priority 10")
    assert explain(saturday[1].entries) == "the default (house): nothing else is scheduled now"
    assert explain(()) == "nothing is scheduled: the store's own screen shows"
