"""Fault tests against a real broker, after Mosquitto's own test/broker/06-bridge-fail-persist-resend-qos1.

Kill the broker or the agent mid-stream, bring it back, and check that every event id
arrives, and after the receiver's dedupe exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import wait_for

from sync.cache import Cache
from sync.cache.outbox import Outbox
from sync.clock import Clock
from sync.config import DeviceConfig

N_EVENTS = 10_000
ROOT = Path(__file__).resolve().parent.parent
# One event per message and a small window: a drain of 10k takes seconds, so a kill lands inside it.
SLOW_DRAIN = {"ack_timeout_s": 2.0, "batch_events": 1, "inflight_window": 10}


def fill_outbox(config: DeviceConfig, n: int, clock: Clock) -> list[str]:
    """Write n ~200-byte events as if the screens had recorded them while the agent was down."""
    cache = Cache(config.cache.path)
    outbox = Outbox(cache, boot_id="boot-before", device=config.device.id, store=config.device.store, clock=clock)
    ids = []
    with cache.transaction() as conn:
        for i in range(n):
            ids.append(outbox.append(conn, "offer_shown", {"offer": f"OFF{i % 40}", "variant": "a", "n": i,
                                                           "profile_id": None, "reason": "x" * 40}))
    cache.close()
    return ids


def outbox_rows(config: DeviceConfig) -> int:
    cache = Cache(config.cache.path)
    try:
        return cache.query("SELECT count(*) FROM outbox")[0][0]
    finally:
        cache.close()


def received_offer_ids(responder) -> set[str]:
    return {e["id"] for e in responder.events.events("offer_shown")}


@pytest.mark.slow
def test_broker_sigkill_while_10k_events_drain(start_agent, device_config, responder, broker, clock):
    config = device_config(**SLOW_DRAIN)
    ids = fill_outbox(config, N_EVENTS, clock)
    agent = start_agent(config)
    wait_for(lambda: responder.events.count("offer_shown") >= 1000, timeout=30, what="drain under way")
    assert agent.outbox.stats().rows > 0, "the kill must land mid-drain"
    broker.kill(signal.SIGKILL)
    wait_for(lambda: not agent.connected.is_set(), what="the agent sees the broker gone")
    broker.start()
    wait_for(lambda: agent.outbox.stats().rows == 0, timeout=120, what="outbox drained after broker restart")
    assert agent.stats["connects"] >= 2
    got = received_offer_ids(responder)
    assert set(ids) <= got, f"{len(set(ids) - got)} events lost"
    assert responder.events.count("offer_shown") == N_EVENTS  # exactly once after dedupe


def write_toml(config: DeviceConfig, path: Path) -> Path:
    def section(name: str, obj: object) -> str:
        lines = [f"[{name}]"]
        for key, value in vars(obj).items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, int | float):
                lines.append(f"{key} = {value}")
            elif isinstance(value, tuple):
                lines.append(f"{key} = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in value)}]")
            else:
                lines.append(f'{key} = "{value}"')
        return "\n".join(lines)

    path.write_text("\n\n".join(section(n, getattr(config, n)) for n in ("device", "cache", "broker", "sync")))
    return path


def spawn_agent(config_path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sync.agent", "--config", str(config_path)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_agent_kill_9_mid_drain_then_restart(device_config, responder, clock, tmp_path):
    config = device_config(**SLOW_DRAIN)
    ids = fill_outbox(config, N_EVENTS, clock)
    config_path = write_toml(config, tmp_path / "device.toml")
    proc = spawn_agent(config_path)
    try:
        wait_for(lambda: responder.events.count("offer_shown") >= 1000, timeout=30, what="drain under way")
        received_before_kill = responder.events.count("offer_shown")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert received_before_kill < N_EVENTS and outbox_rows(config) > 0, "the kill must land mid-drain"
        proc = spawn_agent(config_path)
        wait_for(lambda: outbox_rows(config) == 0, timeout=120, what="outbox drained after restart")
    finally:
        proc.kill()
        proc.wait(10)
    wait_for(lambda: set(ids) <= received_offer_ids(responder), timeout=10, what="every event id received")
    assert responder.events.count("offer_shown") == N_EVENTS


def test_killed_agent_leaves_a_will_and_the_next_boot_wins(device_config, responder, tmp_path):
    config = device_config()
    config_path = write_toml(config, tmp_path / "device.toml")
    key = f"{config.device.store}/{config.device.id}"
    proc = spawn_agent(config_path)
    try:
        wait_for(lambda: responder.presence.get(key, {}).get("state") == "online", what="first boot online")
        first_boot = responder.presence[key]["boot_id"]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc = spawn_agent(config_path)
        wait_for(lambda: responder.presence.get(key, {}).get("boot_id") not in (None, first_boot),
                 what="second boot online")
        assert responder.presence[key]["state"] == "online"
        time.sleep(12)  # past the will delay: the first boot's will must not take the device offline
        assert responder.presence[key]["state"] == "online"
    finally:
        proc.kill()
        proc.wait(10)
