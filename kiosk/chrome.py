"""What the kiosk and the staff tablet share around their screens: language, large text, reach mode, the
online flag, and the inactivity timer with its countdown. Each app says where idle leads."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.resources import resource_find
from kivy.uix.widget import Widget

from decisions.reasons import say
from sync.cache.read import CacheReader

from .brand import ScreenBrand
from .i18n import Translator
from .one_window import leave_window

LARGE_TEXT_SCALE = 1.35
DESIGN_SHORT_SIDE = 800  # px: the screens are drawn for 1280x800; a larger window draws them larger (window_scale)


def window_scale(size: tuple[float, float]) -> float:
    """How much larger than the design a window of ``size`` draws text, buttons and gaps: by its short side, so a
    1080p kiosk (landscape or portrait) reads at arm's length; never smaller than the design."""
    return max(1.0, min(size) / DESIGN_SHORT_SIDE)


class StoreApp(App):
    lang_version = NumericProperty(0)
    # kv rules multiply sp()/dp() sizes by these: text_scale for text and what holds it (large text on top of the
    # window's scale), window_scale for gaps and frames
    text_scale = NumericProperty(1.0)
    window_scale = NumericProperty(1.0)  # 1 until the app follows its window's size (the kiosk does)
    large_text = BooleanProperty(False)
    reach = BooleanProperty(False)  # every control in the lower half, for a seated shopper (the kiosk's reach mode)
    reach_offered = BooleanProperty(False)  # the status bar offers reach mode: only where the app says so
    online = BooleanProperty(True)
    store_name = StringProperty("")
    countdown_text = StringProperty("")
    brand = ObjectProperty(None)  # the chain's look (kiosk.brand): the kv rules draw with its colours and font

    home_screen = "attract"  # where nobody is using the screen; no timer runs there
    countdown_s = 5  # the countdown shows for the last seconds
    countdown_msgid = "Ending in {seconds} s"

    def __init__(self, translator: Translator, *, store_name: str, online,
                 ticks: Callable[[], float] = time.monotonic, **kwargs):
        super().__init__(**kwargs)
        self.translator = translator
        self.brand = ScreenBrand()
        self.store_name = store_name
        self.is_online = online
        self.ticks = ticks  # seconds for the idle timer: time.monotonic, or a test's clock
        self.last_touch = ticks()
        self._chrome_events: list = []
        self._loaded_kv: list[str] = []
        translator.bind(lambda _lang: setattr(self, "lang_version", translator.version))

    def idle_limit_s(self) -> float:
        raise NotImplementedError

    def on_idle(self) -> None:
        """The screen has been left alone for ``idle_limit_s``."""
        raise NotImplementedError

    def idle_watched(self) -> bool:
        """Does the idle timer run on the screen shown now? Not where nobody is using it."""
        return self.root.current != self.home_screen

    def start_chrome(self, reader: CacheReader | None = None) -> None:
        """Call from build(): watch touches and keys, tick the idle timer, follow the online flag and the
        brand in ``reader``'s cache."""
        if reader is not None:
            self.brand.follow(reader)
        Window.bind(on_touch_down=self._touched, on_key_down=self._key)
        self._chrome_events = [Clock.schedule_interval(self._idle_tick, 0.25),
                               Clock.schedule_interval(lambda dt: setattr(self, "online", bool(self.is_online())),
                                                       1.0)]

    def load_kv_files(self, paths: Iterable[str | Path]) -> None:
        """Load the app's kv files. One Builder per process: another app may have loaded theme.kv
        already, and loading a file twice applies its rules twice (doubled status bars)."""
        for path in map(str, paths):
            if (resource_find(path) or path) not in Builder.files:
                Builder.load_file(path)
                self._loaded_kv.append(path)

    def detach(self) -> None:
        """Leave the process's one Kivy window and Builder as they were before this app (tests run several apps in
        one process): ``kiosk.one_window.leave_window``."""
        leave_window(self, self._loaded_kv, self.widgets_off_the_tree())
        self._loaded_kv = []

    def widgets_off_the_tree(self) -> list[Widget]:
        """The widgets the app keeps to put in its tree later (none here)."""
        return []

    def stop_chrome(self) -> None:
        self.brand.stop()
        Window.unbind(on_touch_down=self._touched, on_key_down=self._key)
        for event in self._chrome_events:
            event.cancel()
        self._chrome_events = []

    def tr(self, msgid: str, _version: object = None) -> str:
        return self.translator.gettext(msgid)

    def say(self, reason: str) -> str:
        """An engine's reason in the screen's language (decisions.reasons)."""
        return say(reason, self.translator.gettext, self.translator.ngettext)

    def toggle_large_text(self) -> None:
        self.large_text = not self.large_text

    def on_large_text(self, app: object, large: bool) -> None:
        self._scale_text()

    def on_window_scale(self, app: object, scale: float) -> None:
        self._scale_text()

    def _scale_text(self) -> None:
        self.text_scale = (LARGE_TEXT_SCALE if self.large_text else 1.0) * self.window_scale

    def toggle_reach(self) -> None:
        self.reach = not self.reach

    def _touched(self, *args: object) -> bool:
        self.last_touch = self.ticks()
        self.countdown_text = ""
        return False  # let the touch go on to the widgets

    def _key(self, window: object, key: int, *args: object) -> bool:
        self.last_touch = self.ticks()  # a barcode scanner typing a code counts as activity
        return key == 27  # Esc from a keyboard or a scanner must not quit the app

    def _idle_tick(self, dt: float) -> None:
        if self.root is None or not self.idle_watched():
            self.countdown_text = ""
            return
        left = self.idle_limit_s() - (self.ticks() - self.last_touch)
        if left <= 0:
            self.on_idle()
        elif left <= self.countdown_s and self.root.current != self.home_screen:
            self.countdown_text = self.tr(self.countdown_msgid).format(seconds=math.ceil(left))
        else:
            self.countdown_text = ""
