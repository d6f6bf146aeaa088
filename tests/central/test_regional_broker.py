"""A store behind its own broker, bridged over MQTT 5 to the core: real Mosquittos on loopback.

The core broker runs the shipped chain configuration (TLS, certificates, the ACL ``store-edge acl --bridged``
writes); the store's broker carries the bridge ``store-edge bridge`` writes, with the bridge's own
certificate. Head office's worker and its publishing side are on the core; a real agent is on the store's
broker.
"""

from __future__ import annotations

import dataclasses
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from headoffice_files import write_headoffice
from support import CHAIN, make_pki, wait_for
from tls_broker import NOT_AUTHORIZED, chain_conf

from central.config import CentralConfig, CentralSection
from central.db import open_database
from central.headoffice import HeadOffice
from central.keys import Keyring
from central.mqtt import BrokerLink
from central.profiles import upsert_profile
from central.worker import Worker
from sync.acl import Device
from sync.bridge import CoreLink, render_bridge, render_region_bridge
from sync.broker import Mosquitto
from sync.cache import Cache
from sync.cache.signage import active_overrides
from sync.cli import main as cli
from sync.config import BrokerSection
from sync.protocol import topics
from sync.protocol.overrides import Override

PHONE = "b7" * 32
DEVICES = "device,store,region,kind\nkiosk-1,s001,south,kiosk\ntablet-1,s001,south,tablet\nkiosk-2,s002,north,kiosk\n"


@pytest.fixture
def topology(tmp_path: Path, keys: Keyring, file_server, clock) -> Iterator[dict]:
    """The core (chain config, TLS, ACL with s001 bridged), store s001's broker bridged to it, and head office."""
    pki = make_pki(tmp_path / "pki", clients=("central", "bridge-s001"))
    (tmp_path / "devices.csv").write_text(DEVICES)
    assert cli(["acl", "--devices", str(tmp_path / "devices.csv"), "--chain", CHAIN, "--bridged", "s001",
                "--out", str(tmp_path / "core.acl")]) == 0
    core = Mosquitto(data_dir=tmp_path / "core")
    core.conf.write_text(chain_conf(tmp_path / "core", pki, tmp_path / "core.acl", core.port))
    core.start()
    store = Mosquitto(data_dir=tmp_path / "store")
    assert cli(["bridge", "--devices", str(tmp_path / "devices.csv"), "--chain", CHAIN, "--store", "s001",
                "--core", f"localhost:{core.port}", "--ca-file", str(pki["ca"]),
                "--cert-file", str(pki["bridge-s001_cert"]), "--key-file", str(pki["bridge-s001_key"]),
                "--out", str(tmp_path / "bridge.conf")]) == 0
    store.conf.write_text(store.conf.read_text() + (tmp_path / "bridge.conf").read_text())
    store.start()
    config = CentralConfig(
        CentralSection(chain=CHAIN, dsn=str(tmp_path / "central.db"), keys_dir=str(keys.folder),
                       content_dir=str(tmp_path / "headoffice"), http_dir=str(file_server.folder),
                       http_base_url=f"http://127.0.0.1:{file_server.port}"),
        BrokerSection(host="localhost", port=core.port, keepalive_s=5, tls=True, ca_file=str(pki["ca"]),
                      cert_file=str(pki["central_cert"]), key_file=str(pki["central_key"])))
    write_headoffice(Path(config.central.content_dir))
    db = open_database(config.central.dsn)
    link = BrokerLink(config.broker, "central-demo-office").start()
    worker = Worker(config, clock=clock, keys=keys).start()
    yield {"core": core, "store": store, "pki": pki, "office": HeadOffice(config, db, keys, link, clock=clock),
           "worker": worker}
    worker.stop()
    link.stop()
    db.close()
    store.stop()
    core.stop()


def on_store_broker(device_config, store: Mosquitto, device: str = "kiosk-1"):
    config = device_config(device)
    return dataclasses.replace(config, broker=dataclasses.replace(config.broker, port=store.port))


