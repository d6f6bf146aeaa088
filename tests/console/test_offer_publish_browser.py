"""An offer from the console to a device, in a real browser over a real Mosquitto with real sync agents: a marketer
creates an offer with a condition and copy in en, bg and ru, sees the device's check refuse a typo as they type and
fixes it, saves it ready, sees it in the Publishing page's changes against live and publishes it to one pilot store
with four-eyes on; an admin approves it; the pilot store's agent applies it (its cache holds the offer), the pilot
passes on the test's clock, the admin promotes it and the other store gets it; a rollback takes it off both devices
as a higher version. A ready offer the files no longer back (its product is gone) is refused at the console and no
bundle reaches the broker. The chain's global holdout is set on the Offers page (a share a device would refuse is
not saved) and waits for the next publication. Screenshots per step in test-output/console/offer-publish-*.png."""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

from console_support import PASSWORD, Server, free_port
from playwright.sync_api import Page, expect
from support import CHAIN, bundles_sent, chain_keyring, wait_for
from test_browser import go, shot, sign_in, token
from test_offers_browser import PRODUCTS
from test_publishing_browser import WATCH_S, _approve_as, _click, _pass_the_pilot

from central import audit, offer_drafts, pipeline, programme, users
from central.config import CentralConfig, CentralSection, ConsoleSection, PublishingSection
from central.db import Database, open_database
from central.headoffice import HeadOffice
from central.keys import Keyring
from central.mqtt import BrokerLink
from console.server import Background
from sync.config import BrokerSection

FILES = {
    "stores.csv": "store,region,devices\ns001,south,kiosk-1\ns002,north,kiosk-2\n",
    "chain/products.yaml": PRODUCTS,
    "chain/prices.csv": "sku,price_cents,currency\nTEA-001,250,EUR\nCOF-003,300,EUR\n",
    "chain/offers.yaml": """\
- id: OFF-MORNING
  priority: 90
  channels: [kiosk]
  title: {en: Cappuccino for €2, bg: Капучино за 2 €, ru: Капучино за 2 €}
  sku: COF-003
""",
}
PROBLEMS = "#offer-problems"


def _offers(agent) -> set[str]:
    return {o["id"] for o in agent.reader.offers()}


def _central(tmp_path: Path, broker, clock, chain_key, publishing: PublishingSection) -> tuple[Database, CentralConfig]:
    """Head office's files, its store with a marketer and an admin, and its configuration."""
    root = tmp_path / "headoffice"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    dsn = str(tmp_path / "central.db")
    db = open_database(dsn)
    for name, role in (("mia", "marketer"), ("ada", "admin")):
        users.add_user(db, name, role, PASSWORD, now=clock.time())
    return db, CentralConfig(CentralSection(chain=CHAIN, dsn=dsn, content_dir=str(root),
                                            keys_dir=str(chain_keyring(tmp_path / "keys", chain_key)),
                                            http_dir=str(tmp_path / "http")),
                             BrokerSection(port=broker.port, keepalive_s=5),
                             ConsoleSection(secret_file=str(tmp_path / "secret" / "console.key")),
                             publishing=publishing)


def _create_offer(page: Page) -> None:
    """The marketer's offer: a condition built in the builder, copy in three languages, a typo refused as typed."""
    go(page, "Offers")
    page.get_by_role("link", name="New offer").click()
    page.get_by_label("Offer id").fill("OFF-RAINY-TEA")
    page.get_by_label("Priority").fill("65")
    page.locator("#sku").fill("TEA-001")
    page.get_by_label("Title (en)").fill("Rainy day? Mountain tea −20%")
    page.get_by_role("button", name="Add a condition").click()
    page.get_by_role("button", name="Combine with another").click()
    page.locator("select[name='c.1.kind']").select_option("weather")
    page.locator("input[name='c.1.value']").fill("")
    page.locator("input[name='c.1.value']").press_sequentially("drizzle", delay=20)
    expect(page.locator(PROBLEMS)).to_contain_text("'drizzle' is not one of clear, cloudy, rain, snow, storm")
    shot(page, "offer-publish-1-typo-refused-as-typed")
    page.locator("input[name='c.1.value']").fill("rain")
    expect(page.locator(PROBLEMS)).not_to_contain_text("drizzle")
    page.get_by_label("Title (bg)").fill("Дъждовен ден? Мурсалски чай −20%")
    page.get_by_label("Title (ru)").fill("Дождливый день? Горный чай −20%")
    page.get_by_role("textbox", name="Discount").fill("20")
    expect(page.locator(PROBLEMS)).to_have_text("A device would accept this offer.")
    shot(page, "offer-publish-2-fixed")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Offer OFF-RAINY-TEA is ready to publish.")


