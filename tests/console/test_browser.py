"""The console in a real browser (Debian's chromium through Playwright): every page and every action for every
role, a store manager aimed at another store, the lockout, sign-out, session expiry by the test's clock, CSRF,
the fleet's filters, paging and live refresh. Each page reached is saved in test-output/console/."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlsplit

import pytest
from console_support import MAX_AGE_S, PASSWORD, PEOPLE, SCREENS, Server
from playwright.sync_api import Page, expect

from central import users

ROLES = list(PEOPLE)
# page -> (heading, the roles that may open it)
PAGES = {
    "/": ("Welcome", ROLES),
    "/offers": ("Offers", ["admin", "marketer"]),
    "/media": ("Media", ["admin", "marketer"]),
    "/signage": ("Signage", ["admin", "marketer"]),
    "/catalog": ("Products & prices", ["admin", "marketer"]),
    "/brand": ("Brand", ["admin", "marketer"]),
    "/publishing": ("Publishing", ["admin", "marketer"]),
    "/preview": ("Preview", ["admin", "marketer", "store_manager"]),
    "/fleet": ("Fleet", ["admin", "technician", "store_manager"]),
    "/stores": ("Stores", ["admin", "technician", "store_manager"]),
    "/reports": ("Reports", ["admin", "marketer", "store_manager", "technician"]),
    "/overrides": ("Emergency override", ["admin", "technician", "store_manager"]),
    "/users": ("People", ["admin"]),
    "/audit": ("Audit log", ["admin", "privacy_officer"]),
    "/keys": ("Signing keys", ["admin"]),
    "/privacy": ("Privacy desk", ["privacy_officer"]),
}
NAV = {"/offers": "Offers", "/media": "Media", "/signage": "Signage", "/catalog": "Products & prices",
       "/brand": "Brand", "/preview": "Preview",
       "/publishing": "Publishing", "/fleet": "Fleet", "/overrides": "Overrides", "/stores": "Stores",
       "/reports": "Reports", "/users": "People", "/privacy": "Privacy desk", "/audit": "Audit log", "/keys": "Keys"}
FORBIDDEN = "You do not have access to this"


def shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def sign_in(page: Page, server: Server, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def go(page: Page, label: str) -> None:
    """Follow a main menu link and wait for the whole page: a click returns once the new page has begun to arrive,
    and a long list read at that moment is cut short."""
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name=label)
    path = link.get_attribute("href")
    link.click()
    page.wait_for_url(lambda url: urlsplit(url).path == path, wait_until="load")


def show(page: Page, *, region: str, state: str) -> None:
    """The fleet's filters, as a person sets them."""
    page.get_by_label("Region").select_option(region)
    page.get_by_label("State").select_option(state)
    page.get_by_role("button", name="Show").click()


def token(page: Page) -> str:
    """The CSRF token of the page's own forms (every signed-in page has the sign-out form)."""
    return page.locator("input[name=_csrf_token]").first.get_attribute("value")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_pages_and_no_others(page: Page, server: Server, role: str):
    sign_in(page, server, PEOPLE[role])
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {PEOPLE[role]}")
    links = page.get_by_role("navigation", name="Main").get_by_role("link")
    expect(links).to_have_text([label for path, label in NAV.items() if role in PAGES[path][1]])
    for path, (heading, allowed) in PAGES.items():
        response = page.goto(server.url + path)
        name = f"{role}-{path.strip('/') or 'start'}"
        if role in allowed:
            assert response.status == 200
            expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        else:
            assert response.status == 403
            expect(page.get_by_role("heading", level=1)).to_have_text(FORBIDDEN)
            expect(page.get_by_text("Your role does not include this page.")).to_be_visible()
            name += "-refused"
        shot(page, name)
    page.goto(server.url + "/")
    csrf = token(page)
    actions = [("/users/add", {"username": "x-" + role.replace("_", "-"), "role": "admin", "password": PASSWORD}),
               ("/users/tom/role", {"role": "admin", "stores": ""}), ("/users/tom/active", {"active": "0"}),
               ("/users/tom/unlock", {}), ("/users/tom/password", {"password": "taken-over-by-" + role})]
    for path, form in actions:
        if role != "admin":  # the admin's own actions are clicked through in the next test
            r = page.request.post(server.url + path, form={**form, "_csrf_token": csrf})
            assert r.status == 403, path
    csv_response = page.request.get(server.url + "/audit.csv")
    assert csv_response.status == (200 if role in PAGES["/audit"][1] else 403)
    assert users.get_user(server.db, "tom").role == "technician" and users.get_user(server.db, "tom").active


