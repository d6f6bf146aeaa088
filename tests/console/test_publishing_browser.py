"""The Publishing page in a real browser, over a real Mosquitto with real device agents at two stores: a marketer
sees what the next publish changes against what is live and publishes to a pilot store; the author cannot approve
it, another marketer does; the pilot store's device applies it, then promote reaches the other store; a change
approved by an admin is rolled back in one click and the devices take the earlier prices again, as a higher
version. A bad file is refused on the page and nothing is sent. Screenshots in test-output/console/."""

from __future__ import annotations

import uuid
from pathlib import Path

from console_support import PASSWORD, Server, free_port
from playwright.sync_api import Page, expect
from support import CHAIN, chain_keyring, wait_for
from test_browser import go, shot, sign_in, token

from central import pipeline, users
from central.config import CentralConfig, CentralSection, ConsoleSection, PublishingSection
from central.db import open_database
from central.ingest import store_events
from console.server import Background
from sync.config import BrokerSection

FILES = {
    "stores.csv": "store,region,devices\ns001,south,kiosk-1\ns002,north,kiosk-2\n",
    "chain/products.yaml": "- sku: COF-001\n  name: {en: Espresso, bg: Еспресо}\n  category: coffee\n",
    "chain/prices.csv": "sku,price_cents,currency\nCOF-001,{},EUR\n",
}
WATCH_S = 600.0


def _price(agent) -> int | None:
    found = agent.reader.price("COF-001")
    return found["price_cents"] if found else None


def _health(db, clock, store: str, device: str) -> None:
    """The device's health report, stored by head office's ingest as a worker stores it."""
    event = {"id": str(uuid.uuid4()), "seq": 1, "type": "health", "store": store, "device": device,
             "wall_time": clock.time(), "payload": {"fps": 30}}
    store_events(db, [event], now=clock.time())


def _click(page: Page, pub_id: int, button: str) -> None:
    page.locator(f"tr[data-publication='{pub_id}']").get_by_role("button", name=button).click()


def _pass_the_pilot(page: Page, url: str, db, clock, pub_id: int, screenshot: str) -> None:
    """Pilot store s001's device reports its health and the watch ends on the test's clock: the pilot passes."""
    _health(db, clock, "s001", "kiosk-1")
    clock.advance(WATCH_S)
    page.goto(f"{url}/publishing")
    expect(page.locator(f"tr[data-publication='{pub_id}']")).to_contain_text("s001: passed")
    shot(page, screenshot)


def _approve_as(page: Page, server: Server, name: str, pub_id: int) -> None:
    """Another person signs in and approves the publication (four-eyes)."""
    page.context.clear_cookies()
    sign_in(page, server, name)
    go(page, "Publishing")
    _click(page, pub_id, "Approve")


def test_publish_to_a_pilot_approve_promote_and_roll_back(page: Page, tmp_path: Path, broker, chain_key,
                                                          device_config, start_agent, clock):
    root = tmp_path / "headoffice"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text.replace("{}", "180"), encoding="utf-8")
    dsn = str(tmp_path / "central.db")
    db = open_database(dsn)
    for name, role in (("ana", "marketer"), ("mia", "marketer"), ("ada", "admin")):
        users.add_user(db, name, role, PASSWORD, now=clock.time())
    config = CentralConfig(CentralSection(chain=CHAIN, dsn=dsn, content_dir=str(root),
                                          keys_dir=str(chain_keyring(tmp_path / "keys", chain_key)),
                                          http_dir=str(tmp_path / "http")),
                           BrokerSection(port=broker.port, keepalive_s=5),
                           ConsoleSection(secret_file=str(tmp_path / "secret" / "console.key")),
                           publishing=PublishingSection(approval=True, watch_s=WATCH_S))
    console = Background(config, db, clock, port=free_port()).start()
    url = f"http://localhost:{console.server.config.port}"
    server = Server(url, db, clock, root, config)
    s001 = start_agent()
    s002 = start_agent(device_config(device="kiosk-2", store="s002"))
    try:
        sign_in(page, server, "ana")
        go(page, "Publishing")
        expect(page.get_by_role("heading", level=1)).to_have_text("Publishing")
        expect(page.locator("#pending tr[data-scope='chain']")).to_contain_text("prices: added COF-001")
        page.get_by_label("Pilot store").select_option("s001")
        shot(page, "publishing-pending")
        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_role("status")).to_have_text("Publication 1: awaiting approval.")
        row = page.locator("tr[data-publication='1']")
        expect(row).to_contain_text("waits for another person to approve it")
        expect(row.get_by_role("button", name="Approve")).to_have_count(0)
        expect(row).to_contain_text("s001: not started")
        expect(page.locator("#open-publication")).to_have_text(
            "Publication 1 is awaiting approval: it is approved or rolled back before the next one is published.")
        expect(page.get_by_role("button", name="Publish")).to_have_count(0)
        refused = page.request.post(f"{url}/publishing/1/approve", form={"_csrf_token": token(page)})
        assert refused.status == 400 and "ana wrote publication 1: another person approves it" in refused.text()
        assert _price(s001) is None  # nothing reached the devices before approval
        shot(page, "publishing-awaiting-approval")

        _approve_as(page, server, "mia", 1)
        expect(page.get_by_role("status")).to_have_text("Publication 1: piloting.")
        wait_for(lambda: _price(s001) == 180, what="the pilot store's device applied it")
        assert _price(s002) is None
        _click(page, 1, "Promote")
        expect(page.locator("[role=alert]")).to_contain_text("Not promoted: publication 1's pilot has watching")
        _pass_the_pilot(page, url, db, clock, 1, "publishing-pilot-passed")
        _click(page, 1, "Promote")
        expect(page.get_by_role("status")).to_have_text("Publication 1: promoted.")
        wait_for(lambda: _price(s002) == 180, what="promote reached the other store")

        (root / "chain" / "prices.csv").write_text(FILES["chain/prices.csv"].replace("{}", "abc"))
        page.goto(f"{url}/publishing")
        expect(page.locator(".problems")).to_have_text(
            "chain/prices.csv:2: prices: field 'price_cents': 'abc' is not a number")
        expect(page.get_by_role("button", name="Publish")).to_have_count(0)
        shot(page, "publishing-refused")
        (root / "chain" / "prices.csv").write_text(FILES["chain/prices.csv"].replace("{}", "199"))
        page.goto(f"{url}/publishing")
        expect(page.locator("#pending tr[data-scope='chain']")).to_contain_text("prices: changed COF-001")
        page.get_by_role("button", name="Publish").click()
        expect(page.get_by_role("status")).to_have_text("Publication 2: awaiting approval.")

        _approve_as(page, server, "ada", 2)
        expect(page.get_by_role("status")).to_have_text("Publication 2: promoted.")
        for agent in (s001, s002):
            wait_for(lambda a=agent: _price(a) == 199, what="the change applied")
        _click(page, 2, "Roll back")
        expect(page.get_by_role("status")).to_have_text("Publication 3: promoted.")
        expect(page.locator("tr[data-publication='2']")).to_contain_text("rolled back")
        expect(page.locator("tr[data-publication='3']")).to_contain_text("rolls back 2")
        shot(page, "publishing-rolled-back")
        for agent in (s001, s002):
            wait_for(lambda a=agent: _price(a) == 180, what="the rollback applied")
        versions = [r.version for pid in (1, 2, 3) for r in pipeline.rows(db, pid)
                    if r.scope == "chain" and r.stage in ("promote", "rollback")]
        assert versions == [1, 2, 3]
    finally:
        console.stop()
        db.close()
