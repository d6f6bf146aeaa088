"""Broker conformance: every broker feature the product relies on, each with why it needs it.

Runs in ``./run-tests`` against the chain's Mosquitto as shipped (TLS, certificates, the generated ACL).
Before a chain goes live on another broker, run it there (docs/operations.md)::

    ./run-tests tests/test_broker_conformance.py --broker mqtts://broker.example:8883 \\
        --broker-ca ca.pem --broker-identities ./identities --broker-chain acme

Every check uses the identities a chain has: head office (``central``), kiosk-1 of store s001 (region
south) and kiosk-2 of store s002 (region north), each confined by the ACL ``store-edge acl`` writes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from broker_peers import Peer, Target
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from support import wait_for

from sync.agent.connection import WILL_DELAY_S
from sync.config import SyncSection
from sync.protocol import topics

NOT_AUTHORIZED = 135
ACCEPTED = (0, 16)  # 16: accepted, but nobody subscribes


@pytest.fixture
def target(request: pytest.FixtureRequest, tmp_path) -> Iterator[Target]:
    url = request.config.getoption("--broker")
    if url:
        yield Target.from_options(url, request.config.getoption("--broker-ca"),
                                  request.config.getoption("--broker-identities"),
                                  request.config.getoption("--broker-chain"))
        return
    from tls_broker import chain_broker
    with chain_broker(tmp_path) as (broker, pki, _):
        yield Target("127.0.0.1", broker.port, "demo", pki["ca"], {
            "central": (pki["central_cert"], pki["central_key"]), "kiosk-1": (pki["device_cert"], pki["device_key"]),
            "kiosk-2": (pki["kiosk-2_cert"], pki["kiosk-2_key"])})


@pytest.fixture
def peer(target: Target) -> Iterator[Callable[..., Peer]]:
    peers: list[Peer] = []

    def connect(identity: str, **options: object) -> Peer:
        peers.append(Peer(target, identity, **options))
        return peers[-1]

    yield connect
    for p in peers:
        p.close()


def unique(name: str) -> str:
    """A client id no earlier run left a session under (the broker outlives runs against a real cluster)."""
    return f"{name}-{uuid.uuid4().hex[:10]}"


def test_shared_subscriptions_spread_device_events_across_workers(target, peer):
    """Head office runs N workers on one ``$share`` group: each event must reach exactly one of them."""
    workers = [peer("central") for _ in range(2)]
    for w in workers:
        assert w.subscribe(topics.shared_events_filter(target.chain)) == [1]
    kiosk = peer("kiosk-1")
    device = target.device("kiosk-1")
    for n in range(40):
        assert kiosk.publish(device.events, json.dumps([{"n": n}]).encode()) in ACCEPTED
    wait_for(lambda: sum(len(w.received) for w in workers) == 40, what="all 40 events at the workers")
    got = Counter(json.loads(m.payload)[0]["n"] for w in workers for m in w.received)
    assert set(got.values()) == {1}  # none twice
    assert all(w.received for w in workers)  # spread, not all on one


def test_retained_presence_is_delivered_on_a_wildcard_subscribe(target, peer):
    """Head office learns every device's state at start from the retained ``presence/+/+`` messages."""
    for name in ("kiosk-1", "kiosk-2"):
        device = peer(name)
        assert device.publish(target.device(name).presence, json.dumps({"state": "online"}).encode(),
                              retain=True) in ACCEPTED
    office = peer("central")
    office.subscribe(topics.presence_filter(target.chain))
    wait_for(lambda: {m.topic for m in office.received} >= {target.device(n).presence for n in ("kiosk-1", "kiosk-2")},
             what="both retained presences")
    assert all(m.retain for m in office.received)


def test_qos1_is_queued_for_an_offline_persistent_session_and_delivered_on_reconnect(target, peer):
    """Commands and profile deltas (erasures among them) must reach a device that was offline when sent."""
    device, client_id = target.device("kiosk-1"), unique("kiosk-1")
    away = peer("kiosk-1", client_id=client_id, clean_start=False, session_expiry_s=3600)
    away.subscribe(device.commands, device.profiles)
    away.close()
    office = peer("central")
    for n in range(5):
        office.publish(device.commands, json.dumps({"command": "report_health", "n": n}).encode())
    office.publish(device.profiles, b'{"delete": {"profiles": ["c-1"]}}')
    back = peer("kiosk-1", client_id=client_id, clean_start=False, session_expiry_s=3600)
    assert back.session_present
    wait_for(lambda: len(back.received) == 6, what="the 6 queued messages")
    assert [json.loads(m.payload)["n"] for m in back.messages(device.commands)] == [0, 1, 2, 3, 4]  # in order
    back.close()
    peer("kiosk-1", client_id=client_id, clean_start=True)  # leaves no session behind


def test_a_session_ends_at_its_expiry(target, peer):
    """A device gone for good must not make the broker queue its messages for ever."""
    device, client_id = target.device("kiosk-1"), unique("kiosk-1")
    gone = peer("kiosk-1", client_id=client_id, clean_start=False, session_expiry_s=1)
    gone.subscribe(device.commands)
    gone.close()
    time.sleep(2.5)  # the broker's own clock ends the session: nothing to wait on but time
    peer("central").publish(device.commands, b'{"command": "reload"}')
    back = peer("kiosk-1", client_id=client_id, clean_start=False, session_expiry_s=0)
    assert not back.session_present
    assert back.received == []


