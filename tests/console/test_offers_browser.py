"""The Offers pages in a real browser (Debian's chromium): a marketer creates an offer with a condition built in the
builder and copy in en, bg and ru, sees the device's check refuse a typo as they type, fixes it and saves it as
ready; a value the device's own loader refuses cannot be saved as ready (it can as a draft, which stays out of the
draft playbook); a live offer edited in the text view and paused. Screenshots per step in test-output/console/."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from console_support import Server
from playwright.sync_api import Page, expect
from test_browser import go, shot, sign_in

from central import audit, offer_drafts
from central.ingest import store_events
from decisions.conditions import PlaybookError
from decisions.context import DEFAULT_DAYPARTS
from decisions.playbook import compile_offer

PRODUCTS = """\
- sku: TEA-001
  name: {en: Mountain tea, bg: Мурсалски чай, ru: Горный чай}
  category: tea
- sku: COF-003
  name: {en: Cappuccino, bg: Капучино, ru: Капучино}
  category: coffee
"""
OFFERS = """\
- id: OFF-MORNING
  priority: 90
  channels: [kiosk, signage]
  title: {en: Cappuccino for €2, bg: Капучино за 2 €, ru: Капучино за 2 €}
  sku: COF-003
  conditions:
    all:
    - daypart: morning
    - not: {weather: storm}
  discount: {percent: 10}
- id: OFF-SUMMER
  priority: 40
  channels: [kiosk]
  title: {en: Summer tea, bg: Летен чай, ru: Летний чай}
  sku: TEA-001
  schedule: {from: '2026-06-01', to: '2026-08-31'}
"""
PROBLEMS = "#offer-problems"
NOON_20TH = datetime(2026, 11, 20, 10, 0, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def chain(server: Server) -> Server:
    """Head office's products and two live offers; a week of OFF-MORNING's rollups (the server's clock: 2026-11-23)."""
    (server.headoffice / "chain").mkdir(exist_ok=True)
    (server.headoffice / "chain" / "products.yaml").write_text(PRODUCTS)
    (server.headoffice / "chain" / "offers.yaml").write_text(OFFERS)
    server.db.executemany(
        "INSERT INTO rollup_offers (day, store, offer, arm, impressions, sends, redemptions)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [("2026-11-20", "s001", "OFF-MORNING", "none", 100, 9, 5),
         ("2026-11-23", "s002", "OFF-MORNING", "none", 20, 2, 2),
         ("2026-11-23", "s002", "OFF-MORNING", "holdout", 30, 0, 0),  # held out: saw nothing
         ("2026-11-10", "s001", "OFF-MORNING", "none", 999, 99, 99)])  # before last week
    return server


def _row(page: Page, offer_id: str, scope: str = "chain"):
    return page.locator(f"tr[data-offer='{scope}/{offer_id}']")


