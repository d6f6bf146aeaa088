"""The signage player on the real Kivy widget tree under Xvfb, on a clock that moves only when the test says.

Each test starts its own SignageApp on the shared window over a demo-store cache with a week of
signage content. Screenshots go to test-output/screens/signage/.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from kivy.uix.label import Label
from layout_audit import assert_layout_ok, label_problem, problems, record
from signage_content import apply, image_bytes, media_entry, store_media, week_content
from ui_driver import advance, close_kiosk, open_kiosk, resize_window, shot, stop_previous_app, until

from demo.store import ASSETS, demo_cache, load_media
from signage.app import SignageApp
from signage.live import StoreInfo
from signage.renderers import MenuBoardSlide, OffersSlide, ProductSlide, TextSlide
from sync.cache.outbox import Outbox
from sync.cache.signage import save_override
from sync.clock import FixedClock
from sync.config import SignageSection
from sync.protocol.overrides import Override

SOFIA = ZoneInfo("Europe/Sofia")
STORE = StoreInfo("demo", "south", "s001", "signage-1", "Europe/Sofia")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=SOFIA).timestamp()


class Screen:
    """A running SignageApp and the means to drive it: sim time, frames, events."""

    def __init__(self, tmp: Path, start: float, content: bool | str = True, settings: SignageSection | None = None):
        """``content``: the test week (True), none at all (False), or ``"demo"``: the demo chain's own."""
        self.media = tmp / "media"
        self.clock = FixedClock(start)
        self.cache = demo_cache(tmp / "cache.db", clock=self.clock)
        self.content = week_content(self.media) if content is True else None
        if content == "demo":
            for entry in load_media(ASSETS):
                store_media(self.media, (ASSETS / entry["url"]).read_bytes())
        elif content:
            self.apply(self.content, version=2)
        else:  # a fresh device: no signage content at all
            self.apply({"content_items": [], "playlists": [], "schedules": []}, version=2)
        self.outbox = Outbox(self.cache, boot_id="boot", device=STORE.device, store=STORE.store, clock=self.clock)
        stop_previous_app()
        self.app = SignageApp(cache=self.cache, outbox=self.outbox, store=STORE, media_dir=self.media,
                              settings=settings or SignageSection(lang="en", brand_name="Demo Coffee & Bakery",
                                                                  brand_tagline="Fresh every morning"),
                              clock=self.clock)
        self.app._run_prepare()
        advance(3)

    def apply(self, content: dict, version: int) -> None:
        """A new chain bundle in the cache, applied now on this screen's clock."""
        apply(self.cache, content, version, at=self.clock.time())

    @property
    def player(self):
        return self.app.player

    def run(self, seconds: float, step: float = 0.25) -> None:
        """Move sim time forward in steps, a frame per step."""
        for _ in range(round(seconds / step)):
            self.clock.advance(step)
            advance(1)

    def showing(self, zone: str = "main") -> str | None:
        return self.player.now_showing().get(zone)

    def events(self, type: str) -> list[dict]:
        import json
        return [json.loads(p) for (p,) in self.cache.query("SELECT payload FROM outbox WHERE type = ?", (type,))]

    def close(self) -> None:
        self.app.detach()
        self.cache.close()



@pytest.fixture
def screen(tmp_path):
    screens: list[Screen] = []

    def make(start: float, **kwargs) -> Screen:
        s = Screen(tmp_path, start, **kwargs)
        screens.append(s)
        return s

    yield make
    for s in screens:
        s.close()


@pytest.fixture(scope="module")
def signage_shots(shots) -> Path:
    path = shots / "signage"
    path.mkdir(exist_ok=True)
    return path


def test_a_fresh_device_shows_the_waiting_screen_with_its_id(screen, signage_shots):
    s = screen(at("2026-11-23T09:00"), content=False)
    s.run(1)
    assert s.player.state == "waiting"
    waiting = s.player.stage.children[0]
    assert waiting.device_id == "signage-1" and waiting.name == "Demo Coffee & Bakery"
    shot(signage_shots, "waiting-for-content")
    assert_layout_ok(s.app.root.ids.content, "waiting-for-content")
    # the first bundle arrives: it plays at once
    content = week_content(s.media)
    s.apply(content, version=3)
    s.player.reload()
    s.run(1)
    assert s.player.state == "playing" and s.showing() == "img-croissant"


