"""The demo store: a local Mosquitto, the reference head office and one kiosk's sync agent.

    ./run-demo                 # runs until Ctrl-C, a status line every 30 s
    ./run-demo --once          # sync, print the summary, exit 0 (what the tests use)
    ./run-demo --var /tmp/x    # keep broker data, keys and caches somewhere else than var/demo

Head office publishes the "Demo Coffee & Bakery" chain from assets/demo/: a chain bundle
(catalogue, prices, offers, menus, signage) and a store bundle for s001 (inventory and
customer profiles). The kiosk-1 agent applies both, and one event goes back the other way.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import config as config_mod
from . import publish
from .agent import SyncAgent
from .broker import Mosquitto, mosquitto_binary
from .cache import Cache
from .cache.bundles import apply_bundle
from .protocol import signing
from .protocol.content import SECTIONS, ContentError, validate
from .responder import Responder
from .responder.eventstore import EventStore

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets" / "demo"
CHAIN, REGION, STORE, DEVICE = "demo", "south", "s001", "kiosk-1"
CHAIN_SECTIONS = ("products", "prices", "offers", "menus", "content_items", "playlists", "schedules", "co_purchase",
                  "offer_stats", "layouts", "text_templates")
STORE_FILES = {"inventory": f"inventory_{STORE}", "profiles": "profiles", "staff": "staff",
               "basket_lines": "basket_lines"}
APT_LINE = "sudo apt-get install -y --no-install-recommends mosquitto mosquitto-clients"
STATUS_EVERY_S = 30.0
NO_DISPLAY = "no display: running headless (the kiosk and signage windows join here as they land)"


class DemoError(RuntimeError):
    """Something the person running the demo has to fix; the message says what."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="store-edge-demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="exit 0 right after the summary")
    parser.add_argument("--var", type=Path, default=ROOT / "var" / "demo",
                        help="working directory for broker data, keys and caches (default: var/demo)")
    parser.add_argument("--assets", type=Path, default=ASSETS, help="the demo chain's JSON files")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each sync step")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the agent's and head office's INFO lines")
    args = parser.parse_args(argv)

    # Cyrillic must never crash the demo on a terminal that is not UTF-8.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace", line_buffering=True)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return Demo(args.var.resolve(), args.assets.resolve(), timeout=args.timeout).run(once=args.once)
    except (DemoError, RuntimeError) as exc:  # RuntimeError: the broker or head office would not start
        print(f"store-edge-demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped")
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def demo_cache(path: Path) -> Cache:
    """A cache at ``path`` holding the demo chain (chain and store s001 bundles, version 1), applied
    straight from assets/demo with no broker: for the tests, the benchmarks and an offline kiosk."""
    chain, store = Demo(path.parent, ASSETS, timeout=1).load_assets()
    cache = Cache(path)
    apply_bundle(cache, stream="chain", scope="chain", version=1, sha256="x", mode="snapshot", content=chain)
    apply_bundle(cache, stream=f"store/{STORE}", scope=f"store/{STORE}", version=1, sha256="x", mode="snapshot",
                 content=store)
    return cache


