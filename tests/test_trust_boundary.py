"""A device is only who the broker says it is: head office under the chain broker's ACL, attacked by a device.

Each test is what a review did from outside with a device's own certificate, staying inside that
device's ACL rights: kiosk-1 (store s001) and kiosk-2 (store s002) against head office's worker.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.packettypes import PacketTypes
from support import wait_for
from tls_broker import NOT_AUTHORIZED

from central import privacy_requests
from central.config import CentralConfig, CentralSection
from central.db import open_database
from central.erasure import erase_profile, subject_hash
from central.fleet import fleet, format_fleet
from central.keys import Keyring
from central.profiles import upsert_profile
from central.worker import Worker
from decisions.identity.qr import issue_token
from sync.cli import main as cli
from sync.config import BrokerSection
from sync.protocol import events as events_wire
from sync.protocol.topics import DeviceTopics

KIOSK_1 = DeviceTopics("demo", "south", "s001", "kiosk-1")
KIOSK_2 = DeviceTopics("demo", "north", "s002", "kiosk-2")
PHONE = "c1" * 32


@pytest.fixture
def attack(chain_broker, tmp_path: Path, chain_key, clock):
    """Head office's worker on the chain broker (TLS, its own certificate), with customer c-0001 of store s001."""
    broker, pki, connect = chain_broker
    db = open_database(tmp_path / "central.db")
    upsert_profile(db, {"profile_id": "c-0001", "phone_hash": PHONE, "first_name": "Ana",
                        "consents": {"personal_offers": "granted"}}, now=clock.time())
    workers: list[Worker] = []

    def start(**central: object) -> Worker:
        config = CentralConfig(
            CentralSection(chain="demo", dsn=str(tmp_path / "central.db"), **central),
            BrokerSection(port=broker.port, keepalive_s=5, tls=True, ca_file=str(pki["ca"]),
                          cert_file=str(pki["central_cert"]), key_file=str(pki["central_key"])))
        workers.append(Worker(config, clock=clock, keys=Keyring.holding(chain_key)).start())
        return workers[-1]

    yield start, connect, db
    for worker in workers:
        worker.stop()
    db.close()


def event(device: DeviceTopics, seq: int, kind: str = "sale", payload: dict | None = None) -> bytes:
    return events_wire.envelope(event_id=events_wire.uuid7(1_795_000_000_000 + seq), seq=seq, type=kind,
                                boot_id="b", device=device.device, store=device.store, wall_time=1_795_000_000.0,
                                mono_time=1.0, payload=json.dumps(payload or {}))


def ask(responds_on: str, correlation: bytes) -> mqtt.Properties:
    props = mqtt.Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = responds_on
    props.CorrelationData = correlation
    return props


def bad_tokens(chain_key, clock) -> tuple[str, str]:
    """Ana's QR token signed by a key head office never had, and one of ours that has expired."""
    return (issue_token(Ed25519PrivateKey.generate(), "c-0001", now=clock.time(), ttl_s=3600),
            issue_token(chain_key, "c-0001", now=clock.time() - 7200, ttl_s=3600))


def answers(client, topic: str) -> list[dict]:
    return [json.loads(p) for t, p in client.received if t == topic]


def test_events_claiming_another_device_are_refused_never_stored_or_acked_as_its(attack, sync_log):
    start, connect, db = attack
    worker = start()
    kiosk1, kiosk2 = connect("device"), connect("kiosk-2")
    kiosk1.subscribe(KIOSK_1.acks)
    kiosk2.subscribe(KIOSK_2.acks)
    sale = {"profile_id": "c-0001", "lines": [{"sku": "COF-001", "qty": 1, "amount_cents": 250}]}
    forged = [event(KIOSK_2, seq, payload=sale) for seq in range(1, 1001)]
    # kiosk-1 publishes on its own events topic (its ACL allows it), bodies claiming to be kiosk-2's.
    assert kiosk1.publish(KIOSK_1.events, events_wire.batch(forged[:500] + [event(KIOSK_1, 7, "health")])) == 0
    assert kiosk1.publish(KIOSK_1.events, events_wire.batch(forged[500:])) == 0
    wait_for(lambda: answers(kiosk1, KIOSK_1.acks), what="kiosk-1's own event acked")
    assert db.execute("SELECT store, device, seq FROM events") == [("s001", "kiosk-1", 7)]  # committed before the ack
    assert db.scalar("SELECT count(*) FROM basket_lines") == 0
    wait_for(lambda: worker.refused["s001", "kiosk-1", "forged_event"] == 1000, what="the forged events counted")
    worker.flush()

    assert answers(kiosk1, KIOSK_1.acks) == [{"seqs": [7]}]  # its own event, on its own topic; no forged seq
    assert answers(kiosk2, KIOSK_2.acks) == []  # kiosk-2 deletes nothing
    refusals = [r for r in sync_log.records if "claiming to be from s002/kiosk-2" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].levelno == logging.WARNING  # 1000 refused, one line
    row = next(r for r in fleet(db, now=0, stale_after_s=60) if r.device == "kiosk-1")
    assert row.refused == {"forged_event": 1000}
    assert "s001/kiosk-1 (1000)" in format_fleet(fleet(db, now=0, stale_after_s=60), now=0)


