"""The privacy desk in a real browser (Debian's chromium through Playwright), over a real Mosquitto, head office's
worker and a real device agent: the privacy officer finds a shopper by phone number, reads the consent ledger,
downloads the export, merges a duplicate, erases her, and watches the receipt fill in as the store confirms.
Every other role is refused on every privacy route. Each page reached is saved in test-output/console/."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from console_support import MAX_AGE_S, PASSWORD, PEOPLE, Server, free_port
from playwright.sync_api import Page, expect
from support import CHAIN, chain_keyring, wait_for
from test_browser import FORBIDDEN, go, shot, sign_in, token

from central import audit, privacy_requests, users
from central.config import CentralConfig, CentralSection, ConsoleSection, PrivacySection
from central.db import open_database
from central.headoffice import HeadOffice
from central.keys import Keyring
from central.mqtt import BrokerLink
from central.profiles import upsert_profile
from central.worker import Worker
from console.server import Background
from decisions.identity import phone as phones
from sync.config import BrokerSection

TYPED = "0888 123 456"  # as the shopper says it at the desk; +359888123456 in E.164
PHONE_KEY = b"the chain's phone key, 32 bytes!"


@dataclass
class Desk(Server):
    agent: object
    office: HeadOffice


@pytest.fixture
def desk(tmp_path: Path, broker, chain_key, clock, start_agent, device_config) -> Iterator[Desk]:
    """The console with [privacy] set up (152-FZ, the phone key, Bulgaria), a worker, and kiosk-1 of s001 holding
    Vesela, who has a duplicate profile from the loyalty desk."""
    keys_dir = chain_keyring(tmp_path / "keys-central", chain_key)
    phone_key = tmp_path / "phone.key"
    phone_key.write_bytes(PHONE_KEY)
    os.chmod(phone_key, 0o600)
    dsn = str(tmp_path / "central.db")
    config = CentralConfig(
        CentralSection(chain=CHAIN, dsn=dsn, keys_dir=str(keys_dir), content_dir=str(tmp_path / "headoffice"),
                       http_dir=str(tmp_path / "http")),
        BrokerSection(port=broker.port, keepalive_s=5),
        ConsoleSection(secret_file=str(tmp_path / "secret" / "console.key"), session_max_age_s=MAX_AGE_S),
        PrivacySection(jurisdiction="152-fz", phone_key_file=str(phone_key), country="BG"))
    db = open_database(dsn)
    for role, name in PEOPLE.items():
        users.add_user(db, name, role, PASSWORD, stores=("s001",) if role == "store_manager" else (),
                       now=clock.time())
    number = phones.normalise(TYPED, "BG")
    assert number.ok
    upsert_profile(db, {"profile_id": "c-vesela", "first_name": "Vesela", "created_at": clock.time() - 86400,
                        "phone_hash": phones.phone_hash(number.e164, PHONE_KEY),
                        "consents": {"personal_offers": "granted", "marketing": "denied"}, "wording_version": "v3"},
                   now=clock.time())
    upsert_profile(db, {"profile_id": "c-vesela-dup", "loyalty_id": "L-7781"}, now=clock.time())
    worker = Worker(config, clock=clock, keys=Keyring(keys_dir)).start()
    link = BrokerLink(config.broker, "central-demo-test-desk").start()
    office = HeadOffice(config, db, Keyring(keys_dir), link, clock=clock)
    agent = start_agent(device_config("kiosk-1", "s001"))
    agent.outbox.record("identified", {"profile_id": "c-vesela", "method": "phone"})
    wait_for(lambda: db.scalar("SELECT count(*) FROM profile_stores") == 1, what="her visit at head office")
    office.sync_store("s001")
    wait_for(lambda: agent.reader.profile("c-vesela", clock.time()), what="kiosk-1 holds her")
    port = free_port()
    console = Background(config, db, clock, port=port).start()
    yield Desk(f"http://localhost:{port}", db, clock, Path(config.central.content_dir), config, agent, office)
    console.stop()
    worker.stop()
    link.stop()
    db.close()


def test_the_privacy_officer_finds_by_phone_exports_merges_erases_and_reads_the_receipt(page: Page, desk: Desk):
    sign_in(page, desk, "pia")
    go(page, "Privacy desk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy desk")
    shot(page, "privacy-desk")

    page.get_by_label("Find by").select_option("phone")
    page.get_by_label("Number or id").fill("0888 123 45")  # a digit short
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("alert")).to_contain_text("Not searched: That number")
    page.get_by_label("Find by").select_option("phone")
    page.get_by_label("Number or id").fill(TYPED)
    page.get_by_role("button", name="Find").click()
    expect(page).to_have_url(f"{desk.url}/privacy/person")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vesela")
    ledger = page.locator("section", has=page.get_by_role("heading", name="Consent ledger"))
    expect(ledger.locator("tbody tr")).to_have_count(2)
    expect(ledger).to_contain_text("personal offers")
    expect(ledger).to_contain_text("granted")
    expect(ledger).to_contain_text("denied")
    expect(page.locator(".facts")).to_contain_text("s001: 1 visit")
    shot(page, "privacy-person")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download their data (JSON)").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["profile_id"] == "c-vesela"
    assert [(c["purpose"], c["status"]) for c in exported["consents"]] == [("personal_offers", "granted"),
                                                                            ("marketing", "denied")]
    assert download.value.suggested_filename.startswith("personal-data-") and "vesela" not in \
        download.value.suggested_filename
    [access] = [r for r in privacy_requests.recent_answered(desk.db) if r.kind == "access"]
    assert (str(access.received_on), str(access.due_on)) == ("2026-11-23", "2026-12-07")  # 152-FZ: 10 working days

    page.reload()
    page.get_by_label("They asked for").select_option("erasure")
    page.get_by_label("Received on").fill("2026-11-20")  # a Friday, by letter
    page.get_by_role("button", name="Record the request").click()
    expect(page.get_by_role("status")).to_contain_text("erasure, due 2026-12-04")

    page.get_by_label("The other profile id").fill("c-nobody")
    page.get_by_label("Both are one person").check()
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_role("alert")).to_have_text("Not merged: unknown profile 'c-nobody'.")
    page.get_by_label("The other profile id").fill("c-vesela-dup")
    page.get_by_label("Both are one person").check()
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_role("status")).to_contain_text("Merged: c-vesela-dup is now part of c-vesela")
    expect(page.locator(".facts")).to_contain_text("c-vesela-dup (merged in)")

    page.get_by_label("Erase them everywhere").check()
    page.get_by_role("button", name="Erase").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Request No\. \d+: erasure"))
    expect(page.get_by_role("status")).to_contain_text("Erased.")
    receipt = page.locator("section", has=page.get_by_role("heading", name="Erasure receipt"))
    expect(receipt).to_contain_text("2 profiles")
    expect(receipt.locator("tr[data-store=s001]")).to_be_visible()
    wait_for(lambda: desk.agent.reader.profile("c-vesela", desk.clock.time()) is None, what="kiosk-1 purged her")
    wait_for(lambda: privacy_requests.open_requests(desk.db) == [], what="s001 confirmed: the request closed")
    page.reload()
    expect(receipt.locator("tr[data-store=s001]")).to_contain_text("confirmed")
    expect(receipt.locator("tr[data-store=s001]")).to_contain_text("kiosk-1")
    expect(page.locator(".facts")).to_contain_text("answered")
    shot(page, "privacy-receipt")

    go(page, "Privacy desk")
    expect(page.get_by_text("No request is waiting for an answer.")).to_be_visible()
    shot(page, "privacy-desk-after")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    shot(page, "privacy-desk-phone")

    # Nothing of the number went anywhere: not in an address, not in the audit log; every look is there.
    entries = audit.entries(desk.db, limit=100, actor="pia")
    assert not any("888" in f"{e.scope} {e.detail}" for e in entries)
    seen = {e.action for e in entries}
    assert {"privacy.search", "privacy.view", "privacy.export", "privacy.request", "privacy.merge",
            "privacy.erase"} <= seen
    assert all(e.client == "127.0.0.1" for e in entries)
    [view] = [e for e in entries if e.action == "privacy.view"][-1:]
    assert view.scope == privacy_requests.person_ref("c-vesela")


def test_an_erasure_while_the_broker_is_down_says_so_and_changes_nothing(page: Page, desk: Desk, broker):
    sign_in(page, desk, "pia")
    page.goto(desk.url + "/privacy")
    page.get_by_label("Find by").select_option("profile_id")
    page.get_by_label("Number or id").fill("c-vesela")
    page.get_by_role("button", name="Find").click()
    broker.stop()
    page.get_by_label("Erase them everywhere").check()
    page.get_by_role("button", name="Erase").click()
    expect(page.get_by_role("alert")).to_contain_text("Head office cannot reach the stores right now")
    expect(page.get_by_role("alert")).to_contain_text("so nothing was changed")
    expect(page.get_by_role("alert")).not_to_contain_text("Errno")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vesela")
    shot(page, "privacy-erase-broker-down")
    assert desk.db.scalar("SELECT count(*) FROM profiles WHERE profile_id = 'c-vesela'") == 1
    assert desk.db.scalar("SELECT count(*) FROM erasures") == 0
    assert privacy_requests.open_requests(desk.db) == []  # not even a request: the broker is asked for first


def test_a_person_at_a_phone_width(page: Page, desk: Desk):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, desk, "pia")
    page.goto(desk.url + "/privacy")
    page.get_by_label("Find by").select_option("loyalty_id")
    page.get_by_label("Number or id").fill("L-7781")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("c-vesela-dup")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "privacy-person-phone")


PRIVACY_GETS = ["/privacy", "/privacy/person", "/privacy/requests/1"]
PRIVACY_POSTS = {"/privacy/find": {"kind": "profile_id", "value": "c-vesela"}, "/privacy/export": {},
                 "/privacy/erase": {"confirm": "yes"}, "/privacy/merge": {"other": "c-vesela-dup", "confirm": "yes"},
                 "/privacy/requests": {"kind": "access", "received_on": "2026-11-23"},
                 "/privacy/requests/1/open": {}}


@pytest.mark.parametrize("role", [r for r in PEOPLE if r != "privacy_officer"])
def test_every_other_role_is_refused_every_privacy_route(page: Page, server: Server, role: str):
    upsert_profile(server.db, {"profile_id": "c-vesela"}, now=server.clock.time())
    sign_in(page, server, PEOPLE[role])
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Privacy desk")).to_have_count(0)
    for path in PRIVACY_GETS:
        response = page.goto(server.url + path)
        assert response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text(FORBIDDEN)
    shot(page, f"{role}-privacy-refused")
    page.goto(server.url + "/")
    csrf = token(page)
    for path, form in PRIVACY_POSTS.items():
        r = page.request.post(server.url + path, form={**form, "_csrf_token": csrf}, max_redirects=0)
        assert r.status == 403, path
    assert server.db.scalar("SELECT count(*) FROM profiles WHERE profile_id = 'c-vesela'") == 1
    assert not [e for e in audit.entries(server.db, limit=500, actor=PEOPLE[role]) if e.action.startswith("privacy.")]


def test_the_desk_lists_open_requests_first_due_first_and_marks_the_overdue(page: Page, server: Server):
    """GDPR (the default): received 2026-10-01 is due 2026-10-31 and overdue on the test's 2026-11-23."""
    upsert_profile(server.db, {"profile_id": "c-late", "first_name": "Lada"}, now=server.clock.time())
    upsert_profile(server.db, {"profile_id": "c-soon", "first_name": "Sava"}, now=server.clock.time())
    late = privacy_requests.record(server.db, "erasure", "c-late", received_on=date(2026, 10, 1),
                                   jurisdiction="gdpr", recorded_by="pia", now=server.clock.time())
    soon = privacy_requests.record(server.db, "access", "c-soon", received_on=date(2026, 11, 20),
                                   jurisdiction="gdpr", recorded_by="pia", now=server.clock.time())
    sign_in(page, server, "pia")
    page.goto(server.url + "/privacy")
    rows = page.locator("section ~ div.scroll").first.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(f"No. {late.id}")
    expect(rows.nth(0)).to_contain_text("2026-10-31")
    expect(rows.nth(0).locator(".badge")).to_have_text("overdue")
    expect(rows.nth(1)).to_contain_text("2026-12-20")
    expect(rows.nth(1).locator(".badge")).to_have_text("open")
    expect(page.get_by_text("2 open · 1 overdue · due dates by GDPR: 30 calendar days")).to_be_visible()
    shot(page, "privacy-desk-open-requests")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    rows.nth(0).get_by_role("button", name="Open the person").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lada")
    expect(page.locator("tr[data-request]")).to_contain_text("overdue")
    assert privacy_requests.get(server.db, soon.id).closed_at is None
    shot(page, "privacy-person-overdue-phone")
