"""Wiring the kiosk and the staff tablet to a running sync agent: their service, and an engine reloaded
per bundle; the store's name for the header; and the device's key files."""

from __future__ import annotations

from decisions.engine import EngineHolder
from sync.agent import SyncAgent
from sync.cache import Cache
from sync.cache.outbox import Outbox
from sync.cache.read import CacheReader
from sync.clock import Clock
from sync.protocol.signing import TrustedKeys

from .session import KioskService, Store
from .staff import StaffService


def store_name(cache: Cache, chain: str, store: str) -> str:
    """The header's name: head office's name for the store (from its store bundle), else chain and store id until
    that bundle arrives."""
    described = CacheReader(cache).store(store)
    return described["name"] if described else f"{chain} · {store}"


def _wire(agent: SyncAgent, clock: Clock):
    cache = Cache(agent.cache_path)  # the UI thread's own connection
    outbox = Outbox(cache, boot_id=agent.boot_id, device=agent.topics.device, store=agent.topics.store, clock=clock)
    engine = EngineHolder(CacheReader(cache), now=clock.now)

    def lookup(key: str, value: str) -> dict | None:
        result = agent.lookup(key, value)
        return result.profile if result.status == "found" else None

    return cache, outbox, engine, lookup


def build_service(agent: SyncAgent, *, clock: Clock, qr_keys: TrustedKeys, phone_key: bytes, coupon_key: bytes,
                  store: tuple[str, str, str, str, str, str]) -> tuple[KioskService, EngineHolder]:
    cache, outbox, engine, lookup = _wire(agent, clock)
    service = KioskService(cache, outbox, Store(*store), qr_keys=qr_keys, phone_key=phone_key,
                           coupon_key=coupon_key, engine=engine, clock=clock, lookup=lookup,
                           media_dir=agent.media_dir)
    return service, engine


def build_staff_service(agent: SyncAgent, *, clock: Clock, qr_keys: TrustedKeys, phone_key: bytes,
                        store: tuple[str, str, str, str, str, str]) -> tuple[StaffService, EngineHolder]:
    """The staff tablet's service, wired like the kiosk's (no coupon key: the tablet issues no coupons)."""
    cache, outbox, engine, lookup = _wire(agent, clock)
    service = StaffService(cache, outbox, Store(*store), phone_key=phone_key, qr_keys=qr_keys, engine=engine,
                           clock=clock, lookup=lookup, media_dir=agent.media_dir)
    return service, engine
