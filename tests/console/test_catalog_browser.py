"""The Products & prices page in a real browser (Debian's chromium): a marketer changes the chain's price of a product,
sees a typo ('1,50') and a negative price refused as they type in the device's words, fixes it and saves it ready,
then sees the change in Publishing's diff; gives a region its own price and takes it back to the chain's; adds a
product whose missing translation is refused until written; reorders, trims and extends the breakfast menu, a
daypart typo refused as typed; makes the brand's text too light, sees the contrast refused and the sample change as
they type, fixes it and sees the brand in Publishing's diff. Every change is in the audit log. Screenshots per step in
test-output/console/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from console_support import Server
from playwright.sync_api import Page, expect
from test_browser import go, shot, sign_in, token

from central import audit, pipeline, signage_drafts
from central.headoffice import HeadOffice
from central.keys import Keyring
from central.mqtt import BrokerLink

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "headoffice.example"
PROBLEMS = "#signage-problems"


@pytest.fixture(scope="module")
def catalogue(server: Server) -> Server:
    """The example chain's products, prices (the chain's and region south's), menus and brand as head office's files,
    published by head office's command line path: they are what is live before the marketer starts."""
    for name in ("chain/products.csv", "chain/prices.csv", "region/south/prices.csv", "chain/menus.yaml",
                 "chain/brand.yaml", "media/logo.png"):
        (server.headoffice / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLE / name, server.headoffice / name)
    link = BrokerLink(server.config.broker, "central-test-catalogue").start()
    try:
        office = HeadOffice(server.config, server.db, Keyring(server.config.central.keys_dir), link,
                            clock=server.clock)
        pipeline.submit(office, office.plan_content(), author="ops")
    finally:
        link.stop()
    return server


def test_marketer_changes_a_price_refused_as_typed_then_sees_it_in_publishing(page: Page, catalogue: Server):
    sign_in(page, catalogue, "mia")
    go(page, "Products & prices")
    expect(page.get_by_role("heading", level=1)).to_have_text("Products & prices")
    row = page.locator("tr[data-product='COF-002']")
    expect(row).to_contain_text("en: Americano")
    expect(row.locator("li[data-price='chain']")).to_contain_text("Chain: 2.00 EUR")
    expect(page.locator("tr[data-product='COF-001'] li[data-price='region/south']")).to_contain_text(
        "Region south: 1.50 EUR")
    shot(page, "catalog-1-list")

    row.get_by_role("link", name="Chain: 2.00 EUR").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Price of COF-002 in the whole chain")
    price = page.get_by_label("Price in cents")
    price.fill("")
    price.press_sequentially("1,50", delay=30)
    expect(page.locator(PROBLEMS)).to_contain_text("price COF-002: field 'price_cents': '1,50' is not a number")
    shot(page, "catalog-2-typo-refused-as-typed")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("alert").first).to_contain_text("Not saved as ready: a device would refuse this price")
    assert signage_drafts.get_draft(catalogue.db, "chain", "prices", "COF-002") is None

    price.fill("-150")
    expect(page.locator(PROBLEMS)).to_contain_text("price COF-002: field 'price_cents': -150 is below 0")
    price.fill("150")
    expect(page.locator(PROBLEMS)).to_have_text("A screen would accept this price.")
    shot(page, "catalog-3-price-fixed-as-typed")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Price COF-002 is ready to publish.")
    expect(page.locator("tr[data-product='COF-002'] li[data-price='chain']")).to_contain_text(
        "Chain: 1.50 EUR change ready to publish")
    shot(page, "catalog-4-list-ready")

    go(page, "Publishing")
    chain = page.locator("#pending tr[data-scope='chain']")
    expect(chain).to_contain_text("prices: changed COF-002")
    expect(chain).to_contain_text("COF-002: price (cents) 200 → 150")
    shot(page, "catalog-5-publishing-diff")
    entries = audit.entries(catalogue.db, limit=50, actor="mia")
    assert ("catalog.ready", "price/chain/COF-002") in {(e.action, e.scope) for e in entries}


def test_a_region_gets_its_own_price_and_goes_back_to_the_chains(page: Page, catalogue: Server):
    sign_in(page, catalogue, "mia")
    go(page, "Products & prices")
    row = page.locator("tr[data-product='COF-003']")
    row.get_by_label("Where COF-003 gets its own price").select_option("region/north")
    row.get_by_role("button", name="Own price there").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Price of COF-003")
    expect(page.get_by_label("Where")).to_have_value("region/north")
    page.get_by_label("Price in cents").fill("260")
    expect(page.locator(PROBLEMS)).to_have_text("A screen would accept this price.")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.locator("tr[data-product='COF-003'] li[data-price='region/north']")).to_contain_text(
        "Region north: 2.60 EUR new, ready to publish")

    south = page.locator("tr[data-product='COF-001'] li[data-price='region/south']")
    south.get_by_role("button", name="Back to the chain's").click()
    expect(page.get_by_role("status")).to_contain_text("Price COF-001 will be removed when the next publication")
    expect(south).to_contain_text("removed when published")
    shot(page, "catalog-6-region-prices")
    prices = signage_drafts.effective_items(signage_drafts.live_items(catalogue.db, catalogue.headoffice),
                                            signage_drafts.drafts(catalogue.db))
    assert prices["region/north"]["prices"] == [{"sku": "COF-003", "price_cents": 260, "currency": "EUR"}]
    assert "COF-001" not in {p["sku"] for p in prices.get("region/south", {}).get("prices", [])}


