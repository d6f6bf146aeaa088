"""The publishing pipeline: validate, four-eyes approval, pilot stores, the watch, promote and rollback, with a
real Mosquitto and real device agents, the central store on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import signal
import time

import pytest
from support import CHAIN, bundles_sent, wait_for

from central import audit, pipeline
from central.__main__ import main
from central.config import PublishingSection
from central.content_files import ContentProblem
from central.pipeline import FAILED, PASSED, WATCHING, Rejection, pilot_outcome
from sync.clock import FixedClock
from sync.protocol import topics

PRICES = "sku,price_cents,currency\nCOF-001,180,EUR\nPAS-001,{}\n"
WATCH_S = 600.0


def test_the_pilot_outcome_follows_the_events_and_the_clock():
    clock = FixedClock(1_000_000.0, step=60.0)  # each look is a minute later
    start = clock.time()
    pilots = [("s001", "kiosk-1")]

    def look(rejections=(), health=None) -> pipeline.Outcome:
        return pilot_outcome(started_at=start, watch_s=WATCH_S, now=clock.time(), devices=pilots,
                             rejections=rejections, health_at=health or {})

    assert look(health={("s001", "kiosk-1"): start + 30}).state == WATCHING
    refused = Rejection("s001", "kiosk-1", start + 90, "store/s001", 4, "offers[0]: no title")
    out = look([refused])
    assert out.state == FAILED and "s001/kiosk-1 refused store/s001 v4: offers[0]: no title" == out.detail
    clock.advance(WATCH_S)
    assert look(health={("s001", "kiosk-1"): start - 1}).state == FAILED  # silent during the watch
    assert look(health={("s001", "kiosk-1"): start + 30}) == pipeline.Outcome(PASSED, "1 device(s) healthy,"
                                                                                       " none refused it")
    assert pilot_outcome(started_at=start, watch_s=WATCH_S, now=clock.time(), devices=[], rejections=(),
                         health_at={}).state == FAILED


def test_a_bad_change_is_refused_at_validation_and_nothing_reaches_the_broker(office, headoffice, broker):
    first = pipeline.submit(office, office.plan_content(), author="ana")
    assert first.state == pipeline.PROMOTED
    (headoffice / "chain" / "prices.csv").write_text(PRICES.format("abc,EUR"))
    with bundles_sent(broker.port) as got:
        with pytest.raises(ContentProblem, match="prices.csv:3"):
            pipeline.submit(office, office.plan_content(), author="ana")
    assert got == []
    assert [p.id for p in pipeline.history(office.db)] == [first.id]
    with bundles_sent(broker.port) as control:  # the watcher does see what goes out
        (headoffice / "chain" / "prices.csv").write_text(PRICES.format("160,EUR"))
        pipeline.submit(office, office.plan_content(), author="ana")
    assert control == [topics.bundle_topic(CHAIN, "chain")]


def test_approval_by_another_person_from_the_command_line(tmp_path, broker, headoffice, central_config, capsys,
                                                          clock):
    c = central_config.central
    config = tmp_path / "central.toml"
    config.write_text(f'[central]\nchain = "{c.chain}"\ndsn = "{c.dsn}"\nkeys_dir = "{c.keys_dir}"\n'
                      f'content_dir = "{c.content_dir}"\nhttp_dir = "{c.http_dir}"\n'
                      f'http_base_url = "{c.http_base_url}"\n[broker]\nport = {broker.port}\n'
                      "[publishing]\napproval = true\n")

    def cli(*argv: str) -> int:
        return main(["--config", str(config), *argv], clock=clock)

    with bundles_sent(broker.port) as got:
        assert cli("publish", "--by", "ana") == 3
        assert "publications approve 1 --by NAME   (not ana)" in capsys.readouterr().err
        assert cli("publications", "approve", "1", "--by", "ana") == 1
        assert "ana wrote publication 1: another person approves it" in capsys.readouterr().err
    assert got == []
    assert cli("publications", "approve", "1", "--by", "bob") == 0
    assert "3 bundle(s) published" in capsys.readouterr().out
    assert cli("publications", "list") == 0
    listed = capsys.readouterr().out
    assert "ana" in listed and "promoted" in listed and "approved by bob" in listed
    assert cli("publications", "approve", "1", "--by", "bob") == 1  # once only
    db = central_config.central.dsn
    from central.db import open_database

    with_db = open_database(db)
    try:
        actions = [(e.actor, e.action) for e in audit.entries(with_db, limit=10)][::-1]
    finally:
        with_db.close()
    assert actions == [("ana", "publish.validate"), ("bob", "publish.approve"), ("bob", "publish.promote")]


def _two_stores(office, start_agent, device_config, start_worker):
    """Head office's files live at both stores, a worker for their events."""
    start_worker()
    office.config = dataclasses.replace(office.config, publishing=PublishingSection(watch_s=WATCH_S))
    pipeline.submit(office, office.plan_content(), author="ana")
    s001 = start_agent()
    s002 = start_agent(device_config(device="kiosk-2", store="s002"))
    for agent in (s001, s002):
        wait_for(lambda a=agent: a.reader.price("PAS-001") and a.reader.price("PAS-001")["price_cents"] == 150,
                 what="the first publication applied")
    return s001, s002


