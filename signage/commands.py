"""The signage screen's remote commands, added to the sync agent's registry.

Commands arrive on the agent's I/O thread; each hops to Kivy's thread and waits for the answer
(at most ``UI_TIMEOUT_S``: a UI that cannot answer in that time is reported as hung, not waited on).

- ``screenshot`` ``{"width": 480}``: a PNG of the screen, downscaled, base64 in the answer;
- ``reload``: the agent subscribes again (retained bundles come again) and the player rereads the cache;
- ``identify`` ``{"seconds": 10}``: the device id flashes on the screen;
- ``display`` ``{"mode": "auto"|"on"|"off", "on_at": "HH:MM", "off_at": "HH:MM"}``: the on/off schedule.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Callable

from kivy.clock import Clock
from PIL import Image as PILImage

from sync.agent.commands import CommandRegistry

from .display_power import MODES

UI_TIMEOUT_S = 5.0


def on_ui(fn: Callable[[], dict], timeout: float = UI_TIMEOUT_S) -> dict:
    done = threading.Event()
    box: dict = {}

    def run(dt: float) -> None:
        try:
            box["result"] = fn()
        except Exception as exc:  # answered to the caller, who reports it
            box["error"] = exc
        done.set()

    Clock.schedule_once(run, 0)
    if not done.wait(timeout):
        raise TimeoutError(f"the screen did not answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["result"]


def screenshot_png(root, width: int) -> bytes:
    """The root widget's pixels as a PNG ``width`` wide (kept in proportion). ``export_as_image`` draws the widget
    flipped into its framebuffer, so its rows already run top to bottom: flipping them again turned the
    screenshots upside down."""
    texture = root.export_as_image().texture
    image = PILImage.frombytes("RGBA", texture.size, texture.pixels)
    height = max(1, round(image.height * width / image.width))
    out = io.BytesIO()
    image.convert("RGB").resize((width, height), PILImage.Resampling.LANCZOS).save(out, "PNG", optimize=True)
    return out.getvalue()


def register(registry: CommandRegistry, app, agent_reload: Callable[[dict], dict] | None = None) -> None:
    def screenshot(args: dict) -> dict:
        width = int(args.get("width", app.settings.screenshot_width))
        if not 32 <= width <= 1920:
            raise ValueError("width must be from 32 to 1920")
        png = on_ui(lambda: {"png": screenshot_png(app.root, width)})["png"]
        return {"format": "png", "width": width, "bytes": len(png), "png_base64": base64.b64encode(png).decode()}

    def reload(args: dict) -> dict:
        answer = dict(agent_reload(args)) if agent_reload else {}
        answer.update(on_ui(lambda: (app.player.reload(), {"player": "reloaded"})[1]))
        return answer

    def identify(args: dict) -> dict:
        seconds = float(args.get("seconds", 10))
        if not 0 < seconds <= 300:
            raise ValueError("seconds must be from 0 to 300")
        return on_ui(lambda: app.identify(seconds))

    def display(args: dict) -> dict:
        mode = args.get("mode", "auto")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        return on_ui(lambda: app.display.set_mode(mode, args.get("on_at"), args.get("off_at")))

    registry.register("screenshot", screenshot)
    registry.register("reload", reload)
    registry.register("identify", identify)
    registry.register("display", display)
