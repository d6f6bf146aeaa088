"""The demo store's signage: ``./run-demo --signage`` (``python -m demo --signage``).

``demo.kiosk`` starts what ``demo.store`` starts, with the agent of the store's signage screen
``signage-1``; :func:`run_signage` opens the signage player on it, on the demo's clock. ``--script``
takes a screenshot of the schedule's layout, then has head office publish a signed emergency
override, flashes the device id, lets the schedule take the screen back, and closes (``--stay-open``
keeps it running).

``python -m demo.signage --make-images`` draws the demo chain's product pictures (no words: the signage
posters put each product's name and price beside them in the screen's language) into
``assets/demo/products/``, and its logo (in ``brand.json``'s colours) into ``assets/demo/brand/``, and prints
their ``media`` entries (sha256 and size) for
``assets/demo/media.json``; the pictures are committed, so the demo never depends on how a given
Pillow version encodes them. The demo serves those folders over HTTP and the agent downloads the files
as it would from head office's CDN.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from signage.cards import PRODUCT_PICTURES, brand_logo, product_picture

from .script import Script

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets" / "demo"
def make_demo_images(assets: Path = ASSETS) -> list[dict]:
    """Draw every product picture into ``assets/products`` and the logo into ``assets/brand``; return the ``media``
    entries (url relative to the demo's media server)."""
    pictures = [(f"products/{name}.jpg", product_picture(motif, top, bottom))
                for name, motif, top, bottom in PRODUCT_PICTURES]
    brand = json.loads((assets / "brand.json").read_text(encoding="utf-8"))[0]
    pictures.append(("brand/logo.png", brand_logo(brand["primary"], brand["accent"], brand["background"])))
    entries = []
    for url, data in pictures:
        (assets / url).parent.mkdir(parents=True, exist_ok=True)
        (assets / url).write_bytes(data)
        entries.append({"sha256": hashlib.sha256(data).hexdigest(), "url": url, "size": len(data),
                        "mime": "image/png" if url.endswith(".png") else "image/jpeg"})
    return entries


SCRIPT_STEP_S = 2.5


def run_signage(agent, responder, demo, *, script: bool, exit_after: bool, shots: Path) -> None:
    """``./run-demo --signage``: the signage player on the demo store that ``demo.kiosk`` started, on the
    demo's clock; returns when the window closes (or the script ends with ``exit_after``)."""
    import os
    import tempfile

    from kiosk.display import configure_kivy
    from signage.__main__ import configure_video
    from sync.config import SignageSection

    from .kiosk import window_opened

    os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
    configure_video()
    configure_kivy(kiosk_mode=False)
    from kivy.clock import Clock

    from signage.__main__ import build_app

    settings = SignageSection(lang="en", brand_name="Demo Coffee & Bakery", brand_tagline="Fresh every morning")
    app = build_app(agent, agent.config.device, settings, clock=demo.clock)
    Clock.schedule_once(lambda dt: window_opened(demo, "the signage screen"), 0)
    if script:
        shots.mkdir(parents=True, exist_ok=True)
        Clock.schedule_once(lambda dt: ScriptedScreen(app, responder, demo, shots, exit_after).script.next(), 3.0)
    app.run()


class ScriptedScreen:
    """What the demo shows of the screen, a step every few seconds, with a screenshot each."""

    def __init__(self, app, responder, demo, shots: Path, exit_after: bool):
        self.responder, self.demo = responder, demo
        steps = [("schedule", lambda: None), ("override", self.flood), ("identify", lambda: app.identify(5)),
                 ("override-ended", self.end_flood)]
        self.script = Script(app, "scripted screen", steps, shots, exit_after=exit_after, settle_s=1.5,
                             pause_s=SCRIPT_STEP_S)

    def flood(self) -> None:
        from sync.protocol.overrides import Override, sign_override
        from sync.protocol.topics import override_topic

        now = self.demo.clock.time()
        self.override = Override("demo", "store/s001", "ov-demo-closing", now, now + 600, "start",
                                 message={"title": "Closing at 18:00 today",
                                          "body": "Stock-taking: we open again tomorrow at 7:00", "style": "notice"})
        self.responder.publish_retained(override_topic("demo", "store/s001"),
                                        sign_override(self.override, self.demo.chain_key))

    def end_flood(self) -> None:
        from dataclasses import replace

        from sync.protocol.overrides import sign_override
        from sync.protocol.topics import override_topic

        now = self.demo.clock.time()
        end = replace(self.override, issued_at=now, expires_at=now, action="end", message=None)
        self.responder.publish_retained(override_topic("demo", "store/s001"), sign_override(end, self.demo.chain_key))

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.signage", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--make-images", action="store_true", help="draw the demo pictures and print media.json")
    args = parser.parse_args(argv)
    if not args.make_images:
        parser.print_help()
        return 2
    print(json.dumps(make_demo_images(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
