"""The Preview page in a real browser (Debian's chromium) over the demo chain's head-office files: a marketer previews
store s001 on a rainy Monday at 08:30 and sees the signage screen and the kiosk drawn by the renderer, with the
schedule's day; pauses the rain offer and previews with her drafts (it is gone) and live (it is there); a request
that cannot be previewed is a 400 in words; a store manager previews only their own stores.
Screenshots preview-*.png in test-output/console/."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import psutil
import pytest
from console_support import Server, decoded_width
from playwright.sync_api import Page, expect
from test_browser import go, shot, sign_in, token

HEADOFFICE = Path(__file__).resolve().parents[2] / "config" / "headoffice.example"
RAIN = "(OFF-RAINY-DAY)"  # the page names each offer the kiosk shows by its title (an arm's, if any) and its id
GOOD = {"where": "s001", "date": "2026-11-23", "time": "08:30", "weather": "rain", "temperature": "9",
        "content": "live", "lang": "en"}


@pytest.fixture(scope="module")
def chain(server: Server) -> Server:
    """The demo chain's files (products, prices, offers, menus, signage, the brand and its logo) beside the test's
    stores.csv."""
    for folder in ("chain", "region", "store", "media"):
        shutil.copytree(HEADOFFICE / folder, server.headoffice / folder, dirs_exist_ok=True)
    return server


def preview(page: Page, *, where: str = "s001", weather: str = "Rain", content: str | None = None) -> None:
    page.get_by_label("Where").select_option(where)
    page.get_by_label("Date (store time)").fill("2026-11-23")
    page.get_by_label("Time (store time)").fill("08:30")
    page.get_by_label("Weather").select_option(label=weather)
    page.get_by_label("Temperature (°C)").fill("9")
    if content:
        page.get_by_label("Content").select_option(label=content)
    page.get_by_role("button", name="Show preview").click()


def drawn(page: Page, alt: str) -> None:
    """The image is in the page and the browser decoded it (a real PNG, not a broken image)."""
    image = page.get_by_role("img", name=alt)
    expect(image).to_be_visible(timeout=60_000)  # the first preview starts the renderer
    assert decoded_width(image) > 1000


def test_a_marketer_previews_the_kiosk_on_a_rainy_monday_morning(page: Page, chain: Server):
    sign_in(page, chain, "mia")
    go(page, "Preview")
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview")
    preview(page)
    result = page.locator("#preview-result")
    expect(result.get_by_role("heading", level=2)).to_contain_text("Monday 23 November 2026 08:30 EET (Europe/Sofia)",
                                                                   timeout=60_000)
    drawn(page, "The kiosk's offers and menu at Sofia · Vitosha Blvd")
    drawn(page, "The signage screen at Sofia · Vitosha Blvd")
    expect(result).to_contain_text(RAIN)
    expect(result).to_contain_text("Live: the content as head office's files hold it now.")
    expect(result).to_contain_text("Playing: pl-morning. Why: sch-weekday-morning: priority 10, Mon Tue Wed Thu Fri,"
                                   " 06:00-11:00.")
    now = result.locator("table.timeline tr.now")
    expect(now).to_contain_text("06:00")
    expect(now).to_contain_text("11:00")
    expect(page.locator("svg.daybar rect")).to_have_count(result.locator("table.timeline tbody tr").count())
    shot(page, "preview-1-rainy-monday-0830")

    # She pauses the rain offer (a draft) and previews with her drafts: it is not offered; live, it still is.
    go(page, "Offers")
    page.locator("tr[data-offer='chain/OFF-RAINY-DAY']").get_by_role("button", name="Pause").click()
    go(page, "Preview")
    preview(page, content="With your drafts (offers ready to publish)")
    expect(result).to_contain_text("With your drafts", timeout=30_000)
    drawn(page, "The kiosk's offers and menu at Sofia · Vitosha Blvd")
    expect(result).not_to_contain_text(RAIN)
    shot(page, "preview-2-with-drafts")
    preview(page, content="Live (what the stores have)")
    expect(result).to_contain_text("Live: the content", timeout=30_000)
    expect(result).to_contain_text(RAIN)


def worker() -> psutil.Process:
    """The console's preview worker (the console runs in this test's process)."""
    found = [p for p in psutil.Process().children(recursive=True) if "console.preview_worker" in p.cmdline()]
    assert len(found) == 1
    return found[0]


def test_a_worker_that_dies_mid_preview_is_said_and_replaced(page: Page, chain: Server):
    sign_in(page, chain, "mia")
    go(page, "Preview")
    preview(page)
    drawn(page, "The signage screen at Sofia · Vitosha Blvd")
    dying = worker()
    os.kill(dying.pid, signal.SIGSTOP)  # it takes the next job and never answers
    preview(page, weather="Snow")
    time.sleep(1)  # the job is with it
    os.kill(dying.pid, signal.SIGKILL)
    expect(page.get_by_role("alert")).to_have_text("Preview unavailable, try again.")
    expect(page.get_by_role("img")).to_have_count(0)
    shot(page, "preview-5-unavailable")
    preview(page, weather="Snow")
    drawn(page, "The kiosk's offers and menu at Sofia · Vitosha Blvd")
    assert worker().pid != dying.pid


def test_a_request_that_cannot_be_previewed_is_a_400_in_words(page: Page, chain: Server):
    sign_in(page, chain, "mia")
    go(page, "Preview")
    csrf = token(page)
    cases = [({"weather": "drizzle"}, "Not previewed: Weather: one of clear, cloudy, rain, snow, storm."),
             ({"time": "25:99"}, "Not previewed: Date and time: write them like 2026-11-23 and 08:30."),
             ({"date": "23/11/2026"}, "Not previewed: Date and time"),
             ({"temperature": "hot"}, "Not previewed: Temperature: a number of degrees Celsius"),
             ({"temperature": "nan"}, "Not previewed: Temperature: from -40 to 50 °C."),
             ({"where": "s999"}, "Not previewed: Where: there is no store 's999'."),
             ({"where": "s001/kiosk-2"}, "Not previewed: Where: store s001 has no device 'kiosk-2'."),
             ({"lang": "de"}, "Not previewed: Language: one of en, bg, ru.")]
    for change, message in cases:
        r = page.request.post(chain.url + "/preview/show", form={**GOOD, **change, "_csrf_token": csrf},
                              headers={"HX-Request": "true"})
        assert r.status == 400, change
        assert message in r.text().replace("&#39;", "'"), (change, r.text())
    page.get_by_label("Temperature (°C)").evaluate("e => { e.type = 'text'; }")  # what a browser without checks sends
    page.get_by_label("Temperature (°C)").fill("hot")
    page.get_by_role("button", name="Show preview").click()
    expect(page.get_by_role("alert")).to_have_text("Not previewed: Temperature: a number of degrees Celsius, like 9 or"
                                                   " -2.5.")
    shot(page, "preview-3-refused")


def test_a_store_manager_previews_their_own_stores_only(page: Page, chain: Server):
    sign_in(page, chain, "sam")
    go(page, "Preview")
    options = page.get_by_label("Where").locator("option").all_text_contents()
    assert options and all(o.startswith("s001: ") for o in options)
    expect(page.get_by_label("Content")).to_have_count(0)  # drafts are the marketers'
    csrf = token(page)
    r = page.request.post(chain.url + "/preview/show", form={**GOOD, "where": "s002", "_csrf_token": csrf})
    assert r.status == 403 and "Store s002 is not one of yours." in r.text()
    r = page.request.post(chain.url + "/preview/show", form={**GOOD, "content": "drafts", "_csrf_token": csrf})
    assert r.status == 400 and "Content: live, or with the offer drafts" in r.text()
    preview(page, where="s001/signage-1", weather="Clear")
    drawn(page, "The signage screen at Sofia · Vitosha Blvd")
    expect(page.locator("#preview-result")).not_to_contain_text(RAIN)
    shot(page, "preview-4-store-manager")


def test_the_preview_at_a_phones_width(page: Page, chain: Server):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, chain, "mia")
    page.goto(chain.url + "/preview")
    preview(page)
    drawn(page, "The kiosk's offers and menu at Sofia · Vitosha Blvd")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing wider than the phone
    shot(page, "preview-6-phone")