def _health_since(office, device: str, since: float) -> bool:
    return (office.db.scalar("SELECT health_at FROM devices WHERE device = ?", (device,)) or 0) >= since


def test_pilot_at_one_store_then_promote_to_the_other(office, headoffice, start_agent, device_config,
                                                      start_worker, clock):
    s001, s002 = _two_stores(office, start_agent, device_config, start_worker)
    (headoffice / "chain" / "prices.csv").write_text(PRICES.format("160,EUR"))
    pub = pipeline.submit(office, office.plan_content(), author="ana", pilot=["s001"])
    assert pub.state == pipeline.PILOTING and pub.pilot_stores == ("s001",)
    wait_for(lambda: s001.reader.price("PAS-001")["price_cents"] == 160, what="the pilot store applied it")
    assert s002.reader.price("PAS-001")["price_cents"] == 150  # not yet at the other store
    with pytest.raises(pipeline.PipelineRefused, match="watching"):
        pipeline.promote(office, pub.id, by="ana")
    (headoffice / "chain" / "prices.csv").write_text(PRICES.format("165,EUR"))
    with pytest.raises(pipeline.PipelineRefused, match=f"publication {pub.id} is still piloting: promote it"):
        pipeline.submit(office, office.plan_content(), author="mia")  # one at a time: the pilot's overlay stays whole
    wait_for(lambda: _health_since(office, "kiosk-1", pub.pilot_started_at), timeout=20,
             what="the pilot device's health report")
    clock.advance(WATCH_S)
    promoted = pipeline.promote(office, pub.id, by="ana")
    assert promoted.state == pipeline.PROMOTED and promoted.outcome == PASSED
    wait_for(lambda: s002.reader.price("PAS-001")["price_cents"] == 160, what="promote reached the other store")
    assert s001.reader.price("PAS-001")["price_cents"] == 160  # its store bundle went again without the overlay
    stages = {(r.scope, r.stage) for r in pipeline.rows(office.db, pub.id)}
    assert {("store/s001", "pilot"), ("store/s001", "promote"), ("chain", "promote")} <= stages
    assert ("chain", "pilot") not in stages
    (headoffice / "chain" / "prices.csv").write_text(PRICES.format("170,EUR"))
    pipeline.submit(office, office.plan_content(), author="ana")  # the overlay is gone: s001 follows the chain
    wait_for(lambda: s001.reader.price("PAS-001")["price_cents"] == 170, what="the next chain price at the pilot")


