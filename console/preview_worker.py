"""The preview's renderer: a process of its own (never the console's web process) that holds Kivy's one window
on an Xvfb screen it starts itself when there is no display, and draws what a store's screens would show.

Each job is one device's bundles as head office would publish them. They go through the device's own code:
applied to a throwaway device cache (``sync.cache``, in a temporary folder, with the chosen weather), then the
signage player (``signage.app.SignageApp``) and the kiosk's offers screen with its menu (``kiosk.app.KioskApp``
over ``kiosk.session.KioskService`` and the engine, for a shopper it does not know) are built on a FixedClock at
the chosen moment, each screenshot to a PNG. Nothing of a job outlives it but the pictures.

The parent (``console.preview_renderer``) starts it as ``python -m console.preview_worker FD`` and sends jobs
over that socket; a dict comes back per job.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

# Both screens as a 1920x1080 panel, kiosks' usual one too: one window size, so no job waits for the X server to
# resize it (software GL draws a frame of this size in about 40 ms; each frame counts).
SIZE = (1920, 1080)  # the window, and the Xvfb screen the worker starts for it
SETTLED = ("playing", "waiting", "override", "off")  # the player's states with something on screen
SETTLE_S = 2.0  # the player's first slide is up well within this; a screen that is not up by then is shown as it is


def serve(conn: Connection) -> None:
    """The process's main: start the display and Kivy, say ready, then answer jobs until the pipe closes."""
    xvfb = _display()
    try:
        _kivy()
        conn.send({"ready": True, "xvfb": xvfb.pid if xvfb is not None else 0})
        while True:
            try:
                job = conn.recv()
            except EOFError:
                return
            try:
                conn.send(render(job))
            except Exception as exc:  # noqa: BLE001 - one bad job is an answer, not the renderer's end
                traceback.print_exc(file=sys.__stderr__)  # to the console's log; the page only says it failed
                conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        if xvfb is not None:
            xvfb.terminate()


def _display():
    from kiosk.display import has_display, start_xvfb

    return None if has_display() else start_xvfb(*SIZE)


def _kivy() -> None:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="preview-kivy-"))
    os.environ.pop("KIVY_GL_BACKEND", None)
    from kiosk.display import configure_kivy

    configure_kivy(kiosk_mode=False)
    from kivy.core.window import Window  # opens the window now: the first job does not pay for it

    Window.size = SIZE
    deadline = time.monotonic() + 5.0
    while tuple(Window.size) != SIZE and time.monotonic() < deadline:  # the X server maps it a few frames later
        _frames(1)
    _frames(5)  # the first frames of a new window come out black


def _frames(n: int) -> None:
    from kivy.base import EventLoop

    for _ in range(n):
        EventLoop.idle()


def _screenshot(folder: Path, name: str) -> bytes:
    from kivy.core.window import Window

    _frames(2)
    return Path(Window.screenshot(str(folder / f"{name}.png"))).read_bytes()


def render(job: dict) -> dict:
    """``job``: store (chain, region, store, device, timezone, country, name), at (unix seconds), weather
    (condition, temperature_c, precipitation_mm_h), lang, bundles [(scope, content)], media {sha256: path}."""
    from sync.cache import Cache
    from sync.cache.bundles import apply_bundle
    from sync.cache.read import CacheReader
    from sync.cache.weather import save_weather
    from sync.clock import FixedClock
    from sync.weather.provider import Observation

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        folder = Path(tmp)
        media = folder / "media"
        media.mkdir()
        for sha, path in job["media"].items():
            (media / sha).symlink_to(path)
        clock = FixedClock(job["at"])
        cache = Cache(folder / "cache.db")
        try:
            for scope, content in job["bundles"]:
                apply_bundle(cache, stream=scope, scope=scope, version=1, sha256="preview", mode="snapshot",
                             content=content, at=clock.time())
            w, s = job["weather"], job["store"]
            save_weather(cache, s["store"], Observation(float(w["temperature_c"]), float(w["precipitation_mm_h"]),
                                                        w["condition"], clock.time(), "preview"), clock.time())
            schedules = CacheReader(cache).schedules()
            signage, showing = _signage(job, cache, media, clock, folder)
            kiosk, offers, menu, slots = _kiosk(job, cache, media, clock, folder)
        finally:
            cache.close()
    return {"signage_png": signage, "kiosk_png": kiosk, "showing": showing, "offers": offers, "menu": menu,
            "slots": slots, "schedules": schedules, "seconds": time.monotonic() - started}