def test_marketer_creates_an_offer_with_a_condition_and_copy_in_three_languages(page: Page, chain: Server):
    sign_in(page, chain, "mia")
    go(page, "Offers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Offers")
    morning = _row(page, "OFF-MORNING")
    expect(morning).to_contain_text("Live")
    expect(morning.locator("td[data-label=Impressions]")).to_have_text("120")
    expect(morning.locator("td[data-label=Redeemed]")).to_have_text("7")
    expect(morning.locator("td[data-label=Dayparts]")).to_have_text("morning")
    expect(morning.locator("td[data-label=Channels]")).to_contain_text("signage")
    expect(_row(page, "OFF-SUMMER")).to_contain_text("Ended")
    shot(page, "offers-1-list")

    page.get_by_role("link", name="New offer").click()
    page.get_by_label("Offer id").fill("OFF-RAINY-TEA")
    page.get_by_label("Priority").fill("65")
    page.get_by_label("signage").check()
    page.locator("#sku").fill("TEA-001")
    page.get_by_label("Title (en)").fill("Rainy morning? Mountain tea −20%")
    expect(page.locator("#flag-title-bg")).to_have_text("missing")
    expect(page.locator("#flag-title-ru")).to_have_text("missing")
    expect(page.locator(PROBLEMS)).to_contain_text("field 'title': no text in bg, ru")
    page.get_by_role("button", name="Add a condition").click()
    expect(page.get_by_label("Condition", exact=True)).to_have_value("daypart")
    page.get_by_role("button", name="Combine with another").click()
    expect(page.locator("fieldset.cond.leaf")).to_have_count(2)
    page.locator("select[name='c.1.kind']").select_option("weather")
    page.locator("input[name='c.1.value']").fill("")
    page.locator("input[name='c.1.value']").press_sequentially("drizzle", delay=20)
    expect(page.locator(PROBLEMS)).to_contain_text(
        "offer OFF-RAINY-TEA: field 'conditions.all[1].weather': 'drizzle' is not one of clear, cloudy, rain, snow,"
        " storm")
    shot(page, "offers-2-typo-refused-as-typed")

    page.locator("input[name='c.1.value']").fill("rain")
    expect(page.locator(PROBLEMS)).not_to_contain_text("drizzle")
    page.get_by_label("Title (bg)").fill("Дъждовна сутрин? Мурсалски чай −20%")
    expect(page.locator("#flag-title-bg")).to_have_text("")
    page.get_by_label("Title (ru)").fill("Дождливое утро? Горный чай −20%")
    page.get_by_role("textbox", name="Discount").fill("20")
    page.get_by_label("Per customer per day").fill("1")
    expect(page.locator(PROBLEMS)).to_have_text("A device would accept this offer.")
    expect(page.locator("#flag-title-ru")).to_have_text("")
    shot(page, "offers-3-fixed")

    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Offer OFF-RAINY-TEA is ready to publish.")
    row = _row(page, "OFF-RAINY-TEA")
    expect(row).to_contain_text("Draft")
    expect(row).to_contain_text("change ready to publish")
    expect(row.locator("td[data-label=Dayparts]")).to_have_text("morning")
    shot(page, "offers-4-saved")

    saved = offer_drafts.get_draft(chain.db, "chain", "OFF-RAINY-TEA")
    assert saved.ready and not saved.paused and saved.updated_by == "mia"
    assert saved.body == {
        "id": "OFF-RAINY-TEA", "priority": 65, "channels": ["kiosk", "signage"],
        "title": {"en": "Rainy morning? Mountain tea −20%", "bg": "Дъждовна сутрин? Мурсалски чай −20%",
                  "ru": "Дождливое утро? Горный чай −20%"},
        "sku": "TEA-001", "conditions": {"all": [{"daypart": "morning"}, {"weather": "rain"}]},
        "caps": {"per_customer_per_day": 1}, "discount": {"percent": 20}}
    compile_offer(saved.body, DEFAULT_DAYPARTS)  # the engine loads it as saved
    playbook = offer_drafts.draft_playbook(chain.db, chain.headoffice)
    assert [o["id"] for o in playbook["chain"]] == ["OFF-MORNING", "OFF-SUMMER", "OFF-RAINY-TEA"]
    assert ("offer.ready", "offer/chain/OFF-RAINY-TEA") in [
        (e.action, e.scope) for e in audit.entries(chain.db, limit=50, actor="mia")]


def test_a_value_the_device_refuses_cannot_be_saved_as_ready(page: Page, chain: Server):
    sign_in(page, chain, "mia")
    page.goto(f"{chain.url}/offers/edit?scope=chain&id=OFF-MORNING")
    expect(page.get_by_role("heading", level=1)).to_have_text("Offer OFF-MORNING")
    page.get_by_label("Priority").fill("1200")
    refusal = "offer OFF-MORNING: field 'priority': must be a whole number from 0 to 999"
    expect(page.locator(PROBLEMS)).to_contain_text(refusal)
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("alert").first).to_have_text(
        "Not saved as ready: a device would refuse this offer. Fix what is listed below, or save it as a draft.")
    expect(page.locator(PROBLEMS)).to_contain_text(refusal)
    expect(page.get_by_label("Priority")).to_have_value("1200")  # what was typed stays, to be fixed
    shot(page, "offers-5-refused-as-ready")
    assert offer_drafts.get_draft(chain.db, "chain", "OFF-MORNING") is None
    with pytest.raises(PlaybookError, match="priority: must be a whole number from 0 to 999"):
        live = offer_drafts.live_offers(chain.db, chain.headoffice)[("chain", "OFF-MORNING")].body
        compile_offer({**live, "priority": 1200},
                      DEFAULT_DAYPARTS)  # the engine's own load refuses the same value

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_have_text(
        "Offer OFF-MORNING is saved as a draft (not ready to publish).")
    expect(_row(page, "OFF-MORNING")).to_contain_text("draft not ready")
    draft = offer_drafts.get_draft(chain.db, "chain", "OFF-MORNING")
    assert not draft.ready and draft.body["priority"] == 1200
    morning = offer_drafts.draft_playbook(chain.db, chain.headoffice)["chain"][0]
    assert morning["id"] == "OFF-MORNING" and morning["priority"] == 90  # the live offer, not the draft

    page.get_by_role("row", name="OFF-MORNING").get_by_role("button", name="Discard draft").click()
    expect(page.get_by_role("status")).to_have_text(
        "The draft of OFF-MORNING is discarded; the live offer stays as it is.")
    assert offer_drafts.get_draft(chain.db, "chain", "OFF-MORNING") is None


