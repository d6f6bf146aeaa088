"""The centre computes RFM and co-purchase with the engine's code: it agrees with the edge, incrementally too."""

from __future__ import annotations

import json
import random

from central import jobs
from central.ingest import store_events
from central.profiles import upsert_profile
from central.selection import choose_customers
from decisions.copurchase import co_purchase
from decisions.rfm import profiles_rfm, rfm_scores

DAY = 86_400.0
NOW = 1_800_000_000.0
SKUS = [f"SKU-{i:02d}" for i in range(12)]


def history(rng: random.Random, customers: int, baskets: int, start: int = 0) -> list[dict]:
    events = []
    for n in range(start, start + baskets):
        pid = f"C{rng.randrange(customers):03d}" if rng.random() < 0.8 else None
        at = NOW - rng.uniform(0, 400) * DAY
        picked = rng.sample(SKUS, rng.randint(1, 4))
        events.append({"id": f"e{n}", "seq": n, "type": "sale", "store": f"s00{n % 3}", "device": "till-1",
                       "wall_time": at, "payload": {"basket_id": f"B{n}", "at": at, "profile_id": pid, "lines": [
                           {"sku": s, "qty": 1, "amount_cents": rng.randint(100, 900)} for s in picked]}})
    return events


def engine_lines(events: list[dict]) -> list[dict]:
    return [{"basket_id": e["payload"]["basket_id"], "profile_id": e["payload"]["profile_id"], "sku": ln["sku"],
             "qty": ln["qty"], "amount_cents": ln["amount_cents"], "at": e["payload"]["at"]}
            for e in events for ln in e["payload"]["lines"]]


def stored_rfm(db) -> dict:
    rows = db.execute("SELECT profile_id, rfm FROM profiles WHERE rfm IS NOT NULL")
    return {pid: json.loads(rfm) for pid, rfm in rows}


def stored_pairs(db) -> list[dict]:
    return [{"a": a, "b": b, "score": s, "count": n} for a, b, s, n in db.execute(
        "SELECT a, b, score, n FROM co_purchase ORDER BY a, b")]


def test_centre_and_edge_agree_and_incremental_equals_full(db):
    rng = random.Random(7)
    for c in range(60):
        upsert_profile(db, {"profile_id": f"C{c:03d}"}, now=1)
    first, second = history(rng, 60, 400), history(rng, 60, 300, start=400)

    store_events(db, first, now=NOW)
    assert jobs.run(db, now=NOW).ran
    assert stored_rfm(db) == profiles_rfm(rfm_scores(engine_lines(first), NOW))
    assert stored_pairs(db) == co_purchase(engine_lines(first))

    assert not jobs.run(db, now=NOW + 60).ran  # nothing new: the scheduled run skips
    store_events(db, second + first[:50], now=NOW + 60)  # new baskets, and some resent ones that must not count twice
    result = jobs.run(db, now=NOW + 60)
    assert result.ran and result.baskets == 300
    everything = engine_lines(first + second)
    assert stored_rfm(db) == profiles_rfm(rfm_scores(everything, NOW + 60))
    pairs = stored_pairs(db)
    assert pairs and pairs == co_purchase(everything)
    assert db.scalar("SELECT count(*) FROM basket_queue") == 0


def test_store_selection_recent_customers_plus_likeliest(db):
    now = NOW
    rows = [("RECENT", now - 2 * DAY, now - 1 * DAY, 1), ("REGULAR", now - 300 * DAY, now - 40 * DAY, 60),
            ("ONCE", now - 200 * DAY, now - 200 * DAY, 1), ("FADED", now - 400 * DAY, now - 300 * DAY, 80)]
    db.executemany("INSERT INTO profile_stores (profile_id, store, first_seen, last_seen, visits)"
                   " VALUES (?, 's001', ?, ?, ?)", rows)
    db.execute("INSERT INTO profile_stores VALUES ('ELSEWHERE', 's002', ?, ?, 9)", (now - DAY, now - DAY))
    assert choose_customers(db, "s001", now=now, days=30, top=1) == ["RECENT", "REGULAR"]
    assert choose_customers(db, "s001", now=now, days=30, top=3) == ["RECENT", "REGULAR", "FADED", "ONCE"]