def test_a_lookup_is_answered_only_on_the_asking_devices_own_response_topic(attack):
    start, connect, db = attack
    worker = start()
    kiosk2, spy = connect("kiosk-2"), connect("central")
    kiosk2.subscribe(KIOSK_2.responses)
    elsewhere = [KIOSK_1.bundle("chain"), KIOSK_1.responses, KIOSK_1.commands, KIOSK_1.acks]
    spy.subscribe(*elsewhere)
    request = json.dumps({"phone_hash": PHONE}).encode()
    # Under the ACL kiosk-2 can only ask on its own request topic; head office also refuses the old shared one.
    assert kiosk2.publish(KIOSK_1.lookup_requests, request, ask(KIOSK_1.responses, b"x")) == NOT_AUTHORIZED
    assert kiosk2.publish("se/v1/demo/lookup/req", request, ask(KIOSK_1.responses, b"x")) == NOT_AUTHORIZED
    for n, topic in enumerate(elsewhere):
        assert kiosk2.publish(KIOSK_2.lookup_requests, request, ask(topic, bytes([n]))) == 0
    assert kiosk2.publish(KIOSK_2.lookup_requests, request, ask(KIOSK_2.responses, b"mine")) == 0

    wait_for(lambda: answers(kiosk2, KIOSK_2.responses), what="the answer on kiosk-2's own topic")
    assert answers(kiosk2, KIOSK_2.responses)[0]["profile"]["first_name"] == "Ana"
    assert spy.received == []  # nothing published on another device's topics or a bundle topic
    assert worker.refused["s002", "kiosk-2", "lookup_wrong_response_topic"] == len(elsewhere)


def test_a_lookup_needs_the_shoppers_proof_not_a_profile_id(attack, chain_key, clock):
    start, connect, db = attack
    worker = start()
    kiosk2 = connect("kiosk-2")
    kiosk2.subscribe(KIOSK_2.responses)
    stranger, expired = bad_tokens(chain_key, clock)
    for body in ({"store": "s001", "device": "kiosk-2", "profile_id": "c-0001"}, {"profile_id": "c-0002"},
                 {"qr_token": stranger}, {"qr_token": expired}, {"qr_token": "SE1.e30.AAAA"}):
        kiosk2.publish(KIOSK_2.lookup_requests, json.dumps(body).encode(), ask(KIOSK_2.responses, b"guess"))
    token = issue_token(chain_key, "c-0001", now=clock.time(), ttl_s=3600)  # what the shopper's app shows
    kiosk2.publish(KIOSK_2.lookup_requests, json.dumps({"qr_token": token}).encode(), ask(KIOSK_2.responses, b"qr"))

    wait_for(lambda: answers(kiosk2, KIOSK_2.responses), what="the answer to the QR token")
    got = answers(kiosk2, KIOSK_2.responses)
    assert len(got) == 1 and got[0]["profile"]["profile_id"] == "c-0001"
    assert worker.refused["s002", "kiosk-2", "lookup_without_proof"] == 5


def test_lookups_are_rate_limited_per_device_and_the_fleet_view_shows_it(attack, clock):
    start, connect, db = attack
    worker = start(lookup_burst=3, lookup_rate_per_s=0.5)
    kiosk1, kiosk2 = connect("device"), connect("kiosk-2")
    kiosk1.subscribe(KIOSK_1.responses)
    kiosk2.subscribe(KIOSK_2.responses)
    request = json.dumps({"phone_hash": "00" * 32}).encode()

    def burst(client, device: DeviceTopics, n: int) -> None:
        for _ in range(n):
            client.publish(device.lookup_requests, request, ask(device.responses, uuid.uuid4().bytes))

    burst(kiosk2, KIOSK_2, 10)
    wait_for(lambda: worker.refused["s002", "kiosk-2", "lookup_rate_limited"] == 7, what="7 lookups over the limit")
    burst(kiosk1, KIOSK_1, 1)  # another device has its own bucket
    wait_for(lambda: answers(kiosk1, KIOSK_1.responses), what="kiosk-1 answered")
    clock.advance(2)  # one more token for kiosk-2 by head office's clock
    burst(kiosk2, KIOSK_2, 2)
    wait_for(lambda: worker.refused["s002", "kiosk-2", "lookup_rate_limited"] == 8, what="the 2nd over the limit")
    wait_for(lambda: len(answers(kiosk2, KIOSK_2.responses)) == 4, what="4 answers for kiosk-2")
    worker.flush()

    rows = {r.device: r for r in fleet(db, now=clock.time(), stale_after_s=60)}
    assert rows["kiosk-2"].refused == {"lookup_rate_limited": 8} and "kiosk-1" not in rows  # nothing refused
    assert "REFUSED: lookup_rate_limited=8" in format_fleet(list(rows.values()), now=clock.time())


