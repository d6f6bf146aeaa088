"""The kiosk app. Its properties are the view-model the kv files bind to (after Electrum's Kivy
GUI); every decision comes from ``KioskService`` and the engine behind it.

Threads: the camera scanner calls back on its own thread; ``_on_scan`` only hops to the UI
thread with ``Clock.schedule_once``. Nothing else here runs off the UI thread.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path

from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from .camera import CameraUnavailable, FrameSource, QrScanner
from .chrome import StoreApp
from .i18n import Translator, format_price
from .preview import CameraPreview
from .screens import AttractScreen, ConsentScreen, CouponView, IdentifyScreen, MenuRow, OfferCard, OffersScreen
from .session import KioskService

KV_DIR = Path(__file__).parent / "kv"
KV_FILES = ("theme.kv", "attract.kv", "identify.kv", "consent.kv", "offers.kv")
MAX_OFFERS = 6


class KioskApp(StoreApp):
    home_screen = "attract"
    countdown_s = 5
    countdown_msgid = "Ending in {seconds} s"
    personal = BooleanProperty(False)
    identified = BooleanProperty(False)  # a known shopper: their choices can be changed
    greeting = StringProperty("")
    camera_message = StringProperty("")
    phone_display = StringProperty("")
    phone_error = StringProperty("")
    menu_name = StringProperty("")
    menu_note = StringProperty("")
    preview_texture = ObjectProperty(None, allownone=True)

    def __init__(self, service: KioskService, translator: Translator, *, store_name: str,
                 camera: Callable[[], FrameSource] | None, idle_timeout_s: float = 30.0,
                 camera_preview: bool = True, online: Callable[[], bool] = lambda: True, **kwargs):
        super().__init__(translator, store_name=store_name, online=online, **kwargs)
        self.service = service
        self.camera_factory = camera
        self.idle_timeout_s = idle_timeout_s
        self.scanner: QrScanner | None = None
        self._retiring: QrScanner | None = None
        self.preview = CameraPreview(lambda texture: setattr(self, "preview_texture", texture)) if camera_preview \
            else None
        self.coupon_view: CouponView | None = None
        self.phone_digits = ""
        self._menu_rows: list[tuple[str, str]] = []
        self.title = "store-edge kiosk"

    # --- building ----------------------------------------------------------------------------
    def build(self) -> ScreenManager:
        for name in KV_FILES:
            Builder.load_file(str(KV_DIR / name))
        # No animated transition: a ScreenManager drops every touch while one runs, and a shopper
        # tapping fast would lose the first digits of their number.
        manager = ScreenManager(transition=NoTransition())
        for screen in (AttractScreen(), IdentifyScreen(), ConsentScreen(), OffersScreen()):
            manager.add_widget(screen)
        # Built once and refilled: a fresh card or dialog per shopper costs time and, for the
        # dialog, memory that Kivy gives back only slowly.
        self._cards = [OfferCard(index=i) for i in range(MAX_OFFERS)]
        self._coupon_dialog = CouponView()
        self._load_slides(manager.get_screen("attract"))
        self.start_chrome()
        return manager

    def _load_slides(self, attract: AttractScreen) -> None:
        lang = self.translator.language
        slides = [item["text"].get(lang) or item["text"].get("en", "")
                  for item in self.service.reader.content_items() if item.get("kind") == "text" and item.get("text")]
        attract.slides = slides or [self.store_name]
        attract.next_slide()

    # --- chrome ------------------------------------------------------------------------------
    def set_language(self, code: str) -> None:
        self.translator.set_language(code)
        self._load_slides(self.root.get_screen("attract"))
        if self.root.current == "offers":
            self.show_offers()

    def idle_limit_s(self) -> float:
        return self.idle_timeout_s

    def on_idle(self) -> None:
        self.end_session()

    def _go(self, screen: str) -> None:
        self.last_touch = time.monotonic()
        self.root.current = screen

    # --- identify ----------------------------------------------------------------------------
    def start_identify(self) -> None:
        self.phone_digits, self.phone_display, self.phone_error = "", "", ""
        self._go("identify")
        self._start_camera()

    def _start_camera(self) -> None:
        self._release_camera()
        if self.camera_factory is None:
            self.camera_message = self.tr("No camera here. Please enter your phone number.")
            return
        try:
            source = self.camera_factory()
        except CameraUnavailable:
            self.camera_message = self.tr("No camera here. Please enter your phone number.")
            return
        self.camera_message = self.tr("Hold your phone's code up to the camera")
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
        Clock.schedule_once(lambda dt: setattr(
            self, "camera_message", self.tr("The camera stopped working. Please enter your phone number.")))

    def qr_scanned(self, text: str) -> None:
        if self.root.current != "identify":
            return
        result = self.service.identify_qr(text)
        if not result.ok:
            self.camera_message = result.message
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
        self.phone_error = ""
        preview = self.service.phone_preview(self.phone_digits) if self.phone_digits else None
        self.phone_display = preview.formatted if preview and preview.ok else self.phone_digits

    def phone_submit(self) -> None:
        result = self.service.identify_phone(self.phone_digits)
        if not result.ok:
            self.phone_error = result.message
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
        lang = self.translator.language
        decision = self.service.offers(k=MAX_OFFERS, lang=lang)
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
            card.show(title=choice.title.get(lang) or choice.title.get("en", choice.offer_id),
                      price=format_price(*price, lang) if price else "",
                      why=" · ".join(map(self.say, choice.reasons[:2])), image=str(image) if image else "")
            cards.add_widget(card)
        menu = self.service.menu(lang)
        rows = [(item.name, format_price(item.price_cents, item.currency, lang) if item.price_cents is not None
                 else "") for item in menu.items]
        box = screen.ids.menu
        if rows != self._menu_rows:  # the menu is for everyone: redraw it only when it changed
            box.clear_widgets()
            for title, price in rows:
                box.add_widget(MenuRow(title=title, price=price))
            self._menu_rows = rows
        self.menu_name = menu.name
        self.menu_note = self.tr("weather unknown") if "weather unknown" in menu.reasons else ""
        self._go("offers")

    def send_to_phone(self, index: int) -> None:
        coupon = self.service.send_to_phone(self._choices[index])
        texture = CoreImage(io.BytesIO(coupon.qr_png), ext="png", nocache=True).texture
        texture.mag_filter = "nearest"
        self.coupon_view = self._coupon_dialog
        self.coupon_view.texture, self.coupon_view.code = texture, coupon.code
        self.coupon_view.open()

    # --- goodbye ---------------------------------------------------------------------------------
    def end_session(self) -> None:
        """Done, Back, or the idle timeout: nothing of the shopper stays on screen or in memory."""
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
        self.greeting = self.phone_display = self.phone_error = self.countdown_text = ""
        self.root.get_screen("offers").ids.cards.clear_widgets()
        for card in self._cards:
            card.wipe()
        self.root.current = "attract"

    def on_stop(self) -> None:
        self._stop_camera()
        self._release_camera()
