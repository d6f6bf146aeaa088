"""The chain broker's config and generated ACL on a real Mosquitto over TLS, with certificates the test makes.

What Mosquitto 2.0.11 (Debian 12) really does, and what the assertions check: an unauthorised QoS 1
publish gets PUBACK reason 135 (not authorised) with MQTT 5 and is dropped; an unauthorised
subscription is granted in the SUBACK (other versions may answer 135) but the ACL is applied again to
every message it would deliver, retained ones included, so nothing arrives.
"""

from __future__ import annotations

import dataclasses

import pytest
from support import wait_for
from tls_broker import NOT_AUTHORIZED

from sync import acl
from sync.protocol.topics import DeviceTopics


def test_a_device_gets_its_own_topics_and_nothing_of_another_store(chain_broker):
    broker, pki, connect = chain_broker
    central, kiosk1, kiosk2 = connect("central"), connect("device"), connect("kiosk-2")
    mine = DeviceTopics("demo", "south", "s001", "kiosk-1")
    theirs = DeviceTopics("demo", "north", "s002", "kiosk-2")
    # Every topic the agent subscribes to, and every override scope, is granted.
    own = mine.subscriptions() + [mine.override(scope) for scope in mine.scopes()]
    assert all(code < 128 for code in kiosk1.subscribe(*own))
    # Another store's retained bundle is on the broker before kiosk-1 tries to read it.
    central.c.publish(theirs.bundle(f"store/{theirs.store}"), b"s002 bundle", qos=1, retain=True).wait_for_publish(5)
    # Another store's profiles and bundle, its device's commands, wildcards over every store.
    codes = kiosk1.subscribe(theirs.profiles, theirs.commands, theirs.bundle(f"store/{theirs.store}"),
                             "se/v1/demo/profiles/#", "se/v1/demo/#")
    assert all(code in (1, NOT_AUTHORIZED) for code in codes)
    assert central.subscribe("se/v1/demo/events/+/+", "se/v1/demo/presence/+/+") == [1, 1]
    assert kiosk2.subscribe(theirs.profiles, theirs.bundle(f"store/{theirs.store}")) == [1, 1]

    central.publish(mine.profiles, b"s001 profiles")
    central.publish(theirs.profiles, b"s002 profiles")
    central.publish(theirs.commands, b"s002 command")
    wait_for(lambda: (theirs.profiles, b"s002 profiles") in kiosk2.received, what="kiosk-2's own profiles")
    wait_for(lambda: (theirs.bundle(f"store/{theirs.store}"), b"s002 bundle") in kiosk2.received,
             what="kiosk-2's retained bundle")
    # kiosk-1 gets its own store's profiles (once per matching subscription), nothing of store s002.
    wait_for(lambda: (mine.profiles, b"s001 profiles") in kiosk1.received, what="kiosk-1's own profiles")
    assert {topic for topic, _ in kiosk1.received} == {mine.profiles}

    # Publishing as another device: refused in the PUBACK and dropped; nobody receives it.
    forged = kiosk1.publish(theirs.events, b"forged event")
    kiosk1.publish(theirs.presence, b"forged presence")
    kiosk1.publish(theirs.bundle(f"store/{theirs.store}"), b"forged bundle")
    kiosk1.publish(mine.events, b"own event")
    wait_for(lambda: (mine.events, b"own event") in central.received, what="kiosk-1's own event at head office")
    assert forged == NOT_AUTHORIZED
    assert not any(payload.startswith(b"forged") for _, payload in central.received + kiosk2.received)
    assert {topic for topic, _ in kiosk1.received} == {mine.profiles}  # its own events are write-only for it


def test_the_real_agent_runs_under_the_acl(chain_broker, device_config, start_agent, tmp_path):
    broker, pki, connect = chain_broker
    central = connect("central")
    central.subscribe("se/v1/demo/presence/+/+")
    base = device_config()
    config = dataclasses.replace(base, broker=dataclasses.replace(
        base.broker, port=broker.port, tls=True, ca_file=str(pki["ca"]), cert_file=str(pki["device_cert"]),
        key_file=str(pki["device_key"])))
    agent = start_agent(config)
    wait_for(lambda: any(t == "se/v1/demo/presence/s001/kiosk-1" and agent.boot_id.encode() in p
                         for t, p in central.received), what="the agent's presence at head office")
    central.subscribe("se/v1/demo/events/+/+")
    agent.outbox.record("health", {"ok": True})
    wait_for(lambda: any(t == "se/v1/demo/events/s001/kiosk-1" for t, _ in central.received),
             what="the agent's events at head office")


def test_the_generator_refuses_a_bad_device_list(tmp_path):
    devices = tmp_path / "devices.csv"
    devices.write_text("device,store,region\nkiosk-1,s001,south\nkiosk-9,s/+,south\n")
    with pytest.raises(acl.AclError, match=r"devices.csv:3: store 's/\+' is not a plain name"):
        acl.read_devices(devices)
    devices.write_text("device,store,region\nkiosk-1,s001,south\nkiosk-1,s002,south\n")
    with pytest.raises(acl.AclError, match="kiosk-1 is listed twice"):
        acl.read_devices(devices)