def test_a_device_erases_a_customer_only_with_the_shoppers_proof(attack, chain_key, clock, sync_log):
    start, connect, db = attack
    worker = start()
    kiosk2 = connect("kiosk-2")
    kiosk2.subscribe(KIOSK_2.acks)
    stranger, expired = bad_tokens(chain_key, clock)
    other = issue_token(chain_key, "c-0002", now=clock.time(), ttl_s=3600)
    upsert_profile(db, {"profile_id": "c-0002", "phone_hash": "d2" * 32}, now=clock.time())
    guesses = [{}, {"phone_hash": "d2" * 32}, {"phone_hash": "00" * 32}, {"qr_token": stranger},
               {"qr_token": expired}, {"qr_token": other}]
    forged = [event(KIOSK_2, n, "erasure", {"profile_id": "c-0001", **proof}) for n, proof in enumerate(guesses, 1)]
    kiosk2.publish(KIOSK_2.events, events_wire.batch(forged))
    wait_for(lambda: answers(kiosk2, KIOSK_2.acks), what="the erasure events acked")
    worker.flush()
    assert db.scalar("SELECT count(*) FROM profiles WHERE profile_id = 'c-0001'") == 1  # Ana is still there
    assert db.scalar("SELECT count(*) FROM erasures") == 0
    assert worker.refused["s002", "kiosk-2", "erasure_without_proof"] == len(guesses)
    assert next(r for r in fleet(db, now=0, stale_after_s=60) if r.device == "kiosk-2").refused == {
        "erasure_without_proof": len(guesses)}

    # Ana herself asks at kiosk-2 (another store's kiosk), known by the QR code in her app.
    token = issue_token(chain_key, "c-0001", now=clock.time(), ttl_s=3600)
    kiosk2.publish(KIOSK_2.events, events_wire.batch([event(KIOSK_2, 99, "erasure",
                                                            {"profile_id": "c-0001", "qr_token": token})]))
    wait_for(lambda: len(answers(kiosk2, KIOSK_2.acks)) == 2, what="her erasure acked")
    worker.flush()
    assert db.scalar("SELECT count(*) FROM profiles WHERE profile_id = 'c-0001'") == 0
    assert db.execute("SELECT requested_by FROM erasures") == [("device s002/kiosk-2",)]
    wait_for(lambda: "erasure asked for by device s002/kiosk-2 done" in sync_log.text, what="the log names the device")
    # Six refusals, one log line (a device sending thousands cannot flood the log).
    assert sync_log.text.count("erasure asked for by s002/kiosk-2 not carried out") == 1
    assert all("qr_token" not in body and "phone_hash" not in body
               for (body,) in db.execute("SELECT body FROM events WHERE type = 'erasure'"))


def test_the_agent_asks_with_the_qr_token_under_the_acl(attack, chain_broker, device_config, start_agent, chain_key,
                                                        clock):
    start, connect, db = attack
    start()
    broker, pki, _ = chain_broker
    base = device_config()
    agent = start_agent(dataclasses.replace(base, broker=dataclasses.replace(
        base.broker, port=broker.port, tls=True, ca_file=str(pki["ca"]), cert_file=str(pki["device_cert"]),
        key_file=str(pki["device_key"]))))
    token = issue_token(chain_key, "c-0001", now=clock.time(), ttl_s=3600)
    found = agent.lookup("qr_token", token, timeout_s=3)
    assert found.status == "found" and found.profile["first_name"] == "Ana"
    assert agent.lookup("phone_hash", PHONE, timeout_s=3).status == "found"


