"""Driving the real Kivy widget tree in tests: frames, taps, waits, screenshots."""

from __future__ import annotations

import time
from pathlib import Path

PRIVACY_URL = "https://demo-coffee.example/privacy"


def advance(frames: int = 3) -> None:
    from kivy.base import EventLoop
    for _ in range(frames):
        EventLoop.idle()


def resize_window(size: tuple[int, int], timeout: float = 10.0) -> None:
    """Resize the window and wait until it has happened: the X server answers a few frames later, under
    load much later, and Kivy lays out again 0.1 s after that answer. A screenshot taken before then shows
    the old size's pixels beside the new size's widget tree."""
    from kivy.core.window import Window

    size = tuple(size)
    Window.size = size
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        advance(1)
        pending = Window._do_resize_ev is not None and Window._do_resize_ev.is_triggered
        if tuple(Window._win.window_size) == size and tuple(Window.size) == size and not pending:
            Window.canvas.ask_update()
            advance(3)
            return
        time.sleep(0.01)
    raise AssertionError(f"the window did not become {size[0]}x{size[1]}: it is {Window._win.window_size}")


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
    # Kivy draws only a canvas that changed: after the X server resized the window, whose new buffer is black,
    # an unchanged widget tree would be read as a black frame.
    Window.canvas.ask_update()
    advance(6)
    path = Window.screenshot(str(shots / f"{name}.png"))
    assert path and Path(path).stat().st_size > 5000
    return Path(path)


def stop_previous_app() -> None:
    """An app that is still the running one (a module's kiosk, open while one of its tests starts a signage player):
    it leaves the window to the next (``detach``). Call it before making the next app, which becomes the running app
    as it is made."""
    from kivy.app import App

    previous = App.get_running_app()
    if previous is not None:
        previous.detach()


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