def test_content_switches_at_the_daypart_boundaries(screen, signage_shots):
    s = screen(at("2026-11-23T10:59:50"))  # a Monday, ten seconds before lunch
    in_use: list[set[str]] = []
    s.player.watch_media(in_use.append)  # what the agent's disk budget must never collect
    s.run(0.5)
    assert s.showing() == "img-croissant"
    croissant = next(i["media"] for i in s.content["content_items"] if i["id"] == "img-croissant")
    assert croissant in in_use[-1]
    shot(signage_shots, "breakfast-layout")
    s.run(5)
    assert s.showing() == "txt-combo"
    shot(signage_shots, "text-slide-from-template")
    s.run(4.5)  # 11:00:00.25: lunch, cut at the boundary
    assert s.showing() == "img-soup"
    assert croissant not in in_use[-1]  # off the screen: the budget may collect it again
    lunch_start = [t for t in s.player.switches if t[2] == "img-soup"]
    assert len(lunch_start) == 1
    s.run(5)
    assert s.showing() == "txt-wifi"
    s.run(3)  # the slot's own 3 s, not the item's 5 s
    assert s.showing() == "img-soup"
    # Monday 22:00 is the overnight loop, and so is Tuesday 01:59; 02:00 falls back to the default
    s.clock.set(at("2026-11-23T22:00:01"))
    s.run(0.5)
    assert s.showing() == "txt-night"
    s.clock.set(at("2026-11-24T01:59:00"))
    s.run(0.5)
    assert s.showing() == "txt-night"
    s.run(60)
    assert s.showing() == "txt-wifi"
    # the plays went to the proof-of-play rows, with their durations
    s.player.proof.flush(s.clock.time())
    rows = s.cache.query("SELECT item_id, zone, duration_s, full FROM proof_of_play WHERE item_id = 'img-croissant'")
    assert rows[0][:3] == ("img-croissant", "main", 5.0) and rows[0][3] == 1


def test_the_menu_board_zone_shows_the_engines_menu_with_prices(screen, signage_shots):
    s = screen(at("2026-11-23T12:30"))
    s.run(1)
    side = s.player.zones["side"].current.slide
    assert side.heading == "Lunch"
    prices = [row.price for row in side.ids.rows.children]
    assert prices and all(p.startswith("€") for p in prices)
    shot(signage_shots, "lunch-menu-board")


def test_an_override_takes_the_screen_then_the_schedule_resumes(screen, signage_shots):
    s = screen(at("2026-11-23T09:00"))
    s.run(6)
    assert s.showing() == "txt-combo"
    now = s.clock.time()
    flood = Override("demo", "region/south", "ov-flood", now, now + 30, "start",
                     message={"title": "Store closed: flooding", "body": "Please use the Vitosha Blvd store."})
    save_override(s.cache, flood, source="test", received_at=now)
    s.player.wake_overrides()
    s.run(0.25)
    assert s.player.state == "override" and s.showing("override") == "ov-flood"
    shot(signage_shots, "emergency-override")
    assert_layout_ok(s.app.root.ids.content, "emergency-override")
    s.run(29)
    assert s.player.state == "override"
    s.run(1.5)  # expired
    assert s.player.state == "playing"
    assert s.showing() == "img-cappuccino"  # the breakfast loop goes on where it was, not from the top
    # an override ended by command before its expiry
    now = s.clock.time()
    promo = Override("demo", "device/signage-1", "ov-tasting", now, now + 600, "start",
                     playlist=["txt-night", {"item": "img-soup", "duration_s": 2}])
    save_override(s.cache, promo, source="command", received_at=now)
    s.player.wake_overrides()
    s.run(0.5)
    assert s.showing("override") == "txt-night"
    s.run(5)
    assert s.showing("override") == "img-soup"
    end = Override("demo", "device/signage-1", "ov-tasting", now + 10, now + 10, "end")
    save_override(s.cache, end, source="command", received_at=now + 10)
    s.player.wake_overrides()
    s.run(0.5)
    assert s.player.state == "playing"


