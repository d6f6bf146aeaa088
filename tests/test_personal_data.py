"""Personal data at rest on a device: purged when its TTL runs out, by the agent on its own, online or not;
and once erased or purged, gone from the bytes of the cache's files, not only from what SQL returns."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

from support import CHAIN, raw, retained, wait_for

from sync.agent import SyncAgent
from sync.cache import Cache
from sync.cache.bundles import apply_bundle
from sync.cache.outbox import Outbox
from sync.cache.profiles import erase_profile, purge_expired, record_consent, remember_lookup
from sync.protocol import topics

# Her data, distinctive enough that any hit in the files is hers.
HER_ID = "c-5e1ec7ed0b5e55ed0f0a11ce5ca1ab1e"
HER_NAME = "Zlatomira"
HER_PHONE_HASH = "9f" * 32


def rows(cache, table: str, profile_id: str) -> int:
    return cache.query(f"SELECT count(*) FROM {table} WHERE profile_id = ?", (profile_id,))[0][0]


def test_expired_lookups_go_with_their_consents_once_head_office_has_them(cache, outbox: Outbox, clock):
    now = clock.time()
    remember_lookup(cache, {"profile_id": "P-old", "phone_hash": "h-old", "first_name": "Ana"}, ttl_s=60, now=now)
    remember_lookup(cache, {"profile_id": "P-new", "phone_hash": "h-new", "first_name": "Bo"}, ttl_s=600, now=now)
    for pid in ("P-old", "P-new"):
        record_consent(cache, outbox, profile_id=pid, purpose="personal_offers", status="granted",
                       wording_version="w1", channel="kiosk", at=now)
    # Before the TTL nothing goes; after it the profile goes, but its consent waits for head office's ack.
    assert purge_expired(cache, now=now + 59) == {"profiles": 0, "consents": 0}
    assert purge_expired(cache, now=now + 61) == {"profiles": 1, "consents": 0}
    assert rows(cache, "profiles", "P-old") == 0 and rows(cache, "consents", "P-old") == 1
    outbox.delete([seq for (seq,) in cache.query("SELECT seq FROM outbox")])  # head office acked them
    assert purge_expired(cache, now=now + 61) == {"profiles": 0, "consents": 1}
    assert rows(cache, "consents", "P-old") == 0
    assert rows(cache, "profiles", "P-new") == 1 and rows(cache, "consents", "P-new") == 1  # still in use


def test_the_agent_purges_on_its_own_even_with_no_broker(device_config, clock, tmp_path):
    base = device_config()
    offline = dataclasses.replace(base, broker=dataclasses.replace(base.broker, port=1))  # nothing listens there
    path = offline.cache.path
    agent = SyncAgent(offline, clock=clock).start()
    agent.stop()
    remember_lookup_at(path, "P-gone", expires_at=clock.time() - 1)
    remember_lookup_at(path, "P-kept", expires_at=clock.time() + 3600)
    agent = SyncAgent(offline, clock=clock).start()
    try:
        wait_for(lambda: profile_ids(path) == ["P-kept"], what="the expired profile purged")
        assert not agent.connected.is_set()
    finally:
        agent.stop()


def remember_lookup_at(path: str, profile_id: str, expires_at: float) -> None:
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO profiles (profile_id, scope, rank, body, phone_hash, expires_at)"
                 " VALUES (?, 'lookup', -1, '{}', ?, ?)", (profile_id, f"h-{profile_id}", expires_at))
    conn.commit()
    conn.close()


def profile_ids(path: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT profile_id FROM profiles ORDER BY profile_id")]
    finally:
        conn.close()


def her(**extra: object) -> dict:
    # A purchase summary long enough to spill into overflow pages, which a delete puts on the freelist.
    return {"profile_id": HER_ID, "phone_hash": HER_PHONE_HASH, "first_name": HER_NAME,
            "purchase_summary": {f"{HER_NAME}-{i}": i for i in range(400)}, **extra}


def others(n: int = 200) -> list[dict]:
    return [{"profile_id": f"c-other-{i:04d}", "first_name": "Ivan", "segments": ["regular"]} for i in range(n)]


def traces(cache: Cache | str, *needles: str) -> dict[str, list[str]]:
    """Which of ``needles`` each of the cache's files holds, read as raw bytes (database, WAL, shared memory,
    rollback journal)."""
    found = {}
    db = Path(cache.path if isinstance(cache, Cache) else cache)
    for path in [db] + [Path(f"{db}{suffix}") for suffix in ("-wal", "-shm", "-journal")]:
        data = path.read_bytes() if path.exists() else b""
        if hits := [n for n in needles if n.encode() in data]:
            found[path.name] = hits
    return found


def bundle(cache: Cache, stream: str, version: int, content: dict, mode: str, at: float) -> None:
    apply_bundle(cache, stream=stream, scope="store/s001", version=version, sha256="x", mode=mode, content=content,
                 at=at)


def test_an_erasure_from_head_office_leaves_nothing_in_the_files(cache: Cache, clock):
    now = clock.time()
    bundle(cache, "store/s001", 1, {"profiles": [her(), *others()]}, "snapshot", now)
    remember_lookup(cache, her(), ttl_s=900, now=now)
    conn = sqlite3.connect(cache.path)  # the screen's own connection stays open, as on a device
    record_consent(cache, Outbox(cache, boot_id="b", device="kiosk-1", store="s001", clock=clock),
                   profile_id=HER_ID, purpose="personal_offers", status="granted", wording_version="w1",
                   channel="kiosk", at=now)
    assert traces(cache, HER_ID, HER_NAME, HER_PHONE_HASH)  # the test can see her before

    bundle(cache, "profiles:store/s001", 1, {"delete": {"profiles": [HER_ID]}}, "delta", now)
    assert conn.execute("SELECT count(*) FROM profiles").fetchone() == (200,)
    assert traces(cache, HER_ID, HER_NAME, HER_PHONE_HASH) == {}  # at once: not after the next checkpoint
    assert cache.query("PRAGMA secure_delete")[0][0] == 1
    conn.close()


def test_an_erasure_at_the_device_leaves_nothing_once_head_office_has_it(cache: Cache, outbox: Outbox, clock):
    now = clock.time()
    bundle(cache, "store/s001", 1, {"profiles": [her(), *others()]}, "snapshot", now)
    outbox.record("identified", {"profile_id": HER_ID, "method": "phone"})

    erase_profile(cache, outbox, HER_ID, ("phone_hash", HER_PHONE_HASH))
    # Only the erasure event that tells head office is left: her id and the proof she gave; her name is gone.
    assert traces(cache, HER_ID, HER_NAME, HER_PHONE_HASH) == {"cache.db": [HER_ID, HER_PHONE_HASH]}
    outbox.delete([seq for (seq,) in cache.query("SELECT seq FROM outbox")])  # head office acked it
    purge_expired(cache, now=now)
    assert traces(cache, HER_ID, HER_NAME, HER_PHONE_HASH) == {}


def test_the_ttl_purge_leaves_nothing_in_the_files(cache: Cache, clock):
    now = clock.time()
    bundle(cache, "store/s001", 1, {"profiles": others()}, "snapshot", now)
    remember_lookup(cache, her(), ttl_s=60, now=now)
    purge_expired(cache, now=now + 61)
    assert traces(cache, HER_ID, HER_NAME, HER_PHONE_HASH) == {}


def test_a_reader_holding_the_wal_delays_the_checkpoint_to_the_next_purge(cache: Cache, clock, caplog):
    now = clock.time()
    bundle(cache, "store/s001", 1, {"profiles": [her(), *others()]}, "snapshot", now)
    reader = sqlite3.connect(cache.path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM profiles").fetchone()  # a read transaction on the pages holding her

    bundle(cache, "profiles:store/s001", 1, {"delete": {"profiles": [HER_ID]}}, "delta", now)
    assert traces(cache, HER_NAME)  # the reader's snapshot still needs her pages
    assert "WAL checkpoint held back by an open reader" in caplog.text
    reader.execute("COMMIT")
    purge_expired(cache, now=now)  # the agent's next purge, within 5 minutes
    assert traces(cache, HER_ID, HER_NAME, HER_PHONE_HASH) == {}
    reader.close()


def test_an_erasure_asked_for_at_a_device_is_republished_by_the_reference_head_office(
        responder, start_agent, device_config, clock):
    line = {"line_id": "L1", "basket_id": "B1", "profile_id": HER_ID, "sku": "COF-001", "qty": 1,
            "amount_cents": 180, "at": "2026-11-20T08:00:00+00:00"}
    responder.add_profiles([her(), *others(3)])
    responder.publish_bundle("store/s001", {"profiles": [her(), *others(3)], "basket_lines": [line]})
    kiosk = start_agent()
    wait_for(lambda: kiosk.reader.profile(HER_ID, clock.time()), what="her profile cached")

    # She asks at the kiosk, known by her phone number; head office does the rest.
    erase_profile(kiosk.outbox.cache, kiosk.outbox, HER_ID, ("phone_hash", HER_PHONE_HASH))
    topic = topics.bundle_topic(CHAIN, "store/s001")
    wait_for(lambda: json.loads(retained(responder.worker.link.broker.port, {topic})[topic])["version"] == 2,
             what="the store bundle republished")
    payload = raw(retained(responder.worker.link.broker.port, {topic})[topic])
    assert not [h for h in (HER_ID, HER_NAME, HER_PHONE_HASH) if h.encode() in payload]
    assert b"B1" in payload and b"c-other-0002" in payload  # her basket line stays, without her; the others stay

    tablet = start_agent(device_config("tablet-9", "s001"))  # brand new, its cache empty
    wait_for(lambda: tablet.reader.profile("c-other-0002", clock.time()), what="the store bundle applied")
    assert traces(tablet.cache_path, HER_ID, HER_NAME, HER_PHONE_HASH) == {}