def test_admin_adds_changes_switches_off_and_unlocks_people(page: Page, server: Server, browser):
    sign_in(page, server, "ada")
    go(page, "People")
    form = page.locator("form[action='/users/add']")
    form.get_by_label("User name").fill("kim")
    form.get_by_label("Role").select_option(label="Store manager")
    form.get_by_label("First password").fill("short")
    form.get_by_role("button", name="Add").click()
    expect(page.get_by_role("alert")).to_have_text("Not added: a store manager needs at least one store.")
    shot(page, "admin-users-add-refused")
    form.get_by_label("Stores").fill("s002")
    form.get_by_label("First password").fill("short")
    form.get_by_role("button", name="Add").click()
    expect(page.get_by_role("alert")).to_have_text("Not added: a password needs at least 10 characters.")
    form.get_by_label("First password").fill("kims-first-password")
    form.get_by_role("button", name="Add").click()
    expect(page.get_by_role("status")).to_have_text("kim can sign in now as Store manager.")
    row = page.locator("#user-kim")
    expect(row).to_contain_text("active")
    shot(page, "admin-users-added")

    row.get_by_label("Stores of kim").fill("s002,s003")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("kim is Store manager now, stores s002,s003.")
    assert users.get_user(server.db, "kim").stores == ("s002", "s003")
    row = page.locator("#user-kim")
    row.get_by_label("Role of kim").select_option(label="Technician")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_have_text("kim not changed: only a store manager is limited to stores.")
    row = page.locator("#user-kim")
    row.get_by_label("Role of kim").select_option(label="Technician")
    row.get_by_label("Stores of kim").fill("")
    row.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("kim is Technician now.")

    other = browser.new_page()
    for _ in range(5):
        sign_in(other, server, "kim", "not her password")
    expect(other.get_by_role("alert")).to_contain_text("this account is locked for 15 minute(s)")
    page.reload()
    row = page.locator("#user-kim")
    expect(row).to_contain_text("locked until")
    shot(page, "admin-users-locked")
    row.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("status")).to_have_text("kim is unlocked.")
    page.locator("#user-kim").get_by_label("New password for kim").fill("too short")
    page.locator("#user-kim").get_by_role("button", name="Set").click()
    expect(page.get_by_role("alert")).to_have_text("Password not set: a password needs at least 10 characters.")
    page.locator("#user-kim").get_by_label("New password for kim").fill("kims-second-password")
    page.locator("#user-kim").get_by_role("button", name="Set").click()
    expect(page.get_by_role("status")).to_have_text("kim has a new password; tell them in person.")
    page.locator("#user-kim").get_by_role("button", name="Switch off").click()
    expect(page.get_by_role("status")).to_have_text("kim is switched off.")
    expect(page.locator("#user-kim")).to_contain_text("switched off")
    sign_in(other, server, "kim", "kims-second-password")
    expect(other.get_by_role("alert")).to_have_text("This account is switched off. Ask an admin.")
    page.locator("#user-kim").get_by_role("button", name="Switch on").click()
    sign_in(other, server, "kim", "kims-second-password")
    expect(other.get_by_role("heading", level=1)).to_have_text("Welcome, kim")
    other.close()
    expect(page.locator("#user-ada").get_by_role("button", name="Switch off")).to_have_count(0)
    expect(page.locator("#user-ada")).to_contain_text("Admin (your own account: another admin changes it)")
    r = page.request.post(server.url + "/users/ada/role", form={"role": "marketer", "_csrf_token": token(page)})
    assert r.status == 400 and "You cannot change your own role: ask another admin." in r.text()
    assert users.get_user(server.db, "ada").role == "admin"

    go(page, "Audit log")
    page.get_by_label("Person").fill("ada")
    page.get_by_role("button", name="Filter").click()
    table = page.get_by_role("table")
    for action in ("signed in", "added a person", "changed a role or stores", "unlocked an account",
                   "set a password", "switched an account off", "switched an account on", "read the audit log"):
        expect(table).to_contain_text(action)
    expect(table.locator("tr", has_text="unlocked an account")).to_contain_text("user/kim")
    page.get_by_label("Action").select_option(label="switched an account off")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("127.0.0.1")
    shot(page, "admin-audit-filtered")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert {"login.failed", "user.add", "user.unlock", "audit.view"} <= {r["action"] for r in rows}
    assert any(r["actor"] == "ada" and r["scope"] == "user/kim" and r["detail"] == "role store_manager, stores s002"
               for r in rows)