def test_a_missing_or_corrupt_file_is_skipped_reported_and_blacklisted(screen, signage_shots, tmp_path):
    s = screen(at("2026-11-23T09:00"))
    content = s.content
    broken = b"\x89PNG\r\n\x1a\n this is not an image"
    broken_sha = store_media(s.media, broken)  # sha256 right, picture wrong: head office shipped a bad file
    absent = image_bytes("absent", (0, 90, 0))
    absent_sha = f"{7:064x}"  # named by the bundle, never downloaded
    content["content_items"] += [{"id": "img-broken", "kind": "image", "media": broken_sha, "duration_s": 5},
                                 {"id": "img-absent", "kind": "image", "media": absent_sha, "duration_s": 5}]
    content["playlists"][0]["items"] = ["img-broken", "img-croissant", "img-absent", "txt-combo"]
    content["media"] += [media_entry(broken_sha, broken), media_entry(absent_sha, absent)]
    s.apply(content, version=3)
    s.player.library = None  # as on a fresh start with this bundle in the cache
    s.player.reload()
    s.run(12)
    played = [item for _, zone, item in s.player.switches if zone == "main"]
    assert "img-broken" not in played and "img-absent" not in played
    assert played[-3:] == ["img-croissant", "txt-combo", "img-croissant"]
    errors = {e["item"]: e["reason"] for e in s.events("playback_error")}
    assert "cannot be decoded" in errors["img-broken"] and "not on the device" in errors["img-absent"]
    assert s.player.blacklist == {"img-broken": broken_sha}
    before = len(s.events("playback_error"))
    s.run(20)  # the blacklisted item is not tried again
    assert len(s.events("playback_error")) == before
    health = s.app.health.snapshot()
    assert health["blacklisted"] == ["img-broken"] and health["errors"] == 2
    assert health["last_error"].startswith("img-absent: media")


def test_a_new_bundle_swaps_in_at_an_item_boundary_once_its_files_are_here(screen, signage_shots):
    s = screen(at("2026-11-23T09:00"))
    s.run(2)
    content = s.content
    fresh = image_bytes("new season", (30, 80, 140))
    import hashlib
    sha = hashlib.sha256(fresh).hexdigest()
    content["content_items"].append({"id": "img-new", "kind": "image", "media": sha, "duration_s": 5})
    content["playlists"][0]["items"] = ["img-new", "txt-combo"]
    content["media"].append(media_entry(sha, fresh))
    s.apply(content, version=3)
    s.player.reload()
    s.run(10)  # the file is not here yet: the old content plays on
    assert "img-new" not in [t[2] for t in s.player.switches]
    assert s.player.pending is not None and s.player.pending.missing == ("img-new",)
    store_media(s.media, fresh)  # the download completes
    s.run(2.5)
    assert s.player.pending is not None and s.player.pending.complete
    current = s.player.zones["main"].current
    boundary = current.started_at + current.slide.duration_s
    s.run(boundary - s.clock.time() - 0.25)
    assert s.showing() != "img-new"  # not mid-item
    s.run(0.5)
    assert s.showing() == "img-new" and s.player.library.versions["chain"] == 3
    shot(signage_shots, "new-bundle")


