"""Run a signage screen: ``python -m signage --config device.toml`` (or ``store-edge-signage``).

The device's sync agent runs in this process; the player reads its cache. Fullscreen, borderless,
no cursor, Esc does not quit (``--windowed`` to try it in a window). Under systemd (``Type=notify``,
``WatchdogSec=``) it says READY after its first frame and pings the watchdog from the UI loop.
A bad configuration stops it with exit status 2 and a message naming the key.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sync import config as config_mod
from sync.clock import SYSTEM, Clock
from sync.config import ConfigError
from sync.runtime import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="store-edge-signage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="device TOML (default: $STORE_EDGE_CONFIG or built-in defaults)")
    parser.add_argument("--base-dir", default=".", help="relative paths in the config start here")
    parser.add_argument("--windowed", action="store_true", help="a 1280x720 window instead of fullscreen")
    args = parser.parse_args(argv)
    setup_logging()
    base = Path(args.base_dir)
    try:
        cfg = config_mod.load(args.config)
        if cfg.device.kind != "signage":
            raise ConfigError(f"[device] kind: {cfg.device.kind!r}; python -m signage runs kind = \"signage\"")
    except ConfigError as exc:
        print(f"store-edge-signage: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_video()
    from kiosk.display import configure_kivy, fill_display

    configure_kivy(kiosk_mode=not args.windowed)
    if not args.windowed:
        fill_display()
    from sync.agent import SyncAgent

    clock = SYSTEM
    agent = SyncAgent(cfg, base_dir=base, clock=clock).start()
    try:
        run(agent, cfg, clock=clock)
    finally:
        agent.stop()
    return 0


def configure_video() -> None:
    """ffpyplayer: FFmpeg in the wheel on x86_64 and on the Pi's aarch64; see README, "Signage player"."""
    os.environ.setdefault("KIVY_VIDEO", "ffpyplayer")


def run(agent, cfg: config_mod.DeviceConfig, *, clock: Clock) -> None:
    """The signage app on ``agent``'s cache, woken by its bundles and overrides; returns when the app stops."""
    build_app(agent, cfg.device, cfg.signage, clock=clock).run()


def build_app(agent, device: config_mod.DeviceSection, settings: config_mod.SignageSection, *, clock: Clock):
    """A SignageApp reading ``agent``'s cache through its own connection, wired to the agent."""
    from sync.cache import Cache
    from sync.cache.outbox import Outbox

    from .app import SignageApp
    from .live import StoreInfo

    d = device
    cache = Cache(agent.cache_path)  # the UI thread's own connection
    outbox = Outbox(cache, boot_id=agent.boot_id, device=d.id, store=d.store, clock=clock)
    app = SignageApp(cache=cache, outbox=outbox, store=StoreInfo(d.chain, d.region, d.store, d.id, d.timezone),
                     media_dir=agent.media_dir, clock=clock, settings=settings,
                     on_media_in_use=agent.bundles.media.showing)
    wire(agent, app)
    return app


def wire(agent, app) -> None:
    """Bundles and overrides wake the player on Kivy's thread; the screen's commands join the agent's."""
    from kivy.clock import Clock as KivyClock

    from . import commands

    agent.on_bundle_applied(lambda manifest: KivyClock.schedule_once(lambda dt: app.player and app.player.reload()))
    agent.on_override(lambda override: KivyClock.schedule_once(lambda dt: app.player and app.player.wake_overrides()))
    commands.register(agent.commands, app, agent_reload=agent.commands.handler("reload"))


if __name__ == "__main__":
    sys.exit(main())