def test_an_offer_from_the_console_to_a_pilot_device_promoted_then_rolled_back(
        page: Page, tmp_path: Path, broker, chain_key, device_config, start_agent, clock):
    root = tmp_path / "headoffice"
    db, config = _central(tmp_path, broker, clock, chain_key, PublishingSection(approval=True, watch_s=WATCH_S))
    # What is live before the marketer starts: the files, published by head office's command line path.
    link = BrokerLink(config.broker, "central-test-files").start()
    files_only = HeadOffice(dataclasses.replace(config, publishing=PublishingSection()), db,
                            Keyring(config.central.keys_dir), link, clock=clock)
    pipeline.submit(files_only, files_only.plan_content(), author="ops")
    link.stop()
    console = Background(config, db, clock, port=free_port()).start()
    server = Server(f"http://localhost:{console.server.config.port}", db, clock, root, config)
    s001 = start_agent()
    s002 = start_agent(device_config(device="kiosk-2", store="s002"))
    try:
        for agent in (s001, s002):
            wait_for(lambda a=agent: _offers(a) == {"OFF-MORNING"}, what="the files applied")
        sign_in(page, server, "mia")
        _create_offer(page)

        page.goto(f"{server.url}/offers/edit?scope=chain&id=OFF-MORNING")
        page.get_by_label("Priority").fill("95")
        page.get_by_label("Title (en)").fill("Cappuccino for €1.90")
        page.get_by_role("button", name="Save as ready to publish").click()
        expect(page.get_by_role("status")).to_have_text("Offer OFF-MORNING is ready to publish.")

        go(page, "Publishing")
        chain_row = page.locator("#pending tr[data-scope='chain']")
        expect(chain_row).to_contain_text("offers: added OFF-RAINY-TEA; changed OFF-MORNING")
        expect(chain_row.locator("ul.fields li")).to_have_text(
            ['OFF-MORNING: priority 90 → 95; copy (en) "Cappuccino for €2" → "Cappuccino for €1.90"'])
        expect(page.locator("#pending tbody tr")).to_have_count(1)  # the store bundles are as live
        page.get_by_label("Pilot store").select_option("s001")
        shot(page, "offer-publish-3-changes-against-live")
        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_role("status")).to_have_text("Publication 2: awaiting approval.")
        assert _offers(s001) == {"OFF-MORNING"}  # nothing reached a device before approval
        shot(page, "offer-publish-4-awaiting-approval")

        _approve_as(page, server, "ada", 2)
        expect(page.get_by_role("status")).to_have_text("Publication 2: piloting.")
        wait_for(lambda: "OFF-RAINY-TEA" in _offers(s001), what="the pilot store's device applied the offer")
        held = next(o for o in s001.reader.offers() if o["id"] == "OFF-RAINY-TEA")
        assert held["conditions"] == {"all": [{"daypart": "morning"}, {"weather": "rain"}]}
        assert held["title"]["ru"] == "Дождливый день? Горный чай −20%"
        assert _offers(s002) == {"OFF-MORNING"} and s002.reader.offers()[0]["priority"] == 90
        assert offer_drafts.get_draft(db, "chain", "OFF-RAINY-TEA").published_in == 2
        _pass_the_pilot(page, server.url, db, clock, 2, "offer-publish-5-pilot-passed")
        _click(page, 2, "Promote")
        expect(page.get_by_role("status")).to_have_text("Publication 2: promoted.")
        wait_for(lambda: "OFF-RAINY-TEA" in _offers(s002), what="promote reached the other store")
        expect(page.get_by_text("Nothing has changed since the last publication.")).to_be_visible()
        versions = {r.scope: r.version for r in pipeline.rows(db, 2) if r.stage == "promote"}

        _click(page, 2, "Roll back")
        expect(page.get_by_role("status")).to_have_text("Publication 3: promoted.")
        expect(page.locator("tr[data-publication='3']")).to_contain_text("rolls back 2")
        shot(page, "offer-publish-6-rolled-back")
        for agent in (s001, s002):
            wait_for(lambda a=agent: _offers(a) == {"OFF-MORNING"}, what="the rollback applied")
            assert agent.reader.offers()[0]["priority"] == 90
        back = {r.scope: r.version for r in pipeline.rows(db, 3) if r.stage == "rollback"}
        assert back["chain"] > versions["chain"]
        go(page, "Offers")
        expect(page.locator("tr[data-offer='chain/OFF-RAINY-TEA']")).to_contain_text("Draft")  # kept, not sent again
    finally:
        console.stop()
        db.close()


