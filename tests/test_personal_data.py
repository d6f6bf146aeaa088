"""Personal data at rest on a device: purged when its TTL runs out, by the agent on its own, online or not."""

from __future__ import annotations

import dataclasses
import sqlite3

from support import wait_for

from sync.agent import SyncAgent
from sync.cache.outbox import Outbox
from sync.cache.profiles import purge_expired, record_consent, remember_lookup


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
