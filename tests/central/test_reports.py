"""The reports over a period of the stores' local days and a set of stores, on SQLite and PostgreSQL: each
report with data and without (a header-only CSV, a chart that says there is no data), the funnel's counts,
the lift interval against a computation by hand, the local midnight, the store and region filters, the
player's hourly proof-of-play summaries, and the command line."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from central import reports
from central.__main__ import main
from central.content_files import Store
from central.ingest import store_events
from central.reports import REPORTS, Filters, chart, choose_stores, store_names, to_csv
from sync.clock import FixedClock

TZ = "Europe/Sofia"  # UTC+2 in November
DAY = date(2026, 11, 20)
# 23:30 on the 20th in Sofia is 21:30 UTC on the 20th; 00:30 on the 21st in Sofia is 22:30 UTC on the 20th.
LATE_20TH = datetime(2026, 11, 20, 21, 30, tzinfo=UTC).timestamp()
EARLY_21ST = datetime(2026, 11, 20, 22, 30, tzinfo=UTC).timestamp()
NOON_20TH = datetime(2026, 11, 20, 10, 0, tzinfo=UTC).timestamp()
STORES = [Store("s001", "south", ()), Store("s002", "north", ()), Store("s003", "north", ())]
EVERY_STORE = Filters(DAY, DAY, TZ)


def event(n: int, kind: str, payload: dict, *, store: str = "s001", at: float = NOON_20TH) -> dict:
    return {"id": f"e{n}", "seq": n, "type": kind, "store": store, "device": f"{store}-dev", "wall_time": at,
            "payload": payload}


def shown(n: int, offer: str, arm: str, profile: str, **kw) -> dict:
    return event(n, "offer_shown", {"offer": offer, "arm": arm, "profile_id": profile}, **kw)


def held_out(n: int, offer: str, profile: str, **kw) -> dict:
    return event(n, "offer_held_out", {"offer": offer, "arm": "holdout", "profile_id": profile}, **kw)


def sale(n: int, profile: str, sku: str, **kw) -> dict:
    return event(n, "sale", {"basket_id": f"b{n}", "profile_id": profile,
                             "lines": [{"sku": sku, "qty": 1, "amount_cents": 250}]}, **kw)


def rows_of(db, name: str, f: Filters = EVERY_STORE, names: dict | None = None) -> list[dict]:
    return REPORTS[name].rows(db, f, names or {})


@pytest.fixture
def lift_events(db) -> None:
    """OFF-1: arm A seen by 4 customers, 2 of whom bought COF-001 after; the holdout 5, 1 of whom bought."""
    db.execute("INSERT INTO offer_skus (offer, sku) VALUES ('OFF-1', 'COF-001')")
    evs = [shown(n, "OFF-1", "A", f"PA{n}") for n in range(1, 5)]
    evs += [held_out(10 + n, "OFF-1", f"PH{n}") for n in range(1, 6)]
    evs += [sale(20, "PA1", "COF-001", at=NOON_20TH + 60), sale(21, "PA2", "COF-001", at=NOON_20TH + 60),
            sale(22, "PH1", "COF-001", at=NOON_20TH + 60),
            sale(23, "PA3", "COF-001", at=NOON_20TH - 60)]  # bought before seeing it: not after exposure
    store_events(db, evs, now=NOON_20TH)


def test_lift_and_its_interval_match_a_computation_by_hand(db, lift_events):
    rows = {r["arm"]: r for r in rows_of(db, "offers")}
    assert (rows["A"]["exposed"], rows["A"]["bought_after"]) == (4, 2)
    assert (rows["holdout"]["exposed"], rows["holdout"]["bought_after"]) == (5, 1)
    # Katz: rr = (2/4) / (1/5) = 2.5; se = sqrt(1/2 - 1/4 + 1/1 - 1/5) = sqrt(1.05) = 1.024695;
    # 2.5 * exp(-+1.959964 * 1.024695) - 1 = -0.664480 and 17.627821.
    assert rows["A"]["lift"] == 1.5
    assert rows["A"]["lift_low"] == pytest.approx(-0.6645, abs=1e-4)
    assert rows["A"]["lift_high"] == pytest.approx(17.6278, abs=1e-4)
    fig = chart(REPORTS["offers"], list(rows.values()), EVERY_STORE, "every store")
    ax = fig.axes[0]
    assert "lift against the holdout" in ax.get_title() and "%" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["OFF-1 / A"]


def test_funnel_counts_impressions_coupons_and_first_redemptions(db):
    payload = {"offer": "OFF-2", "arm": "A", "profile_id": "P1"}
    store_events(db, [
        *(shown(n, "OFF-2", "A", f"P{n}") for n in range(1, 4)), shown(4, "OFF-2", "B", "P4"),
        held_out(5, "OFF-2", "P5"), held_out(6, "OFF-2", "P6"),
        event(7, "offer_sent_to_phone", {**payload, "code": "C1"}),
        event(8, "offer_sent_to_phone", {**payload, "code": "C2"}),
        event(9, "redeemed", {**payload, "code": "C1", "at": NOON_20TH}),
        event(10, "redeemed", {**payload, "code": "C1", "at": NOON_20TH}, store="s002"),  # spent twice: once
        shown(11, "OFF-3", "A", "P1"),
    ], now=NOON_20TH)
    assert rows_of(db, "funnel") == [
        {"offer": "OFF-2", "impressions": 4, "coupons_sent": 2, "redeemed": 1, "sent_per_impression": 0.5,
         "redeemed_per_sent": 0.5},
        {"offer": "OFF-3", "impressions": 1, "coupons_sent": 0, "redeemed": 0, "sent_per_impression": 0.0,
         "redeemed_per_sent": None}]
    text = to_csv(REPORTS["funnel"], rows_of(db, "funnel"))
    assert list(csv.DictReader(io.StringIO(text)))[0]["coupons_sent"] == "2"
    assert [r["offer"] for r in rows_of(db, "funnel", Filters(DAY, DAY, TZ, ("s002",)))] == ["OFF-2"]


def test_offers_chart_without_a_holdout_shows_impressions_and_redemptions(db):
    store_events(db, [shown(1, "OFF-4", "A", "P1"), shown(2, "OFF-4", "B", "P2")], now=NOON_20TH)
    rows = rows_of(db, "offers")
    assert all(r["lift"] is None for r in rows)
    ax = chart(REPORTS["offers"], rows, EVERY_STORE, "every store").axes[0]
    assert "no lift yet" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["impressions", "redemptions"]
    assert [p.get_width() for p in ax.containers[0]] == [1, 1] and ax.get_xlabel() == "count"


@pytest.mark.parametrize("name", list(REPORTS))
def test_no_data_is_a_header_row_and_a_chart_that_says_so(db, name, tmp_path):
    report = REPORTS[name]
    assert rows_of(db, name) == []
    assert to_csv(report, []) == ",".join(report.columns) + "\n"
    fig = chart(report, [], EVERY_STORE, "region north")
    assert fig.axes == []  # no empty axis
    assert [t.get_text() for t in fig.texts] == [f"No data for {report.subject} on 2026-11-20 in region north."]
    files, count = reports.write_report(db, name, tmp_path, EVERY_STORE, names={}, where="every store")
    assert count == 0 and files[0].read_text() == ",".join(report.columns) + "\n"
    assert files[1].read_bytes().startswith(b"\x89PNG")


def test_proof_of_play_from_hourly_summaries_by_local_day(db):
    hourly = {"hour_start": LATE_20TH - 1800, "items": [  # 23:00 to 00:00 on the 20th, Sofia time
        {"item": "promo-latte", "zone": "main", "plays": 12, "full_plays": 11, "seconds": 96.0},
        {"item": "promo-tea", "zone": "main", "plays": 3, "full_plays": 3, "seconds": 24.0},
        {"item": "", "plays": 1}, {"item": "x", "plays": -4}, "junk"]}  # malformed entries are left out
    store_events(db, [
        event(1, "proof_of_play", hourly, at=EARLY_21ST),  # sent after the hour ended, in the next local day
        event(2, "proof_of_play", {"hour_start": EARLY_21ST - 1800, "items": [
            {"item": "promo-latte", "zone": "main", "plays": 5, "full_plays": 5, "seconds": 40.0}]}, at=EARLY_21ST),
        event(3, "proof_of_play", {"item": "promo-latte", "duration_s": 8, "started_at": NOON_20TH}, store="s002"),
        event(4, "proof_of_play", {"hour_start": "soon", "items": []}),
    ], now=EARLY_21ST)
    assert db.scalar("SELECT count(*) FROM play_hours") == 4
    two_days = Filters(DAY, date(2026, 11, 21), TZ)
    assert [(r["day"], r["store"], r["item"], r["plays"], r["full_plays"], r["seconds"])
            for r in rows_of(db, "proof_of_play", two_days)] == [
        ("2026-11-20", "s001", "promo-latte", 12, 11, 96.0), ("2026-11-20", "s001", "promo-tea", 3, 3, 24.0),
        ("2026-11-20", "s002", "promo-latte", 1, 1, 8.0), ("2026-11-21", "s001", "promo-latte", 5, 5, 40.0)]
    # The same instants are one UTC day: in UTC they all fall on the 20th.
    assert {r["day"] for r in rows_of(db, "proof_of_play", Filters(DAY, date(2026, 11, 21), "UTC"))} == {"2026-11-20"}
    assert [r["plays"] for r in rows_of(db, "proof_of_play", Filters(DAY, DAY, TZ, ("s002",)))] == [1]
    ax = chart(REPORTS["proof_of_play"], rows_of(db, "proof_of_play", two_days), two_days, "every store").axes[0]
    assert ax.get_ylabel() == "plays (count)" and TZ in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["promo-latte", "promo-tea"]


def test_staff_kpis_name_the_store_and_respect_the_period(db):
    def outcome(n, staff, contacted, purchased, add_ons, **kw):
        return event(n, "assisted_sale", {"staff_id": staff, "outcome": {
            "contacted": contacted, "purchased": purchased, "add_ons": add_ons}}, **kw)
    store_events(db, [outcome(1, "st-01", True, True, 2), outcome(2, "st-01", True, False, 0),
                      outcome(3, "st-02", True, True, 1, store="s002"),
                      outcome(4, "st-01", True, True, 5, at=EARLY_21ST)], now=EARLY_21ST)  # the 21st in Sofia
    names = store_names([Store("s001", "south", (), name="Sofia Mall"), Store("s002", "north", (), name="Varna Centre"),
                         Store("s003", "north", ())])  # s003's stores.csv row has no name
    assert names == {"s001": "Sofia Mall", "s002": "Varna Centre", "s003": "s003"}
    rows = rows_of(db, "staff", names=names)
    assert [(r["store_name"], r["staff"], r["assisted"], r["conversions"], r["add_ons"], r["conversion_rate"])
            for r in rows] == [("Sofia Mall", "st-01", 2, 1, 2, 0.5), ("Varna Centre", "st-02", 1, 1, 1, 1.0)]
    assert "s001,Sofia Mall,st-01,2,2,1,2,0.5" in to_csv(REPORTS["staff"], rows)
    ax = chart(REPORTS["staff"], rows, EVERY_STORE, "every store").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Sofia Mall", "Varna Centre"]
    assert ax.get_ylabel() == "count"


def test_staff_kpis_count_an_amended_conversation_once_with_its_last_outcome(db):
    """Contacted, then Purchased, then Add-on sold for one customer: the tablet sends the conversation three
    times; it is one contact who bought, with one add-on."""
    def outcome(n, conversation, purchased, add_ons):
        return event(n, "assisted_sale", {"staff_id": "st-01", "conversation_id": conversation, "outcome": {
            "contacted": True, "purchased": purchased, "add_ons": add_ons}}, at=NOON_20TH + n)
    store_events(db, [outcome(1, "conv-a", False, 0), outcome(2, "conv-a", True, 0), outcome(3, "conv-a", True, 1),
                      outcome(4, "conv-b", False, 0)], now=NOON_20TH + 10)
    (row,) = rows_of(db, "staff")
    assert (row["assisted"], row["contacts"], row["conversions"], row["add_ons"], row["conversion_rate"]) == (
        2, 2, 1, 1, 0.5)


def test_store_and_region_filters_are_cut_in_sql(db, monkeypatch):
    store_events(db, [shown(1, "OFF-1", "A", "P1"), shown(2, "OFF-1", "A", "P2", store="s002"),
                      shown(3, "OFF-1", "A", "P3", store="s003"), shown(4, "OFF-1", "A", "P4", store="s009")],
                 now=NOON_20TH)
    north = choose_stores(STORES, region="north")
    assert north == ("s002", "s003")
    assert choose_stores(STORES) is None  # every store, those missing from stores.csv too
    assert choose_stores(STORES, store="s002", may_see=lambda s: s == "s001") == ()
    assert choose_stores(STORES, may_see=lambda s: s == "s001") == ("s001",)
    seen: list[tuple[str, list]] = []
    execute = db.execute
    monkeypatch.setattr(db, "execute", lambda sql, args=(): seen.append((sql, list(args))) or execute(sql, args))
    assert [r["impressions"] for r in rows_of(db, "offers", Filters(DAY, DAY, TZ, north))] == [2]
    events_query = next((sql, args) for sql, args in seen if "FROM events" in sql)
    assert "store IN (?, ?)" in events_query[0] and events_query[1][-2:] == ["s002", "s003"]
    assert [r["impressions"] for r in rows_of(db, "offers")] == [4]
    assert rows_of(db, "offers", Filters(DAY, DAY, TZ, ())) == []
    assert rows_of(db, "offers", Filters(DAY, DAY, TZ, ("s001') OR ('1' = '1",))) == []  # a value, never SQL
    assert rows_of(db, "offers", Filters(date(2026, 11, 21), date(2026, 11, 21), TZ)) == []


def test_a_period_that_cannot_be_reported_says_why():
    with pytest.raises(reports.PeriodError, match="ends .* before it starts"):
        Filters(DAY, date(2026, 11, 1))
    with pytest.raises(reports.PeriodError, match="at most 366 days"):
        Filters(date(2025, 1, 1), DAY)
    with pytest.raises(reports.PeriodError, match="a day is between 1970-01-02 and 9998-12-30"):
        Filters(DAY, date(9999, 12, 31), "Pacific/Kiritimati")  # the midnight after it is not a date
    with pytest.raises(reports.PeriodError, match="not a date: write it as YYYY-MM-DD"):
        reports.parse_day("20/11/2026", "--from")


def test_cli_report_writes_headers_without_data_and_refuses_a_bad_date(tmp_path: Path, capsys):
    (tmp_path / "headoffice").mkdir()
    (tmp_path / "headoffice" / "stores.csv").write_text("store,region,devices\ns001,south,\n")
    config = tmp_path / "central.toml"
    config.write_text(f'[central]\ndsn = "{tmp_path / "c.db"}"\ncontent_dir = "{tmp_path / "headoffice"}"\n'
                      f'keys_dir = "{tmp_path / "keys"}"\ntimezone = "{TZ}"\n')
    clock = FixedClock(datetime(2026, 11, 20, 22, 30, tzinfo=UTC))  # already the 21st in Sofia

    def cli(*argv: str) -> int:
        return main(["--config", str(config), "report", *argv], clock=clock)

    assert cli("staff", "--region", "south", "--out", str(tmp_path / "rep")) == 0
    out = capsys.readouterr().out
    assert "staff: 0 row(s) for 2026-10-23 to 2026-11-21 (Europe/Sofia), region south - no data" in out
    assert (tmp_path / "rep" / "staff.csv").read_text() == ",".join(REPORTS["staff"].columns) + "\n"
    assert cli("offers", "--from", "2026-13-01", "--out", str(tmp_path / "rep")) == 2
    assert "--from '2026-13-01' is not a date" in capsys.readouterr().err
