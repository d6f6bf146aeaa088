"""The console's offer drafts through the publishing pipeline (central.drafts), with a real Mosquitto and a real
device agent: a ready draft reaches the device once, becomes the live offer, and a rollback takes it back off the
device as a higher version and leaves the draft in the console, not ready. The chain's global holdout setting
reaches the device's engine in the chain bundle. The console's signage drafts go the same way: a ready playlist
draft pilots at one store, is promoted to the other and rolled back off both."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from support import wait_for

from central import offer_drafts, pipeline, programme, signage_drafts
from central.__main__ import main
from central.config import PublishingSection
from central.content_files import ContentProblem, load_stores, media_files
from central.headoffice import HeadOffice
from decisions.engine import Engine

NEW = {"id": "OFF-NEW", "priority": 30, "channels": ["kiosk"], "title": {"en": "Two croissants", "bg": "Два кроасана"},
       "sku": "PAS-001"}


def _save(office: HeadOffice, root: Path, offer: dict, *, ready: bool = True) -> offer_drafts.Draft:
    live = offer_drafts.live_offers(office.db, root).get(("chain", offer["id"]))
    known = offer_drafts.known_for(root, load_stores(root), "chain")
    return offer_drafts.save_draft(office.db, "chain", offer, ready=ready, known=known, live=live, by="mia",
                                   now=office.clock.time())


def _offer_ids(agent) -> set[str]:
    return {o["id"] for o in agent.reader.offers()}


def test_a_ready_draft_is_published_once_and_rolled_back_off_the_device(office, headoffice, start_agent):
    first = pipeline.submit(office, office.plan_content(), author="ana")
    agent = start_agent()
    wait_for(lambda: _offer_ids(agent) == {"OFF-1"}, what="the files applied")

    _save(office, headoffice, NEW, ready=False)  # not ready: it stays in the console
    assert pipeline.submit(office, office.plan_content(), author="mia") is None
    _save(office, headoffice, NEW)
    changed = {**offer_drafts.live_offers(office.db, headoffice)[("chain", "OFF-1")].body, "priority": 12}
    _save(office, headoffice, changed)
    pub = pipeline.submit(office, office.plan_content(), author="mia")
    assert pub.state == pipeline.PROMOTED
    wait_for(lambda: _offer_ids(agent) == {"OFF-1", "OFF-NEW"}, what="the drafts applied")
    assert {o["id"]: o["priority"] for o in agent.reader.offers()} == {"OFF-1": 12, "OFF-NEW": 30}

    # Sent: the drafts are the live offers, nothing waits, and the next publish sends nothing again.
    live = offer_drafts.live_offers(office.db, headoffice)
    assert live[("chain", "OFF-NEW")].body == NEW and live[("chain", "OFF-1")].file == f"publication {pub.id}"
    kept = offer_drafts.get_draft(office.db, "chain", "OFF-1")
    assert kept.published_in == pub.id and kept.base_sha256 == offer_drafts.offer_sha(changed)
    assert all(r.change == "" for r in offer_drafts.offer_rows(office.db, headoffice, today=office.clock.now().date(),
                                                               week={}))
    assert pipeline.submit(office, office.plan_content(), author="mia") is None

    # An edit of a published draft starts from it: no conflict with the live offer.
    again = _save(office, headoffice, {**changed, "priority": 14})
    assert again.published_in is None and again.base_sha256 == offer_drafts.offer_sha(changed)
    offer_drafts.discard(office.db, "chain", "OFF-1")  # the live offer stays the published one
    assert offer_drafts.draft_playbook(office.db, headoffice)["chain"][0]["priority"] == 12

    back = pipeline.rollback(office, pub.id, by="bob")
    wait_for(lambda: _offer_ids(agent) == {"OFF-1"}, what="the rollback applied")
    assert agent.reader.offers()[0]["priority"] == 10
    chain = {pid: _chain_version(office, pid) for pid in (first.id, pub.id, back.id)}
    assert chain[back.id] > chain[pub.id] > chain[first.id]
    # The files' offer is live again; the new offer's draft is kept, not ready, so it is not sent again.
    assert offer_drafts.live_offers(office.db, headoffice)[("chain", "OFF-1")].body["priority"] == 10
    assert ("chain", "OFF-NEW") not in offer_drafts.live_offers(office.db, headoffice)
    assert not offer_drafts.get_draft(office.db, "chain", "OFF-NEW").ready
    assert pipeline.submit(office, office.plan_content(), author="mia") is None


def test_a_rollback_brings_back_the_draft_published_before(office, headoffice, start_agent):
    pipeline.submit(office, office.plan_content(), author="ana")
    agent = start_agent()
    _save(office, headoffice, NEW)
    earlier = pipeline.submit(office, office.plan_content(), author="mia")
    _save(office, headoffice, {**NEW, "priority": 35})
    later = pipeline.submit(office, office.plan_content(), author="mia")
    wait_for(lambda: {o["id"]: o["priority"] for o in agent.reader.offers()}.get("OFF-NEW") == 35,
             what="the second draft applied")
    pipeline.rollback(office, later.id, by="bob")
    wait_for(lambda: {o["id"]: o["priority"] for o in agent.reader.offers()}.get("OFF-NEW") == 30,
             what="the earlier draft is back on the device")
    draft = offer_drafts.get_draft(office.db, "chain", "OFF-NEW")
    assert draft.published_in == earlier.id and draft.body == NEW and draft.ready


def _chain_version(office: HeadOffice, pub_id: int) -> int:
    return next(r.version for r in pipeline.rows(office.db, pub_id) if r.scope == "chain" and r.stage != "planned")


def test_the_global_holdout_reaches_the_device_in_the_chain_bundle(office, headoffice, start_agent, clock):
    agent = start_agent()
    holdout = programme.set_global_holdout(office.db, 10, by="mia", now=clock.time())
    pipeline.submit(office, office.plan_content(), author="mia")
    wait_for(lambda: agent.reader.programme() is not None, what="the chain's settings applied")
    engine = Engine.load(agent.reader, now=clock.now())
    assert engine.global_holdout == holdout and 0 < holdout.share_pct
    # A larger share keeps the salt: everyone the smaller share held stays held.
    wider = programme.set_global_holdout(office.db, 20, by="mia", now=clock.time())
    assert wider.salt == holdout.salt
    assert all(wider.holds(f"c-{n}") for n in range(2000) if holdout.holds(f"c-{n}"))
    (chain,) = [d for d in pipeline.pending(office, office.plan_content()) if d[0] == "chain"]
    assert chain[1][0].text.startswith("stores: changed the chain's settings (global holdout")
    with pytest.raises(programme.SettingRefused, match="share_pct: must be a number from 0 to 50"):
        programme.set_global_holdout(office.db, 80, by="mia", now=clock.time())
    assert programme.global_holdout(office.db) == wider


def test_a_publish_outside_the_pipeline_sends_what_is_live_and_no_waiting_draft(office, headoffice, start_agent):
    """A store page's change goes out directly (``publish_content``): a ready draft must not skip the pipeline."""
    agent = start_agent()
    pipeline.submit(office, office.plan_content(), author="ana")
    _save(office, headoffice, NEW)
    store_offer = {**NEW, "id": "OFF-S001"}
    known = offer_drafts.known_for(headoffice, load_stores(headoffice), "store/s001")
    offer_drafts.save_draft(office.db, "store/s001", store_offer, ready=True, known=known, live=None, by="mia",
                            now=office.clock.time())
    (headoffice / "store" / "s001" / "inventory.csv").write_text("sku,on_hand\nCOF-001,41\nPAS-001,12\n")
    (manifest,) = office.publish_content(["store/s001"])
    wait_for(lambda: agent.reader.stock("COF-001") == 41, what="the store's change applied")
    assert _offer_ids(agent) == {"OFF-1"} and manifest["scope"] == "store/s001"
    pub = pipeline.submit(office, office.plan_content(), author="mia")  # the pipeline takes both drafts
    wait_for(lambda: _offer_ids(agent) == {"OFF-1", "OFF-NEW", "OFF-S001"}, what="the drafts applied")
    assert offer_drafts.get_draft(office.db, "store/s001", "OFF-S001").published_in == pub.id
    # Once published, a direct publish keeps them: they are live.
    (headoffice / "store" / "s001" / "inventory.csv").write_text("sku,on_hand\nCOF-001,42\nPAS-001,12\n")
    office.publish_content(["store/s001"])
    wait_for(lambda: agent.reader.stock("COF-001") == 42, what="the store's next change applied")
    assert _offer_ids(agent) == {"OFF-1", "OFF-NEW", "OFF-S001"}


