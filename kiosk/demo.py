"""The demo store with its kiosk: ``./run-demo`` (``python -m kiosk.demo``).

Starts what ``sync.demo`` starts (Mosquitto, the reference head office, the kiosk-1 agent with the
demo chain applied), then opens the kiosk window on it. With no display it runs on Xvfb and saves
screenshots. ``--script`` plays a shopper: phone number, consent, offers, a coupon to the phone.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from decisions import coupons
from decisions.identity import qr
from sync.demo import ASSETS, CHAIN, DEVICE, REGION, ROOT, STORE, Demo, DemoError, demo_cache
from sync.protocol.signing import TrustedKeys

from .display import NoDisplay, configure_kivy, has_display, start_xvfb
from .session import KioskService, Store

PHONE_KEY = b"demo-chain-phone-key-2026"  # assets/demo/README.md: how the demo's phone hashes were made
COUPON_SECRET = b"demo-chain-coupon-secret"
SCRIPT_PHONE = "0899100101"  # Мария, c-0001


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="store-edge-demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="sync only: print the summary and exit (no window)")
    parser.add_argument("--script", action="store_true", help="play a scripted shopper, then keep running")
    parser.add_argument("--exit-after-script", action="store_true", help="with --script: close when it is done")
    parser.add_argument("--signage", action="store_true", help="open the store's signage player instead of the kiosk")
    parser.add_argument("--var", type=Path, default=ROOT / "var" / "demo")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    demo = Demo(args.var, ASSETS, timeout=args.timeout)
    try:
        if args.once:
            return demo.run(once=True)
        if args.signage:
            from signage.demo import run_demo

            return run_demo(args.var, timeout=args.timeout, script=args.script, exit_after=args.exit_after_script)
        with ExitStack() as stack:
            agent, responder = demo.start_store(stack)
            if not has_display():
                xvfb = start_xvfb()
                stack.callback(xvfb.terminate)
                print(f"no display: running the kiosk on Xvfb {os.environ['DISPLAY']}; screenshots in "
                      f"{args.var / 'screens'}")
            token = qr.issue_token(demo.chain_key, "c-0001", now=datetime.now(UTC).timestamp(), ttl_s=24 * 3600)
            print(f"a shopper QR token for c-0001 (Мария), valid 24 h:\n  {token}")
            return run_kiosk(agent, demo, script=args.script, exit_after=args.exit_after_script,
                             shots=args.var / "screens")
    except (DemoError, NoDisplay) as exc:
        print(f"store-edge-demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped")
        return 0


def run_kiosk(agent, demo: Demo, *, script: bool, exit_after: bool, shots: Path) -> int:
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
    configure_kivy(kiosk_mode=False)
    from kivy.clock import Clock

    from .app import KioskApp
    from .i18n import Translator
    from .runtime import build_service

    service, engine = build_service(agent, qr_keys=TrustedKeys([demo.chain_key.public_key()]), phone_key=PHONE_KEY,
                                    coupon_key=coupons.store_key(COUPON_SECRET, STORE),
                                    store=(CHAIN, REGION, STORE, DEVICE, "Europe/Sofia", "BG"))
    app = KioskApp(service, Translator("en"), store_name="Demo Coffee & Bakery", camera=None,
                   online=agent.connected.is_set)
    agent.on_bundle_applied(lambda manifest: Clock.schedule_once(lambda dt: engine.reload()))
    if script:
        shots.mkdir(parents=True, exist_ok=True)
        Clock.schedule_once(lambda dt: ScriptedShopper(app, shots, exit_after).next(), 1.0)
    app.run()
    return 0


def offline_store(var: Path, *, clock, qr_keys: TrustedKeys) -> KioskService:
    """The demo store's kiosk with no broker: the demo chain applied straight into a cache in ``var``.

    For the UI tests and the benchmarks, which need the real screens over real data, not the network.
    """
    from decisions.engine import Engine
    from sync.cache.outbox import Outbox
    from sync.cache.read import CacheReader

    cache = demo_cache(var / "cache.db")
    engine = Engine.load(CacheReader(cache), now=clock())
    return KioskService(cache, Outbox(cache, boot_id="offline", device=DEVICE, store=STORE),
                        Store(CHAIN, REGION, STORE, DEVICE, "Europe/Sofia", "BG"), qr_keys=qr_keys,
                        phone_key=PHONE_KEY, coupon_key=coupons.store_key(COUPON_SECRET, STORE),
                        engine=lambda: engine, clock=clock)


class ScriptedShopper:
    """Taps through a visit the way a shopper would, one step per second, with a screenshot each."""

    def __init__(self, app, shots: Path, exit_after: bool):
        from kivy.core.window import Window

        self.app, self.shots, self.window, self.exit_after = app, shots, Window, exit_after
        self.steps = [
            ("attract", lambda: None),
            ("identify", app.start_identify),
            ("phone", lambda: [app.phone_key(d) for d in SCRIPT_PHONE]),
            ("consent", app.phone_submit),
            ("offers", lambda: app.save_consent({"personal_offers": True, "e_receipt": True, "marketing": False})),
            ("coupon", lambda: app.send_to_phone(0)),
            ("bulgarian", lambda: app.set_language("bg")),
            ("goodbye", app.end_session),
        ]

    def next(self) -> None:
        from kivy.clock import Clock

        if not self.steps:
            print("scripted shopper: done")
            if self.exit_after:
                self.app.stop()
            return
        name, action = self.steps.pop(0)
        action()
        self.app.last_touch = __import__("time").monotonic()

        def snap(dt: float) -> None:
            path = self.window.screenshot(str(self.shots / f"{name}.png"))
            print(f"scripted shopper: {name} -> {path}")
            Clock.schedule_once(lambda dt: self.next(), 0.7)

        Clock.schedule_once(snap, 0.5)


if __name__ == "__main__":
    sys.exit(main())
