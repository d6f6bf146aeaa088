"""The reports pages in a real browser: each report for each role (and a 403 for the rest), a store manager
kept to their own stores, the filters, the CSV download read back against the table, the no-data wording,
a period that cannot be reported, the audit entry for staff KPIs, and a phone's width. Screenshots go to
test-output/console/reports-*.png."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from console_support import PEOPLE, Server, decoded_width
from playwright.sync_api import Page, expect
from test_browser import FORBIDDEN, go, shot, sign_in

from central import audit
from central.ingest import store_events
from central.reports import REPORTS

# The server's clock is 2026-11-23 06:30 UTC and its stores' time zone UTC: the default period is
# 2026-11-17 to 2026-11-23.
AT = datetime(2026, 11, 21, 10, 0, tzinfo=UTC).timestamp()
REPORT_ROLES = {"proof-of-play": ("admin", "marketer", "store_manager", "technician"),
                "offers": ("admin", "marketer", "store_manager"), "funnel": ("admin", "marketer", "store_manager"),
                "staff": ("admin", "store_manager")}
TITLES = {"proof-of-play": "Proof of play", "offers": "Offer results", "funnel": "Redemption funnel",
          "staff": "Staff KPIs"}
SLUGS = {"proof-of-play": "proof_of_play", "offers": "offers", "funnel": "funnel", "staff": "staff"}


def _event(n: int, kind: str, payload: dict, store: str = "s001", at: float = AT) -> dict:
    return {"id": f"r{n}", "seq": n, "type": kind, "store": store, "device": f"{store}-dev", "wall_time": at,
            "payload": payload}


@pytest.fixture(scope="module", autouse=True)
def report_data(server: Server) -> None:
    """s001 (south) and s002 (north): plays, OFF-1 with arms A and B and a holdout, coupons, staff outcomes."""
    server.db.execute("INSERT INTO offer_skus (offer, sku) VALUES ('OFF-1', 'COF-001')")
    n = iter(range(1, 1000))
    evs = [_event(next(n), "proof_of_play", {"hour_start": AT - 3600, "items": [
               {"item": "promo-latte", "zone": "main", "plays": 12, "full_plays": 11, "seconds": 96.0},
               {"item": "promo-tea", "zone": "main", "plays": 3, "full_plays": 3, "seconds": 24.0}]}),
           _event(next(n), "proof_of_play", {"hour_start": AT - 3600, "items": [
               {"item": "promo-latte", "zone": "main", "plays": 7, "full_plays": 7, "seconds": 56.0}]}, "s002")]
    evs += [_event(next(n), "offer_shown", {"offer": "OFF-1", "arm": "A", "profile_id": f"PA{i}"}) for i in range(4)]
    evs += [_event(next(n), "offer_shown", {"offer": "OFF-1", "arm": "B", "profile_id": f"PB{i}"}, "s002")
            for i in range(2)]
    evs += [_event(next(n), "offer_held_out", {"offer": "OFF-1", "arm": "holdout", "profile_id": f"PH{i}"})
            for i in range(5)]
    evs += [_event(next(n), "sale", {"basket_id": f"b{p}", "profile_id": p, "lines": [
        {"sku": "COF-001", "qty": 1, "amount_cents": 250}]}, at=AT + 60) for p in ("PA0", "PA1", "PH0")]
    coupon = {"offer": "OFF-1", "arm": "A", "profile_id": "PA0"}
    evs += [_event(next(n), "offer_sent_to_phone", {**coupon, "code": "C1"}),
            _event(next(n), "offer_sent_to_phone", {**coupon, "code": "C2"}),
            _event(next(n), "redeemed", {**coupon, "code": "C1"})]
    for store, staff, purchased, add_ons in (("s001", "st-01", True, 2), ("s001", "st-01", False, 0),
                                             ("s002", "st-09", True, 1)):
        evs.append(_event(next(n), "assisted_sale", {"staff_id": staff, "outcome": {
            "contacted": True, "purchased": purchased, "add_ons": add_ons}}, store))
    store_events(server.db, evs, now=AT)


def table(page: Page) -> list[dict[str, str]]:
    """The report's table as {column: text} per row (each cell names its column)."""
    return page.eval_on_selector_all(
        "table.report tbody tr",
        "trs => trs.map(tr => Object.fromEntries([...tr.cells].map(td => [td.dataset.column, td.innerText])))")