def test_a_power_user_edits_the_condition_as_text_and_pauses_an_offer(page: Page, chain: Server):
    sign_in(page, chain, "ada")
    page.goto(f"{chain.url}/offers/edit?scope=chain&id=OFF-MORNING")
    expect(page.locator("fieldset.cond")).to_have_count(3)  # the group, morning, not storm
    expect(page.locator("input[name='c.1.not']")).to_be_checked()
    page.get_by_text("Text view").click()
    page.get_by_role("button", name="Edit as text").click()
    text = page.get_by_label("Condition as text")
    expect(text).to_have_value("all:\n- daypart: morning\n- not:\n    weather: storm\n")
    text.fill("any:\n- daypart: [morning, lunch\n")
    expect(page.locator(PROBLEMS)).to_contain_text("conditions: not readable as YAML")
    text.fill("any:\n- daypart: [morning, lunch]\n- not:\n    not:\n      weather: storm\n")
    expect(page.locator(PROBLEMS)).to_have_text("A device would accept this offer.")
    shot(page, "offers-6-text-view")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Offer OFF-MORNING is ready to publish.")
    expect(_row(page, "OFF-MORNING")).to_contain_text("change ready to publish")
    expect(_row(page, "OFF-MORNING").locator("td[data-label=Dayparts]")).to_have_text("morning lunch")

    _row(page, "OFF-MORNING").get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_have_text("Offer OFF-MORNING will be paused at the next publish.")
    shot(page, "offers-7-paused")
    assert "OFF-MORNING" not in [o["id"] for o in offer_drafts.draft_playbook(chain.db, chain.headoffice)["chain"]]
    assert [e.action for e in audit.entries(chain.db, limit=2, actor="ada")] == ["offer.pause", "offer.ready"]


def test_files_that_change_or_break_under_a_draft_are_said(page: Page, chain: Server):
    offers, products = chain.headoffice / "chain" / "offers.yaml", chain.headoffice / "chain" / "products.yaml"
    sign_in(page, chain, "mia")
    page.goto(f"{chain.url}/offers/edit?scope=chain&id=OFF-SUMMER")
    page.get_by_label("Title (en)").fill("Summer tea, iced")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status")).to_have_text("Offer OFF-SUMMER is saved as a draft (not ready to publish).")
    try:
        offers.write_text(OFFERS.replace("priority: 40", "priority: 45"))  # someone edits the files meanwhile
        page.goto(f"{chain.url}/offers/edit?scope=chain&id=OFF-SUMMER")
        expect(page.get_by_text("The live offer has changed since this draft was started")).to_be_visible()
        expect(page.get_by_label("Title (en)")).to_have_value("Summer tea, iced")

        products.write_text(PRODUCTS + "- sku: [broken\n")
        page.goto(f"{chain.url}/offers/edit?scope=chain&id=OFF-SUMMER")
        expect(page.locator(PROBLEMS)).to_contain_text("head office's files cannot be read:")
        expect(page.locator(PROBLEMS)).to_contain_text("products.yaml:8: YAML syntax error")
        page.get_by_role("button", name="Save as ready to publish").click()
        expect(page.get_by_role("alert").first).to_have_text(
            "Not saved as ready: head office's files cannot be read, so the offer cannot be checked. Save it as a"
            " draft, or fix the files first.")
        shot(page, "offers-8-files-unreadable")
        assert not offer_drafts.get_draft(chain.db, "chain", "OFF-SUMMER").ready
    finally:
        offers.write_text(OFFERS)
        products.write_text(PRODUCTS)


