"""Offer drafts in the central store (schema 12), on SQLite and PostgreSQL: a draft may hold what a device would
refuse, a ready one may not (the device's own check says why); the draft playbook the publishing pipeline takes
holds the live offers with the ready drafts only; each offer's state; last week's numbers from the rollups."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from central import offer_drafts, rollups
from central.content_files import load_stores
from central.db import Database
from central.offer_drafts import OfferRefused
from sync.clock import FixedClock

FILES = {
    "stores.csv": "store,region,devices\ns001,south,kiosk-1\ns002,north,kiosk-2\n",
    "chain/products.yaml": "- sku: COF-001\n  name: {en: Espresso, bg: Еспресо, ru: Эспрессо}\n  category: coffee\n",
    "region/north/products.yaml": "- sku: KVS-001\n  name: {en: Kvass, bg: Квас, ru: Квас}\n  category: cold\n",
    "chain/offers.yaml": """\
- id: OFF-LIVE
  priority: 50
  channels: [kiosk]
  title: {en: Espresso, bg: Еспресо, ru: Эспрессо}
  sku: COF-001
- id: OFF-OLD
  priority: 10
  channels: [kiosk]
  title: {en: Old, bg: Старо, ru: Старое}
  schedule: {from: '2026-01-01', to: '2026-03-31'}
