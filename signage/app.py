"""The signage app: a rotated stage with the player on it, the display's on/off control, health,
identify, and the systemd watchdog pinged from Kivy's clock (a frozen UI loop stops the pings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kivy.app import App
from kivy.clock import Clock as KivyClock
from kivy.lang import Builder
from kivy.properties import NumericProperty, ObjectProperty
from kivy.uix.floatlayout import FloatLayout

from kiosk.brand import ScreenBrand
from kiosk.one_window import leave_window
from sync.cache import Cache
from sync.cache.outbox import Outbox
from sync.cache.read import CacheReader
from sync.clock import Clock
from sync.config import SignageSection
from sync.sdnotify import Notifier

from .display_power import DisplaySchedule, PanelPower
from .health import Health
from .layout import orientation_of
from .live import StoreInfo
from .player import Player
from .renderers import IdentifyOverlay

KV = Path(__file__).parent / "kv" / "signage.kv"
IDENTIFY_S = 10.0


class RotatedRoot(FloatLayout):
    rotation = NumericProperty(0)


class DisplayControl:
    """Follows the on/off schedule (checked once a second) and applies it to the player and the panel."""

    def __init__(self, player: Player, schedule: DisplaySchedule, tz: ZoneInfo, *, clock: Clock,
                 power: PanelPower | None = None):
        self.player, self.schedule, self.tz, self.clock = player, schedule, tz, clock
        self.power = power or PanelPower()

    def set_mode(self, mode: str, on_at: str | None = None, off_at: str | None = None) -> dict:
        self.schedule = replace(self.schedule, mode=mode, on_at=self.schedule.on_at if on_at is None else on_at,
                                off_at=self.schedule.off_at if off_at is None else off_at)
        self.tick(self.clock.time())
        return {**self.schedule.describe(), "on": self.player.display_on, "dpms": self.power.dpms}

    def tick(self, now: float) -> None:
        on = self.schedule.wanted(datetime.fromtimestamp(now, self.tz))
        if on != self.player.display_on:
            self.player.set_display(on)
            self.power.set(on)


class SignageApp(App):
    brand = ObjectProperty(None)  # the chain's look (kiosk.brand): the kv rules draw with its colours and font

    def __init__(self, *, cache: Cache, outbox: Outbox, store: StoreInfo, media_dir: Path,
                 clock: Clock, settings: SignageSection | None = None,
                 notifier: Notifier | None = None, seed: int = 0,
                 on_media_in_use: Callable[[set[str]], None] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.cache, self.outbox, self.store, self.media_dir = cache, outbox, store, Path(media_dir)
        self.settings, self.clock, self.seed = settings or SignageSection(), clock, seed
        self.notifier = notifier or Notifier()
        self.on_media_in_use = on_media_in_use
        self.player: Player | None = None
        self._events: list = []
        self._identify: IdentifyOverlay | None = None
        self.brand = ScreenBrand()

    def build(self) -> RotatedRoot:
        if str(KV) not in Builder.files:
            Builder.load_file(str(KV))
        from kivy.core.window import Window

        self.brand.follow(CacheReader(self.cache, self.media_dir))
        s = self.settings
        root = RotatedRoot(rotation=s.rotation)
        self.player = Player(root.ids.content, cache=self.cache, outbox=self.outbox, store=self.store,
                             media_dir=self.media_dir, clock=self.clock, lang=s.lang,
                             orientation=orientation_of(Window.width, Window.height, s.rotation),
                             layout_id=s.layout, brand_name=s.brand_name, brand_tagline=s.brand_tagline,
                             seed=self.seed)
        tz = ZoneInfo(self.store.timezone)
        self.display = DisplayControl(self.player, DisplaySchedule(s.display_on, s.display_off), tz, clock=self.clock)
        self.health = Health(self.player, media_dir=self.media_dir, display=self.display,
                             interval_s=s.health_interval_s)
        self.player.on_first_frame = self._first_frame
        if self.on_media_in_use is not None:
            self.player.watch_media(self.on_media_in_use)
        self.player.start()
        self._events = [KivyClock.schedule_interval(self._each_second, 1.0)]
        interval = self.notifier.watchdog_interval_s()
        if interval:
            self._events.append(KivyClock.schedule_interval(lambda dt: self.notifier.watchdog(), interval))
        self.display.tick(self.clock.time())
        return root

    def _first_frame(self) -> None:
        self.notifier.ready(f"showing {self.player.now_showing()}")

    def _each_second(self, dt: float) -> None:
        now = self.clock.time()
        self.display.tick(now)
        self.health.tick(now)
        if self._identify is not None and self._identify.parent is not None:
            self._identify.flash = not self._identify.flash

    def identify(self, seconds: float = IDENTIFY_S) -> dict:
        """Flash the device id over whatever is showing, so an installer finds this screen."""
        overlay_parent = self.root.ids.overlay
        if self._identify is None:
            self._identify = IdentifyOverlay(device_id=self.store.device,
                                             detail=f"store {self.store.store}  ·  {self.store.chain}")
        if self._identify.parent is None:
            overlay_parent.add_widget(self._identify)
        KivyClock.unschedule(self._end_identify)
        KivyClock.schedule_once(self._end_identify, seconds)
        return {"device": self.store.device, "seconds": seconds}

    def _end_identify(self, dt: float) -> None:
        if self._identify is not None and self._identify.parent is not None:
            self._identify.parent.remove_widget(self._identify)

    def detach(self) -> None:
        """Leave the process's one Kivy window and Builder as they were before this app (tests, benchmarks and the
        console's preview worker run several apps in one process): ``kiosk.one_window.leave_window``."""
        leave_window(self, [str(KV)], [self._identify] if self._identify is not None else [])

    def on_stop(self) -> None:
        if self.player is None:
            return  # stopped already (a later app may dispatch on_stop to the one before it)
        for event in self._events:
            event.cancel()
        self.brand.stop()
        self.player.stop()
        self.player = None
        self.notifier.stopping()