def test_store_manager_sees_own_stores_only_and_gets_403_for_another(page: Page, server: Server):
    sign_in(page, server, "sam")
    go(page, "Fleet")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#fleet-table")).not_to_contain_text("s002")
    expect(page.get_by_label("Store")).to_contain_text("s001")
    expect(page.get_by_label("Store")).not_to_contain_text("s002")
    shot(page, "store_manager-fleet-own")
    for path in ("/fleet?store=s002", "/fleet/table?store=s002"):
        response = page.goto(server.url + path)
        assert response.status == 403
        expect(page.get_by_text("Store s002 is not one of yours.")).to_be_visible()
    shot(page, "store_manager-fleet-other-store-refused")
    assert page.goto(server.url + "/fleet?store=s001").status == 200


def test_fleet_shows_state_filters_pages_and_updates_live(page: Page, server: Server):
    sign_in(page, server, "tom")
    go(page, "Fleet")
    expect(page.locator(".count")).to_contain_text("58 devices · 2 online · 1 offline · 55 never seen")
    kiosk = page.locator("tr[data-device='s001/kiosk-1']")
    expect(kiosk).to_contain_text("online")
    expect(kiosk).to_contain_text("20 s ago")
    expect(kiosk).to_contain_text("chain v7")
    expect(page.locator("tr[data-device='s001/signage-1']")).to_contain_text("media sha256 mismatch: hero.jpg")
    expect(page.locator("tr[data-device='s002/kiosk-2']")).to_contain_text("lookup_rate × 4")
    shot(page, "technician-fleet")
    show(page, region="north", state="online")
    expect(page.locator(".count")).to_contain_text("1 device · 1 online ·")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("kiosk-2")
    shot(page, "technician-fleet-filtered")
    show(page, region="", state="never seen")
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(5)
    shot(page, "technician-fleet-page-2")

    page.goto(server.url + "/fleet?store=s002")
    expect(page.locator("tr[data-device='s002/kiosk-2']")).to_contain_text("online")
    server.db.execute("UPDATE devices SET state = 'offline' WHERE store = 's002' AND device = 'kiosk-2'")
    expect(page.locator("tr[data-device='s002/kiosk-2']")).to_contain_text("offline", timeout=3000)
    server.db.execute("UPDATE devices SET state = 'online' WHERE store = 's002' AND device = 'kiosk-2'")
    expect(page.locator("tr[data-device='s002/kiosk-2']")).to_contain_text("online", timeout=3000)