def test_a_ready_offer_the_files_no_longer_back_is_refused_and_nothing_reaches_the_broker(
        page: Page, tmp_path: Path, broker, chain_key, clock):
    root = tmp_path / "headoffice"
    db, config = _central(tmp_path, broker, clock, chain_key, PublishingSection())
    console = Background(config, db, clock, port=free_port()).start()
    server = Server(f"http://localhost:{console.server.config.port}", db, clock, root, config)
    try:
        sign_in(page, server, "mia")
        _create_offer(page)
        # Someone takes the product out of head office's files: the ready draft names a product no device holds.
        (root / "chain" / "products.yaml").write_text("- sku: COF-003" + PRODUCTS.split("- sku: COF-003")[1],
                                                      encoding="utf-8")
        (root / "chain" / "prices.csv").write_text("sku,price_cents,currency\nCOF-003,300,EUR\n", encoding="utf-8")
        with bundles_sent(broker.port) as sent:
            go(page, "Publishing")
            expect(page.locator(".problems li")).to_have_text([
                "the console's offer draft (chain): offer OFF-RAINY-TEA: field 'sku': no product 'TEA-001'"])
            expect(page.get_by_role("button", name="Publish")).to_have_count(0)
            shot(page, "offer-publish-7-refused")
            refused = page.request.post(f"{server.url}/publishing/publish", form={"_csrf_token": token(page)})
            assert refused.status == 400 and "no product 'TEA-001'" in html.unescape(refused.text())
        assert sent == []
        assert pipeline.history(db) == []
    finally:
        console.stop()
        db.close()


def test_a_marketer_sets_the_global_holdout_and_it_waits_for_the_next_publication(page: Page, tmp_path: Path,
                                                                                  broker, chain_key, clock):
    db, config = _central(tmp_path, broker, clock, chain_key, PublishingSection())
    console = Background(config, db, clock, port=free_port()).start()
    server = Server(f"http://localhost:{console.server.config.port}", db, clock, tmp_path / "headoffice", config)
    try:
        sign_in(page, server, "mia")
        go(page, "Offers")
        card = page.locator("#global-holdout")
        expect(card).to_contain_text("Now: nobody is held out")
        share = page.get_by_label("Customers held out (%)")
        share.fill("80")
        page.get_by_role("button", name="Save the global holdout").click()
        assert share.evaluate("e => e.validity.rangeOverflow")  # the browser says so before sending
        for forged in ("80", "-1", "nan", "ten"):  # and head office refuses what a form did not check
            refused = page.request.post(f"{server.url}/offers/global-holdout",
                                        form={"_csrf_token": token(page), "share_pct": forged})
            assert refused.status == 400 and ("The global holdout is not saved: the share of customers is a number"
                                               " of per cent from 0 to 50.") in html.unescape(refused.text())
        assert programme.global_holdout(db) is None
        share.fill("7.5")
        page.get_by_role("button", name="Save the global holdout").click()
        expect(page.get_by_role("status")).to_have_text(
            "The global holdout is 7.5 % of customers from the next publication.")
        expect(card).to_contain_text("Now: 7.5 % of customers")
        shot(page, "offer-publish-8-global-holdout")
        assert programme.global_holdout(db).share_pct == 7.5
        (entry,) = audit.entries(db, limit=5, action="programme.global_holdout")
        assert (entry.actor, entry.scope, entry.detail) == ("mia", "chain", "7.5 % of customers")
        go(page, "Publishing")
        expect(page.locator("#pending tr[data-scope='chain']")).to_contain_text("stores: added the chain's settings")
    finally:
        console.stop()
        db.close()