FILE_PLAYLIST = ["txt-welcome"]  # pl-all-day's items in head office's files
LONGER = {"id": "pl-all-day", "items": [{"item": "txt-welcome", "duration_s": 12}], "order": "sequential"}
EVENING = {"id": "pl-evening", "items": ["txt-welcome"]}
WATCH_S = 600.0


def _save_signage(office: HeadOffice, root: Path, item: dict, *, ready: bool = True,
                  section: str = "playlists") -> signage_drafts.Draft:
    view = signage_drafts.device_view(root, office.db, load_stores(root), "chain", (section, item))
    live = signage_drafts.live_items(office.db, root).get(("chain", section, item["id"]))
    return signage_drafts.save_draft(office.db, "chain", section, item, ready=ready, view=view, live=live, by="mia",
                                     now=office.clock.time())


def _items(agent, playlist: str = "pl-all-day") -> list | None:
    return next((p["items"] for p in agent.reader.playlists() if p["id"] == playlist), None)


def _health_since(office: HeadOffice, device: str, since: float) -> bool:
    return (office.db.scalar("SELECT health_at FROM devices WHERE device = ?", (device,)) or 0) >= since


def test_a_ready_playlist_draft_pilots_is_promoted_and_rolled_back(office, headoffice, start_agent, device_config,
                                                                   start_worker, clock):
    start_worker()
    office.config = dataclasses.replace(office.config, publishing=PublishingSection(watch_s=WATCH_S))
    first = pipeline.submit(office, office.plan_content(), author="ana")
    pilot = start_agent(device_config(device="sign-1", store="s001"))
    other = start_agent(device_config(device="kiosk-2", store="s002"))
    for agent in (pilot, other):
        wait_for(lambda a=agent: _items(a) == FILE_PLAYLIST, what="the files' playlist applied")

    _save_signage(office, headoffice, EVENING, ready=False)  # not ready: it stays in the console
    assert pipeline.submit(office, office.plan_content(), author="mia") is None
    _save_signage(office, headoffice, LONGER)
    pub = pipeline.submit(office, office.plan_content(), author="mia", pilot=["s001"])
    assert pub.state == pipeline.PILOTING
    wait_for(lambda: _items(pilot) == LONGER["items"], what="the pilot store's sign applied the draft")
    assert _items(other) == FILE_PLAYLIST and _items(pilot, "pl-evening") is None

    # Sent: the draft is the live playlist, nothing of it waits.
    live = signage_drafts.live_items(office.db, headoffice)[("chain", "playlists", "pl-all-day")]
    assert live.body == LONGER and live.file == f"publication {pub.id}"
    assert signage_drafts.get_draft(office.db, "chain", "playlists", "pl-all-day").published_in == pub.id
    assert {r.item_id: r.change for r in signage_drafts.rows(office.db, headoffice, "playlists")} == {
        "pl-all-day": "", "pl-evening": "draft"}

    wait_for(lambda: _health_since(office, "sign-1", pub.pilot_started_at), timeout=20,
             what="the pilot device's health report")
    clock.advance(WATCH_S)
    assert pipeline.promote(office, pub.id, by="ana").state == pipeline.PROMOTED
    wait_for(lambda: _items(other) == LONGER["items"], what="promote reached the other store")
    # Published: not sent twice. (The pilot store's own bundle is, as after any pilot: promote sent it with the
    # overlay's sections emptied, the files' share of it has none.)
    assert "chain" not in dict(pipeline.pending(office, office.plan_content()))

    back = pipeline.rollback(office, pub.id, by="bob")
    for agent in (pilot, other):
        wait_for(lambda a=agent: _items(a) == FILE_PLAYLIST, what="the rollback applied")
    chain = {pid: _chain_version(office, pid) for pid in (first.id, pub.id, back.id)}
    assert chain[back.id] > chain[pub.id] > chain[first.id]
    # No publication had sent the playlist from a draft before: the files' one is live, the draft is kept, not ready.
    assert signage_drafts.live_items(office.db, headoffice)[("chain", "playlists", "pl-all-day")].body["items"] == \
        FILE_PLAYLIST
    kept = signage_drafts.get_draft(office.db, "chain", "playlists", "pl-all-day")
    assert kept.body == LONGER and not kept.ready and kept.published_in is None
    assert "chain" not in dict(pipeline.pending(office, office.plan_content()))


