"""Fixtures: a real Mosquitto on a free port, chain keys, device configs, agents and a responder."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync import config as config_mod
from sync.agent import SyncAgent
from sync.broker import Mosquitto
from sync.protocol import signing
from sync.protocol.content import SECTIONS
from sync.responder import Responder

CHAIN = "demo"


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cache_snapshot(path: str | Path) -> dict[str, list[tuple]]:
    """Every row of every content table and the sync state: what 'the cache' means to a screen."""
    conn = sqlite3.connect(str(path))
    try:
        tables = [s.table for s in SECTIONS.values()] + ["sync_state", "consents"]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


def sample_content(products: int = 3, *, price: int = 199) -> dict:
    return {
        "products": [{"sku": f"SKU{i:05d}", "name": {"en": f"Product {i}", "bg": f"Продукт {i}", "ru": f"Товар {i}"},
                      "category": "bakery" if i % 2 else "coffee"} for i in range(products)],
        "prices": [{"sku": f"SKU{i:05d}", "price_cents": price + i, "currency": "EUR"} for i in range(products)],
        "offers": [{"id": "OFF1", "priority": 10, "channels": ["kiosk", "signage"],
                    "title": {"en": "Coffee and croissant", "bg": "Кафе и кроасан", "ru": "Кофе и круассан"},
                    "sku": "SKU00000"}],
    }


@pytest.fixture(scope="session")
def chain_key():
    return signing.generate_private_key()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    b = Mosquitto(data_dir=tmp_path / "broker")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def device_config(tmp_path: Path, broker: Mosquitto, chain_key) -> Callable[..., config_mod.DeviceConfig]:
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "chain.pub").write_bytes(signing.public_key_pem(chain_key.public_key()))

    def make(device: str = "kiosk-1", store: str = "s001", **sync: object) -> config_mod.DeviceConfig:
        base = config_mod.load(env={})
        return dataclasses.replace(
            base,
            device=dataclasses.replace(base.device, id=device, store=store, chain=CHAIN),
            cache=dataclasses.replace(base.cache, path=str(tmp_path / device / "cache.db"),
                                      media_dir=str(tmp_path / device / "media")),
            broker=dataclasses.replace(base.broker, port=broker.port, keepalive_s=5),
            sync=dataclasses.replace(base.sync, trusted_keys=(str(keys / "chain.pub"),), **sync),
        )

    return make


@pytest.fixture
def start_agent(device_config) -> Iterator[Callable[..., SyncAgent]]:
    agents: list[SyncAgent] = []

    def start(config: config_mod.DeviceConfig | None = None, connected: bool = True) -> SyncAgent:
        agent = SyncAgent(config or device_config()).start()
        agents.append(agent)
        if connected:
            wait_for(agent.connected.is_set, what="agent connected")
        return agent

    yield start
    for agent in agents:
        agent.stop()


@pytest.fixture
def responder(broker: Mosquitto, chain_key, tmp_path: Path) -> Iterator[Responder]:
    r = Responder(chain=CHAIN, host="127.0.0.1", port=broker.port, key=chain_key).start()
    yield r
    r.stop()


@pytest.fixture
def sync_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="store_edge")
    return caplog
