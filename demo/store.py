"""The demo store: a local Mosquitto, the reference head office and one kiosk's sync agent.

    python -m demo.store                      # runs until Ctrl-C, a status line every 30 s
    python -m demo.store --once               # sync, print the summary, exit 0 (what the tests use)
    python -m demo.store --at 'mon 08:30'     # the store's clock starts at Monday 08:30 and runs on
    python -m demo.store --var /tmp/x         # broker data, keys and caches somewhere else than var/demo

Head office publishes the "Demo Coffee & Bakery" chain from assets/demo/: a chain bundle
(catalogue, prices, offers, menus, signage) and a store bundle for s001 (inventory and
customer profiles). The kiosk-1 agent applies both, and one event goes back the other way.

The demo runs on one clock, made here and handed to head office and the device: the real time, or
with ``--at`` a stated store time that runs on from there. It prints which, and what the kiosk would
offer an anonymous shopper at that moment.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.responder import Responder
from central.responder.eventstore import EventStore
from decisions.context import Context
from decisions.engine import Engine
from decisions.offers import OfferChoice
from decisions.shopper import Shopper
from sync import config as config_mod
from sync import publish
from sync.agent import SyncAgent
from sync.broker import Mosquitto, mosquitto_binary
from sync.cache import Cache
from sync.cache.bundles import apply_bundle
from sync.clock import SYSTEM, Clock, OffsetClock, store_time
from sync.protocol import signing
from sync.protocol.content import SECTIONS, ContentError, validate
from sync.runtime import wait_unless_signalled

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets" / "demo"
CHAIN, REGION, STORE, DEVICE = "demo", "south", "s001", "kiosk-1"
TIMEZONE, COUNTRY = "Europe/Sofia", "BG"
CHAIN_SECTIONS = ("products", "prices", "offers", "menus", "content_items", "playlists", "schedules", "co_purchase",
                  "offer_stats", "layouts", "text_templates", "brand")
STORE_FILES = {"stores": f"stores_{STORE}", "inventory": f"inventory_{STORE}", "profiles": "profiles", "staff": "staff",
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
    add_at_argument(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log the agent's and head office's INFO lines")
    args = parser.parse_args(argv)

    # Cyrillic must never crash the demo on a terminal that is not UTF-8.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace", line_buffering=True)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo = Demo(args.var.resolve(), args.assets.resolve(), timeout=args.timeout, clock=demo_clock(parser, args.at))
    with stop_on_sigterm():
        try:
            return demo.run(once=args.once)
        except (DemoError, RuntimeError) as exc:  # RuntimeError: the broker or head office would not start
            print(f"store-edge-demo: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(demo.stopped_line())
            return 0


def add_at_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", metavar="'DAY HH:MM'",
                        help=f"the store's time ({TIMEZONE}) the demo starts at, e.g. 'mon 08:30' or '23:30'; "
                             "it runs on from there (default: the real time)")


def demo_clock(parser: argparse.ArgumentParser, at: str | None) -> Clock:
    """The demo's one clock: the system clock, or with ``--at`` the store time it names, running on. A time
    it cannot read ends the program with the parser's usage error (exit status 2)."""
    if at is None:
        return SYSTEM
    try:
        return OffsetClock(store_time(at, TIMEZONE, today=SYSTEM.now()))
    except ValueError as exc:
        parser.error(f"--at {exc}")


def device_config(here: Path, *, device: str, kind: str, region: str, store: str, port: int,
                  trusted_key: Path) -> config_mod.DeviceConfig:
    """A demo device's configuration: the defaults, its identity, its cache under ``here``, the local broker."""
    try:
        base = config_mod.load()
    except config_mod.ConfigError as exc:
        raise DemoError(f"configuration error: {exc}") from None
    return dataclasses.replace(
        base,
        device=dataclasses.replace(base.device, id=device, kind=kind, chain=CHAIN, region=region, store=store),
        cache=dataclasses.replace(base.cache, path=str(here / "cache.db"), media_dir=str(here / "media")),
        broker=config_mod.BrokerSection(host="127.0.0.1", port=port, keepalive_s=base.broker.keepalive_s),
        sync=dataclasses.replace(base.sync, trusted_keys=(str(trusted_key),)),
    )


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM stops the demo the way Ctrl-C does: every process it started is stopped on the way out.

    Ctrl-C is set up here too: a process started in the background by a non-interactive shell (a CI job,
    ``cmd &`` in a script) inherits SIGINT ignored, and Python then leaves it ignored."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def demo_cache(path: Path, *, clock: Clock) -> Cache:
    """A cache at ``path`` holding the demo chain (chain and store s001 bundles, version 1, applied at the
    clock's time), straight from assets/demo with no broker: for the tests, the benchmarks and an offline kiosk."""
    chain, store = load_assets(ASSETS)
    chain = roll_forward(chain, store_now(clock).date())
    cache = Cache(path)
    at = clock.time()
    apply_bundle(cache, stream="chain", scope="chain", version=1, sha256="x", mode="snapshot", content=chain, at=at)
    apply_bundle(cache, stream=f"store/{STORE}", scope=f"store/{STORE}", version=1, sha256="x", mode="snapshot",
                 content=store, at=at)
    return cache