def test_video_plays_with_the_ffpyplayer_provider(screen, tmp_path):
    import cv2
    import numpy as np

    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 180))
    for i in range(50):
        frame = np.full((180, 320, 3), (40, 80 + i * 3, 160), np.uint8)
        cv2.putText(frame, f"frame {i}", (20, 100), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        writer.write(frame)
    writer.release()
    s = screen(at("2026-11-23T09:00"))
    data = clip.read_bytes()
    sha = store_media(s.media, data)
    content = s.content
    content["content_items"].append({"id": "vid-clip", "kind": "video", "media": sha, "duration_s": 2})
    content["playlists"][0]["items"] = ["vid-clip", "txt-combo"]
    content["media"].append({**media_entry(sha, data), "mime": "video/x-msvideo"})
    s.apply(content, version=3)
    s.player.library = None
    s.player.reload()
    s.run(0.25)
    video = s.player.zones["main"].current.slide
    assert s.showing() == "vid-clip"
    assert type(video.video).__module__ == "kivy.core.video.video_ffpyplayer"  # the provider README names
    until(lambda: video.frames >= 5, timeout=10)  # real frames decoded and drawn
    assert video._rect.texture.size == (320, 180)


def test_screenshot_identify_and_display_commands(screen, signage_shots):
    import base64
    import io
    import json

    from PIL import Image

    from signage import commands
    from sync.agent.commands import CommandRegistry

    s = screen(at("2026-11-23T09:00"))
    s.run(1)
    registry = CommandRegistry(clock=s.clock)
    commands.register(registry, s.app)

    def call(command: str, args: dict) -> dict:
        box = {}
        t = threading.Thread(target=lambda: box.update(registry.run(json.dumps({"command": command,
                                                                                  "args": args}).encode())))
        t.start()
        until(lambda: not t.is_alive(), timeout=10)
        return box

    # The right way up: what the window shows (Kivy's own screenshot), not its mirror image. Checked on the playing
    # screen, whose top and bottom differ (the clock and ticker below); the identify card is nearly the same upside
    # down, which left the two distances a hair apart.
    window = Image.open(shot(signage_shots, "before-screenshot")).convert("L").resize((320, 180))
    answer = call("screenshot", {"width": 320})
    assert answer["ok"], answer
    raw = base64.b64decode(answer["result"]["png_base64"])
    (signage_shots / "screenshot-command.png").write_bytes(raw)
    png = Image.open(io.BytesIO(raw))
    assert png.size == (320, 180)
    assert len(set(png.convert("L").tobytes())) > 20  # a picture, not a blank

    def distance(a: Image.Image, b: Image.Image) -> float:
        return sum(abs(x - y) for x, y in zip(a.tobytes(), b.tobytes(), strict=True)) / (320 * 180)

    upright = distance(png.convert("L"), window)
    flipped = distance(png.convert("L").transpose(Image.Transpose.FLIP_TOP_BOTTOM), window)
    assert upright < flipped / 2, (upright, flipped)

    answer = call("identify", {"seconds": 5})
    assert answer["ok"], answer
    shot(signage_shots, "identify")
    assert_layout_ok(s.app.root.ids.overlay, "identify")
    answer = call("display", {"mode": "off"})
    assert answer["ok"] and answer["result"]["on"] is False
    s.run(0.5)
    assert s.player.state == "off"
    assert s.app.health.snapshot()["display"]["on"] is False
    shot(signage_shots, "display-off")
    assert call("display", {"mode": "sideways"})["error"].startswith("ValueError: mode must be one of")
    call("display", {"mode": "auto"})
    s.run(0.5)
    assert s.player.state == "playing"
    # reload: the player reads the cache again; a new bundle is taken at the next item boundary
    content = s.content
    content["playlists"][0]["items"] = ["txt-wifi"]
    s.apply(content, version=3)
    assert call("reload", {})["result"] == {"player": "reloaded"}
    s.run(5.5)
    assert s.showing() == "txt-wifi" and s.player.library.versions["chain"] == 3


def test_night_schedule_blanks_the_screen_and_health_says_so(screen):
    settings = SignageSection(lang="en", display_on="06:30", display_off="23:00", health_interval_s=60)
    s = screen(at("2026-11-23T22:59:58"), settings=settings)
    s.run(1)
    assert s.player.state == "playing"
    s.run(2)
    s.app._each_second(1)
    s.run(0.25)
    assert s.player.state == "off"
    s.clock.advance(61)
    s.app._each_second(1)
    health = s.events("health")[-1]
    assert health["source"] == "signage" and health["display"] == {
        "on": False, "mode": "auto", "on_at": "06:30", "off_at": "23:00", "dpms": s.app.display.power.dpms}
    assert health["content_versions"] == {"chain": 2, "store/s001": 1} and health["state"] == "off"
    assert {"uptime_s", "fps", "rss_bytes", "disk_free_bytes", "last_error"} <= set(health)
    assert health["rss_bytes"] > 50 * 2**20 and health["disk_free_bytes"] > 0
    s.clock.set(at("2026-11-24T06:30:00"))
    s.app._each_second(1)
    s.run(0.5)
    assert s.player.state == "playing"


def test_portrait_rotation_picks_the_portrait_layout(screen, signage_shots):
    s = screen(at("2026-11-23T12:30"), settings=SignageSection(lang="en", rotation=90))
    content = s.content
    content["layouts"].append({"id": "portrait", "orientation": "portrait", "zones": [
        {"id": "main", "kind": "playlist", "x": 0, "y": 0, "w": 1, "h": 0.55},
        {"id": "side", "kind": "offers", "x": 0, "y": 0.55, "w": 1, "h": 0.45}]})
    s.apply(content, version=3)
    s.player.library = None
    s.player.reload()
    s.run(1)
    assert s.player.library.layout.id == "portrait"
    assert s.app.root.ids.stage.size == [720, 1280] or tuple(s.app.root.ids.stage.size) == (720, 1280)
    shot(signage_shots, "portrait-offers")


def test_items_past_their_validity_are_not_played_offline(screen):
    s = screen(at("2027-01-04T09:00"))  # a Monday; the combo slide below was valid until the end of 2026
    content = s.content
    next(i for i in content["content_items"] if i["id"] == "txt-combo")["valid_until"] = "2026-12-31"
    s.apply(content, version=3)
    s.player.library = None
    s.player.reload()
    s.run(16)
    played = [item for _, zone, item in s.player.switches if zone == "main"]
    assert "txt-combo" not in played and played[-3:] == ["img-croissant", "img-cappuccino", "img-croissant"]
    assert s.player.errors == 0  # expired is not an error


def test_systemd_hears_ready_after_the_first_frame_and_watchdog_pings_from_the_ui_loop(tmp_path, monkeypatch):
    import socket

    from sync.sdnotify import Notifier

    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # pings every 0.1 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    clock = FixedClock(at("2026-11-23T09:00"))
    cache = demo_cache(tmp_path / "cache.db", clock=clock)
    apply(cache, week_content(tmp_path / "media"), version=2, at=clock.time())
    stop_previous_app()
    app = SignageApp(cache=cache, outbox=Outbox(cache, boot_id="b", device="signage-1", store="s001", clock=clock),
                     store=STORE, media_dir=tmp_path / "media", settings=SignageSection(lang="en"), clock=clock,
                     notifier=Notifier(str(path)))
    app._run_prepare()
    messages: list[str] = []
    try:
        until(lambda: any("READY=1" in m for m in _drain(sock, messages)), timeout=5)
        assert "showing" in next(m for m in messages if "READY=1" in m)
        advance(30)
        until(lambda: sum("WATCHDOG=1" in m for m in _drain(sock, messages)) >= 2, timeout=5)
    finally:
        app.detach()
        cache.close()
    assert "STOPPING=1" in _drain(sock, messages)[-1]
    sock.close()


def _drain(sock, into: list[str]) -> list[str]:
    """Every datagram systemd would have had so far, in order."""
    while True:
        try:
            into.append(sock.recv(4096).decode())
        except BlockingIOError:
            return into


def test_the_store_brand_shows_when_nothing_can_play(screen, signage_shots):
    s = screen(at("2026-11-23T09:00"))
    content = s.content
    broken = b"GIF89a but not really"
    sha = store_media(s.media, broken)
    content["content_items"].append({"id": "img-broken", "kind": "image", "media": sha, "duration_s": 5})
    content["playlists"][0]["items"] = ["img-broken"]  # breakfast: one picture, and it is broken
    content["media"].append(media_entry(sha, broken))
    s.apply(content, version=3)
    s.player.library = None
    s.player.reload()
    s.run(1)
    assert s.showing() == "brand" and s.player.blacklist == {"img-broken": sha}
    brand = s.player.zones["main"].current.slide
    assert brand.name == "Demo Coffee & Bakery" and brand.tagline == "Fresh every morning"  # [signage] config
    content["layouts"][0]["brand"] = {"name": "Demo Coffee Sofia Center", "tagline": "Open 7:00-22:00"}
    s.player._brand_name = s.player._brand_tagline = ""  # no brand in the device's config: head office's
    s.apply(content, version=4)
    s.player.library = None
    s.player.reload()
    s.run(1)
    brand = s.player.zones["main"].current.slide
    assert (brand.name, brand.tagline) == ("Demo Coffee Sofia Center", "Open 7:00-22:00")
    shot(signage_shots, "fallback-brand")
    assert_layout_ok(s.app.root.ids.content, "fallback-brand")
    # head office fixes the picture: a new sha256, so the blacklist no longer holds, and it plays
    fixed = image_bytes("fixed", (120, 60, 30))
    fixed_sha = store_media(s.media, fixed)
    content["content_items"][-1]["media"] = fixed_sha
    content["media"].append(media_entry(fixed_sha, fixed))
    s.apply(content, version=5)
    s.player.reload()
    s.run(12)
    assert s.showing() == "img-broken" and s.player.blacklist == {}


# --- the demo chain's layouts at every screen size (issue 16) ---------------------------------------------
SIZES = [(1920, 1080), (1280, 800), (1080, 1920), (1280, 720)]
LUNCH = "2026-11-23T13:26"  # a Monday
BREAKFAST = "2026-11-23T08:30"


@pytest.fixture
def window_size():

    def set_size(size: tuple[int, int]) -> None:
        resize_window(size)

    yield set_size
    resize_window((1280, 720))


def play(s: Screen, seconds: float, on_switch) -> None:
    """Play ``seconds`` of sim time and call ``on_switch()`` the frame any zone changes what it shows."""
    switches = len(s.player.switches)
    for _ in range(round(seconds / 0.5)):
        s.run(0.5)
        if len(s.player.switches) != switches:
            switches = len(s.player.switches)
            on_switch()


# English at every size; the chain's other languages at the three (their words are longer)
LAYOUT_CASES = [(size, lang) for lang in ("en", "bg", "ru") for size in (SIZES if lang == "en" else SIZES[:3])]


@pytest.mark.parametrize("moment", ["lunch", "breakfast"])
@pytest.mark.parametrize(("size", "lang"), LAYOUT_CASES, ids=[f"{w}x{h}-{lang}" for (w, h), lang in LAYOUT_CASES])
def test_the_demo_layouts_hold_at_every_screen_size(screen, signage_shots, window_size, size, lang, moment):
    """Lunch: the text slides, one offer and the menu board; breakfast: three offers side by side."""
    window_size(size)
    s = screen(at(LUNCH if moment == "lunch" else BREAKFAST), content="demo",
               settings=SignageSection(lang=lang, brand_name="Demo Coffee & Bakery"))
    stage = s.app.root.ids.content
    seen: set[str | None] = set()

    def audit() -> None:
        seen.update(s.player.now_showing().values())
        for offers in current_slides(s, OffersSlide).values():
            heading = next(w for w in offers.walk(restrict=True) if isinstance(w, Label) and w.text == offers.heading)
            assert len(heading._label._cached_lines) == 1, f"{offers.heading!r} is not one line at {size}"
        assert_layout_ok(stage, f"{size[0]}x{size[1]} at {s.clock.now().astimezone(SOFIA):%H:%M:%S}")

    s.run(0.5)
    audit()
    picture = shot(signage_shots, f"demo-{moment}-{size[0]}x{size[1]}-{lang}")
    record("signage demo", f"{moment}-{size[0]}x{size[1]}-{lang}", picture, problems(stage))  # for the contact sheet
    play(s, 70 if moment == "lunch" else 30, audit)
    assert {"menu-board", "txt-soup-of-the-day", "tpl-soup"} <= seen if moment == "lunch" else "menu-board" in seen


def current_slides(s: Screen, kind: type) -> dict[str, object]:
    return {z: zp.current.slide for z, zp in s.player.zones.items()
            if zp.current is not None and isinstance(zp.current.slide, kind)}


def test_a_text_slide_shows_every_line_on_a_full_screen_layout(screen, signage_shots):
    s = screen(at(LUNCH))
    content = s.content
    content["layouts"] = [{"id": "full", "orientation": "landscape",  # as head office publishes it
                           "zones": [{"id": "main", "kind": "playlist", "x": 0, "y": 0, "w": 1, "h": 1}]}]
    content["content_items"].append({"id": "txt-soup", "kind": "text", "duration_s": 5, "text": {
        "en": "Warm up with a bowl of bob chorba and mountain tea: €4.90"}})
    content["playlists"][1]["items"] = ["txt-soup", "txt-combo", "txt-wifi"]
    s.apply(content, version=3)
    s.player.library = None
    s.player.reload()
    shown: list[str] = []

    def every_line_drawn() -> None:
        for slide in current_slides(s, TextSlide).values():
            shown.append(slide.title)
            for label in slide.walk(restrict=True):
                assert label_problem(label) is None, label_problem(label)

    s.run(0.5)
    every_line_drawn()
    shot(signage_shots, "text-slide-full-screen")
    play(s, 70, every_line_drawn)
    assert {"Warm up with a bowl of bob chorba and mountain tea: €4.90", "Cappuccino + croissant €3.90"} <= set(shown)


def test_an_offer_is_in_one_zone_at_a_time_on_a_card_it_fills(screen, signage_shots):
    s = screen(at(LUNCH), content="demo")
    seen_in: dict[str, set[str]] = {}
    empty: set[tuple[str, str]] = set()
    for _ in range(80):  # 40 s: the side zone's offers turn comes while the offers zone shows its own
        s.run(0.5)
        on_screen: dict[str, str] = {}
        for zone, slide in current_slides(s, OffersSlide).items():
            for card in slide.ids.cards.children:
                assert card.title not in on_screen, f"{card.title!r} is in {on_screen[card.title]} and {zone}"
                on_screen[card.title] = zone
                seen_in.setdefault(card.title, set()).add(zone)
                assert not card.was or card.was != f"was {card.price}", f"{card.title!r}: {card.price} {card.was}"
                if sum(label.texture_size[1] for label in card.children if label.text) < 0.6 * card.height:
                    empty.add((card.title, zone))
    assert seen_in and not empty, f"cards mostly empty: {empty}"
    shot(signage_shots, "offers-one-zone-each")


def test_menu_names_show_in_full(screen):
    s = screen(at(LUNCH), content="demo")
    s.run(0.5)
    board = s.player.zones["side"].current.slide
    names = {row.name: row for row in board.ids.rows.children}
    assert "Hummus and roasted vegetable wrap" in names
    for name, row in names.items():
        label = next(w for w in row.walk(restrict=True) if isinstance(w, Label) and w.text == name)
        assert label_problem(label) is None, label_problem(label)


def test_the_engines_reasons_are_for_technicians_not_on_the_screen(screen):
    s = screen(at(LUNCH), content="demo")
    s.run(0.5)
    assert isinstance(s.player.zones["side"].current.slide, MenuBoardSlide)
    texts = [w.text for w in s.app.root.walk() if isinstance(w, Label)]
    assert not [t for t in texts if "weather unknown" in t or "menu (" in t], texts
    assert "weather unknown" in s.app.health.snapshot()["boards"]["side"]  # a technician still reads it


def test_the_ticker_fades_out_before_the_clock(screen, signage_shots):
    from PIL import Image

    s = screen(at(LUNCH), content="demo")
    s.run(0.5)
    ticker = s.player.zones["ticker"].box
    clock = s.player.zones["clock"].box
    slide = ticker.children[0]
    from kivy.core.window import Window

    top = Window.height  # the screenshot's rows run from the top
    band = (round(ticker.right) - 3, top - round(ticker.top) + 4, round(ticker.right), top - round(ticker.y) - 4)
    for k in range(1, 7):  # the text's middle parts run across the ticker's end
        slide.offset = ticker.width - slide.ids.text.width * k / 7
        edge = Image.open(shot(signage_shots, "ticker-end")).convert("RGB").crop(band)
        background = tuple(round(c * 255) for c in slide.background[:3])
        worst = max(max(abs(p - b) for p, b in zip(px, background, strict=True)) for px in edge.getdata())
        assert worst <= 24, f"text drawn at the ticker's end next to the clock (offset {slide.offset:.0f})"
    assert clock.x >= ticker.right - 1 and clock.x == s.player.zones["side"].box.x  # a column, not a notch


def test_a_picture_is_not_cut_in_half_in_a_portrait_zone(screen, signage_shots, window_size):
    window_size((1080, 1920))
    s = screen(at(BREAKFAST), content="demo")
    s.run(0.5)
    poster = s.player.zones["main"].current.slide
    assert s.showing() == "poster-croissant" and not poster.wide  # the picture above the words
    frame = poster.ids.frame
    assert frame.width == poster.width and poster.picture.width / poster.picture.height == \
        pytest.approx(frame.width / frame.height, rel=0.01)  # cropped to its box, not stretched
    assert poster.picture.width >= poster._texture.width * 0.5  # at least half the picture across
    shot(signage_shots, "portrait-picture")


def poster_only(sku_item: str = "poster-tikvenik") -> dict:
    """A full-screen layout playing one product poster all day, as head office publishes it."""
    return {"layouts": [{"id": "full", "orientation": "landscape",
                         "zones": [{"id": "main", "kind": "playlist", "x": 0, "y": 0, "w": 1, "h": 1}]},
                        {"id": "full-portrait", "orientation": "portrait",
                         "zones": [{"id": "main", "kind": "playlist", "x": 0, "y": 0, "w": 1, "h": 1}]}],
            "playlists": [{"id": "pl-poster", "order": "sequential", "items": [sku_item]}],
            "schedules": [{"id": "sch-poster", "playlist": "pl-poster", "default": True}]}


def drawn_texts(slide) -> list[str]:
    return [w.text for w in slide.walk(restrict=True) if isinstance(w, Label) and w.text]


def demo_prices(**changed: tuple[int, int | None]) -> list[dict]:
    """The demo chain's price list, with ``sku=(price_cents, was_cents)`` changed."""
    import json

    prices = json.loads((ASSETS / "prices.json").read_text())
    for price in prices:
        if price["sku"].replace("-", "_") in changed:
            cents, was = changed[price["sku"].replace("-", "_")]
            price["price_cents"] = cents
            price.pop("was_cents", None)
            if was is not None:
                price["was_cents"] = was
    return prices


POSTER_SIZES = [(1920, 1080), (1280, 800), (1080, 1920)]


@pytest.mark.parametrize("lang", ["bg", "ru", "en"])
@pytest.mark.parametrize("size", POSTER_SIZES, ids=[f"{w}x{h}" for w, h in POSTER_SIZES])
def test_a_product_poster_shows_the_price_lists_price_in_the_screens_language(screen, signage_shots, window_size,
                                                                             size, lang):
    """The tikvenik poster: its name and short line in the screen's language and the price list's 1,90 € with
    "was 2,10 €" (a lowered price); the price list changes, the poster changes with it."""
    from layout_audit import screen_problems
    from PIL import Image

    from kiosk.i18n import format_price
    from signage.renderers import tr

    window_size(size)
    s = screen(at(BREAKFAST), content="demo", settings=SignageSection(lang=lang, brand_name="Demo Coffee & Bakery"))
    s.apply(poster_only(), version=2)
    s.player.library = None
    s.player.reload()
    s.run(1)
    poster = s.player.zones["main"].current.slide
    assert isinstance(poster, ProductSlide) and s.showing() == "poster-tikvenik"
    name = {"en": "Tikvenik (pumpkin pastry)", "bg": "Тиквеник", "ru": "Тыквенник (слоёный пирог с тыквой)"}[lang]
    line = {"en": "Pumpkin, walnuts and cinnamon in filo", "bg": "Тиква, орехи и канела в хрупкави кори",
            "ru": "Тыква, орехи и корица в тесте фило"}[lang]
    price, was = format_price(190, "EUR", lang), tr(lang, "was {price}").format(price=format_price(210, "EUR", lang))
    assert drawn_texts(poster) == [name, line, price, was]
    if lang == "bg":
        assert price == "1,90\xa0€" and was == "преди 2,10\xa0€"
    assert poster.picture is not None and poster.wide == (size[0] > size[1] * 1.2)
    stage = s.app.root.ids.content
    assert_layout_ok(stage, f"poster {size} {lang}")
    picture = shot(signage_shots, f"poster-{size[0]}x{size[1]}-{lang}")
    found = screen_problems(stage, Image.open(picture).convert("RGB"), lang, proper_names=["Demo Coffee & Bakery"])
    record("signage poster", f"{size[0]}x{size[1]}-{lang}", picture, found)
    assert not found, found

    s.apply({"prices": demo_prices(PAS_004=(175, None))}, version=3)  # the price list changes: no longer lowered
    s.player.reload()
    s.run(9)  # the poster's next showing
    poster = s.player.zones["main"].current.slide
    assert drawn_texts(poster) == [name, line, format_price(175, "EUR", lang)]
    assert_layout_ok(stage, f"poster {size} {lang} after the price change")


def test_a_poster_that_cannot_be_true_is_skipped_and_reported(screen):
    """A product without a picture or a price is not shown half-made: reported, and the next poster plays; a
    picture still on its way is waited for, not reported."""
    s = screen(at(BREAKFAST), content="demo")
    bundle = poster_only()
    line = {"en": "Fresh", "bg": "Прясно", "ru": "Свежий"}
    bundle["content_items"] = [{"id": "poster-espresso", "kind": "product", "sku": "COF-001", "text": line},
                               {"id": "poster-croissant", "kind": "product", "sku": "PAS-001", "text": line},
                               {"id": "poster-cappuccino", "kind": "product", "sku": "COF-003", "text": line},
                               {"id": "poster-tikvenik", "kind": "product", "sku": "PAS-004", "text": line}]
    bundle["playlists"][0]["items"] = ["poster-espresso", "poster-croissant", "poster-cappuccino", "poster-tikvenik"]
    bundle["prices"] = [p for p in demo_prices() if p["sku"] != "COF-003"]  # the cappuccino has no price here
    s.apply(bundle, version=2)
    (s.media / next(m["sha256"] for m in load_media(ASSETS) if m["url"] == "products/tikvenik.jpg")).unlink()
    s.player.library = None
    s.player.reload()
    s.run(20)  # past the croissant's 8 s: the round comes back to it
    errors = {e["item"]: e["reason"] for e in s.events("playback_error")}
    assert errors == {"poster-espresso": "product poster: product 'COF-001' has no picture",
                      "poster-cappuccino": "product poster: product 'COF-003' has no price"}
    played = {item for _, zone, item in s.player.switches if zone == "main"}
    assert played == {"poster-croissant"}  # the tikvenik's picture has not arrived: skipped, not reported


def test_a_kiosk_that_left_the_window_never_runs_its_rules_under_the_next_app(screen, tmp_path):
    """Stop 23's CI: a kiosk's attract screen, left by its tests but still held by an animation on one of its
    widgets, was laid out again under a signage player, and its kv rule read ``app.text_scale`` of the player: an
    AttributeError in each of the player's frames (and, between two apps, a crash in kv's ``app``)."""
    from sync.protocol import signing

    kiosk = open_kiosk(tmp_path / "store", signing.generate_private_key(), FixedClock(at("2026-11-23T09:00")))
    attract = kiosk.root.get_screen("attract")
    words, body = attract.ids.words, attract.ids.slide_body
    card = kiosk.widgets_off_the_tree()[0]
    close_kiosk(kiosk)
    font = body.font_size
    words.width += 100  # anything that lays the left tree out again: with no app running
    s = screen(at("2026-11-23T09:00"))
    words.width += 100  # and under the signage player
    card.width += 100  # an offer card it kept off its tree
    s.run(1)
    assert body.font_size == font and s.player.state == "playing" and s.showing() == "img-croissant"
