"""Migration 7 moves an existing events table into the (id, wall_time) key without losing a row:
on PostgreSQL into month partitions, two million events in one transaction; on SQLite a plain table."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from central import rollups
from central.db import Database
from central.schema import MIGRATIONS, migrate

MONTH = 30 * 86_400.0
BEFORE = 8  # the schema before the events move into months (migration 9)
T0 = 1_790_000_000.0  # 2026-09-21: the newest event's time
TYPES = ("proof_of_play", "offer_shown", "health", "sale", "redeemed", "identified")
# What a row is, whatever table holds it: wall_time as the new key holds it (NULL -> 0).
ROW = ("id || '|' || coalesce(store, '') || '|' || coalesce(device, '') || '|' || seq || '|' || type || '|'"
       " || coalesce(wall_time, 0) || '|' || received_at || '|' || coalesce(profile_id, '') || '|' || body")


def checksum(db: Database) -> tuple[int, int]:
    """(rows, the sum of each row's 60-bit md5 prefix): equal whatever order or table the rows are in."""
    n, total = db.query_one(f"SELECT count(*), sum(('x' || substr(md5({ROW}), 1, 15))::bit(60)::bigint::numeric)"
                            " FROM events")
    return int(n), int(total)


@pytest.mark.slow
def test_two_million_events_move_into_month_partitions(pg_url):
    db = Database(pg_url)
    try:
        assert migrate(db, upto=BEFORE) == BEFORE
        n = 2_000_000
        started = time.monotonic()
        # A year of events; every 997th has no wall time and every 1009th a clock 40 years ahead. Loaded
        # without the secondary indexes, which are built once afterwards (as fast as the test can make them).
        db.execute("DROP INDEX events_type")
        db.execute("DROP INDEX events_profile")
        db.execute(f"""INSERT INTO events (id, store, device, seq, type, wall_time, received_at, profile_id, body)
            SELECT 'ev-' || g, 's' || lpad((g % 500)::text, 3, '0'), 'kiosk-1', g,
                   (ARRAY{list(TYPES)})[1 + g % {len(TYPES)}],
                   CASE WHEN g % 997 = 0 THEN NULL WHEN g % 1009 = 0 THEN {T0} + 40 * 365 * 86400.0
                        ELSE {T0} - (g::float8 / {n}) * 12 * {MONTH} END,
                   {T0} - (g::float8 / {n}) * 12 * {MONTH} + 5,
                   CASE WHEN g % 3 = 0 THEN 'C' || (g % 100000) END,
                   '{{"id":"ev-' || g || '","type":"' || (ARRAY{list(TYPES)})[1 + g % {len(TYPES)}]
                   || '","store":"s1","payload":{{"offer":"OFF-' || g % 7 || '","item":"i' || g % 11 || '"}}}}'
            FROM generate_series(1, {n}) g""")
        db.execute("CREATE INDEX events_type ON events (type, wall_time)")
        db.execute("CREATE INDEX events_profile ON events (profile_id)")
        db.execute("ANALYZE events")
        before = checksum(db)
        timeless = db.scalar("SELECT count(*) FROM events WHERE wall_time IS NULL")
        by_type = dict(db.execute("SELECT type, count(*) FROM events GROUP BY type"))
        generated = time.monotonic()

        assert migrate(db) == len(MIGRATIONS)
        migrated = time.monotonic()
        print(f"\n{n:,} events: generated in {generated - started:.1f}s, migrated in {migrated - generated:.1f}s")

        assert checksum(db) == before and before[0] == n
        assert db.scalar("SELECT relkind FROM pg_class WHERE relname = 'events'") == "p"
        months = [r[0] for r in db.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'events'::regclass ORDER BY 1")]
        assert months[0] == "events_2025_09" and months[-2:] == ["events_2026_09", "events_default"]
        assert len(months) == 14
        assert db.scalar("SELECT count(*) FROM events_default") == timeless + n // 1009 - n // (997 * 1009)
        assert db.scalar("SELECT count(*) FROM events WHERE wall_time = 0") == timeless
        assert db.scalar("SELECT count(*) FROM pg_class WHERE relname = 'events_unpartitioned'") == 0
        pk = db.scalar("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'events_pkey'")
        assert pk == "PRIMARY KEY (id, wall_time)"
        # The rollups were filled from the moved rows: every event counted once, by type.
        assert dict(db.execute("SELECT type, sum(n) FROM rollup_event_counts GROUP BY type")) == by_type
        assert sum(r["impressions"] for r in rollups.offer_totals(db)) == by_type["offer_shown"]
    finally:
        db.close()


def test_a_failed_move_changes_nothing(pg_url, monkeypatch):
    """One transaction: when the move cannot finish, the old table and the schema before it are still there."""
    db = Database(pg_url)
    try:
        migrate(db, upto=BEFORE)
        db.execute("INSERT INTO events (id, seq, type, wall_time, received_at, body)"
                   " VALUES ('a', 1, 'offer_shown', ?, ?, 'not json')", (T0, T0))
        with pytest.raises(ValueError):  # the rollups cannot read the body: the migration stops
            migrate(db)
        assert db.scalar("SELECT max(version) FROM schema_version") == BEFORE
        assert db.scalar("SELECT relkind FROM pg_class WHERE relname = 'events'") == "r"
        assert db.execute("SELECT id, wall_time FROM events") == [("a", T0)]
    finally:
        db.close()


def test_sqlite_keeps_a_plain_table_with_the_same_key(tmp_path: Path):
    db = Database(tmp_path / "central.db")
    try:
        migrate(db, upto=BEFORE)
        db.executemany("INSERT INTO events (id, seq, type, wall_time, received_at, body) VALUES (?, ?, ?, ?, ?, ?)",
                       [(f"e{i}", i, "health", None if i % 3 == 0 else T0 + i, T0, '{"type":"health"}')
                        for i in range(30)])
        migrate(db)
        assert db.execute("SELECT id, wall_time FROM events WHERE id IN ('e3', 'e4') ORDER BY id") == [
            ("e3", 0.0), ("e4", T0 + 4)]
        assert db.scalar("SELECT count(*) FROM events") == 30
        key = sorted((r[5], r[1]) for r in db.execute("PRAGMA table_info(events)") if r[5])
        assert key == [(1, "id"), (2, "wall_time")]
        assert db.scalar("SELECT sum(n) FROM rollup_event_counts WHERE type = 'health'") == 30
    finally:
        db.close()
