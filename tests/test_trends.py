"""Trending in this store (issue 8): the decay model, the cache's sales and redemptions, the menu."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decisions.catalog import Catalog
from decisions.context import Context, Weather
from decisions.menus import decide_menu
from decisions.trends import Trend, describe, scores, trending
from demo.store import demo_cache
from sync.cache import Cache
from sync.cache.bundles import apply_bundle
from sync.cache.outbox import Outbox
from sync.cache.read import CacheReader
from sync.cache.sales import record_sale
from sync.clock import FixedClock

NOW = 1_795_000_000.0
HL = 1800.0


# --- the model ------------------------------------------------------------------------------------------------


def test_decay_by_hand():
    sales = [
        ("A", 1, NOW),  # 1 x 1
        ("B", 3, NOW - HL),  # 3 x 0.5
        ("C", 4, NOW - 2 * HL),  # 4 x 0.25
        ("D", 2, NOW - 1.5 * HL),  # 2 x 2**-1.5 = 0.7071...
        ("A", 2, NOW - 3 * HL),  # + 2 x 0.125
    ]
    got = trending(sales, now=NOW)
    assert got["A"] == Trend(1.25, 3)
    assert got["B"] == Trend(1.5, 3)
    assert got["C"] == Trend(1.0, 4)
    assert got["D"].score == pytest.approx(0.7071067811865476, abs=1e-9) and got["D"].units == 2
    assert list(got) == ["B", "A", "C", "D"]


def test_half_life_is_a_parameter():
    got = trending([("A", 1, NOW - 600)], now=NOW, half_life_s=600)
    assert got["A"].score == 0.5


def test_window_excludes_an_event_exactly_window_s_old():
    """The window is (now - window_s, now]: as old as the window is out, a millisecond younger is in."""
    edge = [("OUT", 1, NOW - 7200), ("IN", 1, NOW - 7199.999), ("NOW", 1, NOW)]
    got = trending(edge, [("OUT", NOW - 7200)], now=NOW, min_score=0)
    assert set(got) == {"IN", "NOW"}
    assert got["IN"].score == pytest.approx(2**-4, abs=1e-6)  # four half-lives
    short = trending(edge, now=NOW, window_s=600, min_score=0)
    assert set(short) == {"NOW"}


def test_future_events_are_ignored():
    got = trending([("A", 5, NOW + 0.001), ("A", 1, NOW), ("B", 1, NOW + 3600)], [("B", NOW + 1)], now=NOW)
    assert got == {"A": Trend(1.0, 1)}


def test_redemptions_count_for_the_offer_sku_times_the_weight():
    sales = [("A", 1, NOW)]
    redemptions = [("A", NOW - HL), ("B", NOW), ("B", NOW - 9000)]  # the last one is outside the window
    got = trending(sales, redemptions, now=NOW)
    assert got == {"A": Trend(1.5, 1, 1), "B": Trend(1.0, 0, 1)}
    assert list(got) == ["A", "B"]
    heavy = trending(sales, redemptions, now=NOW, redemption_weight=3.0)
    assert heavy == {"B": Trend(3.0, 0, 1), "A": Trend(2.5, 1, 1)}
    assert list(heavy) == ["B", "A"]
    assert trending(sales, redemptions, now=NOW, redemption_weight=0) == {"A": Trend(1.0, 1)}


def test_min_score_keeps_one_unit_a_half_life_old_and_drops_less():
    got = trending([("A", 1, NOW - HL), ("B", 1, NOW - HL - 1)], now=NOW)
    assert list(got) == ["A"]
    assert set(trending([("A", 1, NOW - HL), ("B", 1, NOW - HL - 1)], now=NOW, min_score=0)) == {"A", "B"}
    assert trending([("A", 1, NOW)], now=NOW, min_score=1.01) == {}


def test_order_is_score_then_sku_and_top_cuts():
    sales = [("C", 2, NOW), ("A", 1, NOW), ("B", 2, NOW), ("D", 3, NOW - HL)]
    got = trending(sales, now=NOW)
    assert [(s, t.score) for s, t in got.items()] == [("B", 2.0), ("C", 2.0), ("D", 1.5), ("A", 1.0)]
    assert list(trending(sales, now=NOW, top=2)) == ["B", "C"]
    assert trending(sales, now=NOW, top=0) == {}


def test_nothing_in_the_window_is_empty():
    assert trending([], now=NOW) == {}
    assert trending([("A", 1, NOW - 86_400)], [("A", NOW - 86_400)], now=NOW) == {}


def test_scores_feed_context_trending():
    got = trending([("A", 1, NOW), ("B", 3, NOW - HL)], now=NOW)
    assert scores(got) == {"B": 1.5, "A": 1.0}
    assert list(scores(got)) == ["B", "A"]


def test_describe():
    assert describe(Trend(7.3, 12)) == "12 sold here in the last 2 hours"
    assert describe(Trend(1.0, 1), 3600) == "1 sold here in the last hour"
    assert describe(Trend(2.0, 2, 1), 1800) == "2 sold and 1 coupon redeemed here in the last 30 minutes"
    assert describe(Trend(2.0, 0, 3), 5400) == "3 coupons redeemed here in the last 90 minutes"


@pytest.mark.parametrize("kw, message", [
    ({"window_s": 0}, "window_s must be > 0"),
    ({"half_life_s": -1}, "half_life_s must be > 0"),
    ({"redemption_weight": -0.5}, "redemption_weight must be >= 0"),
    ({"top": -1}, "top must be >= 0"),
])
def test_bad_parameters(kw, message):
    with pytest.raises(ValueError, match=message):
        trending([], now=NOW, **kw)


skus = st.sampled_from(["A", "B", "C", "D", "E"])
ages = st.floats(min_value=-600, max_value=8000, allow_nan=False)
sale_lines = st.lists(st.tuples(skus, st.integers(1, 5), ages), max_size=60)
redemption_lines = st.lists(st.tuples(skus, ages), max_size=20)


@settings(max_examples=200, deadline=None)
@given(sale_lines, redemption_lines, st.randoms(use_true_random=False))
def test_deterministic_and_independent_of_event_order(sales, redemptions, rnd):
    sales = [(s, q, NOW - a) for s, q, a in sales]
    redemptions = [(s, NOW - a) for s, a in redemptions]
    first = trending(sales, redemptions, now=NOW, redemption_weight=0.7)
    again = trending(list(sales), list(redemptions), now=NOW, redemption_weight=0.7)
    rnd.shuffle(sales)
    rnd.shuffle(redemptions)
    shuffled = trending(iter(sales), iter(redemptions), now=NOW, redemption_weight=0.7)
    assert list(first.items()) == list(again.items()) == list(shuffled.items())  # same scores, bit for bit
    assert list(first) == sorted(first, key=lambda s: (-first[s].score, s))
    for sku, t in first.items():
        in_window = [(q, a) for s, q, a in sales if s == sku and NOW - 7200 < a <= NOW]
        assert t.units == sum(q for q, _ in in_window)
        expected = sum(q * 2 ** ((a - NOW) / HL) for q, a in in_window)
        expected += sum(0.7 * 2 ** ((a - NOW) / HL) for s, a in redemptions if s == sku and NOW - 7200 < a <= NOW)
        assert t.score == pytest.approx(expected, abs=1e-6) and t.score >= 0.5


# --- writing sales --------------------------------------------------------------------------------------------


LINES = [{"sku": "COF-001", "qty": 2, "amount_cents": 560}, {"sku": "PAS-003", "qty": 1, "amount_cents": 170}]


def sent(outbox: Outbox) -> list[dict]:
    return [json.loads(r.wire) for r in outbox.window(after_seq=0, limit=100)]


def test_record_sale_writes_rows_and_one_event(cache: Cache, outbox: Outbox):
    event_id = record_sale(cache, outbox, basket_id="B-1", lines=LINES, at=NOW - 60, profile_id="c-0001")
    assert cache.query("SELECT basket_id, sku, qty, amount_cents, at, profile_id FROM sales ORDER BY id") == [
        ("B-1", "COF-001", 2, 560, NOW - 60, "c-0001"), ("B-1", "PAS-003", 1, 170, NOW - 60, "c-0001")]
    events = sent(outbox)
    assert len(events) == 1 and events[0]["id"] == event_id and events[0]["type"] == "sale"
    assert events[0]["payload"] == {"basket_id": "B-1", "at": NOW - 60, "profile_id": "c-0001", "lines": LINES}
    record_sale(cache, outbox, basket_id="B-2", lines=LINES[:1], at=NOW)
    assert [e["payload"]["profile_id"] for e in sent(outbox)] == ["c-0001", None]
    assert cache.query("SELECT count(*) FROM sales")[0][0] == 3


def test_record_sale_is_one_transaction(cache: Cache, outbox: Outbox):
    cache.conn.execute("CREATE TRIGGER outbox_broken BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'boom'); END")
    with pytest.raises(Exception, match="boom"):
        record_sale(cache, outbox, basket_id="B-1", lines=LINES, at=NOW)
    assert cache.query("SELECT count(*) FROM sales")[0][0] == 0 and outbox.stats().rows == 0
    cache.conn.execute("DROP TRIGGER outbox_broken")
    record_sale(cache, outbox, basket_id="B-1", lines=LINES, at=NOW)
    assert cache.query("SELECT count(*) FROM sales")[0][0] == 2 and outbox.stats().rows == 1


@pytest.mark.parametrize("kw, message", [
    ({"lines": []}, "a sale needs at least one line"),
    ({"lines": [LINES[0], {"sku": "X", "qty": 0, "amount_cents": 1}]}, r"line 2 \(X\): qty must be an integer >= 1"),
    ({"lines": [{"sku": "X", "qty": 1.0, "amount_cents": 1}]}, r"line 1 \(X\): qty must be an integer >= 1, got 1.0"),
    ({"lines": [{"sku": "X", "qty": True, "amount_cents": 1}]}, r"line 1 \(X\): qty must be an integer"),
    ({"lines": [{"sku": "X", "qty": 1, "amount_cents": -5}]}, r"line 1 \(X\): amount_cents must be an integer >= 0"),
    ({"lines": [{"sku": "X", "qty": 1, "amount_cents": 1.5}]}, r"line 1 \(X\): amount_cents must be an integer"),
    ({"lines": [LINES[0], LINES[1], {"sku": "", "qty": 1, "amount_cents": 1}]}, "line 3: sku must be a non-empty"),
    ({"lines": [{"sku": 7, "qty": 1, "amount_cents": 1}]}, "line 1: sku must be a non-empty string, got 7"),
    ({"lines": [{"sku": "X", "amount_cents": 1}]}, "line 1: qty is missing"),
    ({"lines": ["COF-001"]}, "line 1: not a mapping"),
    ({"basket_id": ""}, "basket_id must be a non-empty string"),
    ({"at": float("nan")}, "at must be unix seconds"),
    ({"at": "now"}, "at must be unix seconds"),
    ({"profile_id": ""}, "profile_id must be a non-empty string or None"),
])
def test_record_sale_validates_before_writing(cache: Cache, outbox: Outbox, kw, message):
    args = {"basket_id": "B-1", "lines": LINES, "at": NOW, **kw}
    with pytest.raises(ValueError, match=message):
        record_sale(cache, outbox, **args)
    assert cache.query("SELECT count(*) FROM sales")[0][0] == 0 and outbox.stats().rows == 0


# --- reading them back ----------------------------------------------------------------------------------------


def redeem(cache: Cache, code: str, offer_id: str, at: float) -> None:
    with cache.transaction() as conn:
        conn.execute("INSERT INTO redemptions (code, offer_id, arm, profile_id, basket_id, discount_cents,"
                     " redeemed_at) VALUES (?, ?, NULL, NULL, ?, 50, ?)", (code, offer_id, f"B-{code}", at))


def offer(oid: str, sku: str | None = None) -> dict:
    body = {"id": oid, "priority": 1, "channels": ["kiosk"], "title": {"en": oid}}
    return {**body, "sku": sku} if sku else body


def test_sales_and_redeemed_skus_since(cache: Cache, outbox: Outbox):
    apply_bundle(cache, stream="chain", scope="chain", version=1, sha256="x", mode="snapshot",
                 content={"offers": [offer("O-A", "A"), offer("O-B", "B"), offer("O-NOSKU")]}, at=NOW)
    # the store's own offer with the same id wins over the chain's (scope precedence, as everywhere)
    apply_bundle(cache, stream="store/s001", scope="store/s001", version=1, sha256="x", mode="snapshot",
                 content={"offers": [offer("O-B", "B2")]}, at=NOW)
    record_sale(cache, outbox, basket_id="old", lines=[{"sku": "A", "qty": 9, "amount_cents": 9}], at=NOW - 7201)
    record_sale(cache, outbox, basket_id="b1", lines=[{"sku": "A", "qty": 2, "amount_cents": 9},
                                                      {"sku": "C", "qty": 1, "amount_cents": 9}], at=NOW - 100)
    record_sale(cache, outbox, basket_id="b0", lines=[{"sku": "B2", "qty": 1, "amount_cents": 9}], at=NOW - 7200)
    for code, oid, at in [("c0", "O-A", NOW - 8000), ("c1", "O-A", NOW - 50), ("c2", "O-B", NOW - 10),
                          ("c3", "O-NOSKU", NOW - 5), ("c4", "O-GONE", NOW - 1)]:
        redeem(cache, code, oid, at)
    reader = CacheReader(cache)
    since = NOW - 7200
    assert reader.sales_since(since) == [("B2", 1, NOW - 7200), ("A", 2, NOW - 100), ("C", 1, NOW - 100)]
    assert reader.redeemed_skus_since(since) == [("A", NOW - 50), ("B2", NOW - 10)]
    got = trending(reader.sales_since(since), reader.redeemed_skus_since(since), now=NOW)
    assert list(got) == ["A", "B2", "C"]  # B2's sale is exactly 2 hours old: only its coupon (10 s old) counts
    assert got["A"].units == 2 and got["A"].redeemed == 1 and got["B2"] == Trend(got["B2"].score, 0, 1)


def test_the_reads_use_the_time_indexes(cache: Cache):
    def plan(sql: str) -> str:
        return " ".join(r[-1] for r in cache.query("EXPLAIN QUERY PLAN " + sql, (0.0,)))

    assert "USING INDEX idx_sales_at (at>?)" in plan("SELECT sku, qty, at FROM sales WHERE at >= ? ORDER BY at, id")
    assert "USING INDEX idx_redemptions_redeemed_at (redeemed_at>?)" in plan(
        "SELECT offer_id, redeemed_at FROM redemptions WHERE redeemed_at >= ? ORDER BY redeemed_at, code")


# --- into the menu --------------------------------------------------------------------------------------------

MONDAY_0830 = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 08:30 in Sofia
RAIN_6C = Weather(6.0, 1.2, "rain", MONDAY_0830 - timedelta(minutes=20))


def test_trending_item_moves_up_the_menu(tmp_path: Path):
    clock = FixedClock(MONDAY_0830)
    cache = demo_cache(tmp_path / "cache.db", clock=clock)
    outbox = Outbox(cache, boot_id="b", device="kiosk-1", store="s001", clock=clock)
    reader = CacheReader(cache)
    catalog = Catalog.from_source(reader)
    menus = reader.menus()
    now = clock.time()

    def kiosk(trending_scores: dict[str, float]) -> Context:
        return Context(now=MONDAY_0830, store="s001", region="south", device="kiosk-1", channel="kiosk",
                       weather=RAIN_6C, trending=trending_scores)

    before = [i.sku for i in decide_menu(menus, catalog, kiosk({})).items]
    assert before.index("SAN-001") > before.index("COF-001")  # near the end of the breakfast menu
    rnd = random.Random(8)
    for n in range(6):
        record_sale(cache, outbox, basket_id=f"B{n}", at=now - rnd.uniform(0, 3000),
                    lines=[{"sku": "SAN-001", "qty": 1, "amount_cents": 450}])
    record_sale(cache, outbox, basket_id="B-old", at=now - 3 * 3600,  # out of the window: no trend
                lines=[{"sku": "DES-005", "qty": 50, "amount_cents": 450}])
    trends = trending(reader.sales_since(now - 7200), reader.redeemed_skus_since(now - 7200), now=now)
    assert list(trends) == ["SAN-001"] and trends["SAN-001"].units == 6
    menu = decide_menu(menus, catalog, kiosk(scores(trends)))
    after = [i.sku for i in menu.items]
    boosted = ["PAS-003", "TEA-003", "COF-003", "PAS-006"]  # the weather's picks stay on top
    assert after[:5] == [*boosted, "SAN-001"]
    assert [s for s in after if s != "SAN-001"] == [s for s in before if s != "SAN-001"]
    assert "popular in this store in the last hours" in menu.items[4].reasons
    assert describe(trends["SAN-001"]) == "6 sold here in the last 2 hours"
    cache.close()
