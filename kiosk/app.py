"""The kiosk app. Its properties are the view-model the kv files bind to (after Electrum's Kivy
GUI); every decision comes from ``KioskService`` and the engine behind it.

Threads: the camera scanner calls back on its own thread; ``_on_scan`` only hops to the UI
thread with ``Clock.schedule_once``; so does the maintenance screen's network test. Nothing else
here runs off the UI thread.

Locked down: Esc (a keyboard, a scanner, a remote's back key) and the compositor's close request
are refused; no virtual keyboard (``kiosk.display``). The way to the maintenance screen is a long
press in the top-left corner of the attract screen, then a maintenance PIN (``kiosk.maintenance``).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from pathlib import Path

from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.uix.widget import Widget

from decisions.identity import phone as phones
from decisions.menus import MenuItem
from decisions.offers import OfferDecision
from pos.qr import coupon_qr_png
from sync.cache.read import CacheReader

from .camera import CameraUnavailable, FrameSource, QrScanner
from .chrome import StoreApp, window_scale
from .i18n import Translator, format_price
from .maintenance import MaintenanceService
from .pictures import give_back_freed_memory
from .preview import CameraPreview
from .screens import (
    AttractScreen,
    ConsentScreen,
    CouponView,
    GoodbyeScreen,
    IdentifyScreen,
    MaintenancePinScreen,
    MaintenanceRow,
    MaintenanceScreen,
    MaintenanceStaff,
    MenuRow,
    OfferCard,
    OffersScreen,
)
from .session import AttractSlide, Identified, KioskService

KV_DIR = Path(__file__).parent / "kv"
KV_FILES = ("theme.kv", "attract.kv", "identify.kv", "consent.kv", "offers.kv", "goodbye.kv", "maintenance.kv")
CORNER_PX = 96  # the top-left square a technician presses
LONG_PRESS_S = 3.0
MAX_OFFERS = 6
GOODBYE_S = 4.0  # the goodbye screen, before the attract screen is back for the next shopper
SHOPPER_SCREENS = ("identify", "consent", "offers")  # where a shopper's visit is under way


CAMERA_STOPPED = "The camera stopped working. Please enter your phone number."


def qr_texture(png: bytes):
    """A QR code's PNG as a texture that stays sharp when drawn larger."""
    texture = CoreImage(io.BytesIO(png), ext="png", nocache=True).texture
    texture.mag_filter = "nearest"
    return texture


