"""Fixtures: a real Mosquitto on a free port, chain keys, device configs, agents and a responder."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import CHAIN, wait_for
from tls_broker import chain_broker as start_chain_broker

from central.responder import Responder
from sync import config as config_mod
from sync.agent import SyncAgent
from sync.broker import Mosquitto
from sync.cache import Cache
from sync.cache.outbox import Outbox
from sync.clock import FixedClock
from sync.protocol import signing


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("broker conformance", "run tests/test_broker_conformance.py against another broker")
    group.addoption("--broker", help="mqtts://host:port of the broker to check (default: a local Mosquitto)")
    group.addoption("--broker-ca", help="the CA file that signed the broker's certificate")
    group.addoption("--broker-identities", help="a folder with central, kiosk-1 and kiosk-2's .crt and .key "
                    "(or .password) files")
    group.addoption("--broker-chain", default="demo", help="the chain name the broker's ACL was generated for")


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    """An empty device cache."""
    c = Cache(tmp_path / "cache.db")
    yield c
    c.close()


@pytest.fixture
def outbox(cache: Cache, clock: FixedClock) -> Outbox:
    return Outbox(cache, boot_id="boot-1", device="kiosk-1", store="s001", clock=clock)


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
def start_agent(device_config, clock: FixedClock) -> Iterator[Callable[..., SyncAgent]]:
    """Starts agents on the test's clock."""
    agents: list[SyncAgent] = []

    def start(config: config_mod.DeviceConfig | None = None, connected: bool = True) -> SyncAgent:
        agent = SyncAgent(config or device_config(), clock=clock).start()
        agents.append(agent)
        if connected:
            wait_for(agent.connected.is_set, what="agent connected")
        return agent

    yield start
    for agent in agents:
        agent.stop()


@pytest.fixture
def clock() -> FixedClock:
    """The test's one clock, for head office and the devices: Monday 08:30 in Sofia, still until moved."""
    return FixedClock(datetime(2026, 11, 23, 6, 30, tzinfo=UTC))


@pytest.fixture
def responder(broker: Mosquitto, chain_key, clock: FixedClock, tmp_path: Path) -> Iterator[Responder]:
    r = Responder(chain=CHAIN, host="127.0.0.1", port=broker.port, key=chain_key, clock=clock).start()
    yield r
    r.stop()


@pytest.fixture
def sync_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="store_edge")
    return caplog


@pytest.fixture
def chain_broker(tmp_path: Path):
    """The chain's Mosquitto under TLS and the generated ACL: ``(broker, pki, connect)``, see tls_broker.py."""
    with start_chain_broker(tmp_path) as started:
        yield started
