"""Ingest's set-wise writes: every derived table is written with one statement over a staged copy of the
batch (``Database.stage`` / ``insert_rows``), not a round trip per row.

A worker's connection lives for weeks, and PostgreSQL's autovacuum never visits temporary tables: the
stages are emptied at commit, so they hold no pages however many batches pass. A device's newest
report of each kind wins, whatever order the batches come in.
"""

from __future__ import annotations

import json

import pytest

from central.db import Database
from central.ingest import store_events

NOW = 1_790_000_000.0


def event(n: int, kind: str, at: float, store: str = "s001", device: str = "kiosk-1", **payload) -> dict:
    return {"id": f"e-{n}", "seq": n, "type": kind, "store": store, "device": device, "wall_time": at,
            "payload": payload}


def temp_pages(db: Database) -> int:
    return int(db.scalar("SELECT coalesce(sum(pg_relation_size(oid)), 0) FROM pg_class"
                         " WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r'"))


def test_a_long_lived_connection_keeps_no_staged_rows(pg_url):
    from central.db import open_database

    db = open_database(pg_url)
    try:
        for batch in range(30):
            store_events(db, [event(batch * 100 + k, "offer_shown", NOW - k, offer="OFF-1", arm="a",
                                    profile_id=f"C{k}") for k in range(100)], now=NOW)
        assert int(db.scalar("SELECT count(*) FROM events")) == 3000
        assert temp_pages(db) == 0
    finally:
        db.close()


def test_a_stage_outside_a_transaction_is_refused_on_postgres(pg_url):
    db = Database(pg_url)
    try:
        with pytest.raises(RuntimeError, match="open a transaction"):
            db.stage("loose", "(id TEXT)", [("a",)])
    finally:
        db.close()


def test_a_stage_made_in_a_rolled_back_transaction_is_made_again(db):
    with pytest.raises(ZeroDivisionError), db.transaction():
        db.stage("probe", "(id TEXT)", [("a",)])
        1 / 0  # noqa: B018
    with db.transaction():
        name = db.stage("probe", "(id TEXT)", [("b",), ("c",)])
        assert sorted(r[0] for r in db.execute(f"SELECT id FROM {name}")) == ["b", "c"]


def test_the_newest_report_of_each_kind_wins_whatever_the_order(db):
    store_events(db, [event(1, "health", NOW, fps=30, last_error="disk full"),
                      event(2, "content_rejected", NOW, scope="chain", version=7)], now=NOW)
    store_events(db, [event(3, "health", NOW - 60, fps=5, last_error="old trouble"),  # late, from before
                      event(4, "content_rejected", NOW - 60, scope="chain", version=6),
                      event(5, "offer_shown", NOW + 5, offer="OFF-1", arm="a")], now=NOW + 10)
    health, health_at, error, error_at, rejected, last_seen = db.query_one(
        "SELECT health, health_at, last_error, last_error_at, rejected, last_seen FROM devices"
        " WHERE store = 's001' AND device = 'kiosk-1'")
    assert json.loads(health)["fps"] == 30 and health_at == NOW
    assert (error, error_at) == ("disk full", NOW)
    assert json.loads(rejected)["version"] == 7
    assert last_seen == NOW + 5
    store_events(db, [event(6, "health", NOW + 60, fps=29), event(7, "health", NOW + 60, "s002", fps=12)],
                 now=NOW + 70)
    rows = dict(db.execute("SELECT store, health FROM devices WHERE device = 'kiosk-1'"))
    assert json.loads(rows["s001"])["fps"] == 29 and json.loads(rows["s002"])["fps"] == 12
    assert db.scalar("SELECT last_error FROM devices WHERE store = 's001'") == "disk full"
    assert int(db.scalar("SELECT count(*) FROM device_health WHERE store = 's001'")) == 3


def test_a_batch_of_thousands_of_customers_is_resolved_in_one_query(db):
    from central.erasure import erased_among
    from central.profiles import resolve_many

    db.executemany("INSERT INTO aliases (kind, value, profile_id) VALUES ('profile_id', ?, ?)",
                   [(f"C{k}", f"G{k // 2}") for k in range(0, 5000, 7)])
    asked = {f"C{k}" for k in range(5000)} | {"it's", "100%", "?"}
    assert resolve_many(db, asked) == {f"C{k}": f"G{k // 2}" for k in range(0, 5000, 7)}
    assert resolve_many(db, set()) == {} and erased_among(db, asked) == set()
