"""The data side of signage: overrides kept per scope, proof of play summed per hour and kept until acked,
and the agent following override/{scope} and the 'override' command over a real Mosquitto."""

from __future__ import annotations

import json

from support import CHAIN, wait_for

from sync.cache import schema
from sync.cache.outbox import Outbox
from sync.cache.signage import (
    Play,
    active_overrides,
    prune_acked,
    raw_play_count,
    record_plays,
    save_override,
    summarise_hours,
)
from sync.protocol import signing
from sync.protocol.overrides import Override, sign_override
from sync.protocol.topics import override_topic

HOUR = 3600.0
T0 = 1_795_348_800.0  # an hour boundary (2026-11-23 08:00 UTC)


def test_cache_v5_has_the_signage_tables(cache):
    assert schema.LATEST >= 5
    tables = {r[0] for r in cache.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"layouts", "text_templates", "overrides", "proof_of_play"} <= tables


def test_newest_override_per_scope_wins_and_an_end_ends_it(cache):
    a = Override(CHAIN, "store/s001", "ov-a", T0, T0 + 600, "start", message={"title": "A"})
    older = Override(CHAIN, "store/s001", "ov-old", T0 - 60, T0 + 600, "start", message={"title": "old"})
    chain = Override(CHAIN, "chain", "ov-c", T0, T0 + 900, "start", message={"title": "C"})
    assert save_override(cache, a, source="broker", received_at=T0)
    assert not save_override(cache, older, source="broker", received_at=T0)  # a replay of an older one
    assert save_override(cache, chain, source="broker", received_at=T0)
    assert [o.override_id for o in active_overrides(cache, T0 + 1)] == ["ov-a", "ov-c"]  # most specific first
    assert [o.override_id for o in active_overrides(cache, T0 + 700)] == ["ov-c"]  # ov-a expired
    end = Override(CHAIN, "store/s001", "ov-a", T0 + 5, T0 + 5, "end")
    assert save_override(cache, end, source="command", received_at=T0 + 5)
    assert [o.override_id for o in active_overrides(cache, T0 + 6)] == ["ov-c"]


def test_proof_of_play_sums_each_finished_hour_and_keeps_raw_rows_until_acked(cache, outbox: Outbox):
    plays = [Play("img-1", "main", T0 + i * 10, 10.0, True) for i in range(30)]
    plays += [Play("img-1", "main", T0 + 400, 4.0, False), Play("menu", "side", T0 + 5, 30.0, True)]
    plays += [Play("img-2", "main", T0 + HOUR + 10, 10.0, True)]  # the next hour, not finished yet
    record_plays(cache, plays)
    assert summarise_hours(cache, outbox, now=T0 + HOUR + 60) == 1
    events = [json.loads(p) for (p,) in cache.query("SELECT payload FROM outbox WHERE type = 'proof_of_play'")]
    assert events == [{"hour_start": T0, "items": [
        {"item": "img-1", "zone": "main", "plays": 31, "full_plays": 30, "seconds": 304.0},
        {"item": "menu", "zone": "side", "plays": 1, "full_plays": 1, "seconds": 30.0}]}]
    assert summarise_hours(cache, outbox, now=T0 + HOUR + 120) == 0  # summed once
    assert prune_acked(cache) == 0 and raw_play_count(cache) == 33  # not acked yet: every raw row stays
    seqs = [r[0] for r in cache.query("SELECT seq FROM outbox")]
    outbox.delete(seqs)  # head office acked
    assert prune_acked(cache) == 32 and raw_play_count(cache) == 1


def test_agent_stores_a_signed_override_and_wakes_listeners(start_agent, responder, chain_key, clock, sync_log):
    agent = start_agent()
    seen = []
    agent.on_override(seen.append)
    now = clock.time()
    flood = Override(CHAIN, "region/south", "ov-flood", now, now + 600, "start",
                     message={"title": "Closed", "body": "Flooding"})
    responder.publish_retained(override_topic(CHAIN, "region/south"), sign_override(flood, chain_key))
    wait_for(lambda: seen, what="override listener called")
    assert seen[0] == flood
    assert [o.override_id for o in active_overrides(agent._cache, now + 1)] == ["ov-flood"]
    # forged (another key) and misrouted overrides are refused and logged; the cache keeps the good one
    forged = Override(CHAIN, "store/s001", "ov-forged", now, now + 600, "start", message={"title": "Free beer"})
    stranger = signing.generate_private_key()
    responder.publish_retained(override_topic(CHAIN, "store/s001"), sign_override(forged, stranger))
    responder.publish_retained(override_topic(CHAIN, "store/s001"),
                               sign_override(Override(CHAIN, "chain", "ov-x", now, now + 60, "start",
                                                      message={"title": "x"}), chain_key))
    wait_for(lambda: sum("override rejected" in r.message for r in sync_log.records) >= 2, what="rejections logged")
    assert [o.override_id for o in active_overrides(agent._cache, now + 1)] == ["ov-flood"]
    # the staff tablet ends it in-store with a command; a bad command is answered with the reason
    answer = responder.command("s001", "kiosk-1", "override", {"action": "end", "override_id": "ov-flood"})
    assert answer["ok"] and answer["result"] == {"stored": True, "scope": "region/south"}
    assert active_overrides(agent._cache, now + 2) == []
    tablet = {"override_id": "ov-tasting", "expires_at": now + 300, "message": {"title": "Tasting at 4 pm"}}
    assert responder.command("s001", "kiosk-1", "override", tablet)["result"]["scope"] == "device/kiosk-1"
    assert [o.override_id for o in active_overrides(agent._cache, now + 3)] == ["ov-tasting"]
    bad = responder.command("s001", "kiosk-1", "override", {"override_id": "x", "expires_at": now + 30 * 86400,
                                                              "message": {"title": "too long"}})
    assert not bad["ok"] and "within 7 days" in bad["error"]
