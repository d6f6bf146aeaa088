"""Head office and a real device agent over a real Mosquitto, with the central store on SQLite and PostgreSQL.

Publish from files -> the device applies the bundle; a shopper identifies -> the lookup is answered;
the events come back and are acked -> the reports show them. Erasure reaches a device that was
offline when it was sent. Two workers on the shared subscription store every event exactly once.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import threading
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from support import CHAIN, content_text, raw, retained, wait_for

from central.content_files import ContentProblem
from central.erasure import erase_profile
from central.fleet import fleet
from central.profiles import upsert_profile
from central.reports import Filters, offer_rows, proof_of_play_rows, today, write_report
from sync.cache import Cache
from sync.cache.profiles import erase_profile as erase_at_device
from sync.cache.signage import active_overrides
from sync.protocol import topics
from sync.protocol.overrides import Override, parse_override
from sync.protocol.signing import TrustedKeys

PHONE = "c4" * 32


def test_publish_from_files_and_the_device_applies_it(office, headoffice, start_agent):
    sent = office.publish_content()
    assert {m["scope"] for m in sent} == {"chain", "region/north", "store/s001"}
    agent = start_agent()  # after the publish: the retained manifests reach it
    wait_for(lambda: len(agent.reader.products()) == 2 and agent.reader.stock("PAS-001") == 12,
             what="chain and store bundles applied")
    assert agent.reader.price("COF-001")["price_cents"] == 180  # region/north's price is not for the south
    assert [p["id"] for p in agent.reader.playlists()] == ["pl-all-day"]
    image = agent.reader.product("PAS-001")["image"]
    wait_for(lambda: agent.reader.media_path(image), what="media file fetched over HTTP from head office")
    assert agent.reader.media_path(image).read_bytes() == (headoffice / "media" / "croissant.png").read_bytes()

    assert office.publish_content() == []  # unchanged: nothing goes out again
    (headoffice / "chain" / "prices.csv").write_text("sku,price_cents,currency\nCOF-001,abc,EUR\n")
    with pytest.raises(ContentProblem, match="prices.csv:2"):
        office.publish_content()
    (headoffice / "chain" / "prices.csv").write_text("sku,price_cents,currency\nCOF-001,199,EUR\nPAS-001,150,EUR\n")
    (manifest,) = office.publish_content(["chain"])
    assert manifest["version"] == 2
    wait_for(lambda: agent.reader.price("COF-001")["price_cents"] == 199, what="new price applied")


def test_content_above_the_inline_limit_goes_by_http(office, headoffice, start_agent):
    office.config = dataclasses.replace(
        office.config, central=dataclasses.replace(office.config.central, max_inline_bytes=300))
    sent = {m["scope"]: m for m in office.publish_content()}
    assert sent["chain"]["url"].startswith(office.config.base_url) and "content" not in sent["chain"]
    agent = start_agent()
    wait_for(lambda: len(agent.reader.products()) == 2, what="bundle fetched by URL and applied")


def test_lookup_events_acks_report_and_fleet(office, start_worker, start_agent, clock, tmp_path):
    upsert_profile(office.db, {"profile_id": "P-ANA", "phone_hash": PHONE, "first_name": "Ana",
                               "consents": {"personal_offers": "granted"}}, now=clock.time())
    db = office.db
    db.execute("INSERT INTO offer_skus (offer, sku) VALUES ('OFF-1', 'COF-001')")
    start_worker()
    agent = start_agent()

    found = agent.lookup("phone_hash", PHONE, timeout_s=3)
    assert found.status == "found" and found.profile["first_name"] == "Ana"
    assert found.profile["consents"] == {"personal_offers": "granted"}
    assert agent.lookup("phone_hash", "00" * 32, timeout_s=3).status == "not_found"

    out = agent.outbox
    out.record("identified", {"profile_id": "P-ANA", "method": "phone"})
    out.record("offer_shown", {"offer": "OFF-1", "profile_id": "P-ANA", "arm": "A", "variant": "v1"})
    out.record("offer_held_out", {"offer": "OFF-1", "profile_id": "P-BEN", "arm": "holdout"})
    out.record("sale", {"basket_id": "B1", "at": clock.time() + 1, "profile_id": "P-ANA",
                        "lines": [{"sku": "COF-001", "qty": 1, "amount_cents": 180}]})
    out.record("proof_of_play", {"item": "txt-welcome", "duration_s": 8})
    out.record("assisted_sale", {"staff_id": "st-01", "profile_id": "P-ANA", "channel": "tablet",
                                 "outcome": {"contacted": True, "purchased": True, "add_ons": 2}, "basket": []})
    wait_for(lambda: out.stats().rows == 0, what="head office acked every event")  # stored, then acked
    assert db.scalar("SELECT count(*) FROM events") >= 6

    day = today(clock.now(), "UTC")
    period = Filters(day - timedelta(days=1), day + timedelta(days=1))
    rows = {r["arm"]: r for r in offer_rows(db, period, {})}
    assert (rows["A"]["impressions"], rows["A"]["bought_after"], rows["holdout"]["impressions"]) == (1, 1, 1)
    plays = proof_of_play_rows(db, period, {})
    assert [(r["store"], r["item"], r["plays"]) for r in plays] == [("s001", "txt-welcome", 1)]
    assert db.execute("SELECT store, visits FROM profile_stores WHERE profile_id = 'P-ANA'") == [("s001", 3)]
    files = [f for name in ("proof_of_play", "offers", "staff")
             for f in write_report(db, name, tmp_path / "rep", period, names={}, where="every store")[0]]
    assert sorted(p.name for p in files) == ["offers.csv", "offers.png", "proof_of_play.csv", "proof_of_play.png",
                                              "staff.csv", "staff.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in files if p.suffix == ".png")
    assert "s001,s001,st-01,1,1,1,2,1.0" in (tmp_path / "rep" / "staff.csv").read_text()
    assert "OFF-1,A,1,0,0,1,1,1.0" in (tmp_path / "rep" / "offers.csv").read_text()

    now = clock.time()
    device = next(d for d in fleet(db, now=now, stale_after_s=60) if d.device == "kiosk-1")
    assert device.status == "online"
    agent.stop()
    wait_for(lambda: next(d for d in fleet(db, now=clock.time(), stale_after_s=60)
                          if d.device == "kiosk-1").status == "offline", what="offline in the fleet view")
    assert next(d for d in fleet(db, now=now + 120, stale_after_s=60) if d.device == "kiosk-1").status == "offline"


def test_erasure_reaches_a_device_that_was_offline(office, start_worker, start_agent, device_config, clock):
    upsert_profile(office.db, {"profile_id": "P-ERASE", "phone_hash": PHONE, "first_name": "Eva"}, now=clock.time())
    upsert_profile(office.db, {"profile_id": "P-KEEP", "first_name": "Kim"}, now=clock.time())
    start_worker()
    config = device_config()
    agent = start_agent(config)
    agent.outbox.record("identified", {"profile_id": "P-ERASE", "method": "phone"})
    agent.outbox.record("identified", {"profile_id": "P-KEEP", "method": "qr"})
    wait_for(lambda: office.db.scalar("SELECT count(*) FROM profile_stores") == 2, what="visits at head office")
    assert office.sync_store("s001").upserted == 2
    wait_for(lambda: agent.reader.profile("P-ERASE", clock.time()) and agent.reader.profile("P-KEEP", clock.time()),
             what="profiles cached")
    agent.stop()

    erasure = office.erase("P-ERASE", requested_by="test")
    assert erasure.stores == ("s001",)
    restarted = start_agent(config)  # same device id: its persistent session held the erase delta
    wait_for(lambda: restarted.reader.profile("P-ERASE", clock.time()) is None, what="erasure applied after reconnect")
    assert restarted.reader.profile("P-KEEP", clock.time())["first_name"] == "Kim"
    assert restarted.lookup("phone_hash", PHONE, timeout_s=3).status == "not_found"


def test_two_workers_store_every_event_exactly_once(office, start_worker, start_agent):
    workers = [start_worker(1), start_worker(2)]
    agent = start_agent()
    ids = [agent.outbox.record("offer_shown", {"offer": "OFF-1", "n": i}) for i in range(3000)]
    wait_for(lambda: agent.outbox.stats().rows == 0, timeout=60, what="all events acked")
    stored = office.db.execute("SELECT id FROM events WHERE type = 'offer_shown'")
    assert sorted(r[0] for r in stored) == sorted(ids)
    assert all(w.stored > 0 for w in workers) and sum(w.stored for w in workers) == len(ids)

    # A device resends a batch (its ack was lost): the same envelopes, wall time included (the key is
    # (id, wall_time)); dropped by either worker, and acked again so that the device can let them go.
    device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id="resender")
    acks: list[dict] = []
    device.on_message = lambda _c, _u, msg: acks.append(json.loads(msg.payload))
    device.connect("127.0.0.1", office.config.broker.port)
    device.loop_start()
    device.subscribe(topics.ack_topic(CHAIN, "s001", "kiosk-1"), qos=1)
    sent = dict(office.db.execute("SELECT id, wall_time FROM events WHERE type = 'offer_shown'"))
    body = json.dumps([{"id": i, "seq": 90_000 + n, "type": "offer_shown", "store": "s001", "device": "kiosk-1",
                        "wall_time": sent[i], "payload": {"offer": "OFF-1"}} for n, i in enumerate(ids[:50])]).encode()
    wait_for(lambda: device.is_connected(), what="resender connected")
    device.publish(topics.PREFIX + f"/{CHAIN}/events/s001/kiosk-1", body, qos=1).wait_for_publish(5)
    wait_for(lambda: sum(w.duplicates for w in workers) >= 50, what="duplicates seen")
    wait_for(lambda: {s for a in acks for s in a["seqs"]} >= {90_000 + n for n in range(50)}, what="resend acked")
    device.loop_stop()
    device.disconnect()
    assert office.db.scalar("SELECT count(*) FROM events WHERE type = 'offer_shown'") == len(ids)


def test_override_to_a_region_and_its_end(office, start_agent, clock):
    agent = start_agent()  # a store device in region south: its agent follows override/region/south
    device_cache = Cache(agent.cache_path)  # the screen's own connection, as the signage player has
    got: list[bytes] = []
    arrived = threading.Event()
    topic = topics.override_topic(CHAIN, "region/south")
    now = clock.time()
    office.override(Override(CHAIN, "region/south", "ov-flood", now, now + 3600, "start",
                             message={"title": "Store closes at 18:00", "body": "Flood warning", "style": "alert"}))

    def on_message(client, userdata, msg):
        got.append(msg.payload)
        arrived.set()

    screen = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id="a-screen")
    screen.on_message = on_message
    screen.connect("127.0.0.1", office.config.broker.port)
    screen.subscribe(topic, 1)
    screen.loop_start()
    assert arrived.wait(5)  # retained: a screen that connects later still gets it
    keys = TrustedKeys([office.keys.active.public_key()])
    start = parse_override(got[-1], chain=CHAIN, scope="region/south", keys=keys)
    assert start.active_at(now + 60) and start.message["title"] == "Store closes at 18:00"
    wait_for(lambda: [o.override_id for o in active_overrides(device_cache, now + 60)] == ["ov-flood"],
             what="the device's agent verified and stored the override")
    arrived.clear()
    office.override(Override(CHAIN, "region/south", "ov-flood", now + 5, now + 65, "end"))
    assert arrived.wait(5)
    end = parse_override(got[-1], chain=CHAIN, scope="region/south", keys=keys)
    assert end.action == "end" and end.override_id == "ov-flood"
    wait_for(lambda: active_overrides(device_cache, now + 60) == [], what="the end reached the device")
    screen.loop_stop()
    screen.disconnect()
    device_cache.close()
    assert office.db.scalar("SELECT count(*) FROM overrides") == 2


def test_erasure_asked_for_at_one_store_reaches_the_others(office, start_worker, start_agent, device_config,
                                                            clock):
    upsert_profile(office.db, {"profile_id": "P-GONE", "first_name": "Gia", "phone_hash": PHONE}, now=clock.time())
    start_worker()
    here = start_agent(device_config("kiosk-1", "s001"))
    there = start_agent(device_config("kiosk-2", "s002"))
    for agent in (here, there):
        agent.outbox.record("identified", {"profile_id": "P-GONE", "method": "qr"})
    wait_for(lambda: office.db.scalar("SELECT count(*) FROM profile_stores") == 2, what="both visits stored")
    for store in ("s001", "s002"):
        office.sync_store(store)
    wait_for(lambda: here.reader.profile("P-GONE", clock.time()) and there.reader.profile("P-GONE", clock.time()),
             what="cached in both")

    # The shopper asks at the kiosk in s001, known there by the phone number she typed.
    erase_at_device(here.outbox.cache, here.outbox, "P-GONE", ("phone_hash", PHONE))
    wait_for(lambda: there.reader.profile("P-GONE", clock.time()) is None, what="the other store purged it too")
    # The stores are told before head office deletes its own rows (so a failed erase can run again).
    wait_for(lambda: office.db.scalar("SELECT count(*) FROM profiles") == 0, what="erased at head office")
    assert office.db.execute("SELECT requested_by, stores_notified FROM erasures") == [("device s001/kiosk-1", 2)]
    stored = json.loads(office.db.scalar("SELECT body FROM events WHERE type = 'erasure'"))
    assert "phone_hash" not in stored["payload"]  # the proof was checked, not kept


def test_store_bundle_holds_the_chosen_customers_and_drops_the_others(office, headoffice, start_agent, clock):
    now = clock.time()
    for pid, last_seen in (("P-REGULAR", now - 3600), ("P-GONE-AWAY", now - 400 * 86400)):
        upsert_profile(office.db, {"profile_id": pid, "first_name": pid.title()}, now=now)
        office.db.execute("INSERT INTO profile_stores (profile_id, store, first_seen, last_seen, visits)"
                          " VALUES (?, 's001', ?, ?, 5)", (pid, last_seen - 86400, last_seen))
    agent = start_agent()
    office.sync_store("s001")  # select_top 200: both are chosen
    wait_for(lambda: agent.reader.profile("P-GONE-AWAY", clock.time()), what="both customers cached")
    agent.outbox.record("identified", {"profile_id": "P-GONE-AWAY", "method": "qr"})  # unsent: must survive
    office.config = dataclasses.replace(office.config, central=dataclasses.replace(office.config.central,
                                                                                   select_top=0))
    assert office.sync_store("s001").to_evict == 1
    sent = {m["scope"] for m in office.publish_content()}
    assert "store/s001" in sent
    wait_for(lambda: agent.reader.profile("P-GONE-AWAY", clock.time()) is None,
             what="the store's snapshot dropped them")
    assert agent.reader.profile("P-REGULAR", clock.time())["first_name"] == "P-Regular"
    assert agent.outbox.stats().rows >= 1  # dropped from the cache, not erased: their event is still there


def test_erasure_republishes_every_retained_bundle_that_held_her(office, headoffice, start_agent, device_config,
                                                                 clock):
    now = clock.time()
    her = ("P-ZLATA", "Zlatomira", "d7" * 32)  # id, first name, phone hash
    upsert_profile(office.db, {"profile_id": her[0], "first_name": her[1], "phone_hash": her[2]}, now=now)
    upsert_profile(office.db, {"profile_id": "P-KIM", "first_name": "Kim"}, now=now)
    for pid, store in ((her[0], "s001"), (her[0], "s002"), ("P-KIM", "s001")):
        office.db.execute("INSERT INTO profile_stores (profile_id, store, first_seen, last_seen, visits)"
                          " VALUES (?, ?, ?, ?, 3)", (pid, store, now - 86400, now - 3600))
    office.override(Override(CHAIN, "store/s001", "ov-1", now, now + 3600, "start",
                             message={"title": "Closing at 18:00", "body": "", "style": "alert"}))
    inline = office.config
    office.config = dataclasses.replace(inline, central=dataclasses.replace(inline.central, max_inline_bytes=50))
    office.publish_content()  # v1 of every scope by URL: her name is in files under http_dir/bundles
    office.config = inline
    office.publish_content(["store/s001", "store/s002"], force=True)  # v2 inline, in the retained manifests
    port = office.config.broker.port
    store_topics = [topics.bundle_topic(CHAIN, s) for s in ("store/s001", "store/s002")]
    before = retained(port, set(store_topics))
    assert all(her[1].encode() in raw(before[t]) and her[2].encode() in raw(before[t]) for t in store_topics)
    bundle_files = Path(office.config.central.http_dir) / "bundles"
    holding = sorted(p.name for p in bundle_files.glob("store-*.json.gz"))
    assert len(holding) == 2

    erasure = office.erase(her[0], requested_by="test")

    scopes = {scope for (scope,) in office.db.execute("SELECT DISTINCT scope FROM bundles")}
    after = retained(port, {topics.bundle_topic(CHAIN, s) for s in scopes}
                     | {topics.override_topic(CHAIN, "store/s001")})
    for topic, payload in after.items():
        assert not [h for h in her if h.encode() in raw(payload)], topic
    assert b"Kim" in raw(after[store_topics[0]])  # the others stay
    assert sorted(p.name for p in bundle_files.glob("*.json.gz"))  # chain and region files stay
    for path in bundle_files.glob("*.json.gz"):
        assert not [h for h in her if h.encode() in content_text(path.read_bytes())], path.name

    tablet = start_agent(device_config("tablet-9", "s001"))  # brand new, its cache empty
    wait_for(lambda: tablet.reader.profile("P-KIM", clock.time()), what="the store bundle applied")
    assert tablet.reader.profile(her[0], clock.time()) is None
    assert tablet.reader.profile_by_phone_hash(her[2], clock.time()) is None
    assert erasure.republished == tuple((t, 3) for t in store_topics)  # the report says what was republished
    assert sorted(Path(f).name for f in erasure.files_removed) == holding


def her_in_store_s001(office, clock) -> str:
    """A customer seen in s001, and the store's retained bundle holding her; returns its topic."""
    now = clock.time()
    upsert_profile(office.db, {"profile_id": "P-ZLATA", "first_name": "Zlatomira", "phone_hash": "d7" * 32}, now=now)
    office.db.execute("INSERT INTO profile_stores (profile_id, store, first_seen, last_seen, visits)"
                      " VALUES ('P-ZLATA', 's001', ?, ?, 3)", (now - 86400, now - 3600))
    office.publish_content(["store/s001"])
    return topics.bundle_topic(CHAIN, "store/s001")