def serve_media(assets: Path, media: list[dict]) -> ThreadingHTTPServer:
    """Head office's media files (``url`` relative to ``assets``) on a local HTTP port, as a CDN would serve them;
    the entries' urls are made absolute in place."""
    handler = functools.partial(_QuietFiles, directory=str(assets))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, name="demo-media", daemon=True).start()
    for entry in media:
        if "://" not in entry["url"]:
            entry["url"] = f"http://127.0.0.1:{server.server_port}/{entry['url']}"
    return server


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class Demo:
    def __init__(self, var: Path, assets: Path, *, timeout: float, device: str = DEVICE, kind: str = "kiosk"):
        self.var = var
        self.assets = assets
        self.timeout = timeout
        self.device, self.kind = device, kind

    def run(self, *, once: bool) -> int:
        with ExitStack() as stack:
            agent, responder = self.start_store(stack)
            if once:
                return 0

            display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            if display:
                print(f"display {display}: the kiosk window opens with python -m kiosk.demo")
            else:
                print(NO_DISPLAY)
            print("running; Ctrl-C stops")
            stop = threading.Event()
            while not stop.wait(STATUS_EVERY_S):
                self.status(agent, responder)
        return 0

    def start_store(self, stack: ExitStack) -> tuple[SyncAgent, Responder]:
        """Broker, head office (and its media files) and the device's agent with both bundles applied; torn
        down by ``stack``."""
        if mosquitto_binary() is None:
            raise DemoError(f"mosquitto is not installed; install it with:\n  {APT_LINE}")
        chain_content, store_content = self.load_assets()
        self.var.mkdir(parents=True, exist_ok=True)
        key, pub_path = self.chain_keys()
        self.chain_key = key
        broker = Mosquitto(data_dir=self.var / "broker").start()
        stack.callback(broker.stop)
        print(f"broker: Mosquitto {broker.port}")

        (self.var / "head-office").mkdir(exist_ok=True)
        events = EventStore(self.var / "head-office" / "events.db")
        stack.callback(events.close)
        responder = Responder(chain=CHAIN, host="127.0.0.1", port=broker.port, key=key, events=events,
                              client_id="demo-head-office").start()
        stack.callback(responder.stop)
        held = responder.add_profiles(store_content["profiles"])
        chain_content["media"] = self.load_media()
        media = serve_media(self.assets, chain_content["media"])
        stack.callback(media.shutdown)
        version = self.next_version()
        responder.publish_bundle("chain", chain_content, version=version)
        responder.publish_bundle(f"store/{STORE}", store_content, version=version)
        print(f"head office: published chain and store/{STORE} bundles, version {version}"
              f" ({held} profiles held for lookups)")

        agent = SyncAgent(self.device_config(broker.port, pub_path)).start()
        stack.callback(agent.stop)
        self.wait(agent.connected.is_set, f"{self.device} to connect to the broker")
        wanted = {"chain": version, f"store/{STORE}": version}
        self.wait(lambda: all(agent.reader.sync_state().get(s, {}).get("version") == v
                              for s, v in wanted.items()),
                  lambda: f"{self.device} to apply both bundles (bundle worker counts: {agent.bundles.counts})")
        self.summary(agent)

        offer = max(agent.reader.offers("kiosk"), key=lambda o: o["priority"])
        event_id = agent.outbox.record("offer_shown", {"offer": offer["id"], "sku": offer.get("sku"),
                                                       "channel": "kiosk", "source": "demo"})
        self.wait(lambda: event_id in responder.events.ids() and agent.outbox.stats().rows == 0,
                  "the offer_shown event to reach head office and leave the outbox")
        print(f"event: offer_shown {offer['id']} recorded on {self.device}, outbox drained")
        total = responder.events.count()
        print(f"head office received {total} event{'s' if total != 1 else ''} so far"
              f" ({responder.events.count('offer_shown')} offer_shown)")
        return agent, responder

    # --- setup ---------------------------------------------------------------------------------
    def load_assets(self) -> tuple[dict, dict]:
        """The chain and store bundles' content. The ``media`` section is separate (``load_media``): its
        urls are relative to the assets until something serves them."""
        section = self._section
        chain = {name: section(name) for name in CHAIN_SECTIONS}
        store = {name: section(name, file) for name, file in STORE_FILES.items()}
        return chain, store

    def load_media(self) -> list[dict]:
        """The signage pictures' ``media`` entries, urls relative to the assets folder."""
        return self._section("media")

    def _section(self, name: str, file: str | None = None) -> list[dict]:
        path = self.assets / f"{file or name}.json"
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
            return validate({name: items})[name]
        except FileNotFoundError:
            raise DemoError(f"{path} is missing") from None
        except (ValueError, ContentError) as exc:
            raise DemoError(f"{path}: {exc}") from None

    def chain_keys(self) -> tuple[Ed25519PrivateKey, Path]:
        """The demo chain's Ed25519 pair, made on the first run. The private key never leaves var/."""
        keys = self.var / "keys"
        stem = keys / "demo-chain"
        private, public = stem.with_suffix(".key"), stem.with_suffix(".pub")
        if not (private.exists() and public.exists()):
            publish.main(["keygen", "--out", str(stem)])
            print("keys: the private key stays under var/ (git ignores it); devices get only the .pub")
        return signing.load_private_key(private), public


    def next_version(self) -> int:
        """Seconds since the epoch, but always above the last run's (clocks can step back)."""
        path = self.var / "head-office" / "last_version"
        try:
            last = int(path.read_text())
        except (OSError, ValueError):
            last = 0
        version = max(int(time.time()), last + 1)
        path.write_text(f"{version}\n")
        return version

    def device_config(self, port: int, trusted_key: Path) -> config_mod.DeviceConfig:
        try:
            base = config_mod.load()
        except config_mod.ConfigError as exc:
            raise DemoError(f"configuration error: {exc}") from None
        here = self.var / self.device
        return dataclasses.replace(
            base,
            device=dataclasses.replace(base.device, id=self.device, kind=self.kind, chain=CHAIN, region=REGION,
                                       store=STORE),
            cache=dataclasses.replace(base.cache, path=str(here / "cache.db"), media_dir=str(here / "media")),
            broker=config_mod.BrokerSection(host="127.0.0.1", port=port, keepalive_s=base.broker.keepalive_s),
            sync=dataclasses.replace(base.sync, trusted_keys=(str(trusted_key),)),
        )

    def wait(self, predicate: Callable[[], object], what: str | Callable[[], str]) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise DemoError(f"timed out after {self.timeout:g}s waiting for {what() if callable(what) else what}")

    # --- output --------------------------------------------------------------------------------
    def summary(self, agent: SyncAgent) -> None:
        r = agent.reader
        products, offers = r.products(), r.offers()
        by_channel = ", ".join(f"{c} {len(r.offers(c))}" for c in ("kiosk", "tablet", "signage"))
        state = ", ".join(f"{stream} v{s['version']}" for stream, s in r.sync_state().items())
        counts = r.counts()
        print(f"{self.device} (store {STORE}): bundles applied, cache {agent.cache_path}")
        print(f"  products: {len(products)}")
        print(f"  offers: {len(offers)} ({by_channel})")
        print(f"  profiles: {r.profile_count()}")
        also = {"prices": "prices", "inventory": "inventory rows", "menus": "menus", "content_items": "slides",
                "playlists": "playlists", "schedules": "schedules", "co_purchase": "co-purchase pairs"}
        print("  also: " + ", ".join(f"{counts[SECTIONS[s].table]} {label}" for s, label in also.items()))
        print(f"  sync_state: {state}")
        sample = r.product("PAS-003") or products[0]
        price = r.price(sample["sku"])
        euros = f"€{price['price_cents'] / 100:.2f}" if price else "no price"
        names = " | ".join(f"{lang} {sample['name'][lang]}" for lang in ("en", "bg", "ru"))
        print(f"  product {sample['sku']} ({euros}): {names}")
        top = max(offers, key=lambda o: o["priority"])
        print(f"  top offer {top['id']}: {top['title']['en']} / {top['title']['bg']}")
        out = [p["sku"] for p in products if not r.in_stock(p["sku"])]
        print(f"  out of stock at {STORE}: {', '.join(out) or 'nothing'}")

    def status(self, agent: SyncAgent, responder: Responder) -> None:
        state = ", ".join(f"{stream} v{s['version']}" for stream, s in agent.reader.sync_state().items())
        print(f"{time.strftime('%H:%M:%S')} {self.device}: {'connected' if agent.connected.is_set() else 'OFFLINE'},"
              f" outbox {agent.outbox.stats().rows} rows, {state};"
              f" head office has {responder.events.count()} events")


if __name__ == "__main__":
    sys.exit(main())
