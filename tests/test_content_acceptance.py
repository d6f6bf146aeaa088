"""The one check both ends run on content before it is used (sync/protocol/acceptance.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.protocol.acceptance import Known, check_content

DEMO = Path(__file__).resolve().parent.parent / "assets" / "demo"
SECTIONS = ("products", "prices", "offers", "menus", "content_items", "playlists", "schedules", "layouts",
            "text_templates", "media", "brand")
TITLE = {"en": "Offer", "bg": "Оферта", "ru": "Предложение"}


def demo_view() -> dict[str, list]:
    view = {name: json.loads((DEMO / f"{name}.json").read_text(encoding="utf-8")) for name in SECTIONS}
    view["inventory"] = json.loads((DEMO / "inventory_s001.json").read_text(encoding="utf-8"))
    return view


def test_the_demo_chain_passes():
    assert check_content(demo_view()) == []


def offer(**fields) -> dict:
    return {"id": "OFF-X", "priority": 5, "channels": ["kiosk"], "title": TITLE, **fields}


@pytest.mark.parametrize("section, item, message", [
    ("offers", offer(channels=["kisok"]),
     "offer OFF-X: field 'channels': 'kisok' is not one of kiosk, tablet, signage"),
    ("offers", offer(conditions={"weather": "drizzle"}),
     "offer OFF-X: field 'conditions.weather': 'drizzle' is not one of clear, cloudy, rain, snow, storm"),
    ("offers", offer(schedule={"from": "2026-12-32"}),
     "offer OFF-X: field 'schedule.from': must be a date like 2026-11-22"),
    ("offers", offer(sku="NO-SUCH"), "offer OFF-X: field 'sku': no product 'NO-SUCH'"),
    ("offers", offer(discount={"percent": 120}),
     "offer OFF-X: field 'discount.percent': 120 is not a percentage from 0 to 100"),
    ("offers", offer(title={"en": "Only English"}),
     "offer OFF-X: field 'title': no text in bg, ru (the chain's languages: bg, en, ru)"),
    ("products", {"sku": "P-X", "name": TITLE, "category": "tea", "category_name": {"en": "Tea"}},
     "product P-X: field 'category_name': no text in bg, ru (the chain's languages: bg, en, ru)"),
    ("prices", {"sku": "NO-SUCH", "price_cents": 100, "currency": "EUR"}, "price NO-SUCH: field 'sku': no product"),
    ("prices", {"sku": "COF-001", "price_cents": 100, "was_cents": -1, "currency": "EUR"},
     "price COF-001: field 'was_cents': -1 is below 0"),
    ("menus", {"id": "m-x", "name": TITLE, "items": ["NO-SUCH"]}, "menu m-x: field 'items': no product 'NO-SUCH'"),
    ("menus", {"id": "m-x", "name": TITLE, "items": [], "dayparts": [{"from": "25:99", "to": "x"}]},
     "menu m-x: field 'dayparts[0]':"),
    ("schedules", {"id": "s-x", "playlist": "pl-none", "dates": ["2026-12-32"]},
     "schedule s-x: field 'dates': '2026-12-32' is not a date like 2026-11-22"),
    ("schedules", {"id": "s-x", "playlist": "pl-none"}, "schedule s-x: field 'playlist': no playlist 'pl-none'"),
    ("content_items", {"id": "i-x", "kind": "image"}, "content item i-x: a image needs 'media'"),
    ("content_items", {"id": "poster-x", "kind": "product"},
     "content item poster-x: a product poster needs 'sku' (the product it shows)"),
    ("content_items", {"id": "poster-x", "kind": "product", "sku": "NO-SUCH"},
     "content item poster-x: field 'sku': no product 'NO-SUCH'"),
    ("content_items", {"id": "txt-x", "kind": "text", "sku": "NO-SUCH", "text": TITLE},
     "content item txt-x: field 'sku': no product 'NO-SUCH'"),
    ("content_items", {"id": "poster-x", "kind": "product", "sku": "PAS-004", "text": {"en": "Pumpkin pastry"}},
     "content item poster-x: field 'text': no text in bg, ru (the chain's languages: bg, en, ru)"),
])
def test_each_kind_of_bad_content_is_named(section, item, message):
    view = demo_view()
    view[section] = [*view[section], item]
    problems = [str(p) for p in check_content(view)]
    assert any(p.startswith(message) for p in problems), problems


def test_every_problem_is_reported_and_a_device_judges_only_what_a_bundle_brings():
    view = demo_view()
    bad = [offer(id="OFF-A", channels=["kisok"]), offer(id="OFF-B", conditions={"weather": "drizzle"})]
    view["offers"] = [*view["offers"], *bad]
    view["prices"] = [*view["prices"], {"sku": "GHOST", "price_cents": 1, "currency": "EUR"}]
    assert {p.key for p in check_content(view)} == {"OFF-A", "OFF-B", "GHOST"}
    assert {p.key for p in check_content({"offers": bad}, Known.of(view))} == {"OFF-A", "OFF-B"}


def test_references_wait_for_the_section_they_point_into():
    """A store bundle that lands before the chain's products is judged when they are there."""
    assert check_content({"prices": [{"sku": "COF-001", "price_cents": 180, "currency": "EUR"}]}) == []


@pytest.mark.parametrize(("item", "message"), [
    ({"id": "#chain", "name": "every store", "global_holdout": {"share_pct": 100, "salt": "s"}},
     "global holdout: share_pct: must be a number from 0 to 50"),
    ({"id": "#chain", "name": "every store", "global_holdout": {"share_pct": 5, "salt": ""}},
     "global holdout: salt: must be a word of 1 to 64 characters"),
    ({"id": "s001", "name": "Vitosha", "global_holdout": {"share_pct": 5, "salt": "s"}},
     "field 'global_holdout': the chain's setting, sent on the chain's own item, not a store's"),
])
def test_a_global_holdout_a_device_could_not_apply_is_refused(item, message):
    """What an attacker (or a bug) would send to hold every customer out, or out of one store only."""
    assert [p.message for p in check_content({"stores": [item]})] == [message]
    assert check_content({"stores": [{**item, "id": "#chain", "global_holdout": {"share_pct": 5, "salt": "s"}}]}) == []