def test_a_new_product_needs_every_language(page: Page, catalogue: Server):
    sign_in(page, catalogue, "mia")
    go(page, "Products & prices")
    page.get_by_role("link", name="New product").click()
    page.get_by_label("Product code (sku)").fill("TEA-001")
    page.get_by_label("Category (e.g. coffee, pastry)").fill("tea")
    expect(page.locator(PROBLEMS)).to_contain_text(
        "product TEA-001: there is already one in chain; give the new one its own id")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("alert").first).to_contain_text("Not saved: there is already a product TEA-001 in chain")
    nav = page.get_by_role("navigation", name="Main")  # the form came back from the shared handler: still this tab
    expect(nav.get_by_role("link", name="Products & prices")).to_have_attribute("aria-current", "page")
    page.get_by_label("Product code (sku)").fill("TEA-010")
    page.locator("#name-en").fill("Mint tea")
    expect(page.locator(PROBLEMS)).to_contain_text("product TEA-010: field 'name': no text in bg, ru")
    shot(page, "catalog-7-new-product-untranslated")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("alert").first).to_contain_text("Not saved as ready")
    page.locator("#name-bg").fill("Ментов чай")
    page.locator("#name-ru").fill("Мятный чай")
    expect(page.locator(PROBLEMS)).to_have_text("A screen would accept this product.")
    shot(page, "catalog-8-new-product-translated")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Product TEA-010 is ready to publish.")
    expect(page.locator("tr[data-product='TEA-010']")).to_contain_text("new, ready to publish")
    shot(page, "catalog-9-list-new-product")
    draft = signage_drafts.get_draft(catalogue.db, "chain", "products", "TEA-010")
    assert draft.ready and draft.body["name"] == {"en": "Mint tea", "bg": "Ментов чай", "ru": "Мятный чай"}


def test_only_marketers_and_admins_may_change_prices(page: Page, catalogue: Server):
    sign_in(page, catalogue, "tom")
    csrf = token(page)
    r = page.request.post(catalogue.url + "/signage/save", form={
        "_csrf_token": csrf, "kind": "prices", "new": "0", "scope": "chain", "sku": "COF-001",
        "price_cents": "1", "currency": "EUR", "save": "ready"})
    assert r.status == 403
    assert signage_drafts.get_draft(catalogue.db, "chain", "prices", "COF-001") is None


def test_marketer_reorders_trims_and_extends_the_breakfast_menu(page: Page, catalogue: Server):
    sign_in(page, catalogue, "mia")
    go(page, "Products & prices")
    page.get_by_role("navigation", name="Catalogue").get_by_role("link", name="Menus").click()
    expect(page.locator("tr[data-item='chain/menu-breakfast']")).to_contain_text("06:00–11:00")
    shot(page, "catalog-10-menus")
    page.get_by_role("link", name="menu-breakfast").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Menu menu-breakfast")
    expect(page.get_by_label("Product 2", exact=True)).to_have_value("COF-003")
    page.get_by_role("button", name="Move product 2 up").click()
    expect(page.get_by_label("Product 1", exact=True)).to_have_value("COF-003")
    page.get_by_role("button", name="Remove product 13").click()  # DES-005, the last
    expect(page.locator("tr[data-slot]")).to_have_count(12)
    page.get_by_role("button", name="Add a product").click()
    page.get_by_label("Product 13", exact=True).select_option("PAS-004")
    when = page.get_by_label("When it is on")
    when.fill("")
    when.press_sequentially("06:00-25:00", delay=20)
    expect(page.locator(PROBLEMS)).to_contain_text("menu menu-breakfast: field 'dayparts[0]':")
    shot(page, "catalog-11-menu-daypart-refused-as-typed")
    when.fill("06:00-11:30")
    expect(page.locator(PROBLEMS)).to_have_text("A screen would accept this menu.")
    shot(page, "catalog-12-menu-fixed")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("status")).to_have_text("Menu menu-breakfast is ready to publish.")
    expect(page.locator("tr[data-item='chain/menu-breakfast']")).to_contain_text("change ready to publish")
    body = signage_drafts.get_draft(catalogue.db, "chain", "menus", "menu-breakfast").body
    assert body["items"][:3] == ["COF-003", "COF-001", "COF-004"]
    assert body["items"][-2:] == ["SAN-001", "PAS-004"] and "DES-005" not in body["items"]
    assert body["dayparts"] == [{"from": "06:00", "to": "11:30"}]
    assert body["weather"]["rain"] == ["COF-007", "PAS-006"]  # the hints the form did not touch are kept