def test_a_signage_rollback_brings_back_the_playlist_published_before(office, headoffice, start_agent):
    pipeline.submit(office, office.plan_content(), author="ana")
    agent = start_agent()
    _save_signage(office, headoffice, LONGER)
    earlier = pipeline.submit(office, office.plan_content(), author="mia")
    _save_signage(office, headoffice, {**LONGER, "items": [{"item": "txt-welcome", "duration_s": 20}]})
    later = pipeline.submit(office, office.plan_content(), author="mia")
    wait_for(lambda: _items(agent) == [{"item": "txt-welcome", "duration_s": 20}], what="the second draft applied")
    assert pipeline.submit(office, office.plan_content(), author="mia") is None  # published: not sent twice
    back = pipeline.rollback(office, later.id, by="bob")
    wait_for(lambda: _items(agent) == LONGER["items"], what="the earlier draft is back on the device")
    assert _chain_version(office, back.id) > _chain_version(office, later.id)
    draft = signage_drafts.get_draft(office.db, "chain", "playlists", "pl-all-day")
    assert draft.published_in == earlier.id and draft.body == LONGER and draft.ready


def test_the_devices_check_names_a_signage_draft_as_a_draft(office, headoffice):
    _save_signage(office, headoffice, EVENING)
    signage = headoffice / "chain" / "signage.yaml"
    signage.write_text(signage.read_text().replace("txt-welcome", "txt-hello"))
    with pytest.raises(ContentProblem) as refused:
        office.plan_content()
    assert any(p.startswith("the console's playlist draft (chain): ") and "txt-welcome" in p
               for p in refused.value.problems), refused.value.problems
    assert not any("signage.yaml" in p for p in refused.value.problems)  # the files' own items still check