def test_a_bridged_store_syncs_both_ways_and_loses_nothing_while_cut_off(topology, start_agent, device_config,
                                                                          clock):
    office, core, store = topology["office"], topology["core"], topology["store"]
    agent = start_agent(on_store_broker(device_config, store))

    # Events up, acks down.
    first = [agent.outbox.record("offer_shown", {"offer": "OFF-1", "n": n}) for n in range(20)]
    wait_for(lambda: agent.outbox.stats().rows == 0, timeout=20, what="events acked through the bridge")
    assert sorted(r[0] for r in office.db.execute("SELECT id FROM events WHERE type = 'offer_shown'")) == sorted(first)

    # Bundles and an override down; a lookup round trip with its response topic and correlation data.
    office.publish_content()
    wait_for(lambda: {"chain", "store/s001"} <= set(agent.reader.sync_state()), what="bundles applied")
    now = clock.time()
    office.override(Override(CHAIN, "store/s001", "ov-spill", now, now + 3600, "start",
                             message={"title": "Till 2 is closed", "body": "Please use till 1", "style": "info"}))
    wait_for(lambda: [o.override_id for o in active_overrides(Cache(agent.cache_path), now + 60)] == ["ov-spill"],
             what="the override at the store")
    upsert_profile(office.db, {"profile_id": "c-ana", "phone_hash": PHONE, "first_name": "Ana"}, now=now)
    assert agent.lookup("phone_hash", PHONE, timeout_s=5).profile["first_name"] == "Ana"

    # The link to head office is cut: the store goes on by itself.
    core.kill()
    during = [agent.outbox.record("sale", {"basket_id": f"B{n}", "lines": []}) for n in range(50)]
    assert agent.lookup("phone_hash", PHONE, timeout_s=0.5).status == "unknown"  # the screen goes on anonymously
    tablet = start_agent(on_store_broker(device_config, store, "tablet-1"))  # a device that boots meanwhile
    wait_for(lambda: {"chain", "store/s001"} <= set(tablet.reader.sync_state()),
             what="the new device gets the retained bundles from the store's broker")
    assert [o.override_id for o in active_overrides(Cache(tablet.cache_path), now + 60)] == ["ov-spill"]
    assert agent.outbox.stats().rows == len(during)  # kept until head office acks

    # The link is back: every event arrives once, and every outbox empties.
    core.start()
    wait_for(lambda: agent.outbox.stats().rows == 0, timeout=60, what="the store's events acked after the cut")
    stored = [r[0] for r in office.db.execute("SELECT id FROM events WHERE type = 'sale'")]
    assert sorted(stored) == sorted(during)


