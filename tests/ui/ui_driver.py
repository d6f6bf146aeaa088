"""Driving the real Kivy widget tree in tests: frames, taps, waits, screenshots."""

from __future__ import annotations

import time
from pathlib import Path

PRIVACY_URL = "https://demo-coffee.example/privacy"


def advance(frames: int = 3) -> None:
    from kivy.base import EventLoop
    for _ in range(frames):
        EventLoop.idle()


def until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        advance(1)
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("the screen did not get there in time")


def tap(widget) -> None:
    from kivy.tests.common import UnitTestTouch
    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()
    advance(3)


def shot(shots: Path, name: str) -> Path:
    from kivy.core.window import Window
    advance(6)
    path = Window.screenshot(str(shots / f"{name}.png"))
    assert path and Path(path).stat().st_size > 5000
    return Path(path)


def open_kiosk(store: Path, qr_key, clock, *, ticks=None, privacy_url: str = PRIVACY_URL):
    """The kiosk app on the demo store (no broker) on ``clock``, laid out at 1280x720; ``close_kiosk`` when done.
    ``ticks``: the idle timer's seconds (a FixedClock's ``time`` to step it without waiting)."""
    from kivy.core.window import Window  # after conftest set DISPLAY

    from demo.kiosk import offline_store
    from kiosk.app import KioskApp
    from kiosk.i18n import Translator
    from sync.protocol import signing

    Window.size = (1280, 720)
    service = offline_store(store, clock=clock, qr_keys=signing.TrustedKeys([qr_key.public_key()]))
    timer = {"ticks": ticks} if ticks else {}
    kiosk = KioskApp(service, Translator("en"), store_name="Demo Coffee & Bakery", camera=None, idle_timeout_s=30,
                     privacy_url=privacy_url, **timer)
    kiosk._run_prepare()
    advance(5)
    return kiosk


def close_kiosk(kiosk) -> None:
    kiosk.reset()
    kiosk.detach()  # one window per process: leave it (and the kv Builder) as found for the next app
