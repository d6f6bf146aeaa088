"""The engine's analytics: RFM, co-purchase similarity, affinity, recommendations, popularity.

Small hand-computed examples pin the numbers; Hypothesis checks the invariants against brute-force
oracles (set-based Jaccard, zoneinfo local time) and input order.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decisions.copurchase import (
    Recommendation,
    affinity,
    co_occurrence,
    co_purchase,
    neighbour_index,
    purchase_counts,
    recommend,
)
from decisions.popularity import ALL_DAY, daypart_at, popular, popularity_by_daypart, rank
from decisions.rfm import (
    TIER_RULES,
    TIERS,
    RfmScore,
    compact,
    epoch,
    profile_rfm,
    profiles_rfm,
    quintiles,
    rfm_scores,
    tier,
)
from sync.protocol.content import validate

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def line(basket: str, sku: str, at: datetime, profile: str | None = None, amount: int = 100, qty: int = 1) -> dict:
    d = {"line_id": f"{basket}-{sku}-{at.timestamp()}", "basket_id": basket, "sku": sku, "qty": qty,
         "amount_cents": amount, "at": iso(at)}
    if profile is not None:
        d["profile_id"] = profile
    return d


def baskets_to_lines(baskets: list[list[str]], at: datetime = NOW - DAY) -> list[dict]:
    return [line(f"b{i}", sku, at) for i, skus in enumerate(baskets) for sku in skus]


# --- quintiles and tiers ---------------------------------------------------------------------


def test_quintiles_of_five_distinct_values_are_one_to_five():
    assert quintiles({"a": 10, "b": 20, "c": 30, "d": 40, "e": 50}) == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}


def test_quintiles_of_ten_values_pair_up():
    scores = quintiles({f"c{i}": i for i in range(10)})
    assert [scores[f"c{i}"] for i in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_ties_share_the_score_of_their_lowest_rank():
    # n = 5: value 1 beats nobody -> 1; value 5 beats 3 of 4 others -> 1 + 15 // 4 = 4; value 9 beats all -> 5
    assert quintiles({"a": 1, "b": 1, "c": 1, "d": 5, "e": 9}) == {"a": 1, "b": 1, "c": 1, "d": 4, "e": 5}


def test_quintiles_with_fewer_than_five_customers_and_without_spread():
    assert quintiles({"a": 1, "b": 2}) == {"a": 1, "b": 5}
    assert quintiles({"a": 1, "b": 2, "c": 3}) == {"a": 1, "b": 3, "c": 5}
    assert quintiles({"a": 1, "b": 2, "c": 3, "d": 4}) == {"a": 1, "b": 2, "c": 4, "d": 5}
    assert quintiles({"a": 7}) == {"a": 3}
    assert quintiles({"a": 7, "b": 7, "c": 7}) == {"a": 3, "b": 3, "c": 3}
    assert quintiles({}) == {}


@pytest.mark.parametrize(("r", "f", "m", "frequency", "is_new", "want"), [
    (5, 1, 1, 1, True, "new"),
    (5, 5, 5, 2, True, "new"),
    (5, 5, 5, 3, True, "champions"),  # "new" needs frequency 1-2
    (4, 4, 4, 9, False, "champions"),
    (2, 5, 5, 9, False, "at_risk"),
    (1, 3, 1, 9, False, "at_risk"),
    (3, 4, 1, 9, False, "loyal"),
    (5, 5, 3, 9, False, "loyal"),
    (1, 2, 5, 2, False, "lost"),
    (5, 3, 1, 3, False, "promising"),
    (4, 1, 5, 1, False, "promising"),
    (3, 3, 3, 3, False, "needs_attention"),
    (2, 2, 5, 2, False, "needs_attention"),
])
def test_tier_rules_in_order(r, f, m, frequency, is_new, want):
    assert tier(r, f, m, frequency=frequency, is_new=is_new) == want


def test_tier_rule_table_is_the_documented_one():
    assert tuple(name for name, *_ in TIER_RULES) == TIERS
    assert TIERS == ("new", "champions", "at_risk", "loyal", "lost", "promising", "needs_attention")


def hand_history() -> list[dict]:
    return [
        # A: 4 baskets in the window, 1200 cents, last 1.5 days ago -> recency 1
        line("a1", "X", NOW - 1.5 * DAY, "A", 300), line("a1", "Y", NOW - 1.5 * DAY, "A", 200),
        line("a2", "X", NOW - 10 * DAY, "A", 100), line("a3", "X", NOW - 40 * DAY, "A", 500),
        line("a4", "Z", NOW - 100 * DAY, "A", 100),
        line("a5", "X", NOW + DAY, "A", 10_000),  # in the future of `now`: ignored
        # B: one basket 200 days ago
        line("b1", "X", NOW - 200 * DAY, "B", 50),
        # C: 2 baskets in the window; first purchase 400 days ago (outside the window), so not new
        line("c1", "X", NOW - 5 * DAY, "C", 400), line("c2", "Y", NOW - 20 * DAY, "C", 400),
        line("c0", "Y", NOW - 400 * DAY, "C", 999),
        # D: first ever purchase 3 days ago
        line("d1", "Y", NOW - 3 * DAY, "D", 100),
        # E: dormant, last purchase 500 days ago
        line("e1", "Y", NOW - 500 * DAY, "E", 700),
        # anonymous
        line("n1", "X", NOW - 2 * DAY, None, 5000),
    ]


def test_rfm_hand_computed():
    scores = {s.profile_id: s for s in rfm_scores(hand_history(), NOW)}
    # active A, B, C, D (n - 1 = 3). Recency days A1 C5 D3 B200 -> B1 C2 D4 A5;
    # frequency A4 C2 B1 D1 -> B,D 1, C 4, A 5; monetary A1200 C800 D100 B50 -> B1 D2 C4 A5.
    assert scores == {
        "A": RfmScore("A", 1, 4, 1200, 5, 5, 5, "champions"),
        "B": RfmScore("B", 200, 1, 50, 1, 1, 1, "lost"),
        "C": RfmScore("C", 5, 2, 800, 2, 4, 4, "at_risk"),
        "D": RfmScore("D", 3, 1, 100, 4, 1, 2, "new"),
        "E": RfmScore("E", 500, 0, 0, 1, 1, 1, "lost"),
    }


def test_rfm_window_and_new_days_are_parameters():
    scores = {s.profile_id: s for s in rfm_scores(hand_history(), NOW, window_days=30, new_days=2)}
    assert scores["A"].frequency == 2 and scores["A"].monetary_cents == 600
    assert scores["B"].frequency == 0 and scores["B"].tier == "lost"
    assert scores["D"].tier != "new"


def test_rfm_as_of_a_past_moment_sees_only_the_history_up_to_it():
    past = NOW - 30 * DAY
    scores = {s.profile_id: s for s in rfm_scores(hand_history(), past)}
    assert "D" not in scores  # D's only purchase is after `past`
    assert scores["A"].recency_days == 10 and scores["A"].frequency == 2


def test_rfm_field_for_profiles_matches_the_bundle_schema():
    scores = rfm_scores(hand_history(), NOW)
    by_id = profiles_rfm(scores)
    assert by_id["A"] == {"r": 5, "f": 5, "m": 5, "tier": "champions"}
    assert profile_rfm(scores[0]) == by_id[scores[0].profile_id]
    validate({"profiles": [{"profile_id": pid, "rfm": rfm} for pid, rfm in by_id.items()]})


def test_dict_and_compact_lines_give_the_same_result_and_offsets_are_read():
    lines = hand_history()
    assert rfm_scores(lines, NOW) == rfm_scores(compact(lines), NOW) == rfm_scores(iter(lines), NOW.timestamp())
    assert epoch("2026-06-01T15:00:00+03:00") == epoch("2026-06-01T12:00:00Z") == NOW.timestamp()
    assert epoch("2026-06-01T12:00:00") == NOW.timestamp()  # no offset: UTC
    with pytest.raises(ValueError, match="l1"):
        compact([{"line_id": "l1", "basket_id": "b", "sku": "s", "qty": 1, "amount_cents": 1, "at": "yesterday"}])
    with pytest.raises(ValueError, match="aware"):
        rfm_scores(lines, datetime(2026, 6, 1))


line_tuples = st.lists(
    st.tuples(
        st.integers(0, 40).map(lambda i: f"b{i}"),
        st.one_of(st.none(), st.sampled_from(["p1", "p2", "p3", "p4", "p5", "p6", "p7"])),
        st.sampled_from(["s1", "s2", "s3", "s4", "s5"]),
        st.integers(1, 3),
        st.integers(-500, 5000),
        st.floats(NOW.timestamp() - 800 * 86400, NOW.timestamp() + 10 * 86400),
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(line_tuples)
def test_every_customer_gets_scores_1_to_5_and_exactly_one_tier(lines):
    scores = rfm_scores(lines, NOW)
    ids = [s.profile_id for s in scores]
    assert ids == sorted(set(ids))
    assert set(ids) == {pid for _b, pid, *_rest, at in lines if pid is not None and at <= NOW.timestamp()}
    for s in scores:
        assert {s.r, s.f, s.m} <= {1, 2, 3, 4, 5}
        assert s.tier in TIERS
        assert s.recency_days >= 0


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=3), st.integers(-20, 20), max_size=30))
def test_quintiles_are_monotone_and_in_range(values):
    scores = quintiles(values)
    assert set(scores) == set(values)
    for a in values:
        assert 1 <= scores[a] <= 5
        for b in values:
            if values[a] > values[b]:
                assert scores[a] >= scores[b]
            if values[a] == values[b]:
                assert scores[a] == scores[b]


@settings(max_examples=100, deadline=None)
@given(line_tuples, st.randoms(use_true_random=False))
def test_rfm_does_not_depend_on_input_order(lines, rnd):
    shuffled = lines[:]
    rnd.shuffle(shuffled)
    assert rfm_scores(shuffled, NOW) == rfm_scores(lines, NOW)


# --- co-purchase ------------------------------------------------------------------------------

# A in 1,2,3,4; B in 1,2,3,5; C in 3,4,6; D in 6. AB = 3, AC = 2, BC = 1, CD = 1.
HAND_BASKETS = [["A", "B"], ["A", "B"], ["A", "B", "C"], ["A", "C"], ["B"], ["C", "D"]]
LOOSE = {"min_pair_count": 1, "min_item_count": 1}


def scores_of(rows: list[dict]) -> dict[tuple[str, str], tuple[float, int]]:
    return {(r["a"], r["b"]): (r["score"], r["count"]) for r in rows}


def test_jaccard_hand_computed():
    rows = co_purchase(baskets_to_lines(HAND_BASKETS), similarity="jaccard", **LOOSE)
    assert scores_of(rows) == {
        ("A", "B"): (pytest.approx(3 / 5), 3),  # 3 / (4 + 4 - 3)
        ("A", "C"): (pytest.approx(2 / 5), 2),  # 2 / (4 + 3 - 2)
        ("B", "C"): (pytest.approx(1 / 6), 1),  # 1 / (4 + 3 - 1)
        ("C", "D"): (pytest.approx(1 / 3), 1),  # 1 / (3 + 1 - 1)
    }
    assert [(r["a"], r["b"]) for r in rows] == sorted((r["a"], r["b"]) for r in rows)
    validate({"co_purchase": rows})


def test_lift_hand_computed_and_normalised_to_the_strongest_pair():
    rows = co_purchase(baskets_to_lines(HAND_BASKETS), similarity="lift", **LOOSE)
    # raw c_ij / (c_ii c_jj): AB 3/16, AC 2/12, BC 1/12, CD 1/3 (the largest)
    assert scores_of(rows) == {
        ("A", "B"): (pytest.approx(0.5625), 3),
        ("A", "C"): (pytest.approx(0.5), 2),
        ("B", "C"): (pytest.approx(0.25), 1),
        ("C", "D"): (pytest.approx(1.0), 1),
    }


def test_minimum_support_filters_pairs_and_items():
    lines = baskets_to_lines(HAND_BASKETS)
    assert set(scores_of(co_purchase(lines, min_pair_count=2, min_item_count=1))) == {("A", "B"), ("A", "C")}
    assert set(scores_of(co_purchase(lines, min_pair_count=1, min_item_count=4))) == {("A", "B")}
    assert co_purchase(lines) == []  # defaults: pairs of 3+ baskets between items in 5+ baskets; A, B are in 4


def test_repeated_lines_count_once_and_big_baskets_are_skipped():
    lines = baskets_to_lines(HAND_BASKETS) + [line("b0", "A", NOW - DAY)]  # A twice in basket b0
    assert scores_of(co_purchase(lines, **LOOSE))[("A", "B")] == (pytest.approx(0.6), 3)
    capped = co_purchase(lines, max_basket_items=2, **LOOSE)  # drops basket 3 (A, B, C): A 3, B 3, C 2
    assert scores_of(capped)[("A", "B")] == (pytest.approx(2 / 4), 2)
    assert ("B", "C") not in scores_of(capped)
    items, _pairs = co_occurrence([["A", "B", "C"]], max_basket_items=2)
    assert items == {}


def test_top_n_keeps_a_pair_in_the_top_of_either_item():
    # top 1: A -> B (0.6), B -> A (0.6), C -> A (0.4), D -> C (1/3); B-C is nobody's best
    rows = co_purchase(baskets_to_lines(HAND_BASKETS), top_n=1, **LOOSE)
    assert set(scores_of(rows)) == {("A", "B"), ("A", "C"), ("C", "D")}


def test_co_purchase_window():
    lines = baskets_to_lines(HAND_BASKETS[:3], at=NOW - 100 * DAY) + baskets_to_lines(HAND_BASKETS[3:], at=NOW - DAY)
    recent = co_purchase(lines, now=NOW, window_days=30, **LOOSE)
    assert set(scores_of(recent)) == {("A", "C"), ("C", "D")}
    with pytest.raises(ValueError):
        co_purchase(lines, window_days=30)
    with pytest.raises(ValueError):
        co_purchase(lines, similarity="cosine")


baskets_strategy = st.lists(st.lists(st.sampled_from("ABCDEFG"), min_size=1, max_size=6), max_size=30)


@settings(max_examples=200, deadline=None)
@given(baskets_strategy)
def test_jaccard_matches_the_set_definition_and_is_symmetric_in_0_1(baskets):
    rows = co_purchase(baskets_to_lines(baskets), top_n=100, **LOOSE)
    holding = {s: {i for i, b in enumerate(baskets) if s in b} for s in "ABCDEFG"}
    got = scores_of(rows)
    for a in "ABCDEFG":
        for b in "ABCDEFG":
            if a < b and holding[a] & holding[b]:
                both = len(holding[a] & holding[b])
                assert got[a, b] == (pytest.approx(both / len(holding[a] | holding[b])), both)
            elif a < b:
                assert (a, b) not in got
    for score, _count in got.values():
        assert 0 < score <= 1
    index = neighbour_index(rows)
    for a, near in index.items():
        for b, s in near.items():
            assert index[b][a] == s


@settings(max_examples=100, deadline=None)
@given(baskets_strategy, st.sampled_from(["jaccard", "lift"]), st.randoms(use_true_random=False))
def test_co_purchase_is_deterministic_and_order_free(baskets, similarity, rnd):
    lines = baskets_to_lines(baskets)
    shuffled = lines[:]
    rnd.shuffle(shuffled)
    first = co_purchase(lines, similarity=similarity, top_n=2, **LOOSE)
    assert co_purchase(shuffled, similarity=similarity, top_n=2, **LOOSE) == first
    assert co_purchase(lines, similarity=similarity, top_n=2, **LOOSE) == first
    if similarity == "lift" and first:
        assert max(r["score"] for r in first) == 1.0
        assert all(0 < r["score"] <= 1 for r in first)


# --- affinity and recommendations -------------------------------------------------------------


def test_affinity_halves_every_half_life():
    lines = [line("b1", "X", NOW, "P"), line("b2", "Y", NOW - 30 * DAY, "P"), line("b3", "Z", NOW - 60 * DAY, "P"),
             line("b3", "Z", NOW - 60 * DAY, "P"),  # the same sku twice in one basket counts once
             line("b4", "X", NOW + DAY, "P")]  # after now: ignored
    got = affinity(lines, NOW, half_life_days=30)
    assert got == {"X": pytest.approx(1.0), "Y": pytest.approx(0.5), "Z": pytest.approx(0.25)}
    assert affinity(lines, NOW, half_life_days=60)["Y"] == pytest.approx(2 ** -0.5)
    assert purchase_counts(lines, NOW, days=30) == {"X": 1}
    assert purchase_counts(lines, NOW, days=61) == {"X": 1, "Y": 1, "Z": 1}


@settings(max_examples=100, deadline=None)
@given(line_tuples, st.randoms(use_true_random=False))
def test_affinity_does_not_depend_on_input_order(lines, rnd):
    shuffled = lines[:]
    rnd.shuffle(shuffled)
    assert affinity(shuffled, NOW, 7) == affinity(lines, NOW, 7)
    assert purchase_counts(shuffled, NOW) == purchase_counts(lines, NOW)


def test_a_basket_counts_once_at_its_earliest_line():
    lines = [line("b1", "X", NOW - 30 * DAY), line("b1", "X", NOW)]
    assert affinity(lines, NOW) == affinity(lines[::-1], NOW) == {"X": pytest.approx(0.5)}


def test_recommend_sums_similarities_and_explains_in_plain_words():
    index = neighbour_index(co_purchase(baskets_to_lines(HAND_BASKETS), **LOOSE))
    names = {"A": "Cappuccino", "B": "Croissant", "C": "Muffin", "D": "Water"}
    recs = recommend({"A": 1.0, "C": 0.5}, index, lambda s: True, k=3, exclude=("A", "C"),
                     name=names.__getitem__, counts={"A": 4})
    # B: 1.0 * 0.6 + 0.5 * 1/6; D: 0.5 * 1/3
    assert [r.sku for r in recs] == ["B", "D"]
    assert recs[0].score == pytest.approx(0.6 + 0.5 / 6)
    assert recs[0].reasons == ["often bought with Cappuccino (you bought it 4 times in 30 days)",
                               "often bought with Muffin, which you have bought before"]
    assert recs[1] == Recommendation("D", pytest.approx(0.5 / 3),
                                     ["often bought with Muffin, which you have bought before"])
    plain = recommend({"A": 1.0}, index, lambda s: True, k=1, name=names.__getitem__)
    assert plain[0].reasons == ["often bought with Cappuccino, which you buy"]


def test_out_of_stock_items_are_skipped_and_the_list_stays_full():
    neighbours = {"A": {f"S{i}": 1.0 - i / 100 for i in range(10)}}
    checked: list[str] = []

    def in_stock(sku: str) -> bool:
        checked.append(sku)
        return sku not in {"S0", "S1", "S2"}

    recs = recommend({"A": 1.0}, neighbours, in_stock, k=5)
    assert [r.sku for r in recs] == ["S3", "S4", "S5", "S6", "S7"]
    assert checked == ["S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7"]  # stops once the list is full
    assert [r.sku for r in recommend({"A": 1.0}, neighbours, in_stock, k=20)] == [f"S{i}" for i in range(3, 10)]
    assert recommend({"A": 1.0}, neighbours, in_stock, k=0) == []


def test_recommend_accepts_neighbour_pairs_and_breaks_ties_by_sku():
    recs = recommend({"A": 1.0}, {"A": [("Q", 0.5), ("P", 0.5), ("A", 1.0)]}, lambda s: True, k=3)
    assert [r.sku for r in recs] == ["P", "Q"]  # never the item itself


# --- popularity -------------------------------------------------------------------------------

SOFIA = "Europe/Sofia"
PARTS = {"late": ("22:00", "02:00"), "morning": ("06:00", "11:00"), "lunch": ("11:00", "15:00")}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_dayparts_wrap_midnight_and_follow_dst():
    now = utc("2026-07-20T12:00:00")
    lines = [
        line("w1", "TEA", utc("2026-01-10T21:30:00")),  # 23:30 in Sofia (+02:00): late
        line("w2", "TEA", utc("2026-01-10T23:30:00")),  # 01:30 next day: late
        line("w3", "BUN", utc("2026-01-10T03:30:00")),  # 05:30 in winter: no daypart
        line("w4", "BUN", utc("2026-07-10T03:30:00")),  # 06:30 in summer (+03:00): morning
        {**line("w5", "BUN", NOW), "at": "2026-07-11T08:30:00+03:00"},  # morning, offset given
    ]
    pop = popularity_by_daypart(lines, tz=SOFIA, dayparts=PARTS, now=now, window_days=365)
    assert pop["late"] == {"TEA": (2.0, 2)}
    assert pop["morning"] == {"BUN": (2.0, 2)}
    assert pop["lunch"] == {}
    assert pop[ALL_DAY] == {"TEA": (2.0, 2), "BUN": (3.0, 3)}
    assert daypart_at(utc("2026-01-10T23:30:00"), SOFIA, PARTS) == "late"
    assert daypart_at(utc("2026-01-10T03:30:00"), SOFIA, PARTS) is None


def test_offset_changing_within_an_hour_is_handled_exactly():
    # Lord Howe Island moves from +10:30 to +11:00 at 15:30 UTC on 3 Oct 2026, inside a UTC hour.
    parts = {"x": ("02:30", "03:00")}
    lines = [line("l1", "A", utc("2026-10-03T15:20:00")),  # 01:50 local
             line("l2", "B", utc("2026-10-03T15:40:00"))]  # 02:40 local (+11:00); 02:10 at the old offset
    pop = popularity_by_daypart(lines, tz="Australia/Lord_Howe", dayparts=parts, now=utc("2026-10-04T00:00:00"))
    assert pop["x"] == {"B": (1.0, 1)}


def test_popular_ranks_filters_stock_and_keeps_the_list_full():
    now = utc("2026-03-02T12:00:00")
    lines = []
    for sku, n in [("ESP", 5), ("CAP", 4), ("LAT", 3), ("TEA", 2), ("JUI", 1)]:
        lines += [line(f"{sku}{i}", sku, utc("2026-03-01T07:00:00")) for i in range(n)]  # 09:00 in Sofia
    lines.append(line("L1", "SAL", utc("2026-03-01T10:00:00")))  # lunch
    lines.append(line("OLD", "SAL", utc("2025-03-01T07:00:00")))  # outside the 28-day window
    got = popular(lines, tz=SOFIA, dayparts=PARTS, daypart="morning", now=now, k=3,
                  in_stock=lambda s: s != "CAP")
    assert [(s, score) for s, score, _ in got] == [("ESP", 5.0), ("LAT", 3.0), ("TEA", 2.0)]
    assert got[0][2] == "popular at this store in the morning (in 5 baskets in the last 28 days)"
    whole = popular(lines, tz=SOFIA, dayparts=PARTS, daypart=None, now=now, k=10, in_stock=lambda s: True,
                    exclude=("ESP",))
    assert [s for s, _, _ in whole] == ["CAP", "LAT", "TEA", "JUI", "SAL"]
    assert whole[-1][2] == "popular at this store (in 1 basket in the last 28 days)"
    with pytest.raises(ValueError):
        popular(lines, tz=SOFIA, dayparts=PARTS, daypart="brunch", now=now, k=3, in_stock=lambda s: True)


def test_rank_reuses_figures_computed_once():
    now = utc("2026-03-02T12:00:00")
    lines = [line(f"b{i}", sku, utc("2026-03-01T07:00:00")) for i, sku in enumerate(["A", "A", "B", "C", "C", "C"])]
    table = popularity_by_daypart(lines, tz=SOFIA, dayparts=PARTS, now=now)
    got = rank(table["morning"], daypart="morning", k=2, in_stock=lambda s: s != "C")
    assert got == popular(lines, tz=SOFIA, dayparts=PARTS, daypart="morning", now=now, k=2,
                          in_stock=lambda s: s != "C")
    assert [s for s, _, _ in got] == ["A", "B"]
    with pytest.raises(ValueError, match="reserved"):
        popularity_by_daypart(lines, tz=SOFIA, dayparts={ALL_DAY: ("00:00", "00:00")}, now=now)


def test_a_basket_straddling_dayparts_counts_at_its_earliest_line_whatever_the_order():
    now = utc("2026-03-02T12:00:00")
    lines = [line("b1", "A", utc("2026-03-01T08:59:00")), line("b1", "A", utc("2026-03-01T09:01:00"))]
    for order in (lines, lines[::-1]):  # 10:59 and 11:01 in Sofia: morning, not lunch
        pop = popularity_by_daypart(order, tz=SOFIA, dayparts=PARTS, now=now)
        assert pop["morning"] == {"A": (1.0, 1)} and pop["lunch"] == {}


def test_popularity_decay_halves_every_half_life():
    now = utc("2026-03-31T10:00:00")
    lines = [line("n", "NEW", now), line("o", "OLD", now - 30 * DAY), line("o", "OLD", now - 30 * DAY)]
    pop = popularity_by_daypart(lines, tz=SOFIA, dayparts=PARTS, now=now, window_days=90, half_life_days=30)
    assert pop[ALL_DAY] == {"NEW": (pytest.approx(1.0), 1), "OLD": (pytest.approx(0.5), 1)}


hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["Europe/Sofia", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]),
    st.lists(st.floats(utc("2026-01-01T00:00:00").timestamp(), utc("2026-12-31T00:00:00").timestamp()),
             min_size=1, max_size=20),
    st.dictionaries(st.sampled_from(["p", "q", "r"]), st.tuples(hhmm, hhmm), min_size=1),
)
def test_daypart_membership_matches_zoneinfo(zone, times, parts):
    lines = [(f"b{i}", None, f"s{i}", 1, 1, t) for i, t in enumerate(times)]
    pop = popularity_by_daypart(lines, tz=zone, dayparts=parts, now=utc("2027-01-01T00:00:00"), window_days=400)
    for i, t in enumerate(times):
        local = datetime.fromtimestamp(t, ZoneInfo(zone))
        minute = local.hour * 60 + local.minute
        for name, (a, b) in parts.items():
            lo, hi = int(a[:2]) * 60 + int(a[3:]), int(b[:2]) * 60 + int(b[3:])
            inside = lo <= minute < hi if lo < hi else (minute >= lo or minute < hi)
            assert (f"s{i}" in pop[name]) == inside, (local, name, a, b)


def test_popular_is_deterministic_and_order_free():
    rnd = random.Random(3)
    now = utc("2026-03-31T10:00:00")
    lines = [line(f"b{i}", f"S{rnd.randrange(8)}", now - timedelta(hours=rnd.randrange(600))) for i in range(300)]
    shuffled = lines[:]
    rnd.shuffle(shuffled)
    args = {"tz": SOFIA, "dayparts": PARTS, "daypart": "morning", "now": now, "k": 5, "in_stock": lambda s: True,
            "half_life_days": 7}
    assert popular(shuffled, **args) == popular(lines, **args) == popular(compact(lines), **args)
