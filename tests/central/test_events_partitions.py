"""A year of events: keyed (id, wall_time), by month on PostgreSQL, rollups that outlive retention.

Dedupe holds with the wider key (a resend carries the same wall time); an event without a usable
time of its own is keyed at 0 and lands in the default partition; month partitions are made ahead
and take their rows out of the default one; retention drops old months and the rollups keep their
counts; ``store-edge-central events`` shows and runs it. Migration 7 is tested in
``test_events_migration.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from central import partitions, rollups
from central.__main__ import main
from central.db import open_database
from central.ingest import store_events
from central.reports import Filters, proof_of_play_rows
from sync.clock import FixedClock

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC).timestamp()
DAY = 86_400.0


def event(n: int, kind: str, at: object, **payload) -> dict:
    return {"id": f"e-{n}", "seq": n, "type": kind, "store": f"s00{n % 2}", "device": "sign-1", "wall_time": at,
            "payload": payload}


def where(db, event_id: str) -> str:
    return db.scalar("SELECT tableoid::regclass::text FROM events WHERE id = ?", (event_id,))


def test_a_resend_is_stored_once_with_or_without_a_time_of_its_own(db):
    batch = [event(1, "offer_shown", NOW - DAY, offer="OFF-1", arm="a"),
             event(2, "offer_shown", None, offer="OFF-1", arm="a"),  # no wall time: keyed at 0
             event(3, "offer_shown", "yesterday", offer="OFF-1", arm="a"),  # not a number: keyed at 0 too
             event(4, "offer_shown", float("nan"), offer="OFF-1", arm="a")]
    first = store_events(db, batch, now=NOW)
    again = store_events(db, batch, now=NOW + 3600)  # the resend comes an hour later
    assert len(first.new) == 4 and first.duplicates == 0
    assert again.new == [] and again.duplicates == 4
    assert dict(db.execute("SELECT id, wall_time FROM events")) == {"e-1": NOW - DAY, "e-2": 0, "e-3": 0, "e-4": 0}
    # Counted once in the rollups too; the timeless ones on the day head office received them.
    assert rollups.offer_totals(db) == [{"offer": "OFF-1", "arm": "a", "impressions": 4, "sends": 0,
                                         "redemptions": 0}]
    assert [(r["day"], r["store"], r["events"]) for r in rollups.event_counts(db)] == [
        ("2026-11-22", "s001", 1), ("2026-11-23", "s000", 2), ("2026-11-23", "s001", 1)]


def test_postgres_routes_months_and_the_default_partition(pg_url):
    db = open_database(pg_url)
    try:
        assert partitions.ensure(db, now=NOW, ahead=2) == ["events_2026_11", "events_2026_12", "events_2027_01"]
        assert partitions.ensure(db, now=NOW, ahead=2) == []  # made once
        store_events(db, [event(1, "health", NOW), event(2, "health", None),
                          event(3, "health", datetime(2031, 5, 2, tzinfo=UTC).timestamp()),  # a clock far ahead
                          event(4, "health", 1e300)], now=NOW)
        assert [where(db, f"e-{n}") for n in (1, 2, 3, 4)] == ["events_2026_11"] + ["events_default"] * 3
        # The partition for May 2031 is made when its month comes near: the row leaves the default partition.
        assert partitions.ensure(db, now=datetime(2031, 4, 20, tzinfo=UTC).timestamp(), ahead=1) == [
            "events_2031_04", "events_2031_05"]
        assert where(db, "e-3") == "events_2031_05"
        parts = {p.name: p for p in partitions.partitions(db)}
        assert parts["events_default"].rows == 2 and parts["events_2031_05"].rows == 1
        assert parts["events_2026_11"].oldest == NOW and parts["events_2026_11"].bytes > 0
        # A resend of the routed events is still stored once.
        assert store_events(db, [event(1, "health", NOW), event(3, "health", 1_935_446_400.0)],
                            now=NOW).duplicates == 2
    finally:
        db.close()


def year_of_plays(db) -> None:
    """Plays, offers and sales over three months before NOW and the current one."""
    events, n = [], 0
    for months_back in (3, 2, 1, 0):
        at = NOW - months_back * 30 * DAY
        for k in range(5):
            n += 1
            events.append(event(n, "proof_of_play", at + k, item=f"item-{k % 2}", started_at=at + k, duration_s=10))
            n += 1
            events.append(event(n, "redeemed", at + k, offer="OFF-1", arm="b", code=f"C{n}"))
    events.append(event(n + 1, "health", None))  # no time of its own: default partition, received NOW - 100 days
    store_events(db, events[:-1], now=NOW)
    store_events(db, events[-1:], now=NOW - 100 * DAY)


def report_in_utc(db) -> list[dict]:
    """The proof_of_play report over the test's four months in UTC days, in the rollup's columns."""
    first = datetime.fromtimestamp(NOW - 100 * DAY, UTC).date()
    rows = proof_of_play_rows(db, Filters(first, datetime.fromtimestamp(NOW, UTC).date(), "UTC"), {})
    return [{k: r[k] for k in ("day", "store", "item", "plays", "seconds")} for r in rows]


def test_retention_drops_old_months_and_the_rollups_keep_them(db):
    partitions.ensure(db, now=NOW - 3 * 30 * DAY, ahead=4)
    year_of_plays(db)
    before = report_in_utc(db)
    assert len(before) == 8 and rollups.proof_of_play_rows(db) == before  # the report's rows, from the rollup
    plan = partitions.plan(db, now=NOW, months=2)  # keeps October and November 2026
    assert datetime.fromtimestamp(plan.cutoff, UTC) == datetime(2026, 10, 1, tzinfo=UTC)
    assert sorted(p.month for p in plan.drop) == ["2026-08", "2026-09"]
    assert sum(p.rows for p in plan.drop) == 20 and plan.default_rows == 1
    assert partitions.apply(db, plan) == 21
    assert db.scalar("SELECT count(*) FROM events") == 20
    assert db.scalar("SELECT min(wall_time) FROM events") >= plan.cutoff
    assert rollups.proof_of_play_rows(db) == before
    assert rollups.offer_totals(db) == [{"offer": "OFF-1", "arm": "b", "impressions": 0, "sends": 0,
                                         "redemptions": 20}]
    assert partitions.plan(db, now=NOW, months=2).drop == []


def test_retention_of_nothing_is_refused(db):
    with pytest.raises(ValueError, match="1 or more"):
        partitions.plan(db, now=NOW, months=0)


def test_the_events_commands_show_and_run_retention(db_url, tmp_path: Path, capsys):
    config = tmp_path / "central.toml"
    config.write_text(f'[central]\ndsn = "{db_url}"\nevents_months_ahead = 1\n')
    db = open_database(db_url)
    partitions.ensure(db, now=NOW - 3 * 30 * DAY, ahead=4)
    year_of_plays(db)
    db.close()
    clock = FixedClock(datetime.fromtimestamp(NOW, UTC))

    assert main(["--config", str(config), "events", "retention"], clock=clock) == 2
    assert "no retention set" in capsys.readouterr().err
    assert main(["--config", str(config), "events", "retention", "--months", "2"], clock=clock) == 0
    shown = capsys.readouterr().out
    assert "2 month(s) to drop (20 events), 1 default-partition row(s)" in shown
    assert "nothing dropped" in shown
    assert main(["--config", str(config), "events", "retention", "--months", "2", "--run"], clock=clock) == 0
    assert "dropped 2 month(s); 21 event(s) removed" in capsys.readouterr().out
    assert main(["--config", str(config), "events", "partitions"], clock=clock) == 0
    listing = capsys.readouterr().out
    assert "20 events; 0 in the default partition" in listing
    assert "2026-10" in listing and "2026-08" not in listing


def test_the_scheduled_jobs_make_months_ahead_and_apply_retention(db):
    partitions.ensure(db, now=NOW - 3 * 30 * DAY, ahead=4)
    year_of_plays(db)
    made, dropped = partitions.maintain(db, now=NOW, ahead=2, retention_months=0)  # 0 keeps everything
    assert dropped == [] and db.scalar("SELECT count(*) FROM events") == 41
    assert made == (["events_2027_01"] if db.postgres else [])
    made, dropped = partitions.maintain(db, now=NOW, ahead=2, retention_months=2)
    assert dropped == (["events_2026_08", "events_2026_09"] if db.postgres else [])
    assert db.scalar("SELECT count(*) FROM events") == 20
    assert db.scalar("SELECT min(wall_time) FROM events") >= partitions.cutoff_of(now=NOW, months=2)
