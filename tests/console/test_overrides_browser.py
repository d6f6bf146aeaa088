"""The Overrides page in a real browser (Debian's chromium), over a real Mosquitto: send after a confirmation that
says where, what and until when in the stores' own time; watch the count of screens showing it change live as
their override_shown events come in through head office's ingest; end it after a confirmation. Each role: the
admin and the technician anywhere, a store manager for their own stores and screens only (a 403 otherwise), the
marketer and the privacy officer not at all. Screenshots in test-output/console/."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from console_support import PASSWORD, PEOPLE, Server, free_port
from playwright.sync_api import Page, expect
from support import CHAIN, retained
from test_browser import FORBIDDEN, go, shot, sign_in, token

from central import overrides, users
from central.config import CentralConfig, CentralSection, ConsoleSection
from central.db import open_database
from central.ingest import store_events
from central.keys import Keyring
from console.pages.overrides import WIDE
from console.server import Background
from sync.broker import Mosquitto
from sync.clock import FixedClock
from sync.config import BrokerSection
from sync.protocol import topics

STORES = ("store,region,devices,timezone\n"
          "s001,south,kiosk-1|signage-1|signage-2,Europe/Sofia\n"
          "s002,north,kiosk-2|sign-21,Europe/London\n"
          "s003,north,sign-31|sign-32,Europe/London\n")
COUNT = "#override-screens"


@dataclass
class Office(Server):
    broker_port: int = 0


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> Iterator[Office]:
    root = tmp_path_factory.mktemp("console-overrides")
    (root / "headoffice").mkdir()
    (root / "headoffice" / "stores.csv").write_text(STORES)
    keys = Keyring(root / "keys")
    keys.activate(keys.new_key())
    broker = Mosquitto(data_dir=root / "broker").start()
    clock = FixedClock(datetime(2026, 11, 23, 6, 30, tzinfo=UTC))
    dsn = str(root / "central.db")
    db = open_database(dsn)
    for role, name in PEOPLE.items():
        users.add_user(db, name, role, PASSWORD, stores=("s001",) if role == "store_manager" else (),
                       now=clock.time())
    config = CentralConfig(CentralSection(chain=CHAIN, dsn=dsn, content_dir=str(root / "headoffice"),
                                          keys_dir=str(keys.folder)),
                           BrokerSection(port=broker.port, keepalive_s=5),
                           ConsoleSection(secret_file=str(root / "secret" / "console.key")))
    port = free_port()
    console = Background(config, db, clock, port=port).start()
    yield Office(f"http://localhost:{port}", db, clock, root / "headoffice", config, broker.port)
    console.stop()
    db.close()
    broker.stop()


def shown(office: Office, store: str, device: str, override_id: str, on: bool) -> None:
    """A screen's override_shown event, stored by head office's ingest as a worker stores it."""
    seq = int(office.db.scalar("SELECT count(*) FROM events")) + 1
    event = {"id": str(uuid.uuid4()), "seq": seq, "type": "override_shown", "store": store, "device": device,
             "wall_time": office.clock.time(), "payload": {"override_id": override_id, "on_screen": on}}
    store_events(office.db, [event], now=office.clock.time())


def fill(page: Page, *, where: str, title: str, body: str = "", style: str = "Alert", amount: str, unit: str) -> None:
    page.get_by_label("Where").select_option(label=where)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Message").fill(body)
    page.get_by_label("Style").select_option(label=next(o for o in page.get_by_label("Style").locator("option")
                                                        .all_inner_texts() if o.startswith(style)))
    page.get_by_label("Ends after").fill(amount)
    page.get_by_label("Unit").select_option(label=unit)
    page.get_by_role("button", name="Check before sending").click()


def test_admin_confirms_sends_watches_the_count_live_and_ends_it(page: Page, office: Office):
    sign_in(page, office, "ada")
    go(page, "Overrides")
    expect(page.get_by_role("heading", level=1)).to_have_text("Emergency override")
    expect(page.get_by_text("No override is on now")).to_be_visible()
    shot(page, "admin-overrides")
    fill(page, where="Region north", title="Closing at 18:00 today", body="Water main repair on our street",
         style="Notice", amount="2", unit="hours")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check before sending")
    facts = page.locator(".facts")
    expect(facts).to_contain_text("Region north: 2 stores (s002, s003): 3 screens stop their schedule and show this")
    expect(facts).to_contain_text("Closing at 18:00 today")
    expect(facts).to_contain_text("Notice: the chain's colours, for information")
    # 06:30 UTC now; both stores keep London time (GMT in November).
    expect(facts).to_contain_text("Mon 23 Nov 2026 08:30 GMT (Europe/London), 2 hours after you send it")
    shot(page, "admin-overrides-confirm")
    page.get_by_role("button", name="Change").click()
    expect(page.get_by_label("Title")).to_have_value("Closing at 18:00 today")
    expect(page.get_by_label("Ends after")).to_have_value("2")
    page.get_by_label("Ends after").fill("90")
    page.get_by_label("Unit").select_option(label="minutes")
    page.get_by_role("button", name="Check before sending").click()
    expect(page.locator(".facts")).to_contain_text("Mon 23 Nov 2026 08:00 GMT (Europe/London), 90 minutes after")
    page.get_by_role("button", name="Send").click()

    override_id = page.url.rsplit("/", 1)[1]
    assert override_id == "ov-20261123-063000"
    expect(page.get_by_role("status")).to_have_text(
        f"Override {override_id} sent to Region north: 2 stores (s002, s003).")
    expect(page.locator(COUNT)).to_contain_text("0 of 3 screens show it now")
    expect(page.locator(COUNT)).to_contain_text("sign-21 (s002)")
    shot(page, "admin-override-sent-0-of-3")
    doc = json.loads(retained(office.broker_port, {topics.override_topic(CHAIN, "region/north")})[
        topics.override_topic(CHAIN, "region/north")])
    assert (doc["override_id"], doc["action"], doc["message"]["style"]) == (override_id, "start", "notice")
    assert doc["expires_at"] - doc["issued_at"] == 90 * 60

    shown(office, "s003", "sign-31", override_id, True)  # the page is not reloaded: htmx asks every 2 s
    expect(page.locator(COUNT)).to_contain_text("1 of 3 screens show it now", timeout=3000)
    shown(office, "s002", "sign-21", override_id, True)
    expect(page.locator(COUNT)).to_contain_text("2 of 3 screens show it now", timeout=3000)
    expect(page.locator(COUNT)).not_to_contain_text("sign-21 (s002)")
    shot(page, "admin-override-2-of-3")

    go(page, "Overrides")
    row = page.locator(f"tr[data-override='{override_id}']")
    expect(row).to_contain_text("Region north: 2 stores (s002, s003)")
    expect(row).to_contain_text("Mon 23 Nov 2026 08:00 GMT (Europe/London)")
    expect(row).to_contain_text("2 of 3 screens")
    shot(page, "admin-overrides-on-now")
    row.get_by_role("link", name="End now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"End override {override_id}?")
    expect(page.get_by_text("comes off 3 screens (Region north: 2 stores (s002, s003)) now")).to_be_visible()
    shot(page, "admin-override-end-confirm")
    page.get_by_role("button", name="End now").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Override {override_id} ended: the screens go back to their schedules.")
    expect(page.locator(COUNT)).to_contain_text("Ended Mon 23 Nov 2026 06:30 GMT (Europe/London): 2 of 3 screens")
    shown(office, "s003", "sign-31", override_id, False)
    shown(office, "s002", "sign-21", override_id, False)
    expect(page.locator(COUNT)).to_contain_text("0 of 3 screens still show it", timeout=3000)
    shot(page, "admin-override-ended")
    end = json.loads(retained(office.broker_port, {topics.override_topic(CHAIN, "region/north")})[
        topics.override_topic(CHAIN, "region/north")])
    assert (end["override_id"], end["action"]) == (override_id, "end")
    assert overrides.active(office.db, office.clock.time()) == []

    go(page, "Audit log")
    table = page.get_by_role("table")
    expect(table.locator("tr", has_text="sent an emergency override")).to_contain_text(
        f"{override_id}: 'Closing at 18:00 today' for 90 minutes")
    expect(table.locator("tr", has_text="ended an emergency override")).to_contain_text("region/north")
    shot(page, "admin-audit-overrides")


def test_what_cannot_be_sent_or_ended_says_why(page: Page, office: Office):
    sign_in(page, office, "tom")
    go(page, "Overrides")
    csrf = token(page)
    good = {"scope": "chain", "title": "Fire drill", "body": "", "style": "alert", "expires_amount": "30",
            "expires_unit": "m", "_csrf_token": csrf}
    cases = [({"expires_amount": ""}, "Not sent: give the expiry: how many minutes or hours it stays on the screens."),
             ({"expires_amount": "0"}, "Not sent: an override needs an expiry after now: give at least 1 minute."),
             ({"expires_amount": "-3"}, "Not sent: an override needs an expiry after now"),
             ({"expires_amount": "200", "expires_unit": "h"}, "Not sent: expiry 200h is not within 7 days"),
             ({"expires_unit": "s"}, "Not sent: choose minutes or hours for the expiry."),
             ({"scope": "region/east"}, "Not sent: no region 'east'; regions: north, south."),
             ({"scope": "device/kiosk-2"}, "Not sent: kiosk-2 is a kiosk, which does not show overrides"),
             ({"style": "loud"}, "Not sent: no style 'loud'; styles: alert, notice."),
             ({"title": " "}, "Not sent: a message override needs a title.")]
    for change, message in cases:
        r = page.request.post(office.url + "/overrides/check", form={**good, **change})
        assert r.status == 400, change
        assert message in r.text().replace("&#39;", "'"), (change, r.text())
    page.set_content(r.text())
    shot(page, "technician-overrides-refused")
    r = page.request.post(office.url + "/overrides/ov-nope/end", form={"_csrf_token": csrf})
    assert r.status == 400 and "Not ended: no override &#39;ov-nope&#39;" in r.text()
    assert page.goto(office.url + "/overrides/ov-nope").status == 404
    r = page.request.post(office.url + "/overrides/send", form={**good, "override_id": "ov-x", "expires_amount": "0"})
    assert r.status == 400
    assert overrides.find(office.db, "ov-x") is None


def test_store_manager_sends_to_own_store_only(page: Page, office: Office):
    office.clock.advance(1)
    sign_in(page, office, "ada")  # the admin's chain-wide override reaches sam's store too
    go(page, "Overrides")
    fill(page, where="The whole chain: every store", title="Fire drill at 11:00", amount="1", unit="hours")
    page.get_by_role("button", name="Send").click()
    chain_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, office, "sam")
    go(page, "Overrides")
    options = page.get_by_label("Where").locator("option").all_inner_texts()
    assert options == ["Choose where it shows", "s001 (south)", "signage-1 (store s001)", "signage-2 (store s001)"]
    row = page.locator(f"tr[data-override='{chain_id}']")
    expect(row).to_contain_text("sent by head office for more than your stores")
    expect(row.get_by_role("link", name="End now")).to_have_count(0)
    shot(page, "store_manager-overrides")
    csrf = token(page)
    base = {"title": "Closed", "style": "alert", "expires_amount": "30", "expires_unit": "m", "_csrf_token": csrf}
    for scope, message in [("chain", WIDE), ("region/south", WIDE), ("store/s002", "Store s002 is not one of yours."),
                           ("device/sign-21", "Screen sign-21 is not one of yours.")]:
        for path in ("/overrides/check", "/overrides/send"):
            r = page.request.post(office.url + path, form={**base, "scope": scope})
            assert r.status == 403, (scope, path)
            assert message in r.text(), (scope, r.text())
    page.set_content(r.text())
    expect(page.get_by_role("heading", level=1)).to_have_text(FORBIDDEN)
    shot(page, "store_manager-overrides-other-store-refused")
    assert page.goto(office.url + f"/overrides/{chain_id}").status == 403
    r = page.request.post(office.url + f"/overrides/{chain_id}/end", form={"_csrf_token": csrf})
    assert r.status == 403 and overrides.find(office.db, chain_id).ended_at is None

    page.goto(office.url + "/overrides")
    office.clock.advance(1)
    fill(page, where="s001 (south)", title="Till outage: cash only", amount="45", unit="minutes")
    expect(page.locator(".facts")).to_contain_text("Store s001: 2 screens")
    expect(page.locator(".facts")).to_contain_text("Mon 23 Nov 2026 09:15 EET (Europe/Sofia), 45 minutes after")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(COUNT)).to_contain_text("0 of 2 screens show it now")
    own = page.url.rsplit("/", 1)[1]
    shown(office, "s001", "signage-2", own, True)
    expect(page.locator(COUNT)).to_contain_text("1 of 2 screens show it now", timeout=3000)
    shot(page, "store_manager-override-sent")
    page.get_by_role("link", name="End now").click()
    page.get_by_role("button", name="End now").click()
    expect(page.get_by_role("status")).to_contain_text(f"Override {own} ended")


@pytest.mark.parametrize("role", ["marketer", "privacy_officer"])
def test_marketer_and_privacy_officer_have_no_overrides(page: Page, office: Office, role: str):
    sign_in(page, office, PEOPLE[role])
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Overrides")).to_have_count(0)
    assert page.goto(office.url + "/overrides").status == 403
    expect(page.get_by_text("Your role does not include this page.")).to_be_visible()
    shot(page, f"{role}-overrides-refused")
    r = page.request.post(office.url + "/overrides/check", form={"scope": "chain", "title": "x", "expires_amount": "5",
                                                                 "expires_unit": "m", "_csrf_token": token(page)})
    assert r.status == 403


def test_overrides_at_a_phone_width(page: Page, office: Office):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, office, "ada")
    page.goto(office.url + "/overrides")
    fill(page, where="s002 (north)", title="Closing early today",
         body="We close at 16:00 for a stock count. Thank you for shopping with us.", amount="3", unit="hours")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the confirmation is wider than the phone"
    shot(page, "narrow-overrides-confirm")
    page.get_by_role("button", name="Send").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "narrow-override-sent")
    page.goto(office.url + "/overrides")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the list is wider than the phone"
    shot(page, "narrow-overrides")
