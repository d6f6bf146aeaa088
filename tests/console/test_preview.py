"""The preview's renderer over the demo chain's head-office files (config/headoffice.example): what it draws at a
fixed moment is what the signage schedule and the kiosk's engine answer for the same bundles, computed here without
the renderer; the weather reaches the engine; a killed or hung worker is replaced at the next preview."""

from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import pytest
from PIL import Image

from central.config import CentralConfig, CentralSection
from central.content_files import load_stores
from central.db import open_database
from central.device_view import device_view
from console.preview_renderer import PreviewUnavailable, Renderer
from console.preview_request import read_ask, timeline
from decisions.engine import Engine
from kiosk.session import KioskService
from kiosk.session import Store as KioskStore
from signage.schedule import Schedule, evaluate
from sync.cache import Cache
from sync.cache.bundles import apply_bundle
from sync.cache.outbox import Outbox
from sync.cache.weather import save_weather
from sync.clock import FixedClock
from sync.protocol.signing import TrustedKeys
from sync.weather.provider import Observation

ROOT = Path(__file__).resolve().parents[2]
HEADOFFICE = ROOT / "config" / "headoffice.example"
SHOTS = ROOT / "test-output" / "console"
MONDAY = "2026-11-23"  # a Monday in the demo's season


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("preview")
    config = CentralConfig(CentralSection(dsn=str(tmp / "central.db"), content_dir=str(HEADOFFICE)))
    db = open_database(config.central.dsn)
    yield config, db
    db.close()


@pytest.fixture(scope="module")
def renderer():
    r = Renderer()
    yield r
    r.close()


def ask(weather: str, at: str = "08:30", where: str = "s001/sign-1"):
    stores = load_stores(HEADOFFICE)
    return read_ask({"where": where, "date": MONDAY, "time": at, "weather": weather, "temperature": "9",
                     "content": "live", "lang": "en"}, stores, may_draft=False)


def render(office, renderer: Renderer, weather: str, at: str = "08:30") -> tuple[dict, object, object]:
    config, db = office
    a = ask(weather, at)
    view = device_view(config, db, a.store, a.device, drafts=False)
    return renderer.render(a.job(view, config.central.chain)), a, view


def engine_offers(tmp: Path, a, view, weather: str, slots: int) -> list[str]:
    """What the kiosk's engine offers a shopper it does not know (as many as the screen has cards), over the same
    bundles in a cache of the test's own."""
    clock = FixedClock(a.local.timestamp())
    cache = Cache(tmp / f"engine-{weather}.db")
    for scope, content in view.bundles:
        apply_bundle(cache, stream=scope, scope=scope, version=1, sha256="t", mode="snapshot", content=content,
                     at=clock.time())
    save_weather(cache, a.store.store, Observation(9.0, 2.0 if weather == "rain" else 0.0, weather, clock.time(), "t"),
                 clock.time())
    from sync.cache.read import CacheReader

    engine = Engine.load(CacheReader(cache), now=clock.now(), timezone=a.timezone)
    service = KioskService(cache, Outbox(cache, boot_id="t", device=a.device, store=a.store.store, clock=clock),
                           KioskStore("demo", a.store.region, a.store.store, a.device, a.timezone, a.store.country),
                           qr_keys=TrustedKeys([]), phone_key=b"t", coupon_key=b"t", engine=lambda: engine, clock=clock)
    try:
        return [o.offer_id for o in service.offers(k=slots).offers]
    finally:
        cache.close()


def ids(shown: dict) -> list[str]:
    return [o["id"] for o in shown["offers"]]


def png(data: bytes, size: tuple[int, int]) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.size == size
    assert len(image.convert("RGB").getcolors(1 << 20) or ()) > 20  # a drawn screen, not a blank one
    return image