def _signage(job: dict, cache, media: Path, clock, folder: Path) -> tuple[bytes, dict]:
    from signage.app import SignageApp
    from signage.live import StoreInfo
    from sync.cache.outbox import Outbox
    from sync.config import SignageSection

    s = job["store"]
    device = s["device"] or "preview"
    app = SignageApp(cache=cache, outbox=Outbox(cache, boot_id="preview", device=device, store=s["store"], clock=clock),
                     store=StoreInfo(s["chain"], s["region"], s["store"], device, s["timezone"]), media_dir=media,
                     clock=clock, settings=SignageSection(lang=job["lang"], brand_name=s["name"]))
    try:
        app._run_prepare()
        deadline = time.monotonic() + SETTLE_S
        while app.player.state not in SETTLED and time.monotonic() < deadline:
            _frames(1)
        png = _screenshot(folder, "signage")
        return png, dict(app.player.now_showing())
    finally:
        app.detach()


def _kiosk(job: dict, cache, media: Path, clock, folder: Path) -> tuple[bytes, list[dict], str, int]:
    from decisions.engine import Engine
    from kiosk.app import MAX_OFFERS
    from kiosk.session import KioskService, Store
    from sync.cache.outbox import Outbox
    from sync.cache.read import CacheReader
    from sync.protocol.signing import TrustedKeys

    s = job["store"]
    device = s["device"] or "preview"
    engine = Engine.load(CacheReader(cache), now=clock.now(), timezone=s["timezone"])
    # No shopper is identified in a preview, so the keys that check QR codes and hash phone numbers are never used.
    service = KioskService(cache, Outbox(cache, boot_id="preview", device=device, store=s["store"], clock=clock),
                           Store(s["chain"], s["region"], s["store"], device, s["timezone"], s["country"]),
                           qr_keys=TrustedKeys([]), phone_key=b"preview", coupon_key=b"preview",
                           engine=lambda: engine, clock=clock, media_dir=media)
    app = _warm_kiosk(service, job["lang"], s["name"])
    try:
        app.browse()
        choices = service.session.shown.offers
        png = _screenshot(folder, "kiosk")
        lang = job["lang"]
        offers = [{"id": o.offer_id, "title": o.title.get(lang) or o.title.get("en", o.offer_id)} for o in choices]
        return png, offers, app.menu_name, MAX_OFFERS
    finally:
        app.reset()
        _frames(2)  # the attract screen's on_enter reads the cache: let it run before the cache closes
        _park(app)


_KIOSK: list = []  # the kiosk app, built once: its screens take most of a preview's time to build


def _warm_kiosk(service, lang: str, store_name: str):
    """The kiosk app on the window for this job's store: built on the first job, then given each job's service (the
    app reads everything through it). Its kv rules stay loaded between jobs; they name only the kiosk's own classes
    (and ``Screen``, which the signage player does not use), so the signage app builds as on its own."""
    from kivy.app import App
    from kivy.core.window import Window

    from kiosk.app import KioskApp
    from kiosk.i18n import Translator

    if not _KIOSK:
        app = KioskApp(service, Translator(lang), store_name=store_name, camera=None, camera_preview=False)
        app._run_prepare()
        _KIOSK.append(app)
        return app
    app = _KIOSK[0]
    app.service, app.store_name, app.default_language = service, store_name, lang
    app.brand.follow(service.reader)  # this job's cache: its chain's brand, not the first job's
    App._running_app = app  # as _run_prepare makes it; the signage app's detach left none
    Window.add_widget(app.root)
    app.set_language(lang)
    return app


def _park(app) -> None:
    """Off the window until the next job, so that the signage app has it to itself."""
    from kivy.app import App
    from kivy.core.window import Window

    app.brand.stop()  # it follows this job's cache, which closes now; the next job gives it its own
    Window.remove_widget(app.root)
    App._running_app = None

if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
