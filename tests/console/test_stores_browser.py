"""Stores, staff and the signing keys in a real browser: an admin edits and adds stores (a marketer's typos
refused in words), a store manager runs the staff of their own store and gets a 403 for another's, a technician
reads only, and the keys page shows rotation without ever showing a key. Each change is published to the
test's Mosquitto and audited. Screenshots go to test-output/console/."""

from __future__ import annotations

import pytest
from console_support import PEOPLE, Server
from playwright.sync_api import Page, expect
from test_browser import FORBIDDEN, go, shot, sign_in, token

from central import audit
from central.keys import Keyring
from central.stores import list_staff
from decisions.identity.pins import check_pin


def published(server: Server, scope: str) -> int:
    """The newest version of ``scope`` head office has signed and sent to the broker (0: none)."""
    row = server.db.query_one("SELECT max(version) FROM bundles WHERE scope = ?", (scope,))
    return row[0] or 0


def actions(server: Server, actor: str) -> list[tuple[str, str, str]]:
    return [(e.action, e.scope, e.detail) for e in audit.entries(server.db, limit=200, actor=actor)]


def test_admin_edits_a_store_and_adds_another(page: Page, server: Server):
    sign_in(page, server, "ada")
    go(page, "Stores")
    expect(page.locator("#store-s001")).to_contain_text("Sofia · Vitosha Blvd")
    expect(page.locator("#store-s003")).to_contain_text("s003")  # a row from before the name columns
    shot(page, "admin-stores")
    page.get_by_role("link", name="Sofia · Vitosha Blvd").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sofia · Vitosha Blvd")
    expect(page.locator("tr[data-device='kiosk-1']")).to_contain_text("online")
    expect(page.locator("tr[data-device='signage-1']")).to_contain_text("offline")
    before = published(server, "store/s001")

    form = page.locator("form[action='/stores/s001/edit']")
    form.get_by_label("Time zone").fill("Europe/Sofa")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Not saved: field 'timezone': 'Europe/Sofa' is not a time zone (write it like Europe/Sofia).")
    shot(page, "admin-store-typo-refused")
    form = page.locator("form[action='/stores/s001/edit']")
    expect(form.get_by_label("Time zone")).to_have_value("Europe/Sofa")  # what was typed stays to be fixed
    form.get_by_label("Time zone").fill("Europe/Sofia")
    form.get_by_label("Latitude").fill("426.935")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_have_text("Not saved: field 'lat': 426.935 is not between -90 and 90.")
    form = page.locator("form[action='/stores/s001/edit']")
    form.get_by_label("Latitude").fill("42.6935")
    form.get_by_label("Name", exact=False).first.fill("Sofia · Vitosha Boulevard")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Sofia · Vitosha Boulevard is saved. Sent to the store's devices (store/s001 v{before + 1}).")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sofia · Vitosha Boulevard")
    shot(page, "admin-store-saved")
    text = (server.headoffice / "stores.csv").read_text()
    assert "s001,south,kiosk-1|signage-1,Sofia · Vitosha Boulevard,Europe/Sofia,BG,42.6935,23.3205\n" in text
    assert text.endswith(f"s003,north,{'|'.join(f'sign-{n:02d}' for n in range(1, 56))}\n")  # untouched

    go(page, "Stores")
    add = page.locator("form[action='/stores/add']")
    for field, value in (("Store id", "s002"), ("Name", "Ruse Two"), ("Region", "north")):
        add.get_by_label(field, exact=False).first.fill(value)
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_role("alert")).to_have_text("Not added: there is already a store s002.")
    add = page.locator("form[action='/stores/add']")
    add.get_by_label("Store id", exact=False).fill("s004")
    add.get_by_label("Devices", exact=False).fill("kiosk-2")
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_role("alert")).to_have_text("Not added: device 'kiosk-2' is already in store s002.")
    add = page.locator("form[action='/stores/add']")
    add.get_by_label("Devices", exact=False).fill("kiosk-4 tablet-4")
    add.get_by_label("Country", exact=False).fill("BG")
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_role("status")).to_contain_text("Ruse Two (s004) is added.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ruse Two")
    expect(page.locator("tr[data-device='tablet-4']")).to_contain_text("never seen")
    assert published(server, "store/s004") == 1
    assert ("store.add", "store/s004", "name Ruse Two, region north, devices kiosk-4|tablet-4, country BG") \
        in actions(server, "ada")