def test_the_will_waits_its_delay_and_a_quick_reconnect_cancels_it(target, peer):
    """A device's retained 'offline' will is held back for the delay, so a reboot or a Wi-Fi blip doesn't
    flash it offline in the fleet view; a real loss still ends in 'offline'."""
    device, client_id = target.device("kiosk-2"), unique("kiosk-2")
    office = peer("central")
    office.subscribe(device.presence)
    will = (device.presence, b'{"state": "offline"}', 2)
    blip = peer("kiosk-2", client_id=client_id, session_expiry_s=60, will=will)
    blip.publish(device.presence, b'{"state": "online"}', retain=True)
    wait_for(lambda: office.received, what="'online'")
    blip.drop()
    peer("kiosk-2", client_id=client_id, session_expiry_s=60, will=will)  # back within the delay
    time.sleep(3)  # past the will delay, on the broker's clock
    assert [json.loads(m.payload)["state"] for m in office.received] == ["online"]

    lost = peer("kiosk-2", client_id=unique("kiosk-2"), session_expiry_s=60, will=will)
    lost.drop()
    wait_for(lambda: len(office.received) == 2, what="the will after its delay")
    assert json.loads(office.received[-1].payload)["state"] == "offline"
    assert WILL_DELAY_S >= 2  # the product's own delay is at least the one checked here


def test_request_response_keeps_the_response_topic_and_correlation_data(target, peer):
    """Lookups are MQTT 5 request/response: head office answers on the ResponseTopic with the CorrelationData."""
    device = target.device("kiosk-1")
    office, kiosk = peer("central"), peer("kiosk-1")
    office.subscribe(topics.lookup_request_filter(target.chain))
    kiosk.subscribe(device.responses)
    ask = Properties(PacketTypes.PUBLISH)
    ask.ResponseTopic, ask.CorrelationData = device.responses, b"\x00corr\xff"
    assert kiosk.publish(device.lookup_requests, b'{"phone_hash": "ab"}', properties=ask) in ACCEPTED
    wait_for(lambda: office.received, what="the request at head office")
    request = office.received[0].properties
    assert (request.ResponseTopic, request.CorrelationData) == (device.responses, b"\x00corr\xff")
    answer = Properties(PacketTypes.PUBLISH)
    answer.CorrelationData = request.CorrelationData
    office.publish(request.ResponseTopic, b'{"status": "not_found"}', properties=answer)
    wait_for(lambda: kiosk.received, what="the answer at the kiosk")
    assert kiosk.received[0].properties.CorrelationData == b"\x00corr\xff"


def test_receive_maximum_is_announced_and_a_full_window_gets_through(target, peer):
    """The agent keeps up to the broker's Receive Maximum events in flight; a full window must all arrive."""
    kiosk = peer("kiosk-1")
    window = getattr(kiosk.connack, "ReceiveMaximum", 65535)
    assert window >= 1
    office = peer("central")
    office.subscribe(target.device("kiosk-1").events)
    infos = [kiosk._c.publish(target.device("kiosk-1").events, b"[]", qos=1) for _ in range(min(window, 100) * 2)]
    wait_for(lambda: all(i.is_published() for i in infos), what="every PUBACK")
    wait_for(lambda: len(office.received) == len(infos), what="every message delivered")


def test_a_message_above_a_devices_maximum_packet_size_is_not_sent_to_it(target, peer):
    """Head office sends bundles above a limit by URL; a broker must never push a device more than it said it
    can take, and must take the largest inline bundle the product sends."""
    limit = getattr(peer("central").connack, "MaximumPacketSize", None)
    assert limit is None or limit >= SyncSection().max_payload_bytes + 1024
    device = target.device("kiosk-1")
    small = peer("kiosk-1", max_packet_bytes=2048)
    small.subscribe(device.bundle("chain"))
    office = peer("central")
    office.publish(device.bundle("chain"), b"x" * 4096)
    office.publish(device.bundle("chain"), b"small")
    wait_for(lambda: small.received, what="the small message")
    assert [m.payload for m in small.received] == [b"small"]


def test_the_acl_denials_the_security_docs_promise(target, peer):
    """docs/security.md: a device publishes only on its own topics and receives nothing of another store."""
    kiosk1, kiosk2 = target.device("kiosk-1"), target.device("kiosk-2")
    intruder = peer("kiosk-2")
    for topic in (kiosk1.events, kiosk1.presence, kiosk1.lookup_requests, kiosk1.bundle("chain"),
                  kiosk1.command_replies, kiosk2.commands, topics.ack_topic(target.chain, "s002", "kiosk-2")):
        assert intruder.publish(topic, b"{}") == NOT_AUTHORIZED, topic
    office = peer("central")
    office.publish(kiosk1.profiles, b'{"for": "s001 only"}')  # not retained: arrives only if subscribed
    codes = intruder.subscribe(kiosk1.profiles, kiosk1.commands, f"{topics.PREFIX}/{target.chain}/#")
    office.publish(kiosk1.profiles, b'{"for": "s001 only"}')
    office.publish(kiosk1.commands, b'{"command": "reload"}')
    own = peer("kiosk-1")
    own.subscribe(kiosk1.profiles)
    office.publish(kiosk1.profiles, b'{"for": "s001 only"}')
    wait_for(lambda: own.received, what="kiosk-1 gets its own store's profiles")
    # Mosquitto 2.0 grants the SUBACK and filters every delivery; newer brokers refuse with 135. Either way:
    assert all(c in (1, NOT_AUTHORIZED) for c in codes)
    assert intruder.received == []