def download(page: Page) -> tuple[list[str], list[dict[str, str]]]:
    with page.expect_download() as d:
        page.get_by_role("link", name="Download CSV").click()
    reader = csv.DictReader(io.StringIO(d.value.path().read_text(encoding="utf-8")))
    return list(reader.fieldnames or []), list(reader)


def chart_shown(page: Page) -> None:
    img = page.get_by_role("img", name="Chart:")
    expect(img).to_be_visible()
    assert img.get_attribute("src").startswith("data:image/png;base64,")
    assert decoded_width(img) == 1000


@pytest.mark.parametrize("role", list(PEOPLE))
def test_each_role_opens_its_reports_and_no_others(page: Page, server: Server, role: str):
    sign_in(page, server, PEOPLE[role])
    allowed = [slug for slug, roles in REPORT_ROLES.items() if role in roles]
    if not allowed:
        assert page.goto(server.url + "/reports").status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text(FORBIDDEN)
        shot(page, f"reports-{role}-refused")
        return
    go(page, "Reports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    expect(page.locator(".tiles a")).to_have_count(len(allowed))
    shot(page, f"reports-{role}-index")
    for slug in REPORT_ROLES:
        response = page.goto(f"{server.url}/reports/{slug}")
        if slug in allowed:
            assert response.status == 200
            expect(page.get_by_role("heading", level=1)).to_have_text(TITLES[slug])
            expect(page.get_by_text("2026-11-17 to 2026-11-23 · days from midnight to midnight in UTC")).to_be_visible()
            chart_shown(page)
            shot(page, f"reports-{role}-{slug}")
        else:
            assert response.status == 403
            refusal = f"Your role does not include the report on {REPORTS[SLUGS[slug]].subject}."
            expect(page.get_by_text(refusal)).to_be_visible()
            assert page.request.get(f"{server.url}/reports/{slug}/csv").status == 403


def test_a_store_manager_sees_only_their_own_stores(page: Page, server: Server):
    sign_in(page, server, "sam")  # runs s001 (south)
    page.goto(server.url + "/reports/proof-of-play")
    expect(page.get_by_label("Store").locator("option")).to_have_text(["all mine", "Sofia · Vitosha Blvd (s001)"])
    expect(page.get_by_label("Region").locator("option")).to_have_text(["all", "south"])
    assert {r["store"] for r in table(page)} == {"s001"}
    page.goto(server.url + "/reports/staff")
    assert [(r["store"], r["staff"], r["assisted"]) for r in table(page)] == [("s001", "st-01", "2")]
    for path in ("/reports/staff?store=s002", "/reports/offers/csv?store=s002"):
        assert page.goto(server.url + path).status == 403
        expect(page.get_by_text("Store s002 is not one of yours.")).to_be_visible()
    shot(page, "reports-store-manager-other-store")
    page.goto(server.url + "/reports/funnel?region=north")  # a region without any of their stores
    expect(page.locator(".empty")).to_have_text(
        "No data for the redemption funnel on 2026-11-17 to 2026-11-23 in region north (your stores there).")


def test_filters_and_the_csv_is_what_the_page_shows(page: Page, server: Server):
    sign_in(page, server, "ada")
    page.goto(server.url + "/reports/proof-of-play")
    assert {r["store"] for r in table(page)} == {"s001", "s002"}
    page.get_by_label("From", exact=True).fill("2026-11-21")
    page.get_by_label("To", exact=True).fill("2026-11-21")
    page.get_by_label("Region").select_option("north")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{server.url}/reports/proof-of-play?from=2026-11-21&to=2026-11-21&region=north&store=")
    shown = table(page)
    assert shown == [{"day": "2026-11-21", "store": "s002", "store_name": "Ruse · Svoboda Square",
                      "item": "promo-latte", "plays": "7", "full_plays": "7", "seconds": "56.0"}]
    chart_shown(page)
    shot(page, "reports-proof-of-play-north")
    header, rows = download(page)
    assert header == list(REPORTS["proof_of_play"].columns) and rows == shown

    page.goto(server.url + "/reports/offers")
    by_arm = {r["arm"]: r for r in table(page)}
    # Arm A: 2 of 4 exposed bought; holdout: 1 of 5. Lift +150 %, Katz's 95 % interval -66.45 % to +1762.78 %.
    assert (by_arm["A"]["lift"], by_arm["A"]["lift_low"], by_arm["A"]["lift_high"]) == ("+150.00 %", "-66.45 %",
                                                                                          "+1762.78 %")
    # Arm B: none of 2 bought: -100 %, and no interval until it has a purchase.
    assert (by_arm["B"]["lift"], by_arm["B"]["lift_low"], by_arm["holdout"]["exposed"]) == ("-100.00 %", "–", "5")
    shot(page, "reports-offers-lift")
    header, rows = download(page)
    assert [(r["arm"], r["impressions"], r["sends"], r["redemptions"], r["lift"], r["lift_low"]) for r in rows] == [
        ("A", "4", "2", "1", "1.5", "-0.6645"), ("B", "2", "0", "0", "-1.0", ""), ("holdout", "5", "0", "0", "", "")]
    assert [(r["arm"], r["impressions"]) for r in table(page)] == [(r["arm"], r["impressions"]) for r in rows]

    page.goto(server.url + "/reports/funnel?store=s001")
    assert table(page) == [{"offer": "OFF-1", "impressions": "4", "coupons_sent": "2", "redeemed": "1",
                            "sent_per_impression": "50.00 %", "redeemed_per_sent": "50.00 %"}]
    header, rows = download(page)
    assert rows == [{"offer": "OFF-1", "impressions": "4", "coupons_sent": "2", "redeemed": "1",
                     "sent_per_impression": "0.5", "redeemed_per_sent": "0.5"}]
    shot(page, "reports-funnel-s001")


def test_no_data_is_said_in_words_and_the_csv_has_its_header(page: Page, server: Server):
    sign_in(page, server, "ada")
    for slug in REPORT_ROLES:
        page.goto(f"{server.url}/reports/{slug}?from=2026-11-01&to=2026-11-02")
        expect(page.locator(".empty")).to_have_text(
            f"No data for {REPORTS[SLUGS[slug]].subject} on 2026-11-01 to 2026-11-02 in every store.")
        expect(page.get_by_role("img", name="Chart:")).to_have_count(0)
        expect(page.locator("table.report")).to_have_count(0)
        header, rows = download(page)
        assert header == list(REPORTS[SLUGS[slug]].columns) and rows == []
        shot(page, f"reports-{slug}-no-data")


def test_a_period_that_cannot_be_reported_says_why(page: Page, server: Server):
    sign_in(page, server, "mia")
    assert page.goto(server.url + "/reports/offers?from=2026-13-01").status == 400
    expect(page.get_by_role("alert")).to_have_text("The first day '2026-13-01' is not a date: write it as YYYY-MM-DD.")
    expect(page.get_by_role("link", name="Download CSV")).to_have_count(0)
    shot(page, "reports-bad-date")
    assert page.goto(server.url + "/reports/offers?from=2026-11-20&to=2026-11-10").status == 400
    expect(page.get_by_role("alert")).to_have_text("The period ends (2026-11-10) before it starts (2026-11-20).")
    assert page.goto(server.url + "/reports/offers/csv?from=2025-01-01&to=2026-11-20").status == 400
    expect(page.get_by_text("A period is at most 366 days.")).to_be_visible()
    assert page.goto(server.url + "/reports/offers?from=9999-12-31&to=9999-12-31").status == 400
    expect(page.get_by_role("alert")).to_have_text("A day is between 1970-01-02 and 9998-12-30.")
    assert page.goto(server.url + "/reports/offers?from=" + "2" * 5000).status == 400
    expect(page.get_by_role("alert")).to_have_text(f"The first day '{'2' * 40}' is not a date: write it as YYYY-MM-DD.")
    assert page.goto(server.url + "/reports/offers?store=" + "s" * 201).status == 400
    expect(page.get_by_text("store cannot be used as given")).to_be_visible()
    assert page.goto(server.url + "/reports/nonsense").status == 404


def test_reading_staff_kpis_is_in_the_audit_log(page: Page, server: Server):
    sign_in(page, server, "ada")
    page.goto(server.url + "/reports/staff?region=north")
    assert [(r["store"], r["staff"]) for r in table(page)] == [("s002", "st-09")]
    download(page)
    entries = [(e.actor, e.action, e.scope, e.detail) for e in audit.entries(server.db, limit=2, actor="ada")]
    detail = "2026-11-17 to 2026-11-23, region north, 1 row(s)"
    assert entries == [("ada", "report.staff.export", "region/north", detail),
                       ("ada", "report.staff", "region/north", detail)]


def test_a_report_fits_a_phone(page: Page, server: Server):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, "ada")
    for slug in REPORT_ROLES:
        page.goto(f"{server.url}/reports/{slug}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{slug} is wider than the phone"
        shot(page, f"reports-narrow-{slug}")
