"""Wiring the kiosk to a running sync agent: the service, and an engine reloaded per bundle."""

from __future__ import annotations

from datetime import UTC, datetime

from decisions.engine import Engine
from sync.agent import SyncAgent
from sync.cache import Cache
from sync.cache.outbox import Outbox
from sync.cache.read import CacheReader
from sync.protocol.signing import TrustedKeys

from .session import KioskService, Store


class EngineHolder:
    """The engine for the cache as it is now; ``reload()`` after each applied bundle (UI thread)."""

    def __init__(self, reader: CacheReader):
        self.reader = reader
        self.engine = Engine.load(reader, now=datetime.now(UTC))

    def __call__(self) -> Engine:
        return self.engine

    def reload(self) -> None:
        self.engine = Engine.load(self.reader, now=datetime.now(UTC))


def build_service(agent: SyncAgent, *, qr_keys: TrustedKeys, phone_key: bytes, coupon_key: bytes,
                  store: tuple[str, str, str, str, str, str]) -> tuple[KioskService, EngineHolder]:
    cache = Cache(agent.cache_path)  # the UI thread's own connection
    outbox = Outbox(cache, boot_id=agent.boot_id, device=agent.topics.device, store=agent.topics.store)
    engine = EngineHolder(CacheReader(cache))

    def lookup(key: str, value: str) -> dict | None:
        result = agent.lookup(key, value)
        return result.profile if result.status == "found" else None

    service = KioskService(cache, outbox, Store(*store), qr_keys=qr_keys, phone_key=phone_key,
                           coupon_key=coupon_key, engine=engine, clock=lambda: datetime.now(UTC), lookup=lookup)
    return service, engine