def test_a_stolen_device_is_shut_out_by_the_regenerated_acl(chain_broker, tmp_path: Path):
    """Head office revokes kiosk-2: off the device list, the ACL regenerated, Mosquitto told to reload."""
    broker, _, connect = chain_broker
    stolen, spy = connect("kiosk-2"), connect("central")
    spy.subscribe(f"se/v1/demo/events/{KIOSK_2.store}/#")
    assert stolen.publish(KIOSK_2.events, events_wire.batch([event(KIOSK_2, 1, "health")])) == 0
    wait_for(lambda: spy.received, what="kiosk-2's event while it is trusted")

    (tmp_path / "devices.csv").write_text("device,store,region,kind,pos\nkiosk-1,s001,south,kiosk,\n")
    assert cli(["acl", "--devices", str(tmp_path / "devices.csv"), "--chain", "demo",
                "--out", str(tmp_path / "acl")]) == 0
    broker.proc.send_signal(signal.SIGHUP)  # Mosquitto rereads its ACL; connected clients are checked against it
    # Until the reload is done, a probe gets through; from the first refusal on, nothing does.
    wait_for(lambda: stolen.publish(KIOSK_2.events, b"[]") == NOT_AUTHORIZED, what="kiosk-2 refused")
    seen = len(spy.received)
    for topic in (KIOSK_2.events, KIOSK_2.lookup_requests, KIOSK_2.presence, KIOSK_2.command_replies):
        assert stolen.publish(topic, b"{}") == NOT_AUTHORIZED
    for store in ("s001", "s002"):
        spy.c.publish(KIOSK_2.bundle(f"store/{store}"), b"for the store", qos=1, retain=True).wait_for_publish()
    stolen.subscribe(KIOSK_2.bundle("store/s002"), KIOSK_2.commands, KIOSK_2.profiles)
    kiosk1 = connect("device")  # the rest of the chain goes on
    assert kiosk1.publish(KIOSK_1.events, events_wire.batch([event(KIOSK_1, 1, "health")])) != NOT_AUTHORIZED
    kiosk1.subscribe(KIOSK_1.bundle("store/s001"))
    wait_for(lambda: kiosk1.received, what="kiosk-1 gets its store's retained bundle")
    assert stolen.received == []  # not even its store's retained bundle
    assert len(spy.received) == seen


def test_a_store_confirms_an_erasure_only_from_its_own_topic(attack, clock):
    """kiosk-2 (s002) tries to close an erasure that only s001 was sent: as s001 in the body, as itself, and with
    payloads that are not a list of hashes. Only s001's own device, on its own topic, confirms it."""
    start, connect, db = attack
    worker = start()
    [rid] = privacy_requests.open_erasure(db, "c-0001", jurisdiction="gdpr", by="pia", now=clock.time())
    erasure = erase_profile(db, "c-0001", requested_by="console pia", now=clock.time(), told=["s001"])
    privacy_requests.erasure_done(db, [rid], erasure.erasure_id, now=clock.time())
    ana = subject_hash("c-0001")
    kiosk1, kiosk2 = connect("device"), connect("kiosk-2")
    kiosk1.subscribe(KIOSK_1.acks)
    kiosk2.subscribe(KIOSK_2.acks)
    as_s001 = event(KIOSK_1, 1, "erasure_applied", {"subjects": [ana]})
    kiosk2.publish(KIOSK_2.events, events_wire.batch([as_s001]))
    wait_for(lambda: worker.refused["s002", "kiosk-2", "forged_event"] == 1, what="the forged confirmation refused")
    bad = [{"subjects": [ana], "store": "s001"}, {"subjects": ["c-0001"]}, {"subjects": [ana.upper()]},
           {"subjects": [ana] * 2001}, {"subjects": ana}, {}]
    kiosk2.publish(KIOSK_2.events, events_wire.batch([event(KIOSK_2, n, "erasure_applied", p)
                                                      for n, p in enumerate(bad, 2)]))
    wait_for(lambda: answers(kiosk2, KIOSK_2.acks), what="kiosk-2's own events acked")
    worker.flush()
    assert [s.confirmed_at for s in privacy_requests.receipt(db, erasure.erasure_id).stores] == [None]
    assert privacy_requests.get(db, rid).closed_at is None
    assert db.scalar("SELECT count(*) FROM erasure_confirmations WHERE store = 's001'") == 0

    kiosk1.publish(KIOSK_1.events, events_wire.batch([event(KIOSK_1, 2, "erasure_applied", {"subjects": [ana]})]))
    wait_for(lambda: answers(kiosk1, KIOSK_1.acks), what="kiosk-1's confirmation acked")
    worker.flush()
    [s001] = privacy_requests.receipt(db, erasure.erasure_id).stores
    assert [d for d, _ in s001.devices] == ["kiosk-1"]
    assert privacy_requests.get(db, rid).closed_at is not None