def test_marketer_changes_the_brand_and_sees_the_contrast_check_as_they_type(page: Page, catalogue: Server):
    sign_in(page, catalogue, "mia")
    go(page, "Brand")
    expect(page.get_by_role("heading", level=1)).to_have_text("Brand")
    sample = page.locator("#brand-sample svg rect").first  # the screens' background
    expect(sample).to_have_attribute("fill", "#fbf6ec")
    expect(page.get_by_label("Logo")).to_have_value("logo.png")
    expect(page.get_by_label("Tagline in Български (bg)")).to_have_value("Прясно всяка сутрин")
    shot(page, "brand-1-live")
    text = page.get_by_label("Text colour")
    text.fill("#b0b0b0")
    expect(page.locator(PROBLEMS)).to_contain_text(
        "brand demo: field 'text': #b0b0b0 as text on the background #fbf6ec has a contrast of")
    expect(page.locator("#brand-sample text").nth(1)).to_have_attribute("fill", "#b0b0b0")
    shot(page, "brand-2-contrast-refused-as-typed")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.get_by_role("alert").first).to_contain_text("Not saved as ready: a device would refuse this brand")
    assert signage_drafts.get_draft(catalogue.db, "chain", "brand", "demo") is None

    page.get_by_label("Text colour").fill("#101816")
    page.get_by_label("Background colour").fill("#fff8ee")
    expect(page.locator(PROBLEMS)).to_have_text("A screen would accept this brand.")
    expect(sample).to_have_attribute("fill", "#fff8ee")
    shot(page, "brand-3-fixed")
    page.get_by_role("button", name="Save as ready to publish").click()
    expect(page.locator(".notice")).to_have_text("Brand demo is ready to publish.")
    go(page, "Publishing")
    expect(page.locator("#pending tr[data-scope='chain']")).to_contain_text("brand: changed demo")
    shot(page, "brand-4-publishing-diff")
    entries = audit.entries(catalogue.db, limit=50, actor="mia")
    assert ("brand.ready", "brand/chain/demo") in {(e.action, e.scope) for e in entries}


def test_a_check_as_you_type_leaves_the_notice_of_a_save_to_the_page_that_follows(page: Page, catalogue: Server):
    """A form's check that reaches the server after its save (the blur of the last field typed) once took the save's
    notice, and the list showed none."""
    sign_in(page, catalogue, "mia")
    page.goto(catalogue.url + "/catalog/price?sku=COF-004&scope=chain")
    form = {"_csrf_token": token(page), "kind": "prices", "new": "0", "scope": "chain", "sku": "COF-004",
            "price_cents": "310", "currency": "EUR"}
    saved = page.request.post(catalogue.url + "/signage/save", form={**form, "save": "ready"}, max_redirects=0)
    assert saved.status == 303
    checked = page.request.post(catalogue.url + "/signage/check", form=form, headers={"HX-Request": "true"})
    assert checked.ok
    page.goto(catalogue.url + "/catalog")
    expect(page.get_by_role("status")).to_have_text("Price COF-004 is ready to publish.")


def test_marketer_finds_a_product_by_category_or_by_a_word_of_its_name(page: Page, catalogue: Server):
    """A chain's catalogue is long: the list narrows to a category, or to the products whose code or a name in any
    language holds the words typed."""
    sign_in(page, catalogue, "mia")
    go(page, "Products & prices")
    every = page.locator("tr[data-product]").count()
    page.get_by_label("Category").select_option("tea")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/catalog?category=tea*", wait_until="load")
    shown = page.locator("tr[data-product]")
    assert 0 < shown.count() < every
    assert all(cell.inner_text() == "tea" for cell in page.locator("tr[data-product] td[data-label='Category']").all())
    expect(page.locator("form.filters")).to_contain_text(f"of {every} products")
    page.get_by_label("Category").select_option("")
    page.get_by_label("Code or name").fill("латте")  # a Bulgarian and Russian word: every latte, whatever its code
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/catalog?category=&q=*", wait_until="load")
    expect(page.locator("tr[data-product='COF-004']")).to_be_visible()
    assert all("латте" in row.inner_text().casefold() for row in page.locator("tr[data-product]").all())
    shot(page, "catalog-13-search")
    page.get_by_label("Code or name").fill("no such product")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No product matches")).to_be_visible()
