"""The staff tablet, driven by simulated touches on the real widget tree under Xvfb.

Shares the process's one Kivy window with the kiosk's UI tests: at module teardown the tablet
detaches (root removed, timers cancelled, its kv files unloaded), so either may run first.
"""

from __future__ import annotations

import gc
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from layout_audit import record, screen_problems
from PIL import Image
from support import reachable
from ui_driver import advance, resize_window, shot, stop_previous_app, tap, until

from decisions.engine import Engine
from decisions.identity import qr
from demo.store import demo_cache
from kiosk.i18n import Translator
from kiosk.runtime import store_name
from kiosk.session import Store
from kiosk.staff import StaffService
from sync.cache.outbox import Outbox
from sync.cache.read import CacheReader
from sync.clock import FixedClock
from sync.protocol import signing

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # Monday 08:30 in Sofia
KEY = signing.generate_private_key()
SIZES = [(1920, 1080), (1280, 800), (1080, 1920)]
CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from kivy.app import App
    from kivy.core.window import Window  # after conftest set DISPLAY

    from kiosk.tablet import TabletApp

    Window.size = (1280, 720)
    stop_previous_app()
    cache = demo_cache(tmp_path_factory.mktemp("cache") / "cache.db", clock=FixedClock(NOW))
    clock = FixedClock(NOW)
    engine = Engine.load(CacheReader(cache), now=clock.now())
    service = StaffService(cache, Outbox(cache, boot_id="b", device="tablet-1", store="s001", clock=clock),
                           Store("demo", "south", "s001", "tablet-1", "Europe/Sofia", "BG"),
                           phone_key=b"demo-chain-phone-key-2026", qr_keys=signing.TrustedKeys([KEY.public_key()]),
                           engine=lambda: engine, clock=clock)
    tablet = TabletApp(service, Translator("en"), store_name=store_name(cache, "demo", "s001"), lock_after_s=120)
    tablet._run_prepare()
    advance(5)
    yield tablet
    tablet.lock()
    tablet.detach()  # one window per process: leave it (and the kv Builder) as found for the next app
    assert tablet.root not in Window.children and App.get_running_app() is None
    cache.close()


@pytest.fixture(autouse=True)
def fresh(app):
    app.lock()
    app.set_language("en")
    advance(3)
    yield


def screen(app, name: str):
    return app.root.get_screen(name)


def keys(grid) -> dict:
    return {b.text: b for b in grid.children}


def log_in(app, staff_id: str, pin: str) -> None:
    login = screen(app, "login")
    choice = next(c for c in login.ids.staff_list.children if c.staff_id == staff_id)
    tap(choice)
    pad = keys(login.ids.pin_keypad)
    for digit in pin:
        tap(pad[digit])
    tap(login.ids.pin_ok)


def type_phone(app, digits: str) -> None:
    pad = keys(screen(app, "home").ids.phone_keypad)
    for digit in digits:
        tap(pad[digit])


def test_login_with_the_right_pin_reaches_home(app, shots):
    login = screen(app, "login")
    assert app.root.current == "login"
    names = [c.title for c in reversed(login.ids.staff_list.children)]
    assert names == ["Ivana Petrova", "Georgi Dimitrov", "Olga Ivanova"]
    tap(login.ids.staff_list.children[-1])
    pad = keys(login.ids.pin_keypad)
    for digit in "2468":
        tap(pad[digit])
    assert login.ids.pin_dots.text == "• • • •"
    shot(shots, "tablet-01-login")
    tap(login.ids.pin_ok)
    until(lambda: app.root.current == "home")
    home = screen(app, "home")
    assert home.ids.staff_name.text == "Ivana Petrova"
    assert len(home.ids.products.children) > 20  # what is in stock, to build a basket with
    assert home.ids.kpi_contacts.value == "0"
    shot(shots, "tablet-02-home")


