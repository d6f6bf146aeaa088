"""A screen to draw on: the real one, or an Xvfb virtual one when there is none (CI, headless demo)."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before a fork: the child only calls it


class NoDisplay(RuntimeError):
    pass


def start_xvfb(width: int = 1280, height: int = 720) -> subprocess.Popen:
    """Start Xvfb on the first free display from :90 and point DISPLAY at it."""
    if shutil.which("Xvfb") is None:
        raise NoDisplay("Xvfb is not installed: apt-get install -y xvfb (./run-tests and ./run-demo do it as root)")
    for display in range(90, 120):
        if Path(f"/tmp/.X11-unix/X{display}").exists() or Path(f"/tmp/.X{display}-lock").exists():
            continue
        proc = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", f"{width}x{height}x24", "+extension", "GLX",
                                 "-nolisten", "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if Path(f"/tmp/.X11-unix/X{display}").exists():
                os.environ["DISPLAY"] = f":{display}"
                return proc
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
    raise NoDisplay("could not start Xvfb on any display from :90 to :119")


def _die_with_parent() -> None:
    # Xvfb ends with the process that started it, however that one ends: a kiosk or benchmark killed with -9 left
    # its Xvfb running, and thirty of them took every display from :90 to :119.
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def configure_kivy(*, kiosk_mode: bool, width: int = 1280, height: int = 720) -> None:
    """Kivy settings that must be in place before its window exists.

    An explicit [input] section: the default one probes every input device (and can double every
    touch on Linux); Esc never quits; in kiosk mode the window is fullscreen, borderless, cursorless,
    with no virtual keyboard (the screens have their own keypads) and no multitouch emulation (a
    right click would leave red dots on the screen).
    """
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    import kivy
    from kivy.config import Config

    # Pictures are PNG, JPEG or WebP (sync.protocol.media_check): SDL2_image and Pillow read them all. Kivy's
    # default list also loads ffpyplayer's FFmpeg libraries as a picture reader (14 MB of the process for nothing);
    # videos have their own provider list.
    kivy.kivy_options["image"] = ("tex", "dds", "sdl2", "pil")

    Config.set("kivy", "exit_on_escape", "0")
    # Flat panels and text have no slanted edges for multisampling to smooth, and it doubles the
    # fill cost of every frame on software GL (Xvfb) and on a Raspberry Pi's GPU.
    Config.set("graphics", "multisamples", "0")
    Config.remove_section("input")
    Config.add_section("input")
    Config.set("input", "mouse", "mouse")
    if kiosk_mode:
        Config.set("kivy", "keyboard_mode", "system")
        Config.set("input", "mouse", "mouse,disable_multitouch")
        Config.set("input", "touchscreen", "probesysfs,provider=hidinput")
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "borderless", "1")
        Config.set("graphics", "show_cursor", "0")
    else:
        Config.set("graphics", "width", str(width))
        Config.set("graphics", "height", str(height))


def fill_display() -> None:
    """Make the fullscreen window cover the whole display, with or without a window manager.

    SDL's fullscreen-desktop window asks the window manager to fill the screen. On a plain X display with
    none (a kiosk's X session, Xvfb) nobody does: the X window stays at its first 800x600 while Kivy lays
    out for the display's size, and the right of every screen is cut off. SDL reports the display's size
    all the same, so the window takes it itself: borderless, at the top left, that size. A compositor
    (cage) that sizes its windows itself is not changed by this.
    """
    from kivy.core.window import Window

    size = tuple(Window.system_size)  # the display's, as SDL gives a fullscreen-desktop window

    def fit(window: object, system_size: tuple[int, int]) -> None:
        # Once the window is out of fullscreen and back at its own size (an event from the X server):
        # setting the size before that would set the size Kivy already thinks it has, which does nothing.
        if tuple(system_size) != size:
            Window.unbind(system_size=fit)
            Window.system_size = size

    Window.bind(system_size=fit)
    Window.borderless = True
    Window.left, Window.top = 0, 0
    Window.fullscreen = False
