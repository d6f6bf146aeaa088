"""The signage player: the zones of a layout, each playing its schedule with the next item ready.

One ``tick`` per frame on Kivy's clock does everything, with no polling of the cache:

- the schedule is evaluated only at its deadline (``signage.schedule``), or when an override, a
  bundle or the hour's play counts can change it;
- each zone swaps to its prepared next item the frame its current item ends, then prepares the one
  after on the following frame (decode before it is needed: no black gap);
- a new bundle becomes the playing library only when every file it names is on disk and verified,
  and only at an item boundary;
- an item that fails to prepare or play is skipped, reported (log, ``playback_error`` event, health's
  last error) and blacklisted until its content changes; when nothing can play, the store's branded
  slide shows; with no content at all, the "waiting for content" screen with the device id.

``clock`` says what time it is (``sync.clock``); tests pass a ``FixedClock`` and step Kivy's frames themselves.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from kivy.clock import Clock as KivyClock
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.stencilview import StencilView

from sync.cache import Cache
from sync.cache.db import CacheError
from sync.cache.outbox import Outbox
from sync.cache.read import CacheReader
from sync.cache.signage import active_overrides
from sync.clock import Clock
from sync.protocol.overrides import Override

from .layout import Layout, Zone
from .library import FileChecks, Item, Library, LibraryError, Playlist, load_library
from .live import LiveBoards, StoreInfo
from .ordering import Slot, orderer
from .proof import ProofOfPlay
from .renderers import (
    BlackCover,
    BrandSlide,
    ClockZone,
    MessageSlide,
    Slide,
    SlideError,
    SlideSkipped,
    TickerZone,
    WaitingScreen,
    build_slide,
)
from .schedule import ActiveSet, Schedule, ScheduleContext, evaluate
from .text_fill import localised

log = logging.getLogger("store_edge.signage")
FALLBACK_S = 10.0
LIVE_BOARD_S = {"menu_board": 30.0, "offers": 10.0}
PENDING_RECHECK_S = 2.0  # a new bundle whose files are still downloading is looked at again this often
NO_SCHEDULE = Schedule(())
FRAME_SLACK_S = 0.1
# Kivy ticks at most 60 times a second. An item ends on the tick nearest its due time, as a video
# player presents on the nearest vsync: waiting for the first tick after it would add up to a whole
# frame to every switch.
HALF_FRAME_S = 1 / 120
FULL_GC_NEVER = 1 << 30  # generation-2 threshold: no automatic full collections while the player runs
FULL_GC_MIN_S, FULL_GC_MAX_S, FULL_GC_SLACK_S = 10.0, 60.0, 0.5


@dataclass
class Showing:
    slide: Slide
    entry: str | None
    started_at: float = 0.0
    slot: Slot | None = None
    playlist: Playlist | None = None

    @property
    def item_id(self) -> str | None:
        return self.slide.item.id if self.slide.item else None


class ZoneBox(FloatLayout, StencilView):
    """A zone's rectangle: what its slides draw past the edge (an image filling it) is clipped."""


@dataclass
class ZonePlayer:
    zone: Zone
    box: FloatLayout
    current: Showing | None = None
    upcoming: Showing | None = None
    sources: tuple[tuple[str | None, Playlist], ...] = ()
    turn: int = 0
    cut: bool = False  # end the current item now (the schedule changed under it)


