"""Issue 13: content a device cannot load is refused whole, the last good content stays, head office hears why,
and the fleet view says so; what the device holds is judged after the apply, so bundles may arrive in any order."""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_content import BAD, bad_content
from support import CHAIN, cache_snapshot, sample_content, wait_for

from central.fleet import fleet, format_fleet
from sync.cache import Cache
from sync.cache.bundles import apply_bundle
from sync.protocol import topics


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_content_is_refused_whole_and_reported(kind, start_agent, responder, clock):
    agent = start_agent()
    responder.publish_bundle("chain", sample_content(3), version=1)
    wait_for(lambda: agent.bundles.counts["applied"] == 1, what="good content applied")
    before = cache_snapshot(agent.cache_path)
    # A faulty head office: signed, but never checked.
    responder.publish_manifest(topics.bundle_topic(CHAIN, "chain"),
                               responder.sign("chain", bad_content(kind), version=2), retain=True)
    wait_for(lambda: agent.bundles.counts["rejected"] == 1, what="bad content refused")
    assert cache_snapshot(agent.cache_path) == before  # the last good version, untouched
    (event,) = wait_for(lambda: responder.events.events("content_rejected"), what="content_rejected at head office")
    payload = event["payload"]
    assert (payload["scope"], payload["version"], payload["applied"]) == ("chain", 2, 1)
    assert any(BAD[kind][1] in reason for reason in payload["reasons"]), payload["reasons"]

    row = wait_for(lambda: [r for r in fleet(responder.events.db, now=clock.time(), stale_after_s=180)
                            if r.device == "kiosk-1" and r.rejected], what="fleet row with the rejection")[0]
    assert row.rejected["version"] == 2 and row.status == "online"
    assert "REJECTED chain v2: " in format_fleet([row], now=clock.time())


def test_a_store_bundle_that_waits_for_the_chain_applies_when_the_chain_arrives(start_agent, responder):
    agent = start_agent()
    responder.publish_bundle("chain", sample_content(3), version=1)
    wait_for(lambda: agent.bundles.counts["applied"] == 1)
    responder.publish_bundle("store/s001", {"prices": [{"sku": "SKU00004", "price_cents": 9, "currency": "EUR"}]})
    wait_for(lambda: agent.bundles.counts["rejected"] == 1, what="a price for a product the device lacks")
    responder.publish_bundle("chain", sample_content(5), version=2)
    wait_for(lambda: agent.reader.sync_state().get("store/s001"), what="store bundle applied after the chain")
    assert agent.reader.price("SKU00004")["price_cents"] == 9


def test_old_content_in_the_cache_does_not_block_new_bundles(start_agent, device_config, responder):
    """A chain bundle from before the language rule (English only) is in the cache; a new store bundle applies."""
    config = device_config()
    Path(config.cache.path).parent.mkdir(parents=True)
    old = sample_content(3)
    old["offers"][0]["title"] = {"en": "Coffee"}
    cache = Cache(config.cache.path)
    apply_bundle(cache, stream="chain", scope="chain", version=1, sha256="0" * 64, mode="snapshot", content=old, at=0)
    cache.close()
    agent = start_agent(config)
    responder.publish_bundle("store/s001", {"inventory": [{"sku": "SKU00001", "on_hand": 4}]})
    wait_for(lambda: agent.reader.sync_state().get("store/s001"), what="store bundle applied")


def test_a_stop_and_start_is_a_restart_not_a_crash(start_agent, device_config, responder, clock):
    config = device_config()
    first = start_agent(config)
    wait_for(lambda: responder.presence.get("s001/kiosk-1", {}).get("boot_id") == first.boot_id)
    first.stop()  # says 'offline' itself, with "clean": true
    wait_for(lambda: responder.presence["s001/kiosk-1"]["state"] == "offline")
    second = start_agent(config)
    wait_for(lambda: responder.presence["s001/kiosk-1"]["boot_id"] == second.boot_id)
    (row,) = [r for r in fleet(responder.events.db, now=clock.time(), stale_after_s=180) if r.device == "kiosk-1"]
    assert (row.restarts, row.crashes) == (1, 0)


def test_a_snapshot_keeps_what_its_scope_holds_in_sections_it_does_not_name(start_agent, responder):
    agent = start_agent()
    responder.publish_bundle("chain", sample_content(3), version=1)
    wait_for(lambda: agent.bundles.counts["applied"] == 1)
    offers = {"offers": [{**sample_content(3)["offers"][0], "sku": "SKU00002"}]}  # the chain's products stay
    responder.publish_bundle("chain", offers, version=2)
    wait_for(lambda: agent.reader.sync_state()["chain"]["version"] == 2, what="offers-only snapshot applied")
    assert agent.bundles.counts["rejected"] == 0