def test_a_rainy_monday_morning_is_what_the_player_and_the_engine_show(office, renderer, tmp_path):
    shown, a, view = render(office, renderer, "rain")
    # The signage schedule's own answer for head office's schedules at that moment: the weekday breakfast playlist.
    schedules = [doc for _, content in view.bundles for doc in content.get("schedules", ())]
    active, _ = evaluate(Schedule.from_docs(schedules, a.timezone), a.local)
    assert active.playlists("main") == ("pl-morning",)
    playlists = {p["id"]: p for _, content in view.bundles for p in content.get("playlists", ())}
    assert shown["showing"]["main"] in playlists["pl-morning"]["items"]
    by_id = sorted(schedules, key=lambda d: d["id"])
    assert sorted(shown["schedules"], key=lambda d: d["id"]) == by_id  # the device cache holds the files' schedules
    stretches, marker = timeline(shown["schedules"], a)
    now = [s for s in stretches if s.now]
    assert len(now) == 1 and now[0].playlists == "pl-morning" and "sch-weekday-morning" in now[0].why
    assert now[0].left <= marker < now[0].left + now[0].width
    # The kiosk: the engine's offers for that moment and weather, the rain offer among them.
    assert ids(shown) == engine_offers(tmp_path, a, view, "rain", shown["slots"])
    assert "OFF-RAINY-DAY" in ids(shown)
    assert shown["menu"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    png(shown["signage_png"], (1920, 1080)).save(SHOTS / "preview-signage-rainy-monday-0830.png")
    png(shown["kiosk_png"], (1920, 1080)).save(SHOTS / "preview-kiosk-rainy-monday-0830.png")


def test_the_weather_and_the_hour_change_what_shows(office, renderer, tmp_path):
    clear, a, view = render(office, renderer, "clear")
    assert ids(clear) == engine_offers(tmp_path, a, view, "clear", clear["slots"])
    assert "OFF-RAINY-DAY" not in ids(clear)
    lunch, a, view = render(office, renderer, "clear", at="12:30")
    schedules = [doc for _, content in view.bundles for doc in content.get("schedules", ())]
    active, _ = evaluate(Schedule.from_docs(schedules, a.timezone), a.local)
    playlists = {p["id"]: p for _, content in view.bundles for p in content.get("playlists", ())}
    assert active.playlists("main") != ("pl-morning",)
    assert lunch["showing"]["main"] in {i for p in active.playlists("main") for i in playlists[p]["items"]}


def test_a_killed_worker_is_started_again_for_the_next_preview(office, renderer):
    render(office, renderer, "rain")
    first = renderer.pid
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while renderer.pid is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    shown, _, _ = render(office, renderer, "rain")
    assert "OFF-RAINY-DAY" in ids(shown)
    assert renderer.pid not in (None, first)


def test_a_hung_worker_is_replaced_and_the_preview_says_it_is_unavailable(office):
    r = Renderer(render_timeout_s=10)  # a new worker's first job builds the kiosk: seconds on a busy machine
    try:
        render(office, r, "rain")
        hung = r.pid
        os.kill(hung, signal.SIGSTOP)
        with pytest.raises(PreviewUnavailable):
            render(office, r, "rain")
        shown, _, _ = render(office, r, "snow")
        assert r.pid not in (None, hung)
        assert "OFF-RAINY-DAY" in ids(shown)  # its condition names snow too
    finally:
        r.close()
    with pytest.raises(ProcessLookupError):
        os.kill(hung, 0)


def test_a_job_the_worker_cannot_draw_is_unavailable_and_the_next_worker_is_fresh(office, renderer):
    config, db = office
    a = ask("rain")
    job = a.job(device_view(config, db, a.store, a.device, drafts=False), config.central.chain)
    render(office, renderer, "rain")
    before = renderer.pid
    with pytest.raises(PreviewUnavailable, match="drizzle"):  # the device's own weather check refuses it
        renderer.render({**job, "weather": {**job["weather"], "condition": "drizzle"}})
    shown, _, _ = render(office, renderer, "rain")
    assert "OFF-RAINY-DAY" in ids(shown) and renderer.pid not in (None, before)
