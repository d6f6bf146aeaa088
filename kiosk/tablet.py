"""The staff tablet app: same app as the kiosk, tablet profile. Its properties are the view-model
kiosk/kv/staff.kv binds to (over theme.kv, the kiosk's colours and widgets); every decision comes
from ``kiosk.staff.StaffService``.

Screens: ``login`` (tap your name, then type the PIN on the keypad, which stays off until a name is
picked; no system keyboard) and ``home``
(customer lookup with the customer's agreement, their profile and recommendations, a basket
with add-on suggestions, the outcome buttons and the staff member's KPIs for today).

Outcome buttons record the outcome of the conversation with one customer, and the chosen one stays marked:
- Contacted: talked, no purchase;
- Purchased: bought; the add-ons counted are the basket's items taken from the add-on suggestions;
- Add-on sold: bought with add-ons (at least one).
Tapping another one for the same customer changes the outcome (one contact, never one per tap). Next
customer ends the conversation and clears the screen for the next one.

After ``lock_after_s`` without a touch or a key the tablet locks: back to login, customer and
staff member forgotten. Nothing here runs off the UI thread.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from babel.numbers import format_percent
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager
from kivy.uix.togglebutton import ToggleButton
from kivy.utils import escape_markup

from decisions.identity.staff_roles import role_name
from decisions.reasons import Term, terms
from sync.cache.db import CacheError

from .chrome import StoreApp
from .i18n import Translator
from .staff import ASK_FIRST, CustomerView, StaffService

log = logging.getLogger("store_edge.tablet")
KV_DIR = Path(__file__).parent / "kv"
KV_FILES = ("theme.kv", "staff.kv")  # theme.kv first: staff.kv uses its colours and widgets
PIN_MAX = 8
PHONE_MAX = 16
TAP_YOUR_NAME = "Tap your name first."
SAVED = "Outcome saved."
PIN_DOT = "\u2022"  # the bullet: in the tablet's font (Roboto has no U+25CF black circle)


class LoginScreen(Screen):
    pass


class HomeScreen(Screen):
    pass


class StaffChoice(ToggleButton):
    staff_id = StringProperty("")
    title = StringProperty("")  # markup-escaped
    role = StringProperty("")  # the role's English name, a msgid


class KpiTile(BoxLayout):
    label = StringProperty("")
    value = StringProperty("")


class RecRow(BoxLayout):
    sku = StringProperty("")
    name = StringProperty("")
    why = StringProperty("")
    add_on = BooleanProperty(False)


class ProductButton(Button):
    sku = StringProperty("")


class TabletApp(StoreApp):
    home_screen = "login"
    countdown_s = 10
    countdown_msgid = "Locking in {seconds} s"
    staff_id = StringProperty("")
    staff_name = StringProperty("")
    pin_dots = StringProperty("")
    login_message = StringProperty("")
    phone_display = StringProperty("")
    lookup_message = StringProperty("")
    agreed = BooleanProperty(False)
    has_customer = BooleanProperty(False)
    customer_name = StringProperty("")
    customer_segments = StringProperty("")
    customer_tier = StringProperty("")
    customer_purchases = StringProperty("")
    basket_text = StringProperty("")
    outcome_message = StringProperty("")
    outcome_kind = StringProperty("")  # this conversation's outcome so far: "", contacted, purchased, add_on
    has_recommendations = BooleanProperty(False)
    kpi_contacts = StringProperty("0")
    kpi_rate = StringProperty("–")
    kpi_add_ons = StringProperty("0")

    def __init__(self, service: StaffService, translator: Translator, *, store_name: str,
                 lock_after_s: float = 120.0, online: Callable[[], bool] = lambda: True, **kwargs):
        super().__init__(translator, store_name=store_name, online=online, **kwargs)
        self.service = service
        self.lock_after_s = lock_after_s
        self.pin = ""
        self.phone_digits = ""
        self.basket: list[str] = []
        self.add_ons_in_basket = 0
        self._messages: dict[str, tuple[str, dict]] = {}  # property -> (msgid, args), translated again on a switch
        self.title = "store-edge staff tablet"

    # --- building ----------------------------------------------------------------------------
    def build(self) -> ScreenManager:
        self.load_kv_files(KV_DIR / name for name in KV_FILES)
        manager = ScreenManager(transition=NoTransition())  # an animated transition drops touches
        manager.add_widget(LoginScreen())
        manager.add_widget(HomeScreen())
        self._fill_staff(manager.get_screen("login"))
        self.start_chrome(self.service.reader)
        return manager

    def on_stop(self) -> None:
        self.stop_chrome()

    def _fill_staff(self, login: LoginScreen) -> None:
        box = login.ids.staff_list
        box.clear_widgets()
        for member in self.service.staff_members():
            box.add_widget(StaffChoice(staff_id=member.id, title=escape_markup(member.name),
                                       role=role_name(member.role),
                                       state="down" if member.id == self.staff_id else "normal"))

    def refresh_staff(self) -> None:
        """After a bundle: the staff list as the cache has it now (UI thread)."""
        if self.root is not None:
            self._fill_staff(self.root.get_screen("login"))

    def _say(self, prop: str, msgid: str = "", **args: object) -> None:
        """Show a message (an msgid and its placeholders) in a property, in the current language."""
        if msgid:
            self._messages[prop] = (msgid, args)
            setattr(self, prop, self.tr(msgid).format(**args))
        else:
            self._messages.pop(prop, None)
            setattr(self, prop, "")

    # --- chrome ------------------------------------------------------------------------------
    def set_language(self, code: str) -> None:
        self.translator.set_language(code)
        for prop, (msgid, args) in list(self._messages.items()):
            self._say(prop, msgid, **args)
        if self.root is not None and self.root.current == "home":
            self._show_customer(self.service.customer_in(code))
            self._show_products()
            self._basket_changed()
            self._show_kpis()

    def idle_limit_s(self) -> float:
        return self.lock_after_s

    def on_idle(self) -> None:
        self.lock()

    # --- login -------------------------------------------------------------------------------
    def choose_staff(self, staff_id: str) -> None:
        self.staff_id = staff_id
        self.pin = ""
        self.pin_dots = ""
        self._say("login_message")

    def pin_key(self, digit: str) -> None:
        if not self.staff_id:  # the keypad is off until then; a PIN typed for nobody would be thrown away
            self._say("login_message", TAP_YOUR_NAME)
            return
        if len(self.pin) < PIN_MAX:
            self.pin += digit
        self._pin_changed()

    def pin_delete(self) -> None:
        self.pin = self.pin[:-1]
        self._pin_changed()

    def _pin_changed(self) -> None:
        self.pin_dots = " ".join(PIN_DOT * len(self.pin))

    def pin_submit(self) -> None:
        pin, self.pin, self.pin_dots = self.pin, "", ""
        if not self.staff_id:
            self._say("login_message", TAP_YOUR_NAME)
            return
        result = self.service.login(self.staff_id, pin)
        if not result.ok:
            self._say("login_message", result.message, **result.args)
            return
        self._say("login_message")
        self.staff_name = self.service.staff.name
        self._next_customer()
        self._show_products()
        self._show_kpis()
        self._say("outcome_message")
        self.last_touch = time.monotonic()
        self.root.current = "home"

    def log_out(self) -> None:
        self.lock()

    def lock(self) -> None:
        """Back to login; the staff member and the customer are forgotten, on screen and in memory."""
        self.service.logout()
        self._next_customer()
        self.staff_id = self.staff_name = self.pin = self.pin_dots = self.countdown_text = self.outcome_kind = ""
        self.kpi_contacts, self.kpi_rate, self.kpi_add_ons = "0", "–", "0"
        for prop in ("login_message", "outcome_message"):
            self._say(prop)
        if self.root is not None:
            for choice in self.root.get_screen("login").ids.staff_list.children:
                choice.state = "normal"
            self.root.get_screen("home").ids.products.clear_widgets()
            self.root.current = "login"

    # --- customer lookup ---------------------------------------------------------------------
    def phone_key(self, key: str) -> None:
        if len(self.phone_digits) < PHONE_MAX:
            self.phone_digits += key
        self._phone_changed()

    def phone_delete(self) -> None:
        self.phone_digits = self.phone_digits[:-1]
        self._phone_changed()

    def _phone_changed(self) -> None:
        self._say("lookup_message")
        self.phone_display = self._format_phone(self.phone_digits)

    def _format_phone(self, digits: str) -> str:
        from decisions.identity import phone as phones

        return phones.format_as_you_type(digits, self.service.store.country) if digits else ""

    def look_up(self) -> None:
        home = self.root.get_screen("home")
        scanned = home.ids.qr_text.text.strip()
        result = self.service.lookup_customer(scanned or self.phone_digits, self.agreed,
                                              lang=self.translator.language)
        if result.message != ASK_FIRST:  # asked first: keep it for when they agree; otherwise not kept
            self._clear_inputs()
        self._say("outcome_message")
        if not result.ok:
            self._show_customer(None)
            self._say("lookup_message", result.message)
            return
        self._say("lookup_message")
        if self.service.conversation is None:  # someone else than the one whose outcome is marked
            self.outcome_kind = ""
        self._show_customer(result.customer)

    def _clear_inputs(self) -> None:
        self.phone_digits = self.phone_display = ""
        if self.root is not None:
            qr_text = self.root.get_screen("home").ids.qr_text
            qr_text.text = ""
            qr_text.reset_undo()

    def _show_customer(self, customer: CustomerView | None) -> None:
        home = self.root.get_screen("home")
        recs = home.ids.recs
        recs.clear_widgets()
        home.ids.customer_scroll.scroll_y = 1  # each customer from the top
        self.has_customer = customer is not None
        self.has_recommendations = bool(customer and customer.recommendations)
        if customer is None:
            self.customer_name = self.customer_segments = self.customer_tier = self.customer_purchases = ""
            return
        self.customer_name = customer.first_name or self.tr("Customer")
        self.customer_segments = self.say(terms(customer.segments)) or "–"
        self.customer_tier = self.say(Term(customer.rfm_tier)) if customer.rfm_tier else "–"
        self.customer_purchases = "\n".join(f"{p.at}   {p.name}" + (f" ×{p.qty}" if p.qty != 1 else "")
                                            for p in customer.last_purchases) or "–"
        for s in customer.recommendations:
            recs.add_widget(RecRow(sku=s.sku, name=s.name, why=self.say(s.reasons[0]) if s.reasons else ""))

    # --- basket and add-ons ----------------------------------------------------------------
    def _show_products(self) -> None:
        grid = self.root.get_screen("home").ids.products
        grid.clear_widgets()
        engine = self.service.engine()
        lang = self.translator.language
        catalog = engine.catalog
        skus = sorted((sku for sku in catalog.products if catalog.in_stock(sku)),
                      key=lambda sku: (catalog.category(sku) or "", catalog.name(sku, lang)))
        for sku in skus:
            grid.add_widget(ProductButton(sku=sku, text=catalog.name(sku, lang)))

    def add_to_basket(self, sku: str, add_on: bool) -> None:
        self.basket.append(sku)
        if add_on:
            self.add_ons_in_basket += 1
        self._say("outcome_message")
        self._basket_changed()

    def clear_basket(self) -> None:
        self.basket = []
        self.add_ons_in_basket = 0
        self._basket_changed()

    def _basket_changed(self) -> None:
        lang = self.translator.language
        catalog = self.service.engine().catalog
        counts = Counter(self.basket)
        self.basket_text = ", ".join(catalog.name(sku, lang) + (f" ×{n}" if n > 1 else "")
                                     for sku, n in counts.items())
        box = self.root.get_screen("home").ids.add_ons
        box.clear_widgets()
        if not self.basket or self.service.staff is None:
            return
        for s in self.service.add_ons(self.basket, lang=lang):
            box.add_widget(RecRow(sku=s.sku, name=s.name, why=self.say(s.reasons[0]) if s.reasons else "",
                                  add_on=True))

    # --- outcomes and KPIs -------------------------------------------------------------------
    def outcome(self, kind: str) -> None:
        """``contacted``, ``purchased`` or ``add_on``: record this customer's outcome, or change it."""
        purchased = kind in ("purchased", "add_on")
        add_ons = max(1, self.add_ons_in_basket) if kind == "add_on" else (self.add_ons_in_basket if purchased else 0)
        try:
            self.service.record_outcome(True, purchased, add_ons, list(self.basket))
        except CacheError as exc:
            log.error("tablet: could not record the outcome: %s", exc)
            return
        self.outcome_kind = kind
        self._show_kpis()
        self._say("outcome_message", SAVED)

    def next_customer(self) -> None:
        """The conversation is over: clear the screen for the next customer."""
        self._next_customer()
        self._say("outcome_message")

    def _next_customer(self) -> None:
        self.service.next_customer()
        self.outcome_kind = ""
        self._clear_inputs()
        self.basket = []
        self.add_ons_in_basket = 0
        self.basket_text = ""
        self._say("lookup_message")
        if self.root is not None:
            home = self.root.get_screen("home")
            home.ids.agree.state = "normal"
            home.ids.add_ons.clear_widgets()
            self._show_customer(None)
        self.agreed = False

    def _show_kpis(self) -> None:
        if self.service.staff is None:
            return
        kpis = self.service.today()
        self.kpi_contacts = str(kpis.contacts)
        self.kpi_rate = format_percent(kpis.conversion_rate, locale=self.translator.language) if kpis.contacts else "–"
        self.kpi_add_ons = str(kpis.add_ons)