class KioskApp(StoreApp):
    home_screen = "attract"
    countdown_s = 5
    countdown_msgid = "Ending in {seconds} s"
    personal = BooleanProperty(False)
    identified = BooleanProperty(False)  # a known shopper: their choices can be changed
    greeting = StringProperty("")
    camera_message = StringProperty("")
    camera_on = BooleanProperty(False)  # scanning: the identify screen shows the camera beside the keypad
    phone_display = StringProperty("")
    phone_error = StringProperty("")
    menu_name = StringProperty("")
    menu_category = StringProperty("")  # the menu's category on show; the first of the menu's until a shopper picks
    reach_gap = NumericProperty(0)  # reach mode on a tall screen: the top half's height, where no control is
    # a tall screen (not in reach mode) lists the whole menu, a section per category, as a portrait menu board does;
    # a wide one has room for one category at a time
    menu_sections = BooleanProperty(False)
    preview_texture = ObjectProperty(None, allownone=True)
    privacy_url = StringProperty("")
    privacy_qr = ObjectProperty(None, allownone=True)

    maintenance_dots = StringProperty("")
    maintenance_message = StringProperty("")
    maintenance_network = StringProperty("")

    def __init__(self, service: KioskService, translator: Translator, *, store_name: str,
                 camera: Callable[[], FrameSource] | None, idle_timeout_s: float = 30.0,
                 camera_preview: bool = True, online: Callable[[], bool] = lambda: True,
                 maintenance: MaintenanceService | None = None, privacy_url: str = "", **kwargs):
        super().__init__(translator, store_name=store_name, online=online, **kwargs)
        self.service = service
        self.default_language = translator.language  # each shopper starts here, whatever the last one chose
        self.privacy_url = privacy_url
        self._goodbye_at = 0.0
        # What camera_message and phone_error say, kept to say it again when the shopper changes language
        self._camera_note: str | Identified = ""
        self._phone_note: Identified | None = None
        self.maintenance = maintenance
        self._long_press = None
        self._maintenance_staff = ""
        self._maintenance_pin = ""
        self.camera_factory = camera
        self.idle_timeout_s = idle_timeout_s
        self.scanner: QrScanner | None = None
        self._retiring: QrScanner | None = None
        self.preview = CameraPreview(lambda texture: setattr(self, "preview_texture", texture)) if camera_preview \
            else None
        self.coupon_view: CouponView | None = None
        self.phone_digits = ""
        self._menu_items: tuple[MenuItem, ...] = ()
        self._menu_categories: list[tuple[str, str]] = []
        self._menu_rows: list[tuple[str, str, str | None]] = []
        self._menu_heads: dict[str, object] = {}  # each section's heading, to scroll to when its chip is tapped
        self.title = "store-edge kiosk"

    # --- building ----------------------------------------------------------------------------
    def build(self) -> ScreenManager:
        self.load_kv_files(KV_DIR / name for name in KV_FILES)
        # No animated transition: a ScreenManager drops every touch while one runs, and a shopper
        # tapping fast would lose the first digits of their number.
        manager = ScreenManager(transition=NoTransition())
        for screen in (AttractScreen(), IdentifyScreen(), ConsentScreen(), OffersScreen(), GoodbyeScreen(),
                       MaintenancePinScreen(), MaintenanceScreen()):
            manager.add_widget(screen)
        # Built once and refilled: a fresh card or dialog per shopper costs time and, for the
        # dialog, memory that Kivy gives back only slowly.
        self._cards = [OfferCard(index=i) for i in range(MAX_OFFERS)]
        self._coupon_dialog = CouponView()
        self._privacy_code()
        self._load_slides(manager.get_screen("attract"))
        self.start_chrome(self.service.reader)
        return manager

    def on_privacy_url(self, app: object, url: str) -> None:
        if self.root is not None:  # a texture needs the window: build() makes the first
            self._privacy_code()

    def _privacy_code(self) -> None:
        """The consent screen's QR code to the full privacy notice; none without its address."""
        self.privacy_qr = qr_texture(coupon_qr_png(self.privacy_url)) if self.privacy_url else None

    def start_chrome(self, reader: CacheReader | None = None) -> None:
        super().start_chrome(reader)
        Window.bind(on_touch_down=self._corner_down, on_touch_up=self._corner_up,
                    on_request_close=self._refuse_close, on_resize=self._fit_window)
        self._fit_window()

    def stop_chrome(self) -> None:
        super().stop_chrome()
        Window.unbind(on_touch_down=self._corner_down, on_touch_up=self._corner_up,
                      on_request_close=self._refuse_close, on_resize=self._fit_window)

    def on_reach(self, app: object, on: bool) -> None:
        self._fit_window()

    def _fit_window(self, *args: object) -> None:
        """The window's scale (kiosk.chrome.window_scale) and reach mode, on a new window size.

        Reach mode only on a tall screen: there the top half is out of a seated shopper's reach; a wide one's
        controls (the status bar, the buttons along the bottom) are low already, and halving it would crush them."""
        self.window_scale = window_scale(Window.size)
        self.reach_offered = Window.height > Window.width
        if not self.reach_offered:
            self.reach = False
        self.reach_gap = Window.height / 2 if self.reach else 0
        self.menu_sections = Window.height - self.reach_gap > Window.width

    def on_menu_sections(self, app: object, sections: bool) -> None:
        if self._menu_items:
            self._draw_menu()

    def _refuse_close(self, *args: object, **kwargs: object) -> bool:
        return True  # the compositor's or the window manager's close: a kiosk never quits by itself

    def _load_slides(self, attract: AttractScreen) -> None:
        lang = self.translator.language
        attract.source = lambda: self.service.attract_slides(lang) or [AttractSlide(self.store_name)]
        attract.restart()

    # --- chrome ------------------------------------------------------------------------------
    def set_language(self, code: str) -> None:
        self.last_touch = self.ticks()  # a shopper's choice: the idle timer starts again from it
        self.translator.set_language(code)
        self._load_slides(self.root.get_screen("attract"))
        self.camera_message = self._text(self._camera_note)
        self.phone_error = self._text(self._phone_note)
        if self.root.current == "offers" and self.service.session.shown is not None:
            self._draw_offers(self.service.session.shown)

    def _text(self, note: str | Identified | None) -> str:
        """A message in the screen's language: an msgid, or a refusal from identification."""
        if not note:
            return ""
        if isinstance(note, str):
            return self.tr(note)
        text = self.tr(note.message)
        return text.format(country=phones.country_name(note.region, self.translator.language)) if note.region \
            else text

    def idle_limit_s(self) -> float:
        return self.idle_timeout_s

    def idle_watched(self) -> bool:
        # On the attract screen too once someone changed its language or text size: the next shopper
        # must find the kiosk as it always is, even if the last one never went further.
        return super().idle_watched() or not self._as_it_starts()

    def _as_it_starts(self) -> bool:
        return self.translator.language == self.default_language and not self.large_text and not self.reach

    def on_idle(self) -> None:
        if self.root.current in SHOPPER_SCREENS:
            self.end_session()
        else:
            self.reset()

    def _idle_tick(self, dt: float) -> None:
        if self.root is not None and self.root.current == "goodbye":
            if self.ticks() - self._goodbye_at >= GOODBYE_S:
                self.reset()
            return
        super()._idle_tick(dt)

    def _go(self, screen: str) -> None:
        self.last_touch = self.ticks()
        self.root.current = screen

    # --- identify ----------------------------------------------------------------------------
    def start_identify(self) -> None:
        self.phone_digits, self.phone_display = "", ""
        self._say_phone(None)
        self._go("identify")
        self._start_camera()

    def _start_camera(self) -> None:
        self._release_camera()
        self._say_camera("")
        if self.camera_factory is None:
            return  # a kiosk with no camera: the phone keypad alone, in the middle of the screen
        try:
            source = self.camera_factory()
        except CameraUnavailable:
            self._say_camera(CAMERA_STOPPED)
            return
        self._say_camera("Hold your phone's code up to the camera")
        self.camera_on = True
        if self.preview is not None:
            self.preview.start()
        self.scanner = QrScanner(source, on_code=self._on_scan, on_error=self._on_camera_error,
                                 preview=self.preview.offer if self.preview else None)
        self.scanner.start()

    def _stop_camera(self) -> None:
        # Not joined here: the read in progress takes up to a frame time (33 ms), which the shopper
        # would wait for on the way to their offers. The next scan, or quitting, waits for it.
        if self.scanner is not None:
            self.scanner.request_stop()
            self._retiring, self.scanner = self.scanner, None
        self.camera_on = False
        if self.preview is not None:
            self.preview.clear()

    def _release_camera(self) -> None:
        """Wait until the previous scanner has let go of the camera, so the next one can open it."""
        if self._retiring is not None:
            self._retiring.stop()
            self._retiring = None

    def _on_scan(self, text: str) -> None:  # the scanner's thread
        Clock.schedule_once(lambda dt: self.qr_scanned(text))

    def _on_camera_error(self, message: str) -> None:  # the scanner's thread
        Clock.schedule_once(lambda dt: self._camera_failed())

    def _camera_failed(self) -> None:
        self._stop_camera()  # the keypad takes the whole screen, with the reason above it
        self._say_camera(CAMERA_STOPPED)

    def _say_camera(self, note: str | Identified) -> None:
        self._camera_note = note
        self.camera_message = self._text(note)

    def _say_phone(self, note: Identified | None) -> None:
        self._phone_note = note
        self.phone_error = self._text(note)

    def qr_scanned(self, text: str) -> None:
        if self.root.current != "identify":
            return
        result = self.service.identify_qr(text)
        if not result.ok:
            self._say_camera(result)
            return
        self._identified()

    def phone_key(self, key: str) -> None:
        if len(self.phone_digits) < 16:
            self.phone_digits += key
        self._phone_changed()

    def phone_delete(self) -> None:
        self.phone_digits = self.phone_digits[:-1]
        self._phone_changed()

    def _phone_changed(self) -> None:
        self._say_phone(None)
        preview = self.service.phone_preview(self.phone_digits) if self.phone_digits else None
        self.phone_display = preview.formatted if preview and preview.ok else self.phone_digits

    def phone_submit(self) -> None:
        result = self.service.identify_phone(self.phone_digits)
        if not result.ok:
            self._say_phone(result)
            return
        self._identified()

    def _identified(self) -> None:
        self._stop_camera()
        self.phone_digits, self.phone_display = "", ""
        if self.service.session.profile is None or self.service.consent_on_record():
            # Unknown to head office (offers for everyone), or a returning shopper who has chosen
            # before: straight to the offers, where "Your choices" changes them.
            self.show_offers()
            return
        self.change_consent()

    def change_consent(self) -> None:
        self.root.get_screen("consent").show(self.service.session.consents)
        self._go("consent")

    # --- consent, offers, coupon ---------------------------------------------------------------
    def save_consent(self, choices: dict[str, bool]) -> None:
        self.service.save_consent(choices)
        self.show_offers()

    def browse(self) -> None:
        self.service.end()
        self.show_offers()

    def show_offers(self) -> None:
        """Decide the offers for the shopper as they are now, and show them."""
        self._draw_offers(self.service.offers(k=MAX_OFFERS, lang=self.translator.language))
        self._go("offers")

    def _draw_offers(self, decision: OfferDecision) -> None:
        """Draw a decision in the screen's language. A change of language redraws the same decision:
        deciding again would count the shopper's own first look against the offers' caps and drop them."""
        lang = self.translator.language
        self.personal = decision.mode == "personal"
        self.identified = self.service.session.profile is not None
        name = self.service.greeting_name()
        self.greeting = self.tr("Hello, {name}!").format(name=name) if name else self.tr("Hello!")
        screen = self.root.get_screen("offers")
        cards = screen.ids.cards
        cards.clear_widgets()
        self._choices = decision.offers
        for card, choice in zip(self._cards, decision.offers, strict=False):
            price = self.service.price(choice)
            image = self.service.image(choice)
            line = self.service.shopper_line(choice, lang)
            card.show(title=choice.title.get(lang) or choice.title.get("en", choice.offer_id),
                      price=format_price(*price, lang) if price else "",
                      why=self.say(line) if line else "", image=str(image) if image else "")
            cards.add_widget(card)
        menu = self.service.menu(lang)
        self._menu_items = menu.items
        self.menu_name = menu.name
        self._draw_menu()

    def choose_category(self, category: str) -> None:
        self.menu_category = category
        self._draw_menu()
        if self.menu_sections and category in self._menu_heads:
            # its heading at the top of the list, its items under it (ScrollView.scroll_to scrolls the least that
            # shows the heading: at the bottom edge, its items out of sight)
            scroll, menu = self.root.get_screen("offers").ids.menu_scroll, self._menu_heads[category].parent
            below = menu.top - self._menu_heads[category].top
            scroll.scroll_y = min(1.0, max(0.0, 1 - below / max(menu.height - scroll.height, 1)))

    def _draw_menu(self) -> None:
        """The menu's category chips, in the menu's order, and the items of the category on show (the first
        until the shopper picks another), or with ``menu_sections`` every category's items under its heading.
        The menu is for everyone: chips and rows are redrawn only when changed."""
        lang = self.translator.language
        categories = list(dict.fromkeys((item.category or "", item.category_name) for item in self._menu_items))
        if self.menu_category not in {code for code, _name in categories}:
            self.menu_category = categories[0][0] if categories else ""
        screen = self.root.get_screen("offers")
        if categories != self._menu_categories:
            chips = screen.ids.menu_categories
            chips.clear_widgets()
            for code, name in categories:
                chip = Factory.MenuCategory(text=name)
                chip.category = code  # a kv rule's own property: not known to the constructor
                chips.add_widget(chip)
            self._menu_categories = categories
        shown = categories if self.menu_sections else [(code, name) for code, name in categories
                                                        if code == self.menu_category]
        rows: list[tuple[str, str, str | None]] = []  # (category, text, price); a price of None: a section heading
        for code, name in shown:
            if self.menu_sections:
                rows.append((code, name, None))
            rows += [(code, item.name, format_price(item.price_cents, item.currency, lang)
                      if item.price_cents is not None else "")
                     for item in self._menu_items if (item.category or "") == code]
        if rows != self._menu_rows:
            box = screen.ids.menu
            box.clear_widgets()
            self._menu_heads = {}
            for code, title, price in rows:
                if price is None:
                    self._menu_heads[code] = head = Factory.MenuSection(text=title)
                    box.add_widget(head)
                else:
                    box.add_widget(MenuRow(title=title, price=price))
            self._menu_rows = rows
            screen.ids.menu_scroll.scroll_y = 1

    def send_to_phone(self, index: int) -> None:
        coupon = self.service.send_to_phone(self._choices[index])
        self.coupon_view = self._coupon_dialog
        self.coupon_view.texture, self.coupon_view.code = qr_texture(coupon.qr_png), coupon.code
        self.coupon_view.open()

    # --- maintenance -----------------------------------------------------------------------------
    def _corner_down(self, window: object, touch) -> bool:
        in_corner = touch.x <= CORNER_PX and touch.y >= Window.height - CORNER_PX
        if self.maintenance is not None and in_corner and self.root.current == self.home_screen:
            self._cancel_long_press()
            self._long_press = Clock.schedule_once(lambda dt: self.open_maintenance(), LONG_PRESS_S)
        return False

    def _corner_up(self, *args: object) -> bool:
        self._cancel_long_press()
        return False

    def _cancel_long_press(self) -> None:
        if self._long_press is not None:
            self._long_press.cancel()
            self._long_press = None

    def open_maintenance(self) -> None:
        """The PIN screen: staff who may maintain this device, and a PIN pad."""
        self._long_press = None
        self._maintenance_pin = self.maintenance_dots = self.maintenance_message = ""
        members = self.maintenance.staff()
        self._maintenance_staff = members[0].id if len(members) == 1 else ""
        box = self.root.get_screen("maintenance_pin").ids.staff_list
        box.clear_widgets()
        for member in members:
            box.add_widget(MaintenanceStaff(staff_id=member.id, title=f"{member.name} ({member.role})",
                                            selected=member.id == self._maintenance_staff))
        if not members:
            self.maintenance_message = "No staff member here may open maintenance."
        self._go("maintenance_pin")

    def maintenance_choose(self, staff_id: str) -> None:
        self._maintenance_staff = staff_id
        for button in self.root.get_screen("maintenance_pin").ids.staff_list.children:
            button.selected = button.staff_id == staff_id

    def maintenance_key(self, digit: str) -> None:
        if len(self._maintenance_pin) < 8:
            self._maintenance_pin += digit
        self.maintenance_dots = "•" * len(self._maintenance_pin)
        self.maintenance_message = ""

    def maintenance_submit(self) -> None:
        if not self._maintenance_staff:
            self.maintenance_message = "Choose who you are first."
            return
        result = self.maintenance.unlock(self._maintenance_staff, self._maintenance_pin)
        self._maintenance_pin = self.maintenance_dots = ""
        if not result.ok:
            self.maintenance_message = result.text
            return
        self.maintenance_network = ""
        self.maintenance_refresh()
        self._go("maintenance")

    def maintenance_refresh(self) -> None:
        rows = self.root.get_screen("maintenance").ids.rows
        rows.clear_widgets()
        for what, value in [*self.maintenance.report(), *self.service.offers_explained()]:
            rows.add_widget(MaintenanceRow(what=what, value=value))

    def maintenance_network_test(self) -> None:
        self.maintenance_network = "testing..."
        service = self.maintenance

        def run() -> None:  # off the UI thread: a dead network takes seconds to say so
            result = service.network_test()
            Clock.schedule_once(lambda dt: setattr(self, "maintenance_network", result.text))

        threading.Thread(target=run, name="network-test", daemon=True).start()

    # --- goodbye ---------------------------------------------------------------------------------
    def end_session(self) -> None:
        """Done, Back, or the idle timeout: the goodbye screen, with nothing of the shopper left on screen or
        in memory; after GOODBYE_S (or a touch) the attract screen is back as the next shopper expects it."""
        self._forget()
        self._goodbye_at = self.ticks()
        self.root.current = "goodbye"

    def reset(self) -> None:
        """The attract screen as it starts: nobody's session, the kiosk's own language, normal text, no reach mode."""
        self._forget()
        self.root.current = "attract"
        if self.large_text:
            self.toggle_large_text()
        self.reach = False
        self.set_language(self.default_language)
        # once the attract screen is drawn (the frame after the next): the session's last frees are done by then
        Clock.schedule_once(lambda dt: Clock.schedule_once(lambda dt: give_back_freed_memory()))

    def _forget(self) -> None:
        self._stop_camera()
        if self.coupon_view is not None:
            # At once: while a fading view is up it swallows touches, and the next shopper's taps are lost.
            self.coupon_view.dismiss(animation=False)
            self.coupon_view.texture, self.coupon_view.code = None, " "
            self.coupon_view = None
        self.service.end()
        self._choices = ()
        self.phone_digits = ""
        self.personal = self.identified = False
        self.menu_category = ""  # the next shopper starts at the menu's first category
        self.greeting = self.phone_display = self.countdown_text = ""
        self._say_camera("")
        self._say_phone(None)
        self._maintenance_pin = self._maintenance_staff = ""
        self.maintenance_dots = self.maintenance_message = self.maintenance_network = ""
        self.root.get_screen("offers").ids.cards.clear_widgets()
        for card in self._cards:
            card.wipe()

    def widgets_off_the_tree(self) -> list[Widget]:
        """The offer cards (in the offers screen only while it shows offers) and the coupon's dialog."""
        return [*self._cards, self._coupon_dialog] if self.root is not None else []

    def on_stop(self) -> None:
        if self.root is not None:
            self.root.get_screen("attract").stop()
        self._stop_camera()
        self._release_camera()
        self.stop_chrome()