def store_now(clock: Clock) -> datetime:
    """The clock's moment in the demo store's zone."""
    return clock.now().astimezone(ZoneInfo(TIMEZONE))


def roll_forward(chain: dict, today: date) -> dict:
    """The demo chain's campaigns are dated for the 2026-27 season. A real head office publishes next
    season's; the demo moves each dated thing (an offer's date range, a slide's ``valid_until``, a
    schedule's dates) forward by whole years to its current or next occurrence from ``today`` on, so the
    demo store is live on any date. What is running or still to come stays as written; what is over
    becomes next year's."""

    def years_to_reach(last: date) -> int:
        k = max(0, today.year - last.year - 1)
        while _plus_years(last, k) < today:
            k += 1
        return k

    def moved(text: str, k: int) -> str:
        return _plus_years(date.fromisoformat(text), k).isoformat()

    for offer in chain.get("offers", ()):
        window = offer.get("schedule") or {}
        if "to" in window:
            k = years_to_reach(date.fromisoformat(window["to"]))
            window.update({key: moved(window[key], k) for key in ("from", "to") if key in window})
    for item in chain.get("content_items", ()):
        if item.get("valid_until"):
            item["valid_until"] = moved(item["valid_until"], years_to_reach(date.fromisoformat(item["valid_until"])))
    for entry in chain.get("schedules", ()):
        dates = entry.get("dates")
        if dates:
            ends = [date.fromisoformat(d if isinstance(d, str) else d["to"]) for d in dates]
            k = years_to_reach(max(ends))
            entry["dates"] = [moved(d, k) if isinstance(d, str) else {key: moved(d[key], k) for key in ("from", "to")}
                              for d in dates]
    return chain


def _plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def load_assets(assets: Path) -> tuple[dict, dict]:
    """The chain and store bundles' content from ``assets``. The ``media`` section is separate
    (``load_media``): its urls are relative to the assets until something serves them."""
    chain = {name: _section(assets, name) for name in CHAIN_SECTIONS}
    store = {name: _section(assets, name, file) for name, file in STORE_FILES.items()}
    return chain, store


def load_media(assets: Path) -> list[dict]:
    """The signage and product pictures' ``media`` entries, urls relative to the assets folder."""
    return _section(assets, "media")


def demo_media(media: Path) -> Path:
    """The demo's pictures in ``media``, named by sha256 as the agent would have downloaded them (no
    broker, no media server: for the tests and the benchmarks)."""
    media.mkdir(parents=True, exist_ok=True)
    for entry in load_media(ASSETS):
        shutil.copyfile(ASSETS / entry["url"], media / entry["sha256"])
    return media


