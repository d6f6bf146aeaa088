"""The sync agent against a real Mosquitto: bundles, lookups, commands, presence, the outbox."""

from __future__ import annotations

import base64
import json
import subprocess

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from support import CHAIN, cache_snapshot, sample_content, wait_for

from decisions.identity import qr
from sync.agent.commands import CommandRegistry
from sync.clock import FixedClock
from sync.protocol import bundle as wire
from sync.protocol import signing, topics


def test_bundle_is_verified_and_applied(start_agent, responder):
    agent = start_agent()
    responder.publish_bundle("chain", sample_content(5))
    wait_for(lambda: agent.reader.sync_state().get("chain"), what="chain bundle applied")
    assert agent.reader.product("SKU00003")["name"]["bg"] == "Продукт 3"
    assert agent.reader.price("SKU00001")["price_cents"] == 200
    assert [o["id"] for o in agent.reader.offers("kiosk")] == ["OFF1"]
    assert agent.reader.offers("tablet") == []


def test_store_scope_overrides_chain_scope(start_agent, responder):
    agent = start_agent()
    responder.publish_bundle("chain", sample_content(2, price=100))
    responder.publish_bundle("store/s001", {"prices": [{"sku": "SKU00001", "price_cents": 77, "currency": "EUR"}]})
    responder.publish_bundle("store/s999", {"prices": [{"sku": "SKU00000", "price_cents": 1, "currency": "EUR"}]})
    wait_for(lambda: len(agent.reader.sync_state()) == 2, what="two bundles applied")
    assert agent.reader.price("SKU00001")["price_cents"] == 77
    assert agent.reader.price("SKU00000")["price_cents"] == 100  # another store's bundle never reaches us


def test_old_or_repeated_version_is_ignored_and_logged(start_agent, responder, sync_log):
    agent = start_agent()
    responder.publish_bundle("chain", sample_content(3, price=300), version=5)
    wait_for(lambda: agent.bundles.counts["applied"] == 1)
    before = cache_snapshot(agent.cache_path)
    responder.publish_bundle("chain", sample_content(3, price=100), version=4)
    responder.publish_bundle("chain", sample_content(3, price=100), version=5)
    wait_for(lambda: agent.bundles.counts["ignored"] == 2)
    assert cache_snapshot(agent.cache_path) == before
    ignored = [r.getMessage() for r in sync_log.records if "bundle ignored" in r.getMessage()]
    assert any("version=4" in m and "version 5 is already applied" in m for m in ignored)


def test_forged_bundle_is_rejected_and_cache_unchanged(start_agent, responder, broker, sync_log):
    agent = start_agent()
    responder.publish_bundle("chain", sample_content(3), version=1)
    wait_for(lambda: agent.bundles.counts["applied"] == 1)
    before = cache_snapshot(agent.cache_path)
    forger = signing.generate_private_key()
    forged, _ = wire.build_manifest(chain=CHAIN, scope="chain", version=2, content=sample_content(3, price=1),
                                    key=forger)
    tampered = dict(responder.sign("chain", sample_content(3, price=2), version=3))
    tampered["content"] = base64.b64encode(wire.encode_content(sample_content(3, price=3))).decode()
    resigned = dict(responder.sign("chain", sample_content(3, price=4), version=4))
    resigned["version"] = 40  # signature no longer matches
    unsigned = {k: v for k, v in responder.sign("chain", sample_content(3), version=5).items() if k != "signature"}
    for manifest in (forged, tampered, resigned, unsigned):
        responder.publish_manifest(topics.bundle_topic(CHAIN, "chain"), manifest, retain=True)
    wait_for(lambda: agent.bundles.counts["rejected"] == 4)
    assert cache_snapshot(agent.cache_path) == before
    lines = [r.getMessage() for r in sync_log.records if "bundle rejected" in r.getMessage()]
    assert len(lines) == 4
    assert "scope=chain version=2 reason=signed with unknown key" in lines[0]
    assert "version=3 reason=sha256 mismatch" in lines[1]
    assert "version=40 reason=bad signature" in lines[2]
    assert "version=5 reason=unsigned" in lines[3]


