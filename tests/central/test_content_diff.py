"""What a publication changes against what is live, in a marketer's words (central.content_diff), and the command
line's dry run printing it per scope."""

from __future__ import annotations

from pathlib import Path

from headoffice_files import write_headoffice

from central import offer_drafts
from central.__main__ import main
from central.content_diff import changes
from central.content_files import load_stores
from central.db import open_database
from sync.clock import FixedClock

LIVE = {"offers": [{"id": "OFF-1", "priority": 10, "channels": ["kiosk"], "title": {"en": "Coffee", "bg": "Кафе"}},
                   {"id": "OFF-2", "priority": 5, "channels": ["kiosk"], "title": {"en": "Tea"}}],
        "prices": [{"sku": "COF-001", "price_cents": 180, "currency": "EUR"}]}


def test_offers_added_changed_and_removed_field_by_field():
    new = {"offers": [{"id": "OFF-1", "priority": 12, "channels": ["kiosk", "signage"],
                       "title": {"en": "Coffee", "bg": "Кафе и кифла", "ru": "Кофе"},
                       "conditions": {"daypart": "morning"}},
                      {"id": "OFF-3", "priority": 1, "channels": ["kiosk"], "title": {"en": "New"}}],
           "prices": LIVE["prices"]}
    (offers,) = changes(LIVE, new)
    assert offers.added == ("OFF-3",) and offers.removed == ("OFF-2",)
    (one,) = offers.changed
    assert one.fields == ("channels kiosk → kiosk, signage", 'condition set to {"daypart": "morning"}',
                          "priority 10 → 12", 'copy (bg) "Кафе" → "Кафе и кифла"', 'copy (ru) set to "Кофе"')
    assert offers.text.startswith("offers: added OFF-3; changed OFF-1 (channels kiosk → kiosk, signage;")
    assert offers.text.endswith("; removed OFF-2")


def test_other_sections_and_nothing_changed():
    assert changes(LIVE, LIVE) == []
    caps = {"offers": [{**LIVE["offers"][0], "caps": {"per_customer_per_day": 1, "per_store_per_day": 50}}]}
    (offers,) = changes(caps, {"offers": [{**LIVE["offers"][0], "caps": {"per_customer_per_day": 2}}]})
    assert offers.changed[0].fields == ("caps: per customer per day 1 → 2",
                                        "caps: per store per day taken out (was 50)")
    (prices,) = changes(LIVE, {**LIVE, "prices": [{"sku": "COF-001", "price_cents": 190, "currency": "EUR"}]})
    assert prices.text == "prices: changed COF-001 (price (cents) 180 → 190)"


def test_the_dry_run_prints_the_changes_against_live_per_scope(tmp_path: Path, capsys, clock: FixedClock):
    root = write_headoffice(tmp_path / "ho")
    config = tmp_path / "central.toml"
    config.write_text(f'[central]\ndsn = "{tmp_path / "c.db"}"\ncontent_dir = "{root}"\nkeys_dir = "{tmp_path}/k"\n'
                      '[broker]\nport = 1\n')  # no broker: a dry run needs none
    db = open_database(str(tmp_path / "c.db"))
    new = {"id": "OFF-NEW", "priority": 3, "channels": ["kiosk"], "title": {"en": "Two", "bg": "Две"}, "sku": "PAS-001"}
    offer_drafts.save_draft(db, "chain", new, ready=True, live=None, by="mia", now=clock.time(),
                            known=offer_drafts.known_for(root, load_stores(root), "chain"))
    db.close()
    assert main(["--config", str(config), "publish", "--dry-run"], clock=clock) == 0
    out = capsys.readouterr().out.split("changes against what is live:\n")[1]
    assert "chain:\n  " in out and "  offers: added OFF-1, OFF-NEW\n" in out  # the draft too; nothing is live yet
    assert "region/north:\n  prices: added COF-001" in out


def test_signage_changes_read_as_items_zones_and_dayparts():
    live = {"playlists": [{"id": "pl", "items": ["a", {"item": "b", "duration_s": 8}], "order": "sequential"}],
            "schedules": [{"id": "s", "playlist": "pl", "dayparts": [{"from": "07:00", "to": "11:00"}]}],
            "layouts": [{"id": "L", "zones": [{"id": "main", "kind": "playlist", "x": 0, "y": 0, "w": 1, "h": 1}]}]}
    new = {"playlists": [{"id": "pl", "items": [{"item": "b", "duration_s": 12}, "a", {"item": "c", "weight": 2}],
                          "order": "weighted"}],
           "schedules": [{"id": "s", "playlist": "pl",
                          "dayparts": [{"from": "07:00", "to": "10:30"}, {"from": "22:00", "to": "02:00"}]}],
           "layouts": [{"id": "L", "zones": [{"id": "main", "kind": "playlist", "x": 0, "y": 0, "w": 0.7, "h": 1},
                                             {"id": "news", "kind": "ticker", "x": 0.7, "y": 0, "w": 0.3, "h": 1}]}]}
    layouts, playlists, schedules = changes(live, new)
    assert playlists.changed[0].fields == ("item: b: seconds on screen 8 → 12", "item: c added (weight 2)",
                                           "item order a, b → b, a", 'order "sequential" → "weighted"')
    assert schedules.text == "schedules: changed s (dayparts 07:00–11:00 → 07:00–10:30, 22:00–02:00)"
    assert layouts.changed[0].fields == ("zone: main: width 1 → 0.7",
                                         'zone: news added (kind "ticker", left 0.7, top 0, width 0.3, height 1)')
    (taken_out,) = changes(new, {**new, "playlists": [{"id": "pl", "items": ["b", "b"], "order": "weighted"}]})
    assert taken_out.changed[0].fields == ("item: b: seconds on screen taken out (was 12)", "item: b (2) added",
                                           "item: a taken out", "item: c taken out")