""",
}
TODAY = date(2026, 11, 23)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / "ho" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "ho" / name).write_text(text)
    return tmp_path / "ho"


def _offer(offer_id: str, **fields: object) -> dict:
    return {"id": offer_id, "priority": 40, "channels": ["kiosk"], "title": {"en": "A", "bg": "Б", "ru": "В"},
            "sku": "COF-001", **fields}


def _save(db: Database, root: Path, offer: dict, *, ready: bool, clock: FixedClock, scope: str = "chain",
          paused: bool = False) -> offer_drafts.Draft:
    live = offer_drafts.live_offers(db, root).get((scope, offer["id"]))
    known = offer_drafts.known_for(root, load_stores(root), scope)
    return offer_drafts.save_draft(db, scope, offer, ready=ready, known=known, live=live, by="mia", now=clock.time(),
                                   paused=paused)


def test_a_draft_may_hold_what_a_device_refuses_and_a_ready_one_may_not(db: Database, root: Path,
                                                                        clock: FixedClock):
    bad = _offer("OFF-LIVE", priority=1200, conditions={"weather": "drizzle"})
    with pytest.raises(OfferRefused) as refused:
        _save(db, root, bad, ready=True, clock=clock)
    assert refused.value.problems == ["offer OFF-LIVE: field 'priority': must be a whole number from 0 to 999"]
    assert offer_drafts.get_draft(db, "chain", "OFF-LIVE") is None  # nothing saved
    kept = _save(db, root, bad, ready=False, clock=clock)
    assert (kept.ready, kept.body["priority"], kept.updated_by) == (False, 1200, "mia")
    assert kept.base_sha256 == offer_drafts.offer_sha(offer_drafts.live_offers(db, root)[("chain", "OFF-LIVE")].body)
    assert offer_drafts.draft_playbook(db, root)["chain"][0]["priority"] == 50  # the live one goes out, not the draft

    with pytest.raises(OfferRefused, match="field 'title': no text in ru"):
        _save(db, root, _offer("OFF-NEW", title={"en": "New", "bg": "Ново"}), ready=True, clock=clock)
    with pytest.raises(OfferRefused, match="field 'sku': no product 'KVS-001'"):  # only the north holds it
        _save(db, root, _offer("OFF-NEW", sku="KVS-001"), ready=True, clock=clock)
    _save(db, root, _offer("OFF-KVASS", sku="KVS-001"), ready=True, clock=clock, scope="region/north")
    assert offer_drafts.lineage(load_stores(root), "store/s002") == ["chain", "region/north", "store/s002"]


def test_the_draft_playbook_and_each_offers_state(db: Database, root: Path, clock: FixedClock):
    _save(db, root, _offer("OFF-NEW", priority=60), ready=True, clock=clock)
    _save(db, root, _offer("OFF-WIP", priority="sixty"), ready=False, clock=clock)
    _save(db, root, _offer("OFF-LIVE", priority=55), ready=True, clock=clock, paused=True)
    _save(db, root, _offer("OFF-SHELVED"), ready=True, clock=clock, paused=True)  # paused before it was ever live
    playbook = offer_drafts.draft_playbook(db, root)
    assert [o["id"] for o in playbook["chain"]] == ["OFF-OLD", "OFF-NEW"]
    assert "region/north" not in playbook

    rows = {r.offer_id: r for r in offer_drafts.offer_rows(db, root, today=TODAY, week={"OFF-LIVE": (120, 7)})}
    states = {k: (r.state, r.change, r.paused) for k, r in rows.items()}
    assert states == {"OFF-LIVE": ("live", "ready", True), "OFF-OLD": ("ended", "", False),
                      "OFF-NEW": ("draft", "ready", False), "OFF-WIP": ("draft", "draft", False),
                      "OFF-SHELVED": ("paused", "", True)}
    assert (rows["OFF-LIVE"].impressions, rows["OFF-LIVE"].redemptions) == (120, 7)

    _save(db, root, offer_drafts.live_offers(db, root)[("chain", "OFF-LIVE")].body, ready=True, clock=clock)
    again = {r.offer_id: r for r in offer_drafts.offer_rows(db, root, today=TODAY, week={})}
    assert (again["OFF-LIVE"].change, again["OFF-LIVE"].paused) == ("", False)  # the same as live: nothing waits
    assert offer_drafts.discard(db, "chain", "OFF-NEW") and not offer_drafts.discard(db, "chain", "OFF-NEW")
    assert [o["id"] for o in offer_drafts.draft_playbook(db, root)["chain"]] == ["OFF-LIVE", "OFF-OLD"]


def test_last_weeks_numbers_come_from_the_rollups(db: Database):
    db.executemany("INSERT INTO rollup_offers (day, store, offer, arm, impressions, sends, redemptions)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [("2026-11-17", "s001", "OFF-A", "none", 10, 1, 1),
                    ("2026-11-23", "s002", "OFF-A", "novelty", 5, 0, 2),
                    ("2026-11-23", "s002", "OFF-A", "holdout", 50, 0, 0),  # held out: saw nothing
                    ("2026-11-16", "s001", "OFF-A", "none", 9, 9, 9),  # before the week
                    ("2026-11-24", "s001", "OFF-B", "none", 3, 0, 0)])  # after it
    assert rollups.offer_days(db, "2026-11-17", "2026-11-23") == {"OFF-A": (15, 3)}


def test_dayparts_in_words():
    cond = {"all": [{"daypart": ["morning", "lunch"]}, {"any": [{"not": {"daypart": "evening"}}, {"weather": "rain"}]}]}
    assert offer_drafts.dayparts_of(cond) == ["morning", "lunch", "not evening"]


def test_an_experiment_paused_and_resumed_keeps_its_salt_and_arms(db: Database, root: Path, clock: FixedClock):
    experiment = {"salt": "exp-1", "holdout_pct": 10, "arms": {"default": 90}}
    offer = _offer("OFF-EXP", experiment=experiment)
    known = offer_drafts.known_for(root, load_stores(root), "chain")
    paused = offer_drafts.hold_experiment(db, "chain", offer, hold=True, known=known, live=None, by="mia",
                                          now=clock.time())
    assert paused.held_experiment == experiment and "experiment" not in paused.body and paused.ready
    assert "experiment" not in offer_drafts.draft_playbook(db, root)["chain"][-1]
    assert offer_drafts.offer_rows(db, root, today=TODAY, week={})[0].experiment == "paused"
    resumed = offer_drafts.hold_experiment(db, "chain", paused.body, hold=False, known=known, live=None, by="mia",
                                           now=clock.time())
    assert resumed.body["experiment"] == experiment and resumed.held_experiment is None and resumed.ready