def test_an_offers_arms_against_the_holdout(page: Page, chain: Server):
    """OFF-MORNING's arms in the events: 'price' seen by 12 customers (6 bought after), 'cosy' by 12 (2), the
    holdout by 8 (1)."""
    chain.db.execute("INSERT INTO offer_skus (offer, sku) VALUES ('OFF-MORNING', 'COF-003') ON CONFLICT DO NOTHING")
    events, n = [], 0
    for arm, seen, bought in (("price", 12, 6), ("cosy", 12, 2), ("holdout", 8, 1)):
        for i in range(seen):
            n += 1
            kind = "offer_held_out" if arm == "holdout" else "offer_shown"
            events.append({"id": f"x{n}", "seq": n, "type": kind, "store": "s001", "device": "kiosk-1",
                           "wall_time": NOON_20TH, "payload": {"offer": "OFF-MORNING", "arm": arm,
                                                               "profile_id": f"{arm}-{i}"}})
            if i < bought:
                n += 1
                events.append({"id": f"x{n}", "seq": n, "type": "sale", "store": "s001", "device": "kiosk-1",
                               "wall_time": NOON_20TH + 60, "payload": {
                                   "basket_id": f"b{n}", "profile_id": f"{arm}-{i}",
                                   "lines": [{"sku": "COF-003", "qty": 1, "amount_cents": 200}]}})
    store_events(chain.db, events, now=NOON_20TH)
    sign_in(page, chain, "mia")
    page.goto(f"{chain.url}/offers/edit?scope=chain&id=OFF-MORNING")
    results = page.get_by_role("region", name="Experiment results")
    expect(results.get_by_role("heading")).to_have_text("Experiment results (2026-10-25 to 2026-11-23)")
    price = results.locator("tr[data-arm=price]")
    expect(price.locator("td[data-label='Purchase rate']")).to_have_text("50.0 %")
    expect(price.locator("td[data-label=Lift]")).to_have_text("+300.0 %")  # 6/12 against 1/8
    expect(price.locator("td[data-label='Probability best']")).to_have_text(re.compile(r"^9\d %$"))
    expect(results.locator("tr[data-arm=holdout] td[data-label='Probability best']")).to_have_text("–")
    expect(results.get_by_role("img")).to_have_attribute("alt", re.compile("probability of being the best arm"))
    results.scroll_into_view_if_needed()
    shot(page, "offers-9-experiment-results")