def test_fleet_filters_by_kind(page: Page, server: Server):
    sign_in(page, server, "tom")
    go(page, "Fleet")
    page.get_by_label("Kind").select_option("kiosk")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".count")).to_contain_text("2 devices · 2 online ·")
    expect(page.locator("tbody th a")).to_have_text(["kiosk-1", "kiosk-2"])
    shot(page, "technician-fleet-kiosks")
    page.get_by_label("Kind").select_option("signage")
    page.get_by_label("Region").select_option("south")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".count")).to_contain_text("1 device · 1 offline ·")
    expect(page.locator("tbody th a")).to_have_text(["signage-1"])
    page.get_by_label("Region").select_option("north")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".count")).to_contain_text("55 devices · 55 never seen ·")
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    page.get_by_role("link", name="Next").click()  # paging keeps the kind
    expect(page.locator("tbody tr")).to_have_count(5)
    expect(page.get_by_label("Kind")).to_have_value("signage")
    shot(page, "technician-fleet-signage-north-page-2")
    assert page.goto(server.url + "/fleet?kind=printer").status == 400


def test_fleet_and_people_at_a_phone_width(page: Page, server: Server):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, "ada")
    for path in ("/fleet", "/fleet/s001/kiosk-1", "/users", "/audit"):
        page.goto(server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"{path} is wider than the phone"
        shot(page, f"narrow-{path.strip('/').replace('/', '-')}")


def test_lockout_after_five_wrong_passwords_ends_after_fifteen_minutes(page: Page, server: Server):
    users.add_user(server.db, "lou", "technician", PASSWORD, now=server.clock.time())
    for n in range(4):
        sign_in(page, server, "lou", f"wrong-{n}")
        expect(page.get_by_role("alert")).to_have_text("That user name and password do not match.")
    shot(page, "login-wrong-password")
    sign_in(page, server, "lou", "wrong-5")
    expect(page.get_by_role("alert")).to_have_text(
        "Too many wrong passwords: this account is locked for 15 minute(s), or until an admin unlocks it.")
    sign_in(page, server, "lou")
    expect(page.get_by_role("alert")).to_contain_text("this account is locked for 15 more minute(s)")
    shot(page, "login-locked")
    server.clock.advance(15 * 60 + 1)
    sign_in(page, server, "lou")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, lou")


def test_sign_out(page: Page, server: Server):
    sign_in(page, server, "tom")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    shot(page, "signed-out")
    page.goto(server.url + "/fleet")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_session_ends_after_its_max_age_even_on_a_live_page(page: Page, server: Server):
    sign_in(page, server, "tom")
    go(page, "Fleet")
    server.clock.advance(MAX_AGE_S - 5)
    page.reload()  # a use within the max age keeps the session
    expect(page.get_by_role("heading", level=1)).to_have_text("Fleet")
    server.clock.advance(MAX_AGE_S + 1)
    expect(page).to_have_url(re.compile(r"/login$"), timeout=5000)  # the 2 s poll finds it ended
    expect(page.get_by_role("status")).to_have_text("Your session has ended. Please sign in again.")
    shot(page, "session-ended")


def test_a_post_without_the_csrf_token_is_refused(page: Page, server: Server):
    sign_in(page, server, "ada")
    r = page.request.post(server.url + "/users/add", form={"username": "eve", "role": "admin", "password": PASSWORD})
    assert r.status == 403
    assert "This form has expired or did not come from this console." in r.text()
    r = page.request.post(server.url + "/users/add", form={"username": "eve", "role": "admin", "password": PASSWORD,
                                                          "_csrf_token": "forged"})
    assert r.status == 403
    assert users.get_user(server.db, "eve") is None
    page.set_content(r.text())
    shot(page, "csrf-refused")


def test_a_wrong_address_or_filter_says_what_to_do(page: Page, server: Server):
    sign_in(page, server, "tom")
    assert page.goto(server.url + "/no-such-page").status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("There is no such page")
    expect(page.get_by_text("Please check the address, or start again from the start page.")).to_be_visible()
    shot(page, "not-found")
    assert page.goto(server.url + "/fleet?state=asleep&page=0").status == 400
    expect(page.get_by_text("Please check the address or the form: page, state cannot be used as given.")
           ).to_be_visible()
    shot(page, "bad-filter")
    page.get_by_role("link", name="Back to the start page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, tom")