def test_the_header_shows_the_stores_name_from_its_store_bundle_whole(app, shots):
    login = screen(app, "login")
    headers = [w for w in login.walk() if getattr(w, "text", None) == "Sofia Center · Vitosha Blvd"]
    assert headers, "the store's display name from the demo's store bundle is not on the login screen"
    app.store_name = "Veliko Tarnovo · Samovodska Charshia 120"  # 40 characters: the longest stores.csv allows
    advance(3)
    (header,) = [w for w in login.walk() if getattr(w, "text", None) == app.store_name]
    header.texture_update()
    assert header.texture_size[0] <= header.width + 1 and header.texture_size[1] <= header.height + 1, "clipped"
    shot(shots, "tablet-00-long-store-name")
    app.store_name = store_name(app.service.cache, "demo", "s001")
    advance(2)


def test_five_wrong_pins_lock_with_the_message(app, shots):
    login = screen(app, "login")
    messages = []
    for _ in range(5):
        log_in(app, "st-03", "0000")
        messages.append(login.ids.login_message.text)
    assert messages[:4] == [f"Wrong PIN. {n} tries left." for n in (4, 3, 2, 1)]
    assert messages[4] == "Locked. Try again in 5 min."
    log_in(app, "st-03", "8642")  # the right PIN, while locked
    assert app.root.current == "login" and login.ids.login_message.text == "Locked. Try again in 5 min."
    app.set_language("bg")
    advance(3)
    assert login.ids.login_message.text == "Заключено. Опитайте отново след 5 мин."
    shot(shots, "tablet-03-locked-bg")


def test_lookup_without_the_customers_agreement_is_refused(app):
    log_in(app, "st-01", "2468")
    home = screen(app, "home")
    type_phone(app, "0899100101")
    assert home.ids.phone.text == "089 910 0101"
    tap(home.ids.look_up)
    assert home.ids.lookup_message.text == "Ask the customer for permission before you look them up."
    assert not app.has_customer and home.ids.customer_name.text.strip() == ""
    assert app.service.reader.consent_history("c-0001") == []
    tap(home.ids.agree)  # the customer says yes: no need to type the number again
    tap(home.ids.look_up)
    assert home.ids.customer_name.text == "Мария" and home.ids.phone.text.strip() == ""


def test_lookup_with_agreement_shows_the_profile_and_recommendations(app, shots):
    log_in(app, "st-01", "2468")
    home = screen(app, "home")
    tap(home.ids.agree)
    assert app.agreed
    type_phone(app, "0899100101")
    tap(home.ids.look_up)
    assert home.ids.customer_name.text == "Мария"
    assert "coffee lover" in home.ids.customer_facts.text and "champions" in home.ids.customer_facts.text
    assert len(home.ids.purchases.text.splitlines()) == 5
    rows = list(reversed(home.ids.recs.children))
    assert len(rows) == 5 and all("bought" in row.why for row in rows)
    assert home.ids.phone.text.strip() == ""  # the number is not kept on screen
    assert app.service.reader.consent_history("c-0001")[-1]["channel"] == "tablet"
    tap(rows[0].ids.add)  # a recommendation into the basket
    assert home.ids.basket.text == rows[0].name
    assert 1 <= len(home.ids.add_ons.children) <= 3
    shot(shots, "tablet-04-customer")


def test_lookup_by_a_scanned_app_code(app):
    log_in(app, "st-01", "2468")
    home = screen(app, "home")
    tap(home.ids.agree)
    home.ids.qr_text.text = qr.issue_token(KEY, "c-0004", now=app.service.clock.time(), ttl_s=600)  # a scanner typing
    tap(home.ids.look_up)
    assert home.ids.customer_name.text == "Елена" and home.ids.qr_text.text == ""


