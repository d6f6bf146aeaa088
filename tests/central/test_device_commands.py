"""Head office's commands to one device (central/commands.py) over a real Mosquitto: the answer of the device
asked, a real agent's answers (and its 'expired'), and what an attacker's device could send instead: an answer
on its own reply topic with the right correlation, a huge answer, one that is not JSON or nests too deep. Each
health report's figures are stored as numbers or not at all (central/ingest.py)."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
import pytest
from support import CHAIN

from central.commands import MAX_ANSWER_BYTES, DeviceCommands, parse_answer
from central.fleet import device_kind
from central.ingest import store_events
from sync.agent.connection import reply_properties
from sync.clock import FixedClock
from sync.config import BrokerSection
from sync.protocol import topics


@pytest.fixture
def commands(broker, clock):
    sender = DeviceCommands(BrokerSection(port=broker.port, keepalive_s=5), CHAIN, "central-demo-test-commands",
                            clock=clock)
    yield sender
    sender.stop()


def _device(broker, answer) -> mqtt.Client:
    """A device on the wire: ``answer(client, msg)`` replies to each command it gets."""
    ready = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id="fake-kiosk-1")
    client.on_subscribe = lambda *a: ready.set()
    client.on_connect = lambda c, *a: c.subscribe(topics.command_topic(CHAIN, "s001", "kiosk-1"), qos=1)
    client.on_message = answer
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert ready.wait(10)
    return client


def _reply(client: mqtt.Client, msg, payload: bytes, *, device: str = "kiosk-1") -> None:
    client.publish(topics.command_reply_topic(CHAIN, "s001", device), payload, qos=1,
                   properties=reply_properties(msg.properties.CorrelationData))


def test_a_real_agent_answers_and_refuses_what_it_does_not_know(commands, start_agent):
    start_agent()
    result = commands.send("s001", "kiosk-1", "report_health", timeout_s=10)
    assert result.status == "answered" and result.result["connected"] is True
    result = commands.send("s001", "kiosk-1", "identify", {"seconds": 3}, timeout_s=10)
    assert result.status == "failed" and result.detail.startswith("unknown command; known:")
    assert commands.send("s001", "kiosk-1", "clear_cache").status == "failed"  # not one the console sends


def test_a_command_the_device_gets_too_late_is_not_run(broker, start_agent, clock):
    agent = start_agent()
    ran = []
    agent.commands.register("reload", lambda args: ran.append(args) or {})
    behind = DeviceCommands(BrokerSection(port=broker.port, keepalive_s=5), CHAIN, "central-demo-test-behind",
                            clock=FixedClock(clock.time() - 60))  # its expiry passed before it left
    try:
        result = behind.send("s001", "kiosk-1", "reload", timeout_s=5)
    finally:
        behind.stop()
    assert (result.status, result.detail, ran) == ("failed", "expired", [])


def test_only_the_device_asked_can_answer(broker, commands):
    device = _device(broker, lambda c, u, msg: (_reply(c, msg, b'{"ok": true, "result": {"by": "kiosk-2"}}',
                                                       device="kiosk-2")))
    try:
        result = commands.send("s001", "kiosk-1", "reload", timeout_s=1.5)
    finally:
        device.loop_stop()
        device.disconnect()
    assert result.status == "timed out" and result.detail == "no answer from kiosk-1 within 1.5 s"


@pytest.mark.parametrize("payload, detail", [
    (b"x" * (MAX_ANSWER_BYTES + 1), f"the answer was {MAX_ANSWER_BYTES + 1:,} bytes, over {MAX_ANSWER_BYTES:,}"),
    (b"\xff\xfe not json", "the answer was not JSON"),
    (json.dumps({"ok": True, "result": [[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}).encode(),
     "the answer was not a command answer"),
    (b'["ok"]', "the answer was not a command answer"),
    (b'{"ok": false}', "the device gave no reason"),
])
def test_a_bad_answer_is_a_failure_in_words(broker, commands, payload, detail):
    device = _device(broker, lambda c, u, msg: _reply(c, msg, payload))
    try:
        result = commands.send("s001", "kiosk-1", "report_health", timeout_s=5)
    finally:
        device.loop_stop()
        device.disconnect()
    assert (result.status, result.detail) == ("failed", detail)


def test_no_broker_is_a_failure_in_words(clock):
    sender = DeviceCommands(BrokerSection(port=1, keepalive_s=5), CHAIN, "central-demo-nobody", clock=clock)
    result = sender.send("s001", "kiosk-1", "reload", timeout_s=1)
    assert result.status == "failed" and result.detail.startswith("not sent:")


def test_parse_answer_keeps_the_devices_reason_short_and_in_words():
    assert parse_answer(json.dumps({"ok": False, "error": "e" * 5000}).encode()).detail == "e" * 500
    assert parse_answer(b'{"ok": false, "error": "TimeoutError: the screen did not answer within 5 s"}').detail \
        == "the screen did not answer within 5 s"


def test_health_figures_are_numbers_or_nothing(db):
    store_events(db, [{"id": "h1", "seq": 1, "type": "health", "store": "s001", "device": "kiosk-1",
                       "wall_time": 1000.0, "payload": {"fps": "fast", "rss_bytes": 1e30, "outbox_rows": True,
                                                        "disk_free_bytes": 5.5e9, "cache_file_bytes": 10}}],
                 now=1000.0)
    assert db.execute("SELECT fps, rss_bytes, disk_free_bytes, disk_used_bytes, outbox_rows FROM device_health") \
        == [(None, None, 5_500_000_000, 10, None)]


def test_kind_comes_from_the_device_id():
    assert [device_kind(d) for d in ("kiosk-1", "Tablet-7", "signage-1", "sign-02", "till-1")] == [
        "kiosk", "tablet", "signage", "signage", "other"]