def _section(assets: Path, name: str, file: str | None = None) -> list[dict]:
    path = assets / f"{file or name}.json"
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
        return validate({name: items})[name]
    except FileNotFoundError:
        raise DemoError(f"{path} is missing") from None
    except (ValueError, ContentError) as exc:
        raise DemoError(f"{path}: {exc}") from None


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
    def __init__(self, var: Path, assets: Path, *, timeout: float, clock: Clock, device: str = DEVICE,
                 kind: str = "kiosk"):
        self.var = var
        self.assets = assets
        self.timeout = timeout
        self.clock = clock
        self.device, self.kind = device, kind
        self.started: list[str] = []  # what is running, in the order it started: the stop line names it

    def run(self, *, once: bool) -> int:
        with ExitStack() as stack:
            agent, responder = self.start_store(stack)
            if once:
                return 0

            display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            if display:
                print(f"display {display}: the kiosk window opens with python -m demo")
            else:
                print(NO_DISPLAY)
            print("running; Ctrl-C stops")
            stop = threading.Event()
            while not wait_unless_signalled(stop, STATUS_EVERY_S):
                self.status(agent, responder)
        return 0

    def start_store(self, stack: ExitStack) -> tuple[SyncAgent, Responder]:
        """Broker, head office (and its media files) and the device's agent with both bundles applied; torn
        down by ``stack``."""
        if mosquitto_binary() is None:
            raise DemoError(f"mosquitto is not installed; install it with:\n  {APT_LINE}")
        chain_content, store_content = load_assets(self.assets)
        roll_forward(chain_content, store_now(self.clock).date())
        self.var.mkdir(parents=True, exist_ok=True)
        key, pub_path = self.chain_keys()
        self.chain_key = key
        print(f"store time: {self.store_time_line()}")
        broker = Mosquitto(data_dir=self.var / "broker").start()
        self.on_stop(stack, broker.stop, "Mosquitto")
        print(f"broker: Mosquitto {broker.port}")

        (self.var / "head-office").mkdir(exist_ok=True)
        events = EventStore(self.var / "head-office" / "events.db")
        stack.callback(events.close)
        responder = Responder(chain=CHAIN, host="127.0.0.1", port=broker.port, key=key, events=events,
                              client_id="demo-head-office", clock=self.clock).start()
        self.on_stop(stack, responder.stop, "head office")
        held = responder.add_profiles(store_content["profiles"])
        chain_content["media"] = load_media(self.assets)
        media = serve_media(self.assets, chain_content["media"])
        stack.callback(media.shutdown)
        version = self.next_version()
        responder.publish_bundle("chain", chain_content, version=version)
        responder.publish_bundle(f"store/{STORE}", store_content, version=version)
        print(f"head office: published chain and store/{STORE} bundles, version {version}"
              f" ({held} profiles held for lookups)")

        agent = SyncAgent(self.device_config(broker.port, pub_path), clock=self.clock).start()
        self.on_stop(stack, agent.stop, f"{self.device}'s agent")
        self.wait(agent.connected.is_set, f"{self.device} to connect to the broker")
        wanted = {"chain": version, f"store/{STORE}": version}
        self.wait(lambda: all(agent.reader.sync_state().get(s, {}).get("version") == v
                              for s, v in wanted.items()),
                  lambda: f"{self.device} to apply both bundles (bundle worker counts: {agent.bundles.counts})")
        shown = self.summary(agent)

        if not shown:
            print("event: the kiosk has no offer to show at this hour, so no offer_shown event"
                  " (--at 'mon 08:30' opens the store at breakfast)")
            return agent, responder
        event_id = agent.outbox.record("offer_shown", {"offer": shown[0].offer_id, "sku": shown[0].sku,
                                                       "channel": "kiosk", "source": "demo"})
        self.wait(lambda: event_id in responder.events.ids() and agent.outbox.stats().rows == 0,
                  "the offer_shown event to reach head office and leave the outbox")
        print(f"event: offer_shown {shown[0].offer_id} recorded on {self.device}, outbox drained")
        total = responder.events.count()
        print(f"head office received {total} event{'s' if total != 1 else ''} so far"
              f" ({responder.events.count('offer_shown')} offer_shown)")
        return agent, responder

    def on_stop(self, stack: ExitStack, stop: Callable[[], object], name: str) -> None:
        """Run ``stop`` when ``stack`` closes, and name it in the line printed on Ctrl-C."""
        stack.callback(stop)
        self.started.append(name)

    def stopped_line(self) -> str:
        names = list(reversed(self.started))
        if not names:
            return "stopped"
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"stopped: {listed} shut down"

    def store_time_line(self) -> str:
        how = ("set by --at, running on from there" if isinstance(self.clock, OffsetClock)
               else "the real time; --at 'mon 08:30' picks another")
        return f"{self.local_time()} {TIMEZONE} ({how})"

    def local_time(self) -> str:
        return store_now(self.clock).strftime("%a %d %b %H:%M")

    # --- setup ---------------------------------------------------------------------------------
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
        version = max(int(self.clock.time()), last + 1)
        path.write_text(f"{version}\n")
        return version

    def device_config(self, port: int, trusted_key: Path) -> config_mod.DeviceConfig:
        return device_config(self.var / self.device, device=self.device, kind=self.kind, region=REGION, store=STORE,
                             port=port, trusted_key=trusted_key)

    def wait(self, predicate: Callable[[], object], what: str | Callable[[], str]) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise DemoError(f"timed out after {self.timeout:g}s waiting for {what() if callable(what) else what}")

    # --- output --------------------------------------------------------------------------------
    def summary(self, agent: SyncAgent) -> tuple[OfferChoice, ...]:
        """Print what the device holds, and what its kiosk offers an anonymous shopper now; returns that."""
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
        now = self.clock.now()
        engine = Engine.load(r, now=now, timezone=TIMEZONE)
        shown = engine.offers(Context(now=now, store=STORE, region=REGION, device=self.device, channel="kiosk",
                                      timezone=TIMEZONE), Shopper.anonymous()).offers
        print(f"  offers an anonymous shopper sees at {self.local_time()} store time: "
              + (", ".join(o.offer_id for o in shown) or "none"))
        if shown:
            print(f"  top offer {shown[0].offer_id}: {shown[0].title['en']} / {shown[0].title['bg']}")
        out = [p["sku"] for p in products if not r.in_stock(p["sku"])]
        print(f"  out of stock at {STORE}: {', '.join(out) or 'nothing'}")
        return shown

    def status(self, agent: SyncAgent, responder: Responder) -> None:
        state = ", ".join(f"{stream} v{s['version']}" for stream, s in agent.reader.sync_state().items())
        print(f"{self.local_time()} {self.device}: {'connected' if agent.connected.is_set() else 'OFFLINE'},"
              f" outbox {agent.outbox.stats().rows} rows, {state};"
              f" head office has {responder.events.count()} events")


if __name__ == "__main__":
    sys.exit(main())