def puback_codes(core: Mosquitto, pki: dict[str, Path], user: str, paths: list[str]) -> dict[str, int]:
    """The core's PUBACK reason code for a QoS 1 publish to each chain topic path, as ``user`` (its certificate)."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{user}-impostor", protocol=mqtt.MQTTv5)
    c.tls_set(ca_certs=str(pki["ca"]), certfile=str(pki[f"{user}_cert"]), keyfile=str(pki[f"{user}_key"]),
              cert_reqs=ssl.CERT_REQUIRED)
    codes: dict[int, int] = {}
    c.on_publish = lambda _c, _u, mid, rc, _p: codes.__setitem__(mid, rc.value)
    c.connect("localhost", core.port)
    c.loop_start()
    try:
        out = {}
        for path in paths:
            info = c.publish(topics.PREFIX + f"/{CHAIN}/{path}", json.dumps([]).encode(), qos=1)
            wait_for(lambda mid=info.mid: mid in codes, what="PUBACK")
            out[path] = codes[info.mid]
        return out
    finally:
        c.loop_stop()
        c.disconnect()


def test_the_core_confines_a_stores_bridge_to_its_own_store(topology):
    codes = puback_codes(topology["core"], topology["pki"], "bridge-s001", [
        "events/s001/kiosk-1", "events/s002/kiosk-2", "lookup/req/s002/kiosk-2", "bundle/chain", "ack/s001/kiosk-1",
        "resp/s001/kiosk-1", "presence/s002/kiosk-2"])
    assert codes.pop("events/s001/kiosk-1") != NOT_AUTHORIZED
    assert set(codes.values()) == {NOT_AUTHORIZED}, codes


def test_the_core_confines_a_regions_bridge_to_its_regions_stores(tmp_path: Path):
    pki = make_pki(tmp_path / "pki", clients=("bridge-region-south",))
    (tmp_path / "devices.csv").write_text(DEVICES + "kiosk-3,s003,south,kiosk\n")
    assert cli(["acl", "--devices", str(tmp_path / "devices.csv"), "--chain", CHAIN, "--bridged-regions", "south",
                "--out", str(tmp_path / "core.acl")]) == 0
    core = Mosquitto(data_dir=tmp_path / "core")
    core.conf.write_text(chain_conf(tmp_path / "core", pki, tmp_path / "core.acl", core.port))
    try:
        codes = puback_codes(core.start(), pki, "bridge-region-south", [
            "events/s001/kiosk-1", "presence/s003/kiosk-3", "events/s002/kiosk-2", "presence/s002/kiosk-2",
            "bundle/region/south", "ack/s003/kiosk-3"])
    finally:
        core.stop()
    assert codes["events/s001/kiosk-1"] != NOT_AUTHORIZED and codes["presence/s003/kiosk-3"] != NOT_AUTHORIZED
    assert {codes[p] for p in ("events/s002/kiosk-2", "presence/s002/kiosk-2", "bundle/region/south",
                               "ack/s003/kiosk-3")} == {NOT_AUTHORIZED}, codes


def test_the_bridge_carries_exactly_the_stores_topics():
    devices = [Device("kiosk-1", "s001", "south"), Device("till-1", "s001", "south", "till"),
               Device("kiosk-2", "s002", "north")]
    text = render_bridge("acme", "s001", devices, CoreLink("core.example", 8883, "/etc/ca.pem", "/c.pem", "/c.key"))
    lines = [line.split() for line in text.splitlines() if line.startswith("topic ")]
    out = {t for _, t, way, _ in lines if way == "out"}
    inbound = {t for _, t, way, _ in lines if way == "in"}
    assert out == {"se/v1/acme/events/s001/+", "se/v1/acme/presence/s001/+", "se/v1/acme/cmdresp/s001/+",
                   "se/v1/acme/lookup/req/s001/+"}
    assert "se/v1/acme/bundle/device/kiosk-1" in inbound and "se/v1/acme/bundle/region/south" in inbound
    assert not any("s002" in t or "kiosk-2" in t or "north" in t or "/pos/" in t or "till-1" in t
                   for t in out | inbound)  # nothing of another store, and the tills stay in the store
    assert "bridge_protocol_version mqttv50" in text and "cleansession false" in text


def test_a_regions_bridge_carries_each_of_its_stores_topics_once_and_nothing_else(tmp_path: Path, capsys):
    devices = [Device("kiosk-1", "s001", "south"), Device("tablet-1", "s001", "south", "tablet"),
               Device("kiosk-3", "s003", "south"), Device("till-1", "s001", "south", "till"),
               Device("kiosk-2", "s002", "north")]
    text = render_region_bridge("acme", "south", devices, CoreLink("core.example", 8883, "/etc/ca.pem"))
    lines = [line.split() for line in text.splitlines() if line.startswith("topic ")]
    topics_ = [t for _, t, _, _ in lines]
    assert len(topics_) == len(set(topics_))  # the chain's and the region's scopes once, not once per store
    for store in ("s001", "s003"):  # each store's own link, all in one
        single = render_bridge("acme", store, devices, CoreLink("core.example", 8883, "/etc/ca.pem"))
        assert {tuple(line.split()) for line in single.splitlines() if line.startswith("topic ")} <= set(map(
            tuple, lines))
    assert not any("s002" in t or "kiosk-2" in t or "north" in t or "/pos/" in t or "till-1" in t for t in topics_)
    assert "connection bridge-region-south" in text and "bridge_protocol_version mqttv50" in text

    (tmp_path / "devices.csv").write_text(DEVICES)
    assert cli(["bridge", "--devices", str(tmp_path / "devices.csv"), "--chain", CHAIN, "--region", "east",
                "--core", "core.example:8883"]) == 2
    assert "region east has no devices in the list" in capsys.readouterr().err
    assert cli(["bridge", "--devices", str(tmp_path / "devices.csv"), "--chain", CHAIN, "--region", "south",
                "--core", "core.example:8883"]) == 0
    assert f"topic se/v1/{CHAIN}/events/s001/+ out 1" in capsys.readouterr().out


def test_the_store_brokers_acl_holds_only_its_own_devices(tmp_path: Path, capsys):
    (tmp_path / "devices.csv").write_text(DEVICES)
    assert cli(["acl", "--devices", str(tmp_path / "devices.csv"), "--chain", CHAIN, "--store", "s001"]) == 0
    users = [line.split()[1] for line in capsys.readouterr().out.splitlines() if line.startswith("user ")]
    assert users == ["central", "kiosk-1", "tablet-1"]
    assert cli(["acl", "--devices", str(tmp_path / "devices.csv"), "--chain", CHAIN, "--bridged", "s009"]) == 2
    assert "bridged store(s) not in the device list: s009" in capsys.readouterr().err