def test_invalid_content_names_the_field(start_agent, responder, sync_log):
    agent = start_agent()
    bad = sample_content(2)
    del bad["products"][1]["category"]
    # The reference head office validates before it publishes; a faulty one might not.
    responder.publish_manifest(topics.bundle_topic(CHAIN, "chain"), responder.sign("chain", bad, version=1),
                               retain=True)
    wait_for(lambda: agent.bundles.counts["rejected"] == 1)
    assert any("products[1] (SKU00001): missing field 'category'" in r.getMessage() for r in sync_log.records)
    assert agent.reader.sync_state() == {}


def test_bundle_published_while_device_offline_applies_on_reconnect(start_agent, device_config, responder):
    agent = start_agent()
    agent.stop()
    responder.publish_bundle("store/s001", sample_content(4))
    agent = start_agent(device_config())
    wait_for(lambda: agent.reader.sync_state().get("store/s001"), what="bundle applied after reconnect")
    assert len(agent.reader.products()) == 4


def test_bundle_by_url(start_agent, responder, tmp_path):
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    responder.http_dir, responder.http_base_url = root, f"http://127.0.0.1:{server.server_port}"
    try:
        agent = start_agent()
        manifest = responder.publish_bundle("chain", sample_content(50), by_url=True)
        assert "url" in manifest and "content" not in manifest
        wait_for(lambda: agent.reader.sync_state().get("chain"), what="bundle by URL applied")
        assert len(agent.reader.products()) == 50

        # The content server is missing the file for a while: the bundle waits and retries, then applies.
        agent.bundles.retry_base_s = 0.2
        manifest = responder.sign("chain", sample_content(60), version=2, by_url=True)
        held = root / "bundle-chain-2.json.gz"
        data = held.read_bytes()
        held.unlink()
        responder.publish_manifest(topics.bundle_topic(CHAIN, "chain"), manifest, retain=True)
        wait_for(lambda: agent.bundles.counts["deferred"] >= 2, what="download retried")
        assert len(agent.reader.products()) == 50
        held.write_bytes(data)
        wait_for(lambda: len(agent.reader.products()) == 60, what="deferred bundle applied")
    finally:
        server.shutdown()


def test_profile_lookup_found_not_found_and_cached(start_agent, responder, clock, chain_key):
    agent = start_agent()
    responder.add_profiles([{"profile_id": "P1", "phone_hash": "ab" * 32, "first_name": "Ana",
                             "segments": ["coffee-lover"]}])
    found = agent.lookup("phone_hash", "ab" * 32, timeout_s=2)
    assert found.status == "found" and found.profile["first_name"] == "Ana"
    assert agent.reader.profile_by_phone_hash("ab" * 32, clock.time())["profile_id"] == "P1"
    clock.advance(900)  # the responder's ttl_s: the cached answer has expired by the agent's clock
    assert agent.reader.profile_by_phone_hash("ab" * 32, clock.time()) is None
    assert agent.lookup("phone_hash", "cd" * 32, timeout_s=2).status == "not_found"
    token = qr.issue_token(chain_key, "P1", now=clock.time(), ttl_s=600)  # a QR code: the token is the proof
    assert agent.lookup("qr_token", token, timeout_s=2).profile["first_name"] == "Ana"


def test_the_agent_believes_only_answers_it_asked_for_and_keeps_them_minutes_not_years(start_agent, broker, clock,
                                                                                      device_config):
    agent = start_agent(device_config(lookup_ttl_s=600))
    forger = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5, client_id="forger")
    forger.connect("127.0.0.1", broker.port)
    forger.loop_start()

    def answer(profile_id: str, correlation: bytes | None) -> None:
        props = paho.Properties(PacketTypes.PUBLISH)
        if correlation is not None:
            props.CorrelationData = correlation
        body = {"status": "found", "profile": {"profile_id": profile_id, "phone_hash": "ee" * 32}, "ttl_s": 10**9}
        forger.publish(agent.topics.responses, json.dumps(body).encode(), qos=1, properties=props)

    answer("P-NOBODY-ASKED", None)
    answer("P-MADE-UP", b"not a pending request")
    wait_for(lambda: agent.stats["unsolicited_answers"] == 2, what="both unsolicited answers seen")
    assert agent.reader.profile("P-NOBODY-ASKED", clock.time()) is None
    assert agent.reader.profile("P-MADE-UP", clock.time()) is None

    # An answer to a real question with a TTL of 31 years is kept for the device's 10 minutes.
    forger.on_message = lambda _c, _u, msg: answer("P-ASKED", msg.properties.CorrelationData)
    forger.subscribe(agent.topics.lookup_requests, qos=1)
    wait_for(lambda: agent.lookup("phone_hash", "ee" * 32, timeout_s=2).status == "found", what="answered")
    assert agent.reader.profile("P-ASKED", clock.time())
    clock.advance(601)
    assert agent.reader.profile("P-ASKED", clock.time()) is None
    assert agent.reader.profile_by_phone_hash("ee" * 32, clock.time()) is None
    forger.loop_stop()
    forger.disconnect()


