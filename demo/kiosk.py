"""The demo store's kiosk: the kiosk window on the store ``demo.store`` started, and the scripted shopper
(``./run-demo --script``: phone number, consent, offers, a coupon to the phone, a screenshot per step).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from decisions import coupons
from decisions.identity import qr
from kiosk.display import configure_kivy
from kiosk.session import KioskService, Store
from sync.clock import Clock
from sync.protocol.signing import TrustedKeys

from .script import Script
from .store import (
    CHAIN,
    COUNTRY,
    DEVICE,
    REGION,
    STORE,
    TIMEZONE,
    Demo,
    demo_cache,
    demo_media,
)

PHONE_KEY = b"demo-chain-phone-key-2026"  # assets/demo/README.md: how the demo's phone hashes were made
COUPON_SECRET = b"demo-chain-coupon-secret"
SCRIPT_PHONE = "0899100101"  # Мария, c-0001
PRIVACY_URL = "https://demo-coffee.example/privacy"  # the consent screen's QR code (.example: a made-up chain)


def stop_process(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_kiosk(agent, demo: Demo, *, script: bool, exit_after: bool, shots: Path) -> None:
    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
    configure_kivy(kiosk_mode=False)
    from kivy.clock import Clock

    from kiosk.app import KioskApp
    from kiosk.i18n import Translator
    from kiosk.runtime import build_service, store_name

    token = qr.issue_token(demo.chain_key, "c-0001", now=demo.clock.time(), ttl_s=24 * 3600)
    print(f"a shopper QR token for c-0001 (Мария), valid 24 h:\n  {token}")
    service, engine = build_service(agent, clock=demo.clock, qr_keys=TrustedKeys([demo.chain_key.public_key()]),
                                    phone_key=PHONE_KEY, coupon_key=coupons.store_key(COUPON_SECRET, STORE),
                                    store=(CHAIN, REGION, STORE, DEVICE, TIMEZONE, COUNTRY))
    app = KioskApp(service, Translator("en"), store_name=store_name(service.cache, CHAIN, STORE), camera=None,
                   online=agent.connected.is_set, privacy_url=PRIVACY_URL)

    def reload(dt: float) -> None:
        engine.reload()
        app.store_name = store_name(service.cache, CHAIN, STORE)

    agent.on_bundle_applied(lambda manifest: Clock.schedule_once(reload))
    Clock.schedule_once(lambda dt: window_opened(demo, "the kiosk"), 0)
    if script:
        shots.mkdir(parents=True, exist_ok=True)
        Clock.schedule_once(lambda dt: scripted_shopper(app, shots, exit_after).next(), 1.0)
    app.run()


def window_opened(demo: Demo, screen: str) -> None:
    """Say that ``screen`` is up, and show the demo's store time in a small tag at the top right of the
    window, kept current: what the screen shows depends on it (dayparts, offers), and with ``--at`` it
    is not the time on the wall."""
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.graphics import Color, RoundedRectangle
    from kivy.metrics import dp
    from kivy.uix.label import Label

    tag = Label(font_size=dp(13), color=(1, 1, 1, 1), size_hint=(None, None), padding=(dp(10), dp(4)))

    def draw(*args: object) -> None:
        tag.text = f"Demo · store time {demo.local_time()}"
        tag.texture_update()
        tag.size = tag.texture_size
        tag.pos = (Window.width - tag.width - dp(8), Window.height - tag.height - dp(8))
        tag.canvas.before.clear()
        with tag.canvas.before:
            Color(0.1, 0.1, 0.12, 0.85)
            RoundedRectangle(pos=tag.pos, size=tag.size, radius=[dp(6)])

    draw()
    Window.add_widget(tag)
    Window.bind(size=draw)
    Clock.schedule_interval(draw, 15)
    print(f"{screen} is open at store time {demo.local_time()}; Ctrl-C stops the demo", flush=True)


def offline_store(var: Path, *, clock: Clock, qr_keys: TrustedKeys) -> KioskService:
    """The demo store's kiosk with no broker: the demo chain applied straight into a cache in ``var``, and
    its pictures in ``var/media`` as the agent would have downloaded them.

    For the UI tests and the benchmarks, which need the real screens over real data, not the network.
    """
    from decisions.engine import Engine
    from sync.cache.outbox import Outbox
    from sync.cache.read import CacheReader

    cache = demo_cache(var / "cache.db", clock=clock)
    media = demo_media(var / "media")
    engine = Engine.load(CacheReader(cache), now=clock.now())
    return KioskService(cache, Outbox(cache, boot_id="offline", device=DEVICE, store=STORE, clock=clock),
                        Store(CHAIN, REGION, STORE, DEVICE, TIMEZONE, COUNTRY), qr_keys=qr_keys,
                        phone_key=PHONE_KEY, coupon_key=coupons.store_key(COUPON_SECRET, STORE),
                        engine=lambda: engine, clock=clock, media_dir=media)


def scripted_shopper(app, shots: Path, exit_after: bool) -> Script:
    """Taps through a visit the way a shopper would, one step per second, with a screenshot each."""
    steps = [
        ("attract", lambda: None),
        ("identify", app.start_identify),
        ("phone", lambda: [app.phone_key(d) for d in SCRIPT_PHONE]),
        ("consent", app.phone_submit),
        ("offers", lambda: app.save_consent({"personal_offers": True, "e_receipt": True, "marketing": False})),
        ("coupon", lambda: app.send_to_phone(0)),
        ("bulgarian", lambda: app.set_language("bg")),
        ("goodbye", app.end_session),
    ]
    return Script(app, "scripted shopper", steps, shots, exit_after=exit_after, settle_s=0.5, pause_s=0.7,
                  touched=lambda: setattr(app, "last_touch", time.monotonic()))

