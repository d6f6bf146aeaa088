"""The Signage pages in a real browser (Debian's chromium): a marketer edits a playlist (weighted order, a weight the
player refuses shown as they type, fixed, an item added and moved), saves it as ready; draws a two-zone layout; adds a
late-night schedule entry (22:00-02:00 on Fridays) and sees it in the store's week calendar on Friday night and
Saturday morning. Screenshots per step in test-output/console/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests
from console_support import Server
from media_samples import picture
from playwright.sync_api import Page, expect
from test_browser import go, shot, sign_in
from test_roles import _sign_in

from central import audit, signage_drafts

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "headoffice.example" / "chain" / "signage.yaml"
PROBLEMS = "#signage-problems"


@pytest.fixture(scope="module")
def chain(server: Server) -> Server:
    """The example chain's signage (content, playlists and schedules) as head office's live files."""
    (server.headoffice / "chain").mkdir(exist_ok=True)
    shutil.copy(EXAMPLE, server.headoffice / "chain" / "signage.yaml")
    return server


def _block(page: Page, day: int, playlists: str):
    """A block of the calendar: ``day`` 0 is Monday; ``playlists`` what plays, together, in the block."""
    return page.locator(f"g.block[data-day='{day}'][data-playlists='{playlists}']")


def test_marketer_edits_a_playlist_and_schedules_it_for_friday_nights(page: Page, chain: Server):
    sign_in(page, chain, "mia")
    go(page, "Signage")
    expect(page.get_by_role("heading", level=1)).to_have_text("Signage: schedule")
    # The server's clock: Monday 2026-11-23, 08:30 in Sofia; the week is the store's, in its zone.
    expect(page.locator("#week-heading")).to_contain_text("23 Nov – 29 Nov 2026")
    expect(page.locator("#week-heading")).to_contain_text("Europe/Sofia")
    expect(_block(page, 0, "pl-morning")).to_contain_text("06:00–11:00")
    expect(_block(page, 5, "pl-weekend-morning")).to_contain_text("07:00–11:00")
    # Weekend mornings and lunch overlap at equal priority: the player takes turns with both.
    expect(_block(page, 5, "pl-lunch pl-weekend-morning")).to_contain_text("11:00–12:00")
    shot(page, "signage-1-week")

    page.get_by_role("navigation", name="Signage").get_by_role("link", name="Playlists").click()
    page.get_by_role("link", name="pl-afternoon").click()
    page.get_by_label("Order").select_option("weighted")
    page.get_by_label("Weight of item 1").press_sequentially("-2", delay=30)
    expect(page.locator(PROBLEMS)).to_contain_text(
        "playlist pl-afternoon: playlist slot 'txt-afternoon-treat': weight must not be negative")
    shot(page, "signage-2-weight-refused-as-typed")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("alert").first).to_contain_text("Not saved as ready: a device would refuse this playlist")
    assert signage_drafts.get_draft(chain.db, "chain", "playlists", "pl-afternoon") is None

    page.get_by_label("Weight of item 1").fill("3")
    expect(page.locator(PROBLEMS)).to_have_text("A screen would accept this playlist.")
    page.get_by_role("button", name="Add an item").click()
    expect(page.locator("tr[data-slot]")).to_have_count(6)
    page.get_by_label("Item 6", exact=True).select_option("txt-evening-bread")
    page.get_by_label("Seconds of item 6").fill("12")
    page.get_by_role("button", name="Move item 6 up").click()
    expect(page.get_by_label("Item 5", exact=True)).to_have_value("txt-evening-bread")
    expect(page.get_by_label("Seconds of item 5")).to_have_value("12")
    shot(page, "signage-3-playlist-fixed-as-typed")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Playlist pl-afternoon is ready to publish.")
    expect(page.locator("tr[data-item='chain/pl-afternoon']")).to_contain_text("change ready to publish")
    shot(page, "signage-3-playlists")
    sent = next(p for p in signage_drafts.draft_signage(chain.db, chain.headoffice)["chain"]["playlists"]
                if p["id"] == "pl-afternoon")
    assert sent["order"] == "weighted"
    assert sent["items"][0] == {"item": "txt-afternoon-treat", "weight": 3}
    assert sent["items"][4] == {"item": "txt-evening-bread", "duration_s": 12}

    page.get_by_role("link", name="Layouts").click()
    page.get_by_role("link", name="New layout").click()
    page.get_by_label("Layout id").fill("lay-menu-side")
    page.get_by_label("Zone 1 width").fill("0.7")
    page.get_by_role("button", name="Add a zone").click()
    page.get_by_label("Zone 2 name").fill("side")
    page.get_by_label("What zone 2 shows").select_option("menu_board")
    page.get_by_label("Zone 2 left edge").fill("0.7")
    page.get_by_label("Zone 2 width").fill("0.4")
    expect(page.locator(PROBLEMS)).to_contain_text("layout lay-menu-side: zones[1] (side): the zone does not fit")
    page.get_by_label("Zone 2 width").fill("0.3")
    expect(page.locator(PROBLEMS)).to_have_text("A screen would accept this layout.")
    expect(page.locator("#layout-preview g.zone")).to_have_count(2)
    expect(page.locator("#layout-preview")).to_contain_text("menu board")
    shot(page, "signage-4-layout")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Layout lay-menu-side is ready to publish.")

    page.get_by_role("link", name="Schedule").click()
    page.get_by_role("link", name="New schedule entry").click()
    page.get_by_label("Entry id").fill("sch-friday-late")
    page.get_by_label("Playlist", exact=True).select_option("pl-holidays")
    page.get_by_label("Priority").fill("20")
    for day in ("Mon", "Tue", "Wed", "Thu", "Sat", "Sun"):
        page.get_by_label(day, exact=True).uncheck()
    page.get_by_label("Dayparts").press_sequentially("22:00-26:00", delay=20)
    expect(page.locator(PROBLEMS)).to_contain_text("schedule sch-friday-late: daypart time '26:00' is not HH:MM")
    page.get_by_label("Dayparts").fill("22:00-02:00")
    page.get_by_label("Max plays per hour").fill("12")
    expect(page.locator(PROBLEMS)).to_have_text("A screen would accept this schedule entry.")
    shot(page, "signage-5-schedule-entry")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Schedule entry sch-friday-late is ready to publish.")
    expect(_block(page, 4, "pl-holidays")).to_contain_text("22:00–24:00")  # Friday night
    expect(_block(page, 5, "pl-holidays")).to_contain_text("00:00–02:00")  # and into Saturday
    expect(_block(page, 3, "pl-holidays")).to_have_count(0)
    expect(_block(page, 6, "pl-holidays")).to_have_count(0)
    expect(page.locator("tr[data-item='chain/sch-friday-late']")).to_contain_text(
        "Fri; 22:00–02:00; priority 20; at most 12 items an hour")
    expect(_block(page, 4, "pl-holidays")).to_contain_text("≤12/h")
    shot(page, "signage-6-week-with-friday-late")
    page.locator("tr[data-item='chain/sch-friday-late']").get_by_role("button", name="Discard draft").click()
    expect(page.get_by_role("status")).to_have_text("The draft of schedule entry sch-friday-late is discarded.")
    expect(_block(page, 4, "pl-holidays")).to_have_count(0)

    actions = [(e.action, e.scope) for e in audit.entries(chain.db, limit=20) if e.action.startswith("signage.")]
    assert set(actions) == {("signage.ready", "playlist/chain/pl-afternoon"),
                            ("signage.ready", "layout/chain/lay-menu-side"),
                            ("signage.ready", "schedule/chain/sch-friday-late"),
                            ("signage.discard", "schedule/chain/sch-friday-late")}


def test_the_weeks_of_the_clock_changes_have_a_25_and_a_23_hour_sunday(page: Page, chain: Server):
    sign_in(page, chain, "ada")
    page.goto(f"{chain.url}/signage?where=store/s001&week=2026-10-21")
    expect(page.locator("#week-heading")).to_contain_text("19 Oct – 25 Oct 2026")
    expect(page.locator("text.day-note")).to_have_text("25 hours: 03:00 twice")
    expect(_block(page, 6, "pl-evening")).to_contain_text("18:00–22:00")  # wall-clock times, after the change too
    shot(page, "signage-7-fall-back-week")
    page.goto(f"{chain.url}/signage?where=region/south&week=2027-03-28")
    expect(page.locator("#week-heading")).to_contain_text("22 Mar – 28 Mar 2027")
    expect(page.locator("text.day-note")).to_have_text("23 hours: no 03:00")
    expect(page.locator("g.clock-change")).to_contain_text("clocks go forward")
    expect(_block(page, 6, "pl-weekend-morning")).to_contain_text("07:00–11:00")
    shot(page, "signage-8-spring-forward-week")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the week scrolls sideways, the page does not
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "signage-9-phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    _block(page, 6, "pl-weekend-morning").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Schedule entry sch-weekend-morning")
    expect(page.get_by_label("Dayparts")).to_have_value("07:00-12:00")


def test_a_forged_form_saves_nothing_a_device_would_refuse(chain: Server):
    """Past the browser: a marketer's session posting straight to the save, the way an attacker (or a stale tab)
    would; what the device would refuse is not saved as ready, and nothing outside the signage scopes is saved."""
    headers = _sign_in(chain, "mia")

    def save(**form: str) -> requests.Response:
        return requests.post(chain.url + "/signage/save", headers=headers, allow_redirects=False, timeout=10,
                             data={"new": "1", "save": "ready", "scope": "chain", **form})

    bad = save(kind="playlists", id="pl-forged", order="weighted", **{"item.0.id": "txt-wifi", "item.0.weight": "-1"})
    assert bad.status_code == 400 and "weight must not be negative" in bad.text
    missing = save(kind="schedules", id="sch-forged", playlist="pl-nowhere")
    assert missing.status_code == 400 and "no playlist &#39;pl-nowhere&#39;" in missing.text
    assert save(kind="offers", id="x").status_code == 404  # not a signage section
    assert save(kind="playlists", id="pl-x", scope="device/../../etc", **{"item.0.id": "txt-wifi"}).status_code == 404
    script = save(kind="layouts", id="<script>alert(1)</script>", **{"zone.0.id": "main", "zone.0.x": "0",
                                                                     "zone.0.y": "0", "zone.0.w": "2", "zone.0.h": "1"})
    assert script.status_code == 400 and "<script>alert(1)" not in script.text
    assert {(k[1], k[2]) for k in signage_drafts.drafts(chain.db)} & {
        ("playlists", "pl-forged"), ("schedules", "sch-forged"), ("playlists", "pl-x")} == set()
    assert requests.get(chain.url + "/signage?week=9999-12-31", headers=headers, timeout=10).status_code == 400


def test_marketer_makes_a_slide_in_three_languages_plays_it_and_removes_an_unused_playlist(page: Page, chain: Server):
    """The chain's languages are its product names': en, bg and ru. A store's old promotion playlist nothing plays."""
    (chain.headoffice / "chain" / "products.yaml").write_text(
        "- {sku: COF-001, name: {en: Espresso, bg: Еспресо, ru: Эспрессо}, category: coffee}\n", encoding="utf-8")
    (chain.headoffice / "media").mkdir(exist_ok=True)
    (chain.headoffice / "media" / "cake.png").write_bytes(picture("PNG"))
    (chain.headoffice / "media" / "notes.txt").write_text("not a picture")
    (chain.headoffice / "store" / "s001").mkdir(parents=True, exist_ok=True)
    (chain.headoffice / "store" / "s001" / "signage.yaml").write_text(
        "playlists:\n- {id: pl-old-promo, items: [txt-welcome]}\n")
    sign_in(page, chain, "mia")
    go(page, "Signage")
    page.get_by_role("navigation", name="Signage").get_by_role("link", name="Content").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signage: content")
    expect(page.locator("tr[data-item='chain/txt-welcome']")).to_contain_text("bg: Добре дошли")
    page.get_by_role("link", name="New content item").click()
    page.get_by_label("Content item id").fill("txt-winter-sale")
    page.get_by_label("English (en)").press_sequentially("Winter sale: 20% off hot drinks", delay=10)
    expect(page.locator(PROBLEMS)).to_contain_text(
        "content item txt-winter-sale: field 'text': no text in bg, ru (the chain's languages: bg, en, ru)")
    expect(page.locator(".missing-flag:visible")).to_have_count(2)  # bg and ru flagged beside the English
    shot(page, "signage-10-slide-missing-translations")
    page.get_by_label("Български (bg)").fill("Зимна разпродажба: -20% на топлите напитки")
    page.get_by_label("Русский (ru)").fill("Зимняя распродажа: -20% на горячие напитки")
    expect(page.locator(PROBLEMS)).to_have_text("A screen would accept this content item.")
    expect(page.locator(".missing-flag:visible")).to_have_count(0)
    shot(page, "signage-11-slide-in-three-languages")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Content item txt-winter-sale is ready to publish.")
    expect(page.locator("tr[data-item='chain/txt-winter-sale']")).to_contain_text("new, ready to publish")
    shot(page, "signage-12-content")

    page.get_by_role("link", name="New content item").click()
    page.get_by_label("Content item id").fill("img-cake")
    page.get_by_label("Shows").select_option("image")
    expect(page.get_by_label("File")).to_contain_text("cake.png")
    expect(page.get_by_label("File")).not_to_contain_text("notes.txt")  # a screen cannot show it: not offered
    page.get_by_label("File").select_option("cake.png")
    expect(page.locator(PROBLEMS)).to_have_text("A screen would accept this content item.")
    shot(page, "signage-12-picture-from-the-library")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Content item img-cake is ready to publish.")
    page.get_by_role("link", name="New content item").click()
    page.get_by_label("Content item id").fill("poster-espresso")
    page.get_by_label("Shows").select_option("product")
    page.get_by_label("Product", exact=True).fill("COF-404")
    page.get_by_label("English (en)").fill("Wake up")
    expect(page.locator(PROBLEMS)).to_contain_text("content item poster-espresso: field 'sku': no product 'COF-404'")
    page.get_by_label("Product", exact=True).fill("COF-001")
    expect(page.locator(PROBLEMS)).not_to_contain_text("COF-404")
    expect(page.locator(PROBLEMS)).to_contain_text("field 'text': no text in bg, ru")
    shot(page, "signage-12-poster")

    page.goto(f"{chain.url}/signage/list?kind=playlists")
    page.get_by_role("link", name="pl-evening").click()
    page.wait_for_load_state("load")  # the click returns as the page begins to arrive: count every row
    last = page.locator("tr[data-slot]").count() + 1
    page.get_by_role("button", name="Add an item").click()
    expect(page.locator("tr[data-slot]")).to_have_count(last)
    page.get_by_label(f"Item {last}", exact=True).select_option("txt-winter-sale")
    expect(page.locator(PROBLEMS)).to_have_text("A screen would accept this playlist.")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Playlist pl-evening is ready to publish.")
    signage = signage_drafts.draft_signage(chain.db, chain.headoffice)
    assert "txt-winter-sale" in next(p for p in signage["chain"]["playlists"] if p["id"] == "pl-evening")["items"]
    assert {"en", "bg", "ru"} <= next(i for i in signage["chain"]["content_items"]
                                      if i["id"] == "txt-winter-sale")["text"].keys()

    page.get_by_role("button", name="Remove playlist pl-lunch").click()  # sch-lunch plays it
    expect(page.get_by_role("alert").first).to_contain_text("Not removed: a device would refuse the signage")
    expect(page.locator(PROBLEMS)).to_contain_text("schedule sch-lunch: field 'playlist': no playlist 'pl-lunch'")
    shot(page, "signage-13-removal-refused")
    page.goto(f"{chain.url}/signage/list?kind=playlists")
    page.get_by_role("button", name="Remove playlist pl-old-promo").click()
    expect(page.get_by_role("status")).to_contain_text("Playlist pl-old-promo will be removed")
    expect(page.locator("tr[data-item='store/s001/pl-old-promo']")).to_contain_text("removed when published")
    shot(page, "signage-14-removal-waiting")
    signage = signage_drafts.draft_signage(chain.db, chain.headoffice)
    assert "playlists" not in signage.get("store/s001", {})
    page.get_by_role("link", name="pl-old-promo").click()
    expect(page.locator("#signage-form")).to_contain_text("mia asked to remove this playlist")
    page.go_back()
    assert signage_drafts.get_draft(chain.db, "chain", "playlists", "pl-lunch") is None
    page.locator("tr[data-item='store/s001/pl-old-promo']").get_by_role("button", name="Keep it").click()
    expect(page.locator("tr[data-item='store/s001/pl-old-promo']")).to_contain_text("as live")
    actions = {(e.action, e.scope) for e in audit.entries(chain.db, limit=20) if e.action.startswith("signage.")}
    assert {("signage.ready", "content item/chain/txt-winter-sale"),
            ("signage.remove", "playlist/store/s001/pl-old-promo"),
            ("signage.discard", "playlist/store/s001/pl-old-promo")} <= actions


def test_a_forged_removal_or_content_item_changes_nothing(chain: Server):
    """Past the browser: removing what is not live, what a schedule plays or outside the signage sections; a content
    item naming a file outside the media library."""
    headers = _sign_in(chain, "mia")

    def post(path: str, **form: str) -> requests.Response:
        return requests.post(chain.url + path, headers=headers, allow_redirects=False, timeout=10, data=form)

    before = signage_drafts.drafts(chain.db)
    assert post("/signage/remove", kind="playlists", scope="chain", id="pl-nowhere").status_code == 404
    assert post("/signage/remove", kind="offers", scope="chain", id="OFF-1").status_code == 404
    used = post("/signage/remove", kind="playlists", scope="chain", id="pl-morning")
    assert used.status_code == 400 and "no playlist &#39;pl-morning&#39;" in used.text
    escape = post("/signage/save", kind="content_items", new="1", save="ready", scope="chain", id="img-x",
                  shows="image", media="../../../etc/passwd")
    assert escape.status_code == 400
    assert "no media file &#39;../../../etc/passwd&#39; in the media library" in escape.text
    assert signage_drafts.drafts(chain.db) == before