def test_an_outcome_updates_todays_kpis(app, shots):
    log_in(app, "st-02", "1357")  # nobody else records outcomes for Georgi in this module
    home = screen(app, "home")
    tap(home.ids.agree)
    type_phone(app, "0899100102")
    tap(home.ids.look_up)
    assert home.ids.customer_name.text == "Георги"
    coffee = next(b for b in home.ids.products.children if b.sku == "COF-003")
    tap(coffee)
    add_on = list(reversed(home.ids.add_ons.children))[0]
    tap(add_on.ids.add)
    assert home.ids.basket.text.startswith("Cappuccino, ")
    tap(home.ids.add_on_sold)
    assert (home.ids.kpi_contacts.value, home.ids.kpi_rate.value, home.ids.kpi_add_ons.value) == ("1", "100%", "1")
    assert home.ids.outcome_message.text == "Outcome saved."
    tap(home.ids.next_customer)
    assert not app.has_customer and home.ids.basket.text.strip() == "" and home.ids.agree.state == "normal"
    assert home.ids.outcome_message.text.strip() == ""

    tap(home.ids.contacted)  # the next customer only talked
    assert (home.ids.kpi_contacts.value, home.ids.kpi_rate.value, home.ids.kpi_add_ons.value) == ("2", "50%", "1")
    shot(shots, "tablet-05-today")
    events = [row.wire for row in app.service.outbox.window(after_seq=0, limit=1000)]
    assert sum(b'"type":"assisted_sale"' in e for e in events) == 2


def test_inactivity_locks_and_forgets_the_customer(app):
    log_in(app, "st-01", "2468")
    home = screen(app, "home")
    tap(home.ids.agree)
    type_phone(app, "0899100101")
    tap(home.ids.look_up)
    assert home.ids.customer_name.text == "Мария"
    app.last_touch = time.monotonic() - (app.lock_after_s - 3)  # 3 s left
    until(lambda: app.countdown_text.startswith("Locking in"))
    app.last_touch = time.monotonic() - app.lock_after_s - 1
    until(lambda: app.root.current == "login")
    assert app.service.staff is None and app.service.customer is None
    gc.collect()
    assert not reachable(app, "Мария") and not reachable(app, "c-0001")


def test_language_switch_on_home(app, shots):
    log_in(app, "st-01", "2468")
    home = screen(app, "home")
    tap(home.ids.agree)
    type_phone(app, "0899100104")
    tap(home.ids.look_up)
    app.set_language("bg")
    advance(3)
    assert home.ids.look_up.text == "Търси" and home.ids.contacted.text == "Осъществен контакт"
    assert any("\u0400" <= ch <= "\u04ff" for ch in home.ids.customer_facts.text)
    assert any(b.text == "Капучино" for b in home.ids.products.children)
    shot(shots, "tablet-06-home-bg")



# --- issue 16: what a clerk saw on the tablet ------------------------------------------------------------------------


def test_the_pin_keypad_is_off_until_a_name_is_picked(app):
    login = screen(app, "login")
    pad = keys(login.ids.pin_keypad)
    assert login.ids.pin_heading.text == "Tap your name first."
    for digit in "2468":
        tap(pad[digit])
    assert app.pin == "" and login.ids.pin_dots.text.strip() == ""
    assert all(key.disabled for key in login.ids.pin_keypad.children)
    tap(login.ids.staff_list.children[-1])
    assert login.ids.pin_heading.text == "Enter your PIN"
    assert not any(key.disabled for key in login.ids.pin_keypad.children)
    for digit in "2468":
        tap(pad[digit])
    tap(login.ids.pin_ok)
    until(lambda: app.root.current == "home")


def test_outcomes_tapped_in_turn_for_one_customer_are_one_contact_who_bought(app, shots):
    log_in(app, "st-01", "2468")
    home = screen(app, "home")
    before = app.service.today()
    tap(home.ids.agree)
    type_phone(app, "0899100101")
    tap(home.ids.look_up)
    tap(next(b for b in home.ids.products.children if b.sku == "COF-003"))
    tap(home.ids.contacted)
    tap(home.ids.purchased)
    tap(list(reversed(home.ids.add_ons.children))[0].ids.add)
    tap(home.ids.add_on_sold)
    after = app.service.today()
    assert (after.contacts - before.contacts, after.conversions - before.conversions,
            after.add_ons - before.add_ons) == (1, 1, 1)
    assert home.ids.kpi_contacts.value == str(after.contacts)
    assert app.outcome_kind == "add_on" and home.ids.customer_name.text == "Мария"  # still the one being served
    assert home.ids.add_on_sold.background_color != home.ids.contacted.background_color  # the chosen one is marked
    shot(shots, "tablet-07-outcome-chosen")
    tap(home.ids.next_customer)
    assert app.outcome_kind == "" and not app.has_customer
    tap(home.ids.contacted)
    assert app.service.today().contacts - before.contacts == 2
    assert app.service.today().conversions - before.conversions == 1