def test_a_pilot_device_refusing_it_fails_the_pilot_and_blocks_promote(office, headoffice, start_agent,
                                                                       device_config, start_worker, clock):
    s001, s002 = _two_stores(office, start_agent, device_config, start_worker)
    (headoffice / "chain" / "prices.csv").write_text(PRICES.format("160,EUR"))
    pub = pipeline.submit(office, office.plan_content(), author="ana", pilot=["s001"])
    (sent,) = [r for r in pipeline.rows(office.db, pub.id) if r.stage == "pilot"]
    # What the agent records when its check refuses a bundle (sync/agent/agent.py), sent the device's own way.
    s001.outbox.record("content_rejected", {"scope": sent.scope, "version": sent.version,
                                            "reasons": ["prices[1]: price_cents below zero"]})
    wait_for(lambda: pipeline.watch(office, pub.id).state == FAILED, what="the refusal reached head office")
    clock.advance(WATCH_S)
    with pytest.raises(pipeline.PipelineRefused, match="failed: s001/kiosk-1 refused store/s001.*rollback"):
        pipeline.promote(office, pub.id, by="ana")
    assert pipeline.get(office.db, pub.id).outcome == FAILED
    time.sleep(0.5)
    assert s002.reader.price("PAS-001")["price_cents"] == 150


def test_rollback_is_a_higher_version_with_the_earlier_content(office, headoffice, start_agent, device_config,
                                                               start_worker, clock):
    s001, s002 = _two_stores(office, start_agent, device_config, start_worker)
    (first,) = pipeline.history(office.db)
    (headoffice / "chain" / "prices.csv").write_text(PRICES.format("160,EUR"))
    change = pipeline.submit(office, office.plan_content(), author="ana")
    wait_for(lambda: s002.reader.price("PAS-001")["price_cents"] == 160, what="the change applied")
    back = pipeline.rollback(office, change.id, by="bob")
    assert back.rolls_back == change.id and pipeline.get(office.db, change.id).state == pipeline.ROLLED_BACK
    chain = {pid: [r for r in pipeline.rows(office.db, pid) if r.scope == "chain" and r.stage != "planned"][0]
             for pid in (first.id, change.id, back.id)}
    assert chain[back.id].version > chain[change.id].version > chain[first.id].version
    assert chain[back.id].content == chain[first.id].content and chain[back.id].sha256 == chain[first.id].sha256
    for agent in (s001, s002):
        wait_for(lambda a=agent: a.reader.price("PAS-001")["price_cents"] == 150, what="the rollback applied")
    detail = [e.detail for e in audit.entries(office.db, limit=5, action="publish.rollback")]
    assert detail == [f"publication {change.id} rolled back by publication {back.id}"]
    assert chain[back.id].content["prices"][1]["price_cents"] == 150


def test_an_approval_the_broker_cut_short_waits_for_approval_again(office, headoffice, broker):
    office.config = dataclasses.replace(office.config, publishing=PublishingSection(approval=True))
    pub = pipeline.submit(office, office.plan_content(), author="ana")
    assert pub.state == pipeline.AWAITING
    broker.kill(signal.SIGTERM)
    wait_for(lambda: not office.link.connected.is_set(), what="head office disconnected")
    with pytest.raises(ConnectionError):
        pipeline.approve(office, pub.id, by="bob")
    assert pipeline.get(office.db, pub.id).approved_by is None  # not stuck approved and unsent

    broker.start()
    wait_for(office.link.connected.is_set, timeout=30, what="head office reconnected")
    assert pipeline.approve(office, pub.id, by="bob").state == pipeline.PROMOTED


def test_a_publish_the_broker_cut_short_does_not_block_the_next(office, headoffice, broker):
    broker.kill(signal.SIGTERM)
    wait_for(lambda: not office.link.connected.is_set(), what="head office disconnected")
    with pytest.raises(ConnectionError):
        pipeline.submit(office, office.plan_content(), author="ana")
    assert [p.state for p in pipeline.history(office.db)] == [pipeline.NOT_SENT]

    broker.start()
    wait_for(office.link.connected.is_set, timeout=30, what="head office reconnected")
    assert pipeline.submit(office, office.plan_content(), author="ana").state == pipeline.PROMOTED