def test_profile_lookup_times_out_to_unknown(start_agent):
    agent = start_agent()  # no responder on the broker: nobody answers
    result = agent.lookup("phone_hash", "ab" * 32)
    assert result.status == "unknown"


def test_remote_commands_are_answered(start_agent, responder):
    start_agent()
    health = responder.command("s001", "kiosk-1", "report_health")
    assert health["ok"] and health["result"]["connected"] is True
    assert "outbox_bytes" in health["result"]
    assert responder.command("s001", "kiosk-1", "clear_cache")["ok"]
    assert responder.command("s001", "kiosk-1", "reload")["result"] == {"resubscribed": True}
    shot = responder.command("s001", "kiosk-1", "screenshot")
    assert shot["ok"] is False and "no screen" in shot["error"]
    assert "unknown command" in responder.command("s001", "kiosk-1", "format_disk")["error"]


def test_a_command_expires_by_the_agents_clock():
    clock = FixedClock(1_795_000_000.0)
    registry = CommandRegistry(clock=clock)
    registry.register("ping", lambda args: {"pong": True})
    command = json.dumps({"command": "ping", "expires_at": 1_795_000_060.0}).encode()
    assert registry.run(command) == {"ok": True, "command": "ping", "result": {"pong": True}}
    clock.advance(60)
    assert registry.run(command)["ok"]  # due at its expires_at, not after
    clock.advance(0.5)
    assert registry.run(command) == {"ok": False, "error": "expired"}


def test_presence_online_with_boot_id_and_stale_will_cannot_win(start_agent, device_config, responder, broker):
    agent = start_agent()
    key = "s001/kiosk-1"
    wait_for(lambda: responder.presence.get(key, {}).get("boot_id") == agent.boot_id)
    assert responder.presence[key]["state"] == "online"
    # A late will from an earlier boot lands on the retained topic after we came online.
    repairs = agent.stats["presence_repairs"]
    stale = json.dumps({"state": "offline", "boot_id": "an-older-boot", "ts": 0}).encode()
    topic = topics.PREFIX + f"/{CHAIN}/presence/s001/kiosk-1"
    responder.client.publish(topic, stale, qos=1, retain=True).wait_for_publish(5)
    wait_for(lambda: agent.stats["presence_repairs"] > repairs, what="agent repairs its presence")
    assert responder.presence[key]["state"] == "online"  # the responder ignored the foreign will too

    def retained() -> dict:
        out = subprocess.run(["mosquitto_sub", "-p", str(broker.port), "-t", topic, "-C", "1", "-W", "3"],
                             capture_output=True, text=True, timeout=10).stdout
        return json.loads(out)

    wait_for(lambda: retained() == {**retained(), "state": "online", "boot_id": agent.boot_id},
             what="retained presence is ours and online")


def test_events_drain_and_are_deleted_after_receiver_ack(start_agent, responder):
    agent = start_agent()
    ids = [agent.outbox.record("offer_shown", {"offer": "OFF1", "n": i}) for i in range(500)]
    wait_for(lambda: agent.outbox.stats().rows == 0, what="outbox drained")
    got = {e["id"]: e for e in responder.events.events("offer_shown")}
    assert set(ids) <= set(got)
    first = got[ids[0]]
    assert first["boot_id"] == agent.boot_id and first["device"] == "kiosk-1" and first["store"] == "s001"
    assert {"wall_time", "mono_time", "seq"} <= set(first)
    seqs = [got[i]["seq"] for i in ids]
    assert seqs == sorted(seqs) and len(set(seqs)) == 500


def test_reconnect_delays_double_to_a_cap_with_full_jitter():
    from sync.agent.connection import Backoff

    highest = Backoff(base_s=0.5, cap_s=30, rng=lambda: 1.0)
    assert [highest.next() for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    lowest = Backoff(rng=lambda: 0.0)
    assert {lowest.next() for _ in range(5)} == {0.0}  # the whole window, from zero: no waves
    highest.reset()
    assert highest.next() == 0.5