def test_a_customer_without_recommendations_gets_a_message_not_an_empty_heading(app, tmp_path, shots):
    bare = demo_cache(tmp_path / "bare.db", clock=FixedClock(NOW))
    with bare.transaction() as conn:  # a new store: no history, so nothing popular and no co-purchases
        conn.execute("DELETE FROM basket_lines")
        conn.execute("DELETE FROM co_purchase")
    engine, usual = Engine.load(CacheReader(bare), now=NOW), app.service.engine
    app.service.engine = lambda: engine
    try:
        log_in(app, "st-01", "2468")
        home = screen(app, "home")
        tap(home.ids.agree)
        type_phone(app, "0899100101")
        tap(home.ids.look_up)
        assert home.ids.customer_name.text == "Мария" and not home.ids.recs.children
        assert home.ids.no_recs.text.startswith("No recommendations for this customer yet.")
        assert home.ids.no_recs.height > 0
        app.set_language("bg")
        advance(3)
        assert CYRILLIC.search(home.ids.no_recs.text)
        shot(shots, "tablet-08-no-recommendations-bg")
    finally:
        app.service.engine = usual
        bare.close()


def test_staff_roles_are_translated(app):
    login = screen(app, "login")
    for lang, manager, barista in (("bg", "Управител", "Бариста"), ("ru", "Управляющий", "Бариста")):
        app.set_language(lang)
        advance(3)
        texts = [c.text for c in reversed(login.ids.staff_list.children)]
        assert manager in texts[0] and barista in texts[1], texts
        assert not any(re.search(r"manager|barista", t, re.I) for t in texts), texts


# --- the layout audit: every tablet screen, size, text size and language -------------------------------------------

def audit(app, shots: Path, screen: str, view: str, tag: str, lang: str) -> list[str]:
    """The layout audit of ``screen`` as it is now, shown as ``view`` on the contact sheet."""
    picture = shot(shots, f"tablet-{view}-{tag}")
    found = screen_problems(app.root.get_screen(screen), Image.open(picture).convert("RGB"), lang, [app.store_name])
    record(f"tablet {view}", tag, picture, found)
    return found


@pytest.mark.parametrize("lang", ["en", "bg", "ru"])
@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_layout_audit(app, shots, size, large, lang):
    """Keys at least 48 dp, no text clipped, cut or in a missing glyph, AA contrast from the colours drawn,
    at the tablet's three screen sizes in normal and large text, in each language."""

    resize_window(size)
    app.set_language(lang)
    if app.large_text != large:
        app.toggle_large_text()
    tag = f"{lang}-{size[0]}x{size[1]}-{'large' if large else 'normal'}"
    try:
        problems = {}
        login = screen(app, "login")
        advance(5)
        problems["login"] = audit(app, shots, "login", "login", tag, lang)
        tap(next(c for c in login.ids.staff_list.children if c.staff_id == "st-01"))
        for digit in "2468":
            tap(keys(login.ids.pin_keypad)[digit])
        problems["keypad"] = audit(app, shots, "login", "keypad", tag, lang)
        tap(login.ids.pin_ok)
        until(lambda: app.root.current == "home")
        home = screen(app, "home")
        tap(home.ids.agree)
        type_phone(app, "0899100101")
        tap(home.ids.look_up)
        tap(list(reversed(home.ids.recs.children))[0].ids.add)
        tap(home.ids.purchased)
        advance(5)
        problems["home"] = audit(app, shots, "home", "home", tag, lang)
        assert home.ids.kpi_contacts.value != "0"
        problems = {k: v for k, v in problems.items() if v}
        assert not problems, "\n".join(f"{k}: {p}" for k, v in problems.items() for p in v)
    finally:
        if app.large_text:
            app.toggle_large_text()
        resize_window((1280, 720))
