"""Wiring the kiosk and the staff tablet to a running sync agent: their service, and an engine reloaded
per bundle; and the device's key files."""

from __future__ import annotations

from datetime import UTC, datetime

from decisions.engine import Engine
from sync.agent import SyncAgent
from sync.cache import Cache
from sync.cache.outbox import Outbox
from sync.cache.read import CacheReader
from sync.protocol.signing import TrustedKeys

from .session import KioskService, Store
from .staff import StaffService


class EngineHolder:
    """The engine for the cache as it is now; ``reload()`` after each applied bundle (UI thread)."""

    def __init__(self, reader: CacheReader):
        self.reader = reader
        self.engine = Engine.load(reader, now=datetime.now(UTC))

    def __call__(self) -> Engine:
        return self.engine

    def reload(self) -> None:
        self.engine = Engine.load(self.reader, now=datetime.now(UTC))


def _wire(agent: SyncAgent):
    cache = Cache(agent.cache_path)  # the UI thread's own connection
    outbox = Outbox(cache, boot_id=agent.boot_id, device=agent.topics.device, store=agent.topics.store)
    engine = EngineHolder(CacheReader(cache))

    def lookup(key: str, value: str) -> dict | None:
        result = agent.lookup(key, value)
        return result.profile if result.status == "found" else None

    return cache, outbox, engine, lookup


def build_service(agent: SyncAgent, *, qr_keys: TrustedKeys, phone_key: bytes, coupon_key: bytes,
                  store: tuple[str, str, str, str, str, str]) -> tuple[KioskService, EngineHolder]:
    cache, outbox, engine, lookup = _wire(agent)
    service = KioskService(cache, outbox, Store(*store), qr_keys=qr_keys, phone_key=phone_key,
                           coupon_key=coupon_key, engine=engine, clock=lambda: datetime.now(UTC), lookup=lookup,
                           media_dir=agent.media_dir)
    return service, engine


def build_staff_service(agent: SyncAgent, *, qr_keys: TrustedKeys, phone_key: bytes,
                        store: tuple[str, str, str, str, str, str]) -> tuple[StaffService, EngineHolder]:
    """The staff tablet's service, wired like the kiosk's (no coupon key: the tablet issues no coupons)."""
    cache, outbox, engine, lookup = _wire(agent)
    service = StaffService(cache, outbox, Store(*store), phone_key=phone_key, qr_keys=qr_keys, engine=engine,
                           clock=lambda: datetime.now(UTC), lookup=lookup)
    return service, engine
