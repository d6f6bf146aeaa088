"""An offer's experiment per arm on SQLite and PostgreSQL: the lift and interval are the offers report's, and the
probability of being best favours the arm that sells better, sums to one and is the same on every call."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from central import experiment_results, reports
from central.db import Database
from central.ingest import store_events
from sync.cache.engine_state import Shown, record_offers_shown

NOON = datetime(2026, 11, 20, 10, 0, tzinfo=UTC).timestamp()
PERIOD = reports.Filters(date(2026, 11, 1), date(2026, 11, 30), "Europe/Sofia")


def _event(n: int, kind: str, payload: dict, at: float = NOON) -> dict:
    return {"id": f"e{n}", "seq": n, "type": kind, "store": "s001", "device": "kiosk-1", "wall_time": at,
            "payload": payload}


def experiment(db: Database) -> None:
    """OFF-X: arm A seen by 20 customers, 8 bought after; arm B by 20, 2 bought; the holdout 10, 1 bought."""
    db.execute("INSERT INTO offer_skus (offer, sku) VALUES ('OFF-X', 'COF-001')")
    evs, n = [], 0
    for arm, seen, buyers in (("A", 20, 8), ("B", 20, 2), ("holdout", 10, 1)):
        for i in range(seen):
            n += 1
            kind = "offer_held_out" if arm == "holdout" else "offer_shown"
            evs.append(_event(n, kind, {"offer": "OFF-X", "arm": arm, "profile_id": f"{arm}{i}"}))
            if i < buyers:
                n += 1
                evs.append(_event(n, "sale", {"basket_id": f"b{n}", "profile_id": f"{arm}{i}",
                                              "lines": [{"sku": "COF-001", "qty": 1, "amount_cents": 250}]}, NOON + 60))
    store_events(db, evs, now=NOON)


def test_each_arm_against_the_holdout_and_the_best(db: Database):
    experiment(db)
    arms = {a.arm: a for a in experiment_results.arm_results(db, "OFF-X", PERIOD)}
    assert list(arms) == ["A", "B", "holdout"]
    report = {r["arm"]: r for r in reports.offer_rows(db, PERIOD, {}) if r["offer"] == "OFF-X"}
    assert (arms["A"].exposed, arms["A"].bought_after, arms["A"].lift) == (20, 8, report["A"]["lift"])
    assert (arms["A"].lift_low, arms["A"].lift_high) == (report["A"]["lift_low"], report["A"]["lift_high"])
    assert arms["A"].lift == pytest.approx(3.0)  # 8/20 against 1/10
    assert arms["A"].p_best > 0.95 > arms["B"].p_best and arms["holdout"].p_best is None
    assert arms["A"].p_best + arms["B"].p_best == pytest.approx(1.0)
    assert experiment_results.arm_results(db, "OFF-X", PERIOD)[0].p_best == arms["A"].p_best
    assert experiment_results.chart_png("OFF-X", list(arms.values()), PERIOD).startswith(b"\x89PNG")
    assert experiment_results.arm_results(db, "OFF-NONE", PERIOD) == []


def test_probability_best_by_hand():
    assert experiment_results.probability_best({}) == {}
    even = experiment_results.probability_best({"a": (0, 0), "b": (0, 0)})
    assert even["a"] == pytest.approx(0.5, abs=0.02)
    assert experiment_results.probability_best({"a": (50, 100), "b": (10, 100)})["a"] > 0.999


def test_the_programme_lift_against_the_global_holdout_from_the_device_events(db: Database, cache, outbox, clock):
    """Kiosk events as the device writes them (``record_offers_shown``): 40 customers the programme reached, 12
    bought afterwards; 10 in the global holdout, 1 bought; a purchase before the first showing does not count."""
    for group, seen in (("p", 40), ("h", 10)):
        for i in range(seen):
            record_offers_shown(cache, outbox, [Shown("OFF-X", f"{group}{i}", None, None, [])], channel="kiosk",
                                profile_id=f"{group}{i}", at=clock.time(), global_holdout=group == "h")
    events = [json.loads(row.wire) for row in outbox.window(after_seq=0, limit=1000)]
    assert all(e["payload"].get("global_holdout") is (True if e["payload"]["profile_id"][0] == "h" else None)
               for e in events)
    shown_at = events[0]["wall_time"]  # the device's clock
    buyers = [(f"p{i}", shown_at + 60) for i in range(12)] + [("h0", shown_at + 60)] + [
        (f"h{i}", shown_at - 60) for i in (1, 2, 3)]
    events += [_event(10_000 + n, "sale", {"basket_id": f"b{n}", "profile_id": who,
                                           "lines": [{"sku": "TEA-001", "qty": 1, "amount_cents": 90}]}, at)
               for n, (who, at) in enumerate(buyers)]
    store_events(db, events, now=NOON)
    lift = experiment_results.programme_lift(db, PERIOD)
    assert lift.programme == (40, 12) and lift.held_out == (10, 1)
    assert lift.lift == pytest.approx(2.0)  # 12/40 against 1/10
    assert lift.lift_low < 0 < lift.lift < lift.lift_high  # ten held out: a wide interval
    assert experiment_results.programme_lift(db, reports.Filters(date(2026, 10, 1), date(2026, 10, 30))).lift is None