def test_the_dry_run_shows_a_playlist_draft(office, headoffice, central_config, tmp_path, capsys, clock):
    pipeline.submit(office, office.plan_content(), author="ana")
    _save_signage(office, headoffice, LONGER)
    config = tmp_path / "central.toml"
    c = central_config.central
    config.write_text(f'[central]\ndsn = "{c.dsn}"\ncontent_dir = "{headoffice}"\nkeys_dir = "{c.keys_dir}"\n'
                      f'http_dir = "{c.http_dir}"\nhttp_base_url = "{c.http_base_url}"\n[broker]\nport = 1\n')
    assert main(["--config", str(config), "publish", "--dry-run"], clock=clock) == 0
    out = capsys.readouterr().out.split("changes against what is live:\n")[1]
    assert "chain:\n  playlists: changed pl-all-day (item: txt-welcome: seconds on screen set to 12; order set to" \
           ' "sequential")\n' in out


def test_a_content_item_draft_and_a_removal_reach_the_device_and_roll_back(office, headoffice, start_agent):
    pipeline.submit(office, office.plan_content(), author="ana")
    agent = start_agent()
    picture = {"id": "img-croissant", "kind": "image", "media": "croissant.png"}
    view = signage_drafts.device_view(headoffice, office.db, load_stores(headoffice), "chain",
                                      ("content_items", picture))
    signage_drafts.save_draft(office.db, "chain", "content_items", picture, ready=True, view=view, live=None,
                              by="mia", now=office.clock.time(), media=media_files(headoffice))
    _save_signage(office, headoffice, {"id": "pl-evening", "items": ["img-croissant"]})
    pipeline.submit(office, office.plan_content(), author="mia")
    wait_for(lambda: _items(agent, "pl-evening") == ["img-croissant"], what="the new playlist applied")
    sha = hashlib.sha256((headoffice / "media" / "croissant.png").read_bytes()).hexdigest()
    assert next(i for i in agent.reader.content_items() if i["id"] == "img-croissant")["media"] == sha

    _save_signage(office, headoffice, signage_drafts.removal("playlists", "pl-evening"))
    removed = pipeline.submit(office, office.plan_content(), author="mia")
    wait_for(lambda: _items(agent, "pl-evening") is None, what="the removal applied")
    assert ("chain", "playlists", "pl-evening") not in signage_drafts.live_items(office.db, headoffice)
    assert [r.item_id for r in signage_drafts.rows(office.db, headoffice, "playlists")] == ["pl-all-day"]
    pipeline.rollback(office, removed.id, by="bob")
    wait_for(lambda: _items(agent, "pl-evening") == ["img-croissant"], what="the rollback brought it back")
