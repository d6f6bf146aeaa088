"""Issue 16: ``python -m kiosk`` (and ``python -m signage``) full screen on a plain X display with no window
manager (1280x800) must cover the display, not open an 800x600 window with the layout cut off on the right. The
real entry points, each in its own process on its own Xvfb; the X server itself says where the window is."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import wait_for

from kiosk.display import start_xvfb
from sync.protocol import signing

ROOT = Path(__file__).resolve().parent.parent


class _WindowAttributes(ctypes.Structure):  # Xlib's XWindowAttributes
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
                ("border_width", ctypes.c_int), ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
                ("root", ctypes.c_ulong), ("c_class", ctypes.c_int), ("bit_gravity", ctypes.c_int),
                ("win_gravity", ctypes.c_int), ("backing_store", ctypes.c_int), ("backing_planes", ctypes.c_ulong),
                ("backing_pixel", ctypes.c_ulong), ("save_under", ctypes.c_int), ("colormap", ctypes.c_ulong),
                ("map_installed", ctypes.c_int), ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
                ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
                ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p)]


def shown_windows(display: str) -> list[tuple[int, int, int, int]]:
    """(x, y, width, height) of every mapped top-level window on ``display``."""
    x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                               ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                               ctypes.POINTER(ctypes.c_uint)]
    x11.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(_WindowAttributes)]
    x11.XFree.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    assert dpy, f"cannot open X display {display}"
    try:
        root, parent, children, count = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.POINTER(ctypes.c_ulong)(), \
            ctypes.c_uint()
        x11.XQueryTree(dpy, x11.XDefaultRootWindow(dpy), ctypes.byref(root), ctypes.byref(parent),
                       ctypes.byref(children), ctypes.byref(count))
        found = []
        for i in range(count.value):
            attrs = _WindowAttributes()
            x11.XGetWindowAttributes(dpy, children[i], ctypes.byref(attrs))
            if attrs.map_state == 2:  # IsViewable
                found.append((attrs.x, attrs.y, attrs.width, attrs.height))
        if children:
            x11.XFree(children)
        return found
    finally:
        x11.XCloseDisplay(dpy)


@pytest.mark.parametrize("kind, device", [("kiosk", "kiosk-1"), ("signage", "signage-1")])
def test_the_fullscreen_screen_covers_a_display_with_no_window_manager(tmp_path, kind, device):
    saved = os.environ.get("DISPLAY")
    xvfb = start_xvfb(1280, 800)
    display = os.environ["DISPLAY"]
    if saved is None:
        os.environ.pop("DISPLAY")
    else:
        os.environ["DISPLAY"] = saved
    key = signing.generate_private_key()
    (tmp_path / "chain.pub").write_bytes(signing.public_key_pem(key.public_key()))
    (tmp_path / "phone.key").write_bytes(b"p" * 32)
    (tmp_path / "coupon.key").write_bytes(b"c" * 32)
    config = tmp_path / "kiosk.toml"
    config.write_text(f"""\
[device]
id = "{device}"
kind = "{kind}"
chain = "demo"
store = "s001"
[cache]
path = "{tmp_path / 'cache.db'}"
media_dir = "{tmp_path / 'media'}"
[broker]
port = 1
[sync]
trusted_keys = ["{tmp_path / 'chain.pub'}"]
phone_key_file = "{tmp_path / 'phone.key'}"
[pos]
coupon_key_file = "{tmp_path / 'coupon.key'}"
[kiosk]
camera = "none"
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORE_EDGE_", "KIVY_"))}
    env.update(DISPLAY=display, KIVY_NO_ARGS="1", KIVY_HOME=str(tmp_path / "kivy"))
    with (tmp_path / "out.txt").open("w") as out:
        lang = ["--lang", "en"] if kind == "kiosk" else []
        proc = subprocess.Popen([sys.executable, "-m", kind, "--config", str(config), *lang], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: proc.poll() is not None or "Start application main loop" in (tmp_path / "out.txt").read_text(),
                 timeout=60, what=f"the {kind}'s window")
        assert proc.poll() is None, (tmp_path / "out.txt").read_text()[-3000:]
        whole_display = [(0, 0, 1280, 800)]
        deadline = time.monotonic() + 10  # the X server's resize arrives a few frames after the window
        while shown_windows(display) != whole_display and time.monotonic() < deadline:
            time.sleep(0.1)
        assert shown_windows(display) == whole_display
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        xvfb.terminate()
        xvfb.wait(10)