def test_marketer_sets_up_an_experiment_pauses_and_resumes_it(page: Page, chain: Server):
    sign_in(page, chain, "mia")
    page.goto(f"{chain.url}/offers/new")
    page.get_by_label("Offer id").fill("OFF-EXP")
    page.get_by_label("Priority").fill("30")
    page.locator("#sku").fill("COF-003")
    for lang, text in (("en", "Cappuccino"), ("bg", "Капучино"), ("ru", "Капучино")):
        page.locator(f"#title-{lang}").fill(text)
    page.get_by_role("button", name="Add a variant").click()
    expect(page.get_by_label("Variant id")).to_have_value("v1")
    for lang, text in (("en", "Your cappuccino is waiting"), ("bg", "Вашето капучино чака"),
                       ("ru", "Ваш капучино ждёт")):
        page.get_by_label(f"Variant 1 title ({lang})").fill(text)
    page.get_by_label("Run an experiment").check()
    page.get_by_label("Salt").fill("exp-cappuccino-1")
    page.get_by_role("textbox", name="Holdout").fill("10")
    page.get_by_label("Arm default").fill("50")
    page.get_by_label("Arm v1").fill("50")
    expect(page.locator(PROBLEMS)).to_contain_text(
        "offer OFF-EXP: field 'experiment': holdout_pct and the arms must add up to 100")
    shot(page, "offers-10-experiment-refused")
    page.get_by_label("Arm v1").fill("40")
    expect(page.locator(PROBLEMS)).to_have_text("A device would accept this offer.")
    page.get_by_label("Choose the copy by bandit").check()
    expect(page.locator(PROBLEMS)).to_contain_text(
        "offer OFF-EXP: field 'adaptive': needs at least two variants to choose between")
    page.get_by_label("Choose the copy by bandit").uncheck()
    expect(page.locator(PROBLEMS)).to_have_text("A device would accept this offer.")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Offer OFF-EXP is ready to publish.")
    body = offer_drafts.get_draft(chain.db, "chain", "OFF-EXP").body
    assert body["experiment"] == {"salt": "exp-cappuccino-1", "holdout_pct": 10, "arms": {"default": 50, "v1": 40}}
    assert body["variants"] == [{"id": "v1", "title": {"en": "Your cappuccino is waiting", "bg": "Вашето капучино чака",
                                                        "ru": "Ваш капучино ждёт"}}]
    assert "adaptive" not in body
    compile_offer(body, DEFAULT_DAYPARTS)

    go(page, "Offers")
    row = _row(page, "OFF-EXP")
    expect(row.locator(".tag", has_text="experiment")).to_have_text("experiment running")
    row.get_by_role("button", name="Pause experiment").click()
    expect(page.get_by_role("status")).to_contain_text("The experiment of OFF-EXP is paused")
    expect(_row(page, "OFF-EXP").locator(".tag", has_text="experiment")).to_have_text("experiment paused")
    shot(page, "offers-11-experiment-paused")
    held = offer_drafts.get_draft(chain.db, "chain", "OFF-EXP")
    assert "experiment" not in held.body and held.held_experiment == body["experiment"] and held.ready
    sent = next(o for o in offer_drafts.draft_playbook(chain.db, chain.headoffice)["chain"] if o["id"] == "OFF-EXP")
    assert "experiment" not in sent  # everyone gets the offer's copy meanwhile
    _row(page, "OFF-EXP").get_by_role("button", name="Resume experiment").click()
    expect(page.get_by_role("status")).to_have_text("The experiment of OFF-EXP is resumed with the same salt and arms.")
    assert offer_drafts.get_draft(chain.db, "chain", "OFF-EXP").body["experiment"] == body["experiment"]
    assert [e.action for e in audit.entries(chain.db, limit=2, actor="mia")] == [
        "offer.experiment.resume", "offer.experiment.pause"]


def test_a_form_swapped_in_checks_the_first_keystroke(page: Page, chain: Server):
    """A form that a button swaps in must check what is typed the moment it appears: htmx binds a swapped form's
    triggers when it settles, and a settle delay left a window in which typing was never checked."""
    sign_in(page, chain, "ada")
    page.goto(f"{chain.url}/offers/new")
    page.get_by_label("Offer id").fill("OFF-FIRST-KEY")
    expect(page.locator(PROBLEMS)).to_contain_text("OFF-FIRST-KEY")  # the check of the id has come back
    page.evaluate("""() => document.body.addEventListener('htmx:afterSwap', (event) => {
        if (event.detail.target.getAttribute('id') !== 'offer-form') return;
        setTimeout(() => {
            const priority = document.getElementById('priority');
            priority.value = '1200';
            priority.dispatchEvent(new Event('input', {bubbles: true}));
        }, 0);
    })""")
    page.get_by_role("button", name="Add a condition").click()
    expect(page.get_by_label("Priority")).to_have_value("1200")
    expect(page.locator(PROBLEMS)).to_contain_text("field 'priority': must be a whole number from 0 to 999")


def test_a_new_offer_is_checked_before_its_id_is_typed(page: Page, chain: Server):
    """The id is required to save, not to be told what else a device would refuse."""
    sign_in(page, chain, "ada")
    page.goto(f"{chain.url}/offers/new")
    expect(page.locator(PROBLEMS)).not_to_contain_text("offer without an id")
    page.get_by_label("Priority").fill("1200")
    expect(page.locator(PROBLEMS)).to_contain_text("offer without an id")
    page.get_by_role("button", name="Save draft").click()
    assert page.get_by_label("Offer id").evaluate("e => e.validity.valueMissing")
    assert page.url.endswith("/offers/new")
