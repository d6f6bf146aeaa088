"""The kiosk's screens: layout in kiosk/kv/*.kv, and only what a layout cannot say here."""

from __future__ import annotations

from collections.abc import Callable

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ToggleButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.modalview import ModalView
from kivy.uix.screenmanager import Screen

from .session import AttractSlide

SLIDE_SECONDS = 6


class AttractScreen(Screen):
    """Rotates the store's slides while nobody is there. ``source`` gives them; it is asked again at the
    start of each round, so a kiosk left alone moves on with the day (no breakfast deal at lunch)."""

    headline = StringProperty(" ")
    body = StringProperty(" ")
    image = StringProperty("")  # the slide's product picture, "" for none
    source: Callable[[], list[AttractSlide]] | None = None
    slides: list[AttractSlide] = []
    _index = 0
    _event = None

    def on_enter(self) -> None:
        self.stop()  # one slide timer, however often the screen is entered
        self.restart()
        self._event = Clock.schedule_interval(self._slide_due, SLIDE_SECONDS)

    def _slide_due(self, dt: float) -> bool:
        # A screen no window shows any more (its app was left without leaving the screen) ends its own timer: a
        # slide would lay out this tree under whatever app runs now.
        if self.get_root_window() is None:
            self._event = None
            return False
        self.next_slide()
        return True

    def on_leave(self) -> None:
        self.stop()

    def stop(self) -> None:
        """No next slide: the screen is left, or the app stops (a slide's picture would lay out a tree no app
        draws any more)."""
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def restart(self) -> None:
        self.slides, self._index = [], 0
        self.next_slide()

    def next_slide(self) -> None:
        if self.source is not None and self._index % max(len(self.slides), 1) == 0:
            self.slides, self._index = self.source(), 0
        if self.slides:
            slide = self.slides[self._index % len(self.slides)]
            # ' ' not '': Kivy keeps an emptied label's last layout (and its words) in memory
            self.headline, self.body = slide.headline or " ", slide.body or " "
            self.image = str(slide.image) if slide.image else ""
            self._index += 1


class IdentifyScreen(Screen):
    pass


class PurposeRow(ToggleButtonBehavior, BoxLayout):
    """One consent purpose: what it is, what it means, and a switch that says "On" or "Off" in words
    (kiosk/kv/consent.kv); the whole row is the touch target. ``state`` is 'down' when on."""

    purpose = StringProperty("")
    title = StringProperty("")
    detail = StringProperty("")


class ConsentScreen(Screen):
    def show(self, consents: dict[str, str]) -> None:
        """Pre-set each purpose to the shopper's current choice (nothing ticked for a new shopper)."""
        for purpose in ("personal_offers", "e_receipt", "marketing"):
            self.ids[purpose].state = "down" if consents.get(purpose) == "granted" else "normal"


class OffersScreen(Screen):
    pass


class GoodbyeScreen(Screen):
    """Thanks the shopper for a moment after their session ended; a touch brings the next shopper's
    attract screen at once."""

    def on_touch_down(self, touch) -> bool:
        App.get_running_app().reset()
        return True


class OfferCard(BoxLayout):
    """One of the offers screen's six cards. The app keeps them and refills them for each shopper:
    building a card from its kv rule costs more than the rest of the way from QR code to offers."""

    title = StringProperty(" ")
    price = StringProperty(" ")
    why = StringProperty(" ")
    image = StringProperty("")
    index = NumericProperty(0)
    hero_floor = NumericProperty(0)  # the picture's (or the words in its place) height at the least
    hero_height = NumericProperty(0)  # the picture's (or the words in its place) height as it is drawn at best
    natural_height = NumericProperty(0)  # its content's height; OfferGrid may stretch it
    least_height = NumericProperty(0)  # its height with the picture at its floor: OfferGrid may shrink it to that

    def show(self, title: str, price: str, why: str, image: str) -> None:
        self.title, self.price, self.why, self.image = title or " ", price or " ", why or " ", image

    def wipe(self) -> None:
        # ' ' not '': Kivy keeps an emptied label's last layout (and its words) in memory
        self.show(" ", " ", " ", "")


class OfferGrid(GridLayout):
    """The offer cards, a row at a time: every card in a row takes the tallest one's height, so their
    pictures, prices and buttons line up. With ``stretch`` (a landscape screen, where the offers have a
    fixed share of it) and room to spare, the rows share the room (up to ``TALLEST`` times a card's width)
    and the pictures grow, instead of leaving a blank band below; short of room, the pictures give up height
    (to their floor) so that the button stays on the screen. Without it the cards hug their content and the
    screen gives the rest of the room to the menu."""

    TALLEST = 2.0
    stretch = BooleanProperty(True)

    def on_stretch(self, grid: object, stretch: bool) -> None:
        self._trigger_layout()

    def do_layout(self, *args: object) -> None:
        cards, cols = self.children[::-1], self.cols or 1
        rows = [cards[start:start + cols] for start in range(0, len(cards), cols)]
        room = self.parent.height if self.parent is not None else 0
        share = (room - self.spacing[1] * (len(rows) - 1)) / len(rows) if rows else 0
        for row in rows:
            tallest = max(card.natural_height for card in row)
            height = max(tallest, min(share, self.TALLEST * row[0].width)) if self.stretch else tallest
            if self.stretch and height > share:
                height = max(max(card.least_height for card in row), share)
            for card in row:
                card.height = height
        super().do_layout(*args)


class MenuRow(BoxLayout):
    title = StringProperty("")
    price = StringProperty("")


class CouponView(ModalView):
    texture = ObjectProperty(None, allownone=True)
    code = StringProperty("")


class MaintenancePinScreen(Screen):
    """Staff choice and PIN pad for the maintenance screen (kiosk/kv/maintenance.kv)."""


class MaintenanceScreen(Screen):
    pass


class MaintenanceStaff(Button):
    staff_id = StringProperty("")
    title = StringProperty("")
    selected = BooleanProperty(False)


class MaintenanceRow(BoxLayout):
    what = StringProperty("")
    value = StringProperty("")
