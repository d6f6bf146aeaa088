"""Run this device's screen: ``python -m kiosk --config device.toml``.

``[device] kind`` picks the app, same code either way:

- ``kiosk``: the shopper kiosk, fullscreen, borderless, no cursor (``--windowed`` to try it in a window);
- ``tablet``: the staff tablet (``kiosk.tablet``), in a window.

The device's sync agent runs in this process and both apps read its cache. Keys, named in the config
(relative paths start at ``--base-dir``, as for the agent):

- ``[sync] trusted_keys``: head office's public keys, which sign shoppers' QR codes (and bundles);
- ``[sync] phone_key_file``: the chain's phone-hash key, to find a customer by phone number (both apps);
- ``[pos] coupon_key_file``: the store's coupon key (kiosk only: it issues coupons).

A missing or unreadable key stops the program before anything starts, with exit status 2 and a
message naming the key.
"""

from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import dataclass
from pathlib import Path

from decisions.engine import EngineHolder
from sync import config as config_mod
from sync.clock import SYSTEM, Clock
from sync.config import ConfigError, DeviceConfig, read_key_file
from sync.protocol.signing import TrustedKeys
from sync.runtime import setup_logging

KINDS = ("kiosk", "tablet")


@dataclass(frozen=True)
class Plan:
    """What the configuration says to run, with its keys loaded and checked."""

    kind: str
    qr_keys: TrustedKeys
    phone_key: bytes
    coupon_key: bytes | None
    store: tuple[str, str, str, str, str, str]


def prepare(cfg: DeviceConfig, base_dir: Path) -> Plan:
    """Check the configuration and load the keys; raises ConfigError naming what is wrong."""
    kind = cfg.device.kind
    if kind not in KINDS:
        raise ConfigError(f"[device] kind: {kind!r} is not run by python -m kiosk (it runs {' or '.join(KINDS)})")
    if not cfg.sync.trusted_keys:
        raise ConfigError("[sync] trusted_keys: empty; shopper QR codes cannot be checked without head office's key")
    try:
        qr_keys = TrustedKeys.from_files([base_dir / k for k in cfg.sync.trusted_keys])
    except (OSError, ValueError) as exc:
        raise ConfigError(f"[sync] trusted_keys: {exc}") from None

    def path(name: str) -> Path | str:
        return base_dir / name if name else ""

    phone_key = read_key_file("[sync] phone_key_file", path(cfg.sync.phone_key_file),
                              needed_for="the kiosk and the tablet need the chain's phone key to look customers "
                                         "up by phone number")
    coupon_key = None
    if kind == "kiosk":
        coupon_key = read_key_file("[pos] coupon_key_file", path(cfg.pos.coupon_key_file),
                                   needed_for="the kiosk needs the store's coupon key to issue coupons")
    d = cfg.device
    return Plan(kind, qr_keys, phone_key, coupon_key, (d.chain, d.region, d.store, d.id, d.timezone, d.country))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="store-edge-screen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="device TOML (default: $STORE_EDGE_CONFIG or built-in defaults)")
    parser.add_argument("--base-dir", default=".", help="relative paths in the config start here")
    parser.add_argument("--lang", default="bg", choices=("bg", "en", "ru"), help="the language the screen opens in")
    parser.add_argument("--windowed", action="store_true", help="kiosk: a window instead of fullscreen")
    parser.add_argument("--camera", help="kiosk: camera index or device path; 'none' for phone only "
                                         "(default: [kiosk] camera)")
    args = parser.parse_args(argv)
    base = Path(args.base_dir)
    try:
        cfg = config_mod.load(args.config)
        plan = prepare(cfg, base)
    except ConfigError as exc:
        print(f"store-edge-screen: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(cfg.log, device=cfg.device.id, secrets=config_mod.secret_values(cfg))

    from .display import configure_kivy, fill_display

    fullscreen = plan.kind == "kiosk" and not args.windowed
    configure_kivy(kiosk_mode=fullscreen)
    if fullscreen:
        fill_display()
    from sync.agent import SyncAgent

    clock = SYSTEM
    agent = SyncAgent(cfg, base_dir=base, clock=clock).start()
    try:
        if plan.kind == "kiosk":
            run_kiosk(agent, plan, cfg, clock=clock, lang=args.lang, camera=args.camera or cfg.kiosk.camera)
        else:
            run_tablet(agent, plan, cfg, clock=clock, lang=args.lang)
    finally:
        agent.stop()
    return 0


def run_kiosk(agent, plan: Plan, cfg: DeviceConfig, *, clock: Clock, lang: str, camera: str) -> None:
    from kivy.clock import Clock as KivyClock

    from .app import KioskApp
    from .camera import OpenCvCamera
    from .i18n import Translator
    from .maintenance import MaintenanceService
    from .runtime import build_service, store_name
    from .service import run_as_service

    service, engine = build_service(agent, clock=clock, qr_keys=plan.qr_keys, phone_key=plan.phone_key,
                                    coupon_key=plan.coupon_key, store=plan.store)
    source = None if camera == "none" else (int(camera) if camera.isdigit() else camera)
    maintenance = MaintenanceService(service.cache, device=cfg.device.id, store=cfg.device.store,
                                     broker=(cfg.broker.host, cfg.broker.port), health=agent.health, clock=clock)
    name = functools.partial(store_name, service.cache, cfg.device.chain, cfg.device.store)
    app = KioskApp(service, Translator(lang), store_name=name(),
                   camera=None if source is None else (lambda: OpenCvCamera(source)), online=agent.connected.is_set,
                   idle_timeout_s=cfg.kiosk.idle_timeout_s, camera_preview=cfg.kiosk.camera_preview,
                   maintenance=maintenance, privacy_url=cfg.kiosk.privacy_url)

    def reload(dt: float) -> None:
        engine.reload()
        app.store_name = name()

    agent.on_bundle_applied(lambda manifest: KivyClock.schedule_once(reload))
    agent.add_health(lambda: content_health(engine))
    run_as_service(app, alive=agent.io_alive)
    app.run()


def content_health(engine: EngineHolder) -> dict:
    """For the fleet view: the screen runs on less than its cache holds, and why."""
    return {"last_error": f"content in the cache does not load: {engine.error}"} if engine.error else {}


def run_tablet(agent, plan: Plan, cfg: DeviceConfig, *, clock: Clock, lang: str) -> None:
    from kivy.clock import Clock as KivyClock

    from .i18n import Translator
    from .runtime import build_staff_service, store_name
    from .service import run_as_service
    from .tablet import TabletApp

    service, engine = build_staff_service(agent, clock=clock, qr_keys=plan.qr_keys, phone_key=plan.phone_key,
                                          store=plan.store)
    name = functools.partial(store_name, service.cache, cfg.device.chain, cfg.device.store)
    app = TabletApp(service, Translator(lang), store_name=name(), online=agent.connected.is_set)

    def reload(dt: float) -> None:
        engine.reload()
        app.store_name = name()
        app.refresh_staff()

    agent.on_bundle_applied(lambda manifest: KivyClock.schedule_once(reload))
    agent.add_health(lambda: content_health(engine))
    run_as_service(app, alive=agent.io_alive)
    app.run()


if __name__ == "__main__":
    sys.exit(main())
