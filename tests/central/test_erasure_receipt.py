"""Each store confirms an erasure: a real agent applies head office's erase delta over a real Mosquitto, records
``erasure_applied`` in its outbox with the purge, and head office's worker files it against the erasure request.
A store whose device was offline confirms when it is back; until then the request stays open."""

from __future__ import annotations

import json

from support import wait_for

from central import privacy_requests as requests
from central.erasure import subject_hash
from central.profiles import upsert_profile
from sync.cache.profiles import erase_profile as erase_at_device

PHONE = "c7" * 32


def test_every_store_confirms_the_erasure_and_the_request_closes(office, start_worker, start_agent, device_config,
                                                                   clock):
    upsert_profile(office.db, {"profile_id": "P-ERASE", "first_name": "Eva"}, now=clock.time())
    start_worker()
    here = start_agent(device_config("kiosk-1", "s001"))
    there_config = device_config("kiosk-2", "s002")
    there = start_agent(there_config)
    for agent in (here, there):
        agent.outbox.record("identified", {"profile_id": "P-ERASE", "method": "qr"})
    wait_for(lambda: office.db.scalar("SELECT count(*) FROM profile_stores") == 2, what="both visits stored")
    for store in ("s001", "s002"):
        office.sync_store(store)
    wait_for(lambda: here.reader.profile("P-ERASE", clock.time()) and there.reader.profile("P-ERASE", clock.time()),
             what="cached in both stores")
    there.stop()  # s002's kiosk is offline when the erasure is sent

    [rid] = requests.open_erasure(office.db, "P-ERASE", jurisdiction="gdpr", by="pia", now=clock.time())
    erasure = office.erase("P-ERASE", requested_by="console pia", request_ids=[rid])
    assert erasure.stores == ("s001", "s002")
    wait_for(lambda: requests.receipt(office.db, erasure.erasure_id).stores[0].confirmed_at is not None,
             what="s001 confirmed")
    receipt = requests.receipt(office.db, erasure.erasure_id)
    assert [(s.store, [d for d, _ in s.devices]) for s in receipt.stores] == [("s001", ["kiosk-1"]), ("s002", [])]
    assert requests.get(office.db, rid).closed_at is None  # s002 has not said so yet

    back = start_agent(there_config)  # its persistent session held the erase delta
    wait_for(lambda: requests.get(office.db, rid).closed_at is not None, what="s002 confirmed: the request closed")
    assert back.reader.profile("P-ERASE", clock.time()) is None
    receipt = requests.receipt(office.db, erasure.erasure_id)
    assert [(s.store, [d for d, _ in s.devices]) for s in receipt.stores] == [("s001", ["kiosk-1"]),
                                                                             ("s002", ["kiosk-2"])]
    # What travelled and is kept: the hash of the erased id, never the id.
    bodies = [json.loads(b) for (b,) in office.db.execute("SELECT body FROM events WHERE type = 'erasure_applied'")]
    assert {(b["store"], b["device"]) for b in bodies} == {("s001", "kiosk-1"), ("s002", "kiosk-2")}
    assert all(b["payload"] == {"subjects": [subject_hash("P-ERASE")]} for b in bodies)
    assert not office.db.scalar("SELECT count(*) FROM events WHERE body LIKE '%P-ERASE%'")
    wait_for(lambda: here.outbox.stats().rows == 0 and back.outbox.stats().rows == 0, what="confirmations acked")


def test_an_erasure_asked_for_at_a_kiosk_is_a_request_answered_when_the_stores_confirm(office, start_worker,
                                                                                       start_agent, device_config,
                                                                                       clock):
    upsert_profile(office.db, {"profile_id": "P-KIOSK", "first_name": "Kalina", "phone_hash": PHONE},
                   now=clock.time())
    start_worker()
    kiosk = start_agent(device_config("kiosk-1", "s001"))
    kiosk.outbox.record("identified", {"profile_id": "P-KIOSK", "method": "phone"})
    wait_for(lambda: office.db.scalar("SELECT count(*) FROM profile_stores") == 1, what="her visit stored")
    office.sync_store("s001")
    wait_for(lambda: kiosk.reader.profile("P-KIOSK", clock.time()), what="cached at s001")

    erase_at_device(kiosk.outbox.cache, kiosk.outbox, "P-KIOSK", ("phone_hash", PHONE))
    wait_for(lambda: requests.recent_answered(office.db), what="her request answered")
    [asked] = requests.recent_answered(office.db)
    assert (asked.kind, asked.recorded_by, asked.profile_id) == ("erasure", "device s001/kiosk-1", None)
    assert asked.answer == "erased; every store confirmed"
    [s001] = requests.receipt(office.db, asked.erasure_id).stores
    assert [d for d, _ in s001.devices] == ["kiosk-1"]