def test_an_erasure_the_broker_cut_short_is_whole_when_run_again(office, headoffice, broker, clock):
    topic = her_in_store_s001(office, clock)
    broker.kill(signal.SIGTERM)
    wait_for(lambda: not office.link.connected.is_set(), what="head office disconnected")
    with pytest.raises(ConnectionError):
        office.erase("P-ZLATA", requested_by="test")
    assert office.db.scalar("SELECT count(*) FROM profiles") == 1  # nothing erased yet: she can be erased again

    broker.start()
    wait_for(office.link.connected.is_set, timeout=30, what="head office reconnected")
    assert office.erase("P-ZLATA", requested_by="test").republished == ((topic, 2),)
    assert b"Zlatomira" not in raw(retained(broker.port, {topic})[topic])


def test_erase_again_finishes_an_erasure_that_stopped_after_the_database(office, headoffice, broker, clock):
    topic = her_in_store_s001(office, clock)
    erase_profile(office.db, "P-ZLATA", requested_by="test", now=clock.time())  # then head office died
    assert office.erase("P-ZLATA", requested_by="test") is None  # nobody by that id now, but ...
    payload = retained(broker.port, {topic})[topic]
    assert json.loads(payload)["version"] == 2 and b"Zlatomira" not in raw(payload)  # ... her bundle is republished