class Player:
    def __init__(self, stage: FloatLayout, *, cache: Cache, outbox: Outbox, store: StoreInfo, media_dir,
                 clock: Clock, lang: str = "en", orientation: str = "landscape",
                 layout_id: str = "", brand_name: str = "", brand_tagline: str = "", seed: int = 0):
        self.stage = stage
        self.cache, self.outbox, self.store = cache, outbox, store
        self.reader = CacheReader(cache, media_dir)
        self.clock, self.lang, self.orientation, self.layout_id = clock, lang, orientation, layout_id
        self._brand_name, self._brand_tagline, self.seed = brand_name, brand_tagline, seed
        self.tz = ZoneInfo(store.timezone)
        self.boards = LiveBoards(cache, store, clock=clock, media_dir=media_dir)
        self.proof = ProofOfPlay(cache, outbox)
        self.checks = FileChecks()
        self.library: Library | None = None
        self.pending: Library | None = None
        self._pending_checked = 0.0
        self.zones: dict[str, ZonePlayer] = {}
        self.active: ActiveSet | None = None
        self.deadline: float = 0.0
        self.override: Override | None = None
        self.overrides: list[Override] = []
        self._reported: Override | None = None  # the override head office was last told is on screen
        self.blacklist: dict[str, str] = {}  # item id -> the content version that failed
        self.last_error: str = ""
        self.errors = 0
        self.state = "starting"  # waiting | playing | override | off
        self.display_on = True
        self._cover: FloatLayout | None = None
        self._special: ZonePlayer | None = None  # a playlist override's full-screen zone
        self._dirty = True  # re-evaluate the schedule on the next tick
        self._overrides_dirty = True
        # (monotonic, zone, item) of the latest switches, for tests and benchmarks; bounded, the player runs for months
        self.switches: deque[tuple[float, str, str | None]] = deque(maxlen=2000)
        self.on_first_frame: Callable[[], None] | None = None
        self._on_media_in_use: Callable[[set[str]], None] | None = None
        self._media_in_use: set[str] = set()
        self._event = None
        self._dt = 0.0
        self._gc_thresholds = gc.get_threshold()
        self._last_full_gc = time.monotonic()
        self._missing_reported: set[tuple[str, str]] = set()
        # Per (zone, playlist): where each playlist is in its order, kept across overrides and rebuilds so
        # that the schedule resumes where it was; and the prepared item a zone had to drop, to play first.
        self._orderers: dict[tuple[str, Playlist], object] = {}
        self._held: dict[str, tuple[str | None, Playlist, Slot]] = {}

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.reload()
        self._event = KivyClock.schedule_interval(self.tick, 0)
        self._gc_thresholds = gc.get_threshold()
        # Young generations stay automatic; the full pass (about 190 ms here with Kivy and the engine loaded)
        # runs only where it cannot delay a switch: see _collect.
        gc.set_threshold(self._gc_thresholds[0], self._gc_thresholds[1], FULL_GC_NEVER)

    def stop(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None
            gc.set_threshold(*self._gc_thresholds)
        self._clear_zones(record=True)
        self.proof.flush(self.clock.time())
        self._report_override(None)

    def reload(self) -> None:
        """Read the cache again (after a bundle, or the ``reload`` command); swaps at the next boundary."""
        try:
            fresh = load_library(self.reader, timezone=self.store.timezone, orientation=self.orientation,
                                 layout_id=self.layout_id, checks=self.checks)
        except LibraryError as exc:
            self.report(None, f"new content not used, the last good content plays on: {exc}")
            return
        self._pending_checked = self.clock.time()
        if self.library is None or self.library.empty:
            self._adopt(fresh)  # nothing better to keep: play what is here; items without their file wait
        else:
            self.pending = fresh
        if fresh.missing:
            log.info("content waits for %d media file(s): %s", len(fresh.missing), ", ".join(fresh.missing[:5]))

    def wake_overrides(self) -> None:
        """An override arrived or ended (any thread may call through Kivy's clock): look on the next frame."""
        self._overrides_dirty = True

    # --- the frame ---------------------------------------------------------------------------------
    def tick(self, dt: float = 0.0) -> None:
        self._dt = min(dt, 0.1)
        now = self.clock.time()
        if self._overrides_dirty:
            self._overrides_dirty = False
            self._read_overrides(now)
        waiting_files = self.pending is not None or (self.library is not None and self.library.missing)
        if waiting_files and now - self._pending_checked >= PENDING_RECHECK_S:
            self._recheck_pending(now)
        if self._dirty or now >= self.deadline:
            self._evaluate(now)
        if self.state == "playing":
            for zp in list(self.zones.values()):
                self._tick_zone(zp, now)
        elif self.state == "override" and self._special is not None:
            self._tick_zone(self._special, now)
        if self.state != "playing":
            self.proof.tick(now)  # while playing it runs just after a swap, when the next boundary is furthest

    def _evaluate(self, now: float, *, cut: bool = True) -> None:
        self._evaluate_schedule(now, cut=cut)
        self._report_override(self.override if self.state == "override" else None)

    def _evaluate_schedule(self, now: float, *, cut: bool) -> None:
        self._dirty = False
        if not self.display_on:
            self._enter("off")
            self.override = None  # so that it is put on the screen again when the display comes back
            self.deadline = now + 3600
            return
        empty = self.library is None or self.library.empty
        ctx = ScheduleContext(plays_this_hour=self.proof.counts_at(now), overrides=self.overrides)
        schedule = NO_SCHEDULE if empty else self.library.schedule
        active, deadline = evaluate(schedule, datetime.fromtimestamp(now, UTC), ctx)
        self.deadline = deadline.timestamp()
        if active.override is not None and (active.override.message is not None or not empty):
            if self.override is None or active.override.override_id != self.override.override_id:
                self._show_override(active.override)
            self.active = active
            return
        self.override = None
        if empty:
            self._enter("waiting")
            return
        if self.state != "playing":
            self._enter("playing")
        changed = self.active is None or self.active.zones != active.zones
        self.active = active
        if changed:
            for zp in self.zones.values():
                self._set_sources(zp, cut=cut)

    # --- zones -------------------------------------------------------------------------------------
    def _build_zones(self, layout: Layout) -> None:
        self._clear_zones(record=True)
        self.stage.clear_widgets()
        self.zones = {}
        for zone in layout.zones:
            box = ZoneBox(size_hint=(zone.w, zone.h), pos_hint=zone.kivy_pos_hint())
            self.stage.add_widget(box)
            zp = ZonePlayer(zone, box)
            if zone.kind == "ticker":
                box.add_widget(TickerZone())
            elif zone.kind == "clock":
                box.add_widget(ClockZone())
            self.zones[zone.id] = zp
            self._set_sources(zp, cut=False)

    def _set_sources(self, zp: ZonePlayer, *, cut: bool) -> None:
        lib = self.library
        entries = self.active.zones.get(zp.zone.id, ()) if self.active else ()
        sources = tuple((e.id, lib.playlists[e.playlist]) for e in entries if e.playlist in lib.playlists)
        if not sources and zp.zone.playlist in lib.playlists:
            sources = ((None, lib.playlists[zp.zone.playlist]),)
        if not sources and zp.zone.kind in LIVE_BOARD_S:
            slot = Slot(f"{zp.zone.kind}:{zp.zone.id}", LIVE_BOARD_S[zp.zone.kind])
            sources = ((None, Playlist(slot.item, "sequential", (slot,))),)
        if sources == zp.sources:
            return
        zp.sources = sources
        self._drop_upcoming(zp)
        zp.cut = cut and zp.current is not None
        if zp.zone.kind == "ticker":
            self._fill_ticker(zp)

    def _tick_zone(self, zp: ZonePlayer, now: float) -> None:
        kind = zp.zone.kind
        if kind == "ticker":
            zp.box.children[0].advance(self._dt)
            return
        if kind == "clock":
            if zp.current is None or now - zp.current.started_at >= 1.0:
                zp.box.children[0].show(datetime.fromtimestamp(now, self.tz), self.boards.weather_line())
                zp.current = Showing(zp.box.children[0], None, now)
            return
        cur = zp.current
        if cur is not None and not zp.cut:
            reason = cur.slide.failure()
            if reason:
                self.report(cur.slide.item, reason)
            elif now + HALF_FRAME_S < cur.started_at + cur.slide.duration_s and not cur.slide.ended_early():
                return
        self._advance(zp, now)

    def _advance(self, zp: ZonePlayer, now: float) -> None:
        if self.pending is not None and self.pending.complete:
            self._adopt(self.pending)  # an item boundary: the new bundle takes over here
            if self.state != "playing":
                return
        nxt = zp.upcoming or self._pick(zp)
        zp.upcoming = None
        cur = zp.current
        if cur is not None and not zp.cut and cur.slide.item is not None:
            # On the beat: the next item starts when this one was due to end (within a frame of now), so the
            # playlist's timing does not drift by part of a frame per item.
            due = cur.started_at + cur.slide.duration_s
            if -HALF_FRAME_S <= now - due < FRAME_SLACK_S:
                now = due
        self._show(zp, nxt, now)
        KivyClock.schedule_once(lambda dt: self._prepare_upcoming(zp), 0)

    def _show(self, zp: ZonePlayer, nxt: Showing, now: float) -> None:
        old = zp.current
        nxt.started_at = now
        zp.box.add_widget(nxt.slide)  # on top of the old one, which goes in the same frame
        if old is not None:
            self._finish(zp, old, now)
        zp.current, zp.cut = nxt, False
        nxt.slide.start()
        self._report_media()
        self.switches.append((time.monotonic(), zp.zone.id, nxt.item_id))
        if self.on_first_frame is not None and nxt.slide.item is not None:
            callback, self.on_first_frame = self.on_first_frame, None
            KivyClock.schedule_once(lambda dt: callback(), 0)

    def _finish(self, zp: ZonePlayer, showing: Showing, now: float) -> None:
        showing.slide.stop()
        if showing.slide.parent is not None:
            showing.slide.parent.remove_widget(showing.slide)
        item = showing.slide.item
        if item is not None:
            self.proof.played(item.id, zp.zone.id, showing.entry, showing.started_at, now, showing.slide.duration_s)
            if showing.entry is not None and self.library and self.library.schedule.hourly:
                self._dirty = True  # max_per_hour may have been reached

    def _prepare_upcoming(self, zp: ZonePlayer) -> None:
        if zp.upcoming is None and zp.current is not None and (zp is self._special or zp in self.zones.values()):
            zp.upcoming = self._pick(zp)
            self._report_media()
            now = self.clock.time()
            self.proof.tick(now)
            self._collect(now)

    def _collect(self, now: float) -> None:
        """A full garbage collection in the slack before the next item boundary, or at the latest every
        ``FULL_GC_MAX_S`` (then it may delay one switch)."""
        waited = time.monotonic() - self._last_full_gc
        if waited < FULL_GC_MIN_S:
            return
        ends = [zp.current.started_at + zp.current.slide.duration_s for zp in self.zones.values()
                if zp.current is not None and zp.current.slide.item is not None]
        if waited >= FULL_GC_MAX_S or min(ends, default=now + 3600) - now >= FULL_GC_SLACK_S:
            gc.collect()
            self._last_full_gc = time.monotonic()

    def watch_media(self, listener: Callable[[set[str]], None]) -> None:
        """Tell ``listener`` the media files on screen or prepared next, now and whenever that changes, so that
        the agent's disk budget never collects them (``sync.media.MediaFetcher.showing``)."""
        self._on_media_in_use = listener
        listener(set(self._media_in_use))

    def _report_media(self) -> None:
        players = [*self.zones.values(), *([self._special] if self._special else [])]
        shown = {s.slide.item.media for zp in players for s in (zp.current, zp.upcoming)
                 if s is not None and s.slide.item is not None and s.slide.item.media}
        if shown != self._media_in_use:
            self._media_in_use = shown
            if self._on_media_in_use is not None:
                self._on_media_in_use(set(shown))

    def _drop_upcoming(self, zp: ZonePlayer, *, hold: bool = False) -> None:
        up = zp.upcoming
        if up is not None:
            up.slide.stop()
            zp.upcoming = None
            if hold and up.slot is not None and up.playlist is not None:
                self._held[zp.zone.id] = (up.entry, up.playlist, up.slot)

    def _pick(self, zp: ZonePlayer) -> Showing:
        """The next playable item of the zone's sources, prepared; the branded slide if none can play."""
        lib = self.library
        day = self.clock.now().astimezone(self.tz).date()
        tries = sum(len(p.slots) for _, p in zp.sources) + 1
        for _ in range(tries if zp.sources else 0):
            held = self._held.pop(zp.zone.id, None)
            if held is not None and (held[0], held[1]) in zp.sources:
                entry, playlist, slot = held
            else:
                entry, playlist = zp.sources[zp.turn % len(zp.sources)]
                zp.turn += 1
                key = (zp.zone.id, playlist)
                order = self._orderers.get(key)
                if order is None:
                    order = self._orderers[key] = orderer(playlist.order, playlist.slots, self.seed)
                slot = order.next()
            item = self._item(slot, lib)
            if item is None or self.blacklist.get(item.id) == item.version or not item.valid_on(day):
                continue
            if item.media and item.id in lib.missing:
                if (item.id, item.version) not in self._missing_reported:
                    self._missing_reported.add((item.id, item.version))
                    self.report(item, f"media {item.media[:12]} is not on the device (or fails its sha256); skipped",
                                blacklist=False)
                continue
            try:
                slide = build_slide(item, templates=lib.templates, boards=self.boards, lang=self.lang,
                                    offers_elsewhere=self._offers_elsewhere(zp))
                slide.size = zp.box.size  # the zone's: laid out once, here, not again on the swap frame
                slide.prepare()
                slide.settle()
            except SlideSkipped:
                continue
            except SlideError as exc:
                self.report(item, str(exc))
                continue
            if slot.duration_s:
                slide.duration_s = slot.duration_s
            return Showing(slide, entry, slot=slot, playlist=playlist)
        slide = BrandSlide(name=self.brand_name, tagline=self.brand_tagline)
        slide.duration_s = FALLBACK_S
        return Showing(slide, None)

    def _offers_elsewhere(self, zp: ZonePlayer) -> set[str]:
        """Offers the other zones show or have ready: an offer is in one zone at a time."""
        return {offer for other in self.zones.values() if other is not zp
                for showing in (other.current, other.upcoming) if showing is not None
                for offer in getattr(showing.slide, "offer_ids", ())}

    def board_notes(self) -> dict[str, str]:
        """zone -> why its menu board shows this menu (the engine's reasons), for technicians: never on screen."""
        return {z: zp.current.slide.note for z, zp in self.zones.items()
                if zp.current is not None and getattr(zp.current.slide, "note", "")}

    @property
    def brand_name(self) -> str:
        """The device's ``[signage] brand_name``, else the layout's brand from head office, else the chain's brand,
        else the store id."""
        brand = (self.library.layout.brand if self.library else None) or {}
        return self._brand_name or brand.get("name") or self._chain_brand().get("name") or self.store.store

    @property
    def brand_tagline(self) -> str:
        brand = (self.library.layout.brand if self.library else None) or {}
        return self._brand_tagline or brand.get("tagline") or localised(self._chain_brand().get("tagline"), self.lang)

    def _chain_brand(self) -> dict:
        try:
            return self.reader.brand() or {}
        except CacheError:
            return {}

    @staticmethod
    def _item(slot: Slot, lib: Library) -> Item | None:
        item = lib.items.get(slot.item)
        if item is None and ":" in slot.item:
            kind = slot.item.split(":", 1)[0]
            if kind in LIVE_BOARD_S:
                return Item(slot.item, kind, slot.duration_s or LIVE_BOARD_S[kind])
        return item

    def _fill_ticker(self, zp: ZonePlayer) -> None:
        lib = self.library
        texts = []
        for _, playlist in zp.sources:
            for slot in playlist.slots:
                item = lib.items.get(slot.item)
                if item is not None and item.kind == "text":
                    t = item.doc.get("text") or {}
                    texts.append(str(t.get(self.lang) or t.get("en") or ""))
        ticker = zp.box.children[0]
        ticker.text = "     •     ".join(t for t in texts if t)
        ticker.offset = zp.box.width

    def _clear_zones(self, *, record: bool) -> None:
        now = self.clock.time()
        for zp in [*self.zones.values(), *([self._special] if self._special else [])]:
            self._drop_upcoming(zp, hold=zp is not self._special)
            if zp.current is not None and zp.zone.kind not in ("ticker", "clock"):
                if record:
                    self._finish(zp, zp.current, now)
                else:
                    zp.current.slide.stop()
            zp.current = None

    # --- library, state, overrides ---------------------------------------------------------------
    def _recheck_pending(self, now: float) -> None:
        self._pending_checked = now
        try:
            fresh = load_library(self.reader, timezone=self.store.timezone, orientation=self.orientation,
                                 layout_id=self.layout_id, checks=self.checks)
        except LibraryError as exc:
            if self.pending is not None or not self.last_error.endswith(str(exc)):
                self.report(None, f"new content not used, the last good content plays on: {exc}")
            self.pending = None
            return
        if self.library is not None and fresh == self.library:
            self.pending = None
            return
        self.pending = fresh
        if self.library is None or self.library.empty or self.state != "playing":
            if fresh.complete:
                self._adopt(fresh)

    def _adopt(self, fresh: Library) -> None:
        old = self.library
        self.library, self.pending = fresh, None
        self.boards.reload()
        if self.boards.error:
            self.report(None, f"offers and menu boards keep their last content: {self.boards.error}")
        self.blacklist = {i: v for i, v in self.blacklist.items() if i in fresh.items and fresh.items[i].version == v}
        log.info("content %s in use (%d items, %d playlists)", dict(fresh.versions), len(fresh.items),
                 len(fresh.playlists))
        if self.state == "playing" and old is not None and old.layout == fresh.layout:
            # Each zone finishes the item it is showing; what comes next is from the new content.
            self.active = None
            self._evaluate(self.clock.time(), cut=False)
            for zp in self.zones.values():
                self._drop_upcoming(zp)
                KivyClock.schedule_once(lambda dt, zp=zp: self._prepare_upcoming(zp), 0)
        else:
            self.state = "rebuild"
            self._dirty = True

    def _enter(self, state: str) -> None:
        if state == self.state:
            return
        self._clear_zones(record=True)
        self._special = None
        self.stage.clear_widgets()
        self.zones = {}
        if self._cover is not None:
            self._cover.parent and self._cover.parent.remove_widget(self._cover)
            self._cover = None
        self.state = state
        if state == "waiting":
            self.stage.add_widget(WaitingScreen(name=self.brand_name, device_id=self.store.device))
        elif state == "off":
            self._cover = BlackCover()
            self.stage.add_widget(self._cover)
        elif state == "playing":
            self.active = None
            self._build_zones(self.library.layout)

    def _show_override(self, override: Override) -> None:
        self.state = "replacing"  # so that _enter clears whatever is on the stage, another override too
        self._enter("override")
        self.override = override
        if override.message is not None:
            m = override.message
            slide = MessageSlide(title=str(m.get("title", "")), body=str(m.get("body", "")),
                                 style=str(m.get("style", "alert")))
            self.stage.add_widget(slide)
            self.switches.append((time.monotonic(), "override", override.override_id))
            if self.on_first_frame is not None:
                callback, self.on_first_frame = self.on_first_frame, None
                KivyClock.schedule_once(lambda dt: callback(), 0)
        else:
            zone = Zone("override", "playlist", 0, 0, 1, 1)
            box = FloatLayout()
            self.stage.add_widget(box)
            slots = tuple(Slot.from_doc(s) for s in override.playlist)
            self._special = ZonePlayer(zone, box, sources=((None, Playlist(override.override_id, "sequential",
                                                                            slots)),))
            self._tick_zone(self._special, self.clock.time())
        log.info("override %s on screen", override.override_id)

    def _read_overrides(self, now: float) -> None:
        try:
            self.overrides = active_overrides(self.cache, now)
        except CacheError as exc:
            self.report(None, f"overrides not read: {exc}")
            return
        self._dirty = True
        if self.state == "override" and not any(o.override_id == self.override.override_id for o in self.overrides):
            self.override = None
            self.state = "ended-override"  # _evaluate rebuilds the layout; the orderers resume where they were

    def set_display(self, on: bool) -> None:
        if on != self.display_on:
            self.display_on = on
            self._dirty = True
            if on:
                self.state = "resume"

    # --- reporting ---------------------------------------------------------------------------------
    def report(self, item: Item | None, reason: str, *, blacklist: bool = True) -> None:
        """Log a failure, remember it for health, send it to head office, and blacklist the item's version."""
        self.errors += 1
        self.last_error = f"{item.id}: {reason}" if item else reason
        log.warning("signage: %s", self.last_error)
        if item is not None and blacklist:
            self.blacklist[item.id] = item.version
        try:
            self.outbox.record("playback_error", {"item": item.id if item else None, "reason": reason,
                                                  "version": item.version if item else None})
        except CacheError as exc:
            log.error("playback error not recorded: %s", exc)

    def _report_override(self, showing: Override | None) -> None:
        """An ``override_shown`` event when an override goes on the screen and when it comes off (ended,
        expired, replaced, display off, player stopped): head office counts the screens that show it."""
        before = self._reported
        if (showing and showing.override_id) == (before and before.override_id):
            return
        self._reported = showing
        try:
            with self.cache.transaction() as conn:
                for override, on_screen in ((before, False), (showing, True)):
                    if override is not None:
                        self.outbox.append(conn, "override_shown", {"override_id": override.override_id,
                                                                    "scope": override.scope, "on_screen": on_screen})
        except CacheError as exc:
            log.error("override on/off screen not recorded: %s", exc)

    def now_showing(self) -> dict[str, str | None]:
        """zone -> item id on screen (an override or a special screen under its own name)."""
        if self.state == "override" and self.override is not None:
            if self._special is not None and self._special.current is not None:
                return {"override": self._special.current.item_id}
            return {"override": self.override.override_id}
        if self.state != "playing":
            return {self.state: None}
        return {z: (zp.current.item_id if zp.current and zp.current.slide.item else
                    ("brand" if zp.current and isinstance(zp.current.slide, BrandSlide) else None))
                for z, zp in self.zones.items() if zp.zone.kind not in ("ticker", "clock")}