def test_store_manager_runs_the_staff_of_their_store_only(page: Page, server: Server):
    sign_in(page, server, "sam")
    go(page, "Stores")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("#store-s001")).to_be_visible()
    page.locator("#store-s001").get_by_role("link").click()
    expect(page.locator("form[action='/stores/s001/edit']")).to_have_count(0)  # the store itself is the admin's
    add = page.locator("form[action='/stores/s001/staff/add']")
    add.get_by_label("Name").fill("Maria Koleva")
    add.get_by_label("Role").select_option(label="Barista")
    add.get_by_label("PIN", exact=False).fill("123")
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_role("alert")).to_have_text("Not added: A PIN is 4 to 8 digits.")
    expect(page.locator("form[action='/stores/s001/staff/add']").get_by_label("Name")).to_have_value("Maria Koleva")
    shot(page, "store_manager-staff-short-pin-refused")
    add = page.locator("form[action='/stores/s001/staff/add']")
    add.get_by_label("Role").select_option(label="Barista")
    add.get_by_label("PIN", exact=False).fill("2468")
    add.get_by_role("button", name="Add").click()
    expect(page.get_by_role("status")).to_contain_text("Maria Koleva is added as Barista. Sent to the store's devices")
    row = page.locator("#staff-st-01")
    expect(row).to_contain_text("active")
    shot(page, "store_manager-staff-added")
    staff_csv = (server.headoffice / "store" / "s001" / "staff.csv").read_text()
    assert "2468" not in staff_csv and "scrypt$" in staff_csv
    (member,) = list_staff(server.headoffice, "s001")
    assert (member.id, member.name, member.role, member.active) == ("st-01", "Maria Koleva", "barista", True)

    row.get_by_label("New PIN for Maria Koleva").fill("")
    row.get_by_label("New PIN for Maria Koleva").fill("97531")
    row.get_by_role("button", name="Set PIN").click()
    expect(page.get_by_role("status")).to_contain_text("Maria Koleva has a new PIN; tell them in person.")
    pin_hash = next(line for line in (server.headoffice / "store" / "s001" / "staff.csv").read_text().splitlines()
                    if line.startswith("st-01,")).split(",")[3]
    assert check_pin(pin_hash, "97531", failures=0, locked_until=0, now=0).ok
    assert not check_pin(pin_hash, "2468", failures=0, locked_until=0, now=0).ok
    page.locator("#staff-st-01").get_by_role("button", name="Switch off").click()
    expect(page.get_by_role("status")).to_contain_text("Maria Koleva is switched off.")
    expect(page.locator("#staff-st-01")).to_contain_text("switched off")
    shot(page, "store_manager-staff-switched-off")

    for path in ("/stores/s002", "/stores/s003"):
        response = page.goto(server.url + path)
        assert response.status == 403
        expect(page.get_by_text(f"Store {path[-4:]} is not one of yours.")).to_be_visible()
    shot(page, "store_manager-other-store-refused")
    page.goto(server.url + "/stores/s001")
    csrf = token(page)
    for path, form in (("/stores/s002/staff/add", {"name": "Intruder", "role": "manager", "pin": "1111"}),
                       ("/stores/s002/staff/st-01/pin", {"pin": "1111"}),
                       ("/stores/s001/edit", {"region": "south", "name": "Mine now"}),
                       ("/stores/add", {"store": "s099", "region": "south"})):
        assert page.request.post(server.url + path, form={**form, "_csrf_token": csrf}).status == 403, path
    assert not (server.headoffice / "store" / "s002" / "staff.csv").exists()
    logged = actions(server, "sam")
    assert [a for a, _, _ in logged if a.startswith("staff.")] == ["staff.deactivate", "staff.pin", "staff.add"]
    assert all("2468" not in d and "97531" not in d for _, _, d in logged)


def test_technician_reads_stores_and_staff_without_changing_them(page: Page, server: Server):
    sign_in(page, server, PEOPLE["technician"])
    go(page, "Stores")
    for store in ("s001", "s002", "s003"):
        expect(page.locator(f"#store-{store}")).to_be_visible()
    expect(page.locator("form[action='/stores/add']")).to_have_count(0)
    page.goto(server.url + "/stores/s002")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ruse · Svoboda Square")
    expect(page.locator("form[action*='/staff/']")).to_have_count(0)
    expect(page.locator("form[action='/stores/s002/edit']")).to_have_count(0)
    shot(page, "technician-store")
    csrf = token(page)
    r = page.request.post(server.url + "/stores/s002/staff/add",
                          form={"name": "Tom's friend", "role": "manager", "pin": "1111", "_csrf_token": csrf})
    assert r.status == 403
    assert page.goto(server.url + "/stores/s404").status == 404


@pytest.mark.parametrize("role", ["marketer", "privacy_officer"])
def test_roles_without_stores_are_refused(page: Page, server: Server, role: str):
    sign_in(page, server, PEOPLE[role])
    response = page.goto(server.url + "/stores/s001")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text(FORBIDDEN)


def test_keys_page_shows_rotation_and_never_a_key(page: Page, server: Server):
    ring = Keyring(server.config.central.keys_dir)
    active = ring.active_id
    sign_in(page, server, "ada")
    go(page, "Keys")
    expect(page.get_by_text(f"Active key: {active}")).to_be_visible()
    expect(page.locator("tr[data-device='s001/kiosk-1']")).to_contain_text("trusted")
    expect(page.locator("tr[data-device='s002/kiosk-2']")).to_contain_text("not trusted")
    expect(page.locator("tr[data-device='s001/signage-1']")).to_contain_text("not reported yet")
    expect(page.get_by_role("status")).to_have_text(
        "1 device does not trust the active key: bundles signed with it are refused there. Ship its .pub to them.")
    shot(page, "admin-keys")
    html = page.content()
    assert "PRIVATE KEY" not in html and "PUBLIC KEY" not in html
    for path in ("/keys.pem", f"/keys/{active}", f"/keys/chain-{active}.key"):
        assert page.goto(server.url + path).status in (403, 404, 405)


def test_store_page_at_a_phone_width(page: Page, server: Server):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, "ada")
    for path in ("/stores", "/stores/s001", "/keys"):
        page.goto(server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{path} is wider than the phone"
        shot(page, f"narrow-{path.strip('/').replace('/', '-')}")
