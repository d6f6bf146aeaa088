"""Signage drafts in the central store (schema 15), on SQLite and PostgreSQL: a draft playlist, layout or schedule entry
may hold what a device would refuse, a ready one may not (the device's own check says why, in its words); the draft
signage the publishing pipeline takes holds the live items with the ready drafts only."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from headoffice_files import write_headoffice

from central import drafts, signage_drafts
from central.content_diff import changes
from central.content_files import load_stores, media_files
from central.db import Database
from central.signage_drafts import SignageRefused
from sync.clock import FixedClock

FILES = {
    "stores.csv": "store,region,devices\ns001,south,signage-1\ns002,north,signage-2\n",
    "chain/signage.yaml": """\
content_items:
- {id: txt-welcome, kind: text, text: {en: Welcome}}
- {id: txt-wifi, kind: text, duration_s: 6, text: {en: Free Wi-Fi}}
playlists:
- {id: pl-morning, order: sequential, items: [txt-welcome, txt-wifi]}
schedules:
- id: sch-morning
  playlist: pl-morning
  priority: 10
  dayparts: [{from: '06:00', to: '11:00'}]
""",
    "store/s001/signage.yaml": "playlists:\n- {id: pl-store, items: [txt-wifi]}\n",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_headoffice(tmp_path / "ho", FILES)


def _save(db: Database, root: Path, section: str, item: dict, *, ready: bool, clock: FixedClock,
          scope: str = "chain") -> signage_drafts.Draft:
    view = signage_drafts.device_view(root, db, load_stores(root), scope, (section, item))
    live = signage_drafts.live_items(db, root).get((scope, section, item["id"]))
    return signage_drafts.save_draft(db, scope, section, item, ready=ready, view=view, live=live, by="mia",
                                     now=clock.time())


def test_a_ready_draft_is_refused_with_the_devices_own_words(db: Database, root: Path, clock: FixedClock):
    bad_weight = {"id": "pl-morning", "order": "weighted",
                  "items": [{"item": "txt-welcome", "weight": -2}, "txt-wifi"]}
    with pytest.raises(SignageRefused) as refused:
        _save(db, root, "playlists", bad_weight, ready=True, clock=clock)
    assert refused.value.problems == ["playlist pl-morning: playlist slot 'txt-welcome': weight must not be negative"]
    assert signage_drafts.get_draft(db, "chain", "playlists", "pl-morning") is None  # nothing saved

    missing = {"id": "pl-morning", "items": ["txt-welcome", "txt-gone"]}
    with pytest.raises(SignageRefused) as refused:
        _save(db, root, "playlists", missing, ready=True, clock=clock)
    assert refused.value.problems == ["playlist pl-morning: field 'items': no content item 'txt-gone'"]

    overnight_typo = {"id": "sch-night", "playlist": "pl-morning", "dayparts": [{"from": "22:00", "to": "26:00"}]}
    with pytest.raises(SignageRefused) as refused:
        _save(db, root, "schedules", overnight_typo, ready=True, clock=clock)
    assert refused.value.problems == ["schedule sch-night: daypart time '26:00' is not HH:MM"]

    no_zones = {"id": "lay-main", "zones": []}
    with pytest.raises(SignageRefused) as refused:
        _save(db, root, "layouts", no_zones, ready=True, clock=clock)
    assert refused.value.problems == ["layout lay-main: no zones"]

    schema = {"id": "sch-x", "playlist": "pl-morning", "priority": "high"}
    with pytest.raises(SignageRefused) as refused:
        _save(db, root, "schedules", schema, ready=True, clock=clock)
    assert refused.value.problems == ["schedule sch-x: field 'priority' must be int, got str"]

    kept = _save(db, root, "playlists", bad_weight, ready=False, clock=clock)  # as a draft it is kept
    assert not kept.ready and kept.base_sha256 is not None
    assert signage_drafts.draft_signage(db, root)["chain"]["playlists"][0]["order"] == "sequential"  # live goes out


def test_a_schedule_may_name_a_playlist_of_its_own_scope_or_above_only(db: Database, root: Path, clock: FixedClock):
    entry = {"id": "sch-store", "playlist": "pl-store", "dayparts": [{"from": "22:00", "to": "02:00"}]}
    assert _save(db, root, "schedules", entry, ready=True, clock=clock, scope="store/s001").ready
    with pytest.raises(SignageRefused) as refused:
        _save(db, root, "schedules", dict(entry, id="sch-chain"), ready=True, clock=clock)
    assert refused.value.problems == ["schedule sch-chain: field 'playlist': no playlist 'pl-store'"]


def test_the_draft_signage_holds_the_live_items_with_the_ready_drafts(db: Database, root: Path, clock: FixedClock):
    weighted = {"id": "pl-morning", "order": "weighted",
                "items": [{"item": "txt-welcome", "duration_s": 12, "weight": 3}, "txt-wifi"]}
    _save(db, root, "playlists", weighted, ready=True, clock=clock)
    layout = {"id": "lay-split", "orientation": "landscape", "zones": [
        {"id": "main", "kind": "playlist", "x": 0, "y": 0, "w": 0.7, "h": 1},
        {"id": "side", "kind": "playlist", "x": 0.7, "y": 0, "w": 0.3, "h": 1, "playlist": "pl-morning"}]}
    _save(db, root, "layouts", layout, ready=True, clock=clock)
    _save(db, root, "schedules", {"id": "sch-late", "playlist": "pl-nope"}, ready=False, clock=clock)
    out = signage_drafts.draft_signage(db, root)
    assert out["chain"] == {"content_items": [{"id": "txt-welcome", "kind": "text", "text": {"en": "Welcome"}}, {
        "id": "txt-wifi", "kind": "text", "duration_s": 6, "text": {"en": "Free Wi-Fi"}}],
        "playlists": [weighted], "schedules": [{
        "id": "sch-morning", "playlist": "pl-morning", "priority": 10, "dayparts": [{"from": "06:00", "to": "11:00"}]}],
        "layouts": [layout]}
    assert out["store/s001"] == {"playlists": [{"id": "pl-store", "items": ["txt-wifi"]}]}
    changes = {(r.item_id, r.change) for r in signage_drafts.rows(db, root, "playlists")}
    assert changes == {("pl-morning", "ready"), ("pl-store", "")}
    assert [(r.item_id, r.change) for r in signage_drafts.rows(db, root, "schedules")] == [
        ("sch-late", "draft"), ("sch-morning", "")]
    assert signage_drafts.discard(db, "chain", "playlists", "pl-morning")
    assert signage_drafts.draft_signage(db, root)["chain"]["playlists"][0]["order"] == "sequential"


SLIDES = {
    "stores.csv": "store,region,devices\ns001,south,signage-1\n",
    "chain/products.yaml": "- {sku: COF-001, name: {en: Espresso, bg: Еспресо}, category: coffee}\n",
    "chain/signage.yaml": """\
content_items:
- {id: txt-welcome, kind: text, text: {en: Welcome, bg: Добре дошли}}
playlists:
- {id: pl-morning, items: [txt-welcome]}
- {id: pl-spare, items: [txt-welcome]}
schedules:
- {id: sch-morning, playlist: pl-morning, priority: 10}
""",
}


@pytest.fixture
def slides(tmp_path: Path) -> Path:
    return write_headoffice(tmp_path / "slides", SLIDES)


def _ready(db: Database, root: Path, section: str, item: dict, clock: FixedClock) -> signage_drafts.Draft:
    view = signage_drafts.device_view(root, db, load_stores(root), "chain", (section, item))
    live = signage_drafts.live_items(db, root).get(("chain", section, item["id"]))
    return signage_drafts.save_draft(db, "chain", section, item, ready=True, view=view, live=live, by="mia",
                                     now=clock.time(), media=media_files(root))


def _chain(db: Database, root: Path) -> dict:
    return drafts.draft_content(db, root, "https://ho.example")[1]["chain"].content


def test_a_content_item_is_saved_ready_only_when_the_device_accepts_it(db: Database, slides: Path, clock: FixedClock):
    with pytest.raises(SignageRefused) as refused:
        _ready(db, slides, "content_items", {"id": "txt-sale", "kind": "text", "text": {"en": "Sale"}}, clock)
    assert refused.value.problems == ["content item txt-sale: field 'text': no text in bg (the chain's languages:"
                                      " bg, en)"]
    with pytest.raises(SignageRefused) as refused:
        _ready(db, slides, "content_items", {"id": "img-cake", "kind": "image", "media": "cake.png"}, clock)
    assert refused.value.problems == ["content item img-cake: field 'media': no media file 'cake.png' in the media"
                                      " library"]
    with pytest.raises(SignageRefused) as refused:
        _ready(db, slides, "content_items", {"id": "poster", "kind": "product", "sku": "TEA-9",
                                             "text": {"en": "Hot", "bg": "Горещ"}}, clock)
    assert refused.value.problems == ["content item poster: field 'sku': no product 'TEA-9'"]
    assert signage_drafts.drafts(db) == {}  # nothing saved

    sale = {"id": "txt-sale", "kind": "text", "text": {"en": "Sale", "bg": "Разпродажба"}}
    picture = {"id": "img-croissant", "kind": "image", "media": "croissant.png", "duration_s": 5}
    assert _ready(db, slides, "content_items", sale, clock).ready
    assert _ready(db, slides, "content_items", picture, clock).ready
    _ready(db, slides, "playlists", {"id": "pl-morning", "items": ["txt-welcome", "txt-sale", "img-croissant"]},
           clock)
    chain = _chain(db, slides)
    sha = hashlib.sha256((slides / "media" / "croissant.png").read_bytes()).hexdigest()
    assert [i["id"] for i in chain["content_items"]] == ["txt-welcome", "img-croissant", "txt-sale"]
    assert chain["content_items"][1]["media"] == sha  # the file's name became its sha256, as the files' items do
    assert [m["sha256"] for m in chain["media"]] == [sha]
    assert signage_drafts.get_draft(db, "chain", "content_items", "img-croissant").body["media"] == "croissant.png"


def test_a_playlist_a_schedule_plays_cannot_be_removed(db: Database, slides: Path, clock: FixedClock):
    with pytest.raises(SignageRefused) as refused:
        _ready(db, slides, "playlists", signage_drafts.removal("playlists", "pl-morning"), clock)
    assert refused.value.problems == ["schedule sch-morning: field 'playlist': no playlist 'pl-morning'"]
    with pytest.raises(SignageRefused) as refused:
        _ready(db, slides, "playlists", signage_drafts.removal("playlists", "pl-never"), clock)
    assert refused.value.problems == ["playlist pl-never: there is no live playlist pl-never to remove"]
    assert signage_drafts.drafts(db) == {}

    assert _ready(db, slides, "playlists", signage_drafts.removal("playlists", "pl-spare"), clock).ready
    assert [p["id"] for p in _chain(db, slides)["playlists"]] == ["pl-morning"]
    live = drafts.draft_content(db, slides, "https://ho.example", waiting=False)[1]["chain"].content
    assert [c.text for c in changes(live, _chain(db, slides))] == ["playlists: removed pl-spare"]  # the publish diff
    assert [(r.item_id, r.change) for r in signage_drafts.rows(db, slides, "playlists")] == [
        ("pl-morning", ""), ("pl-spare", "removed")]
    assert signage_drafts.discard(db, "chain", "playlists", "pl-spare")  # undone
    assert [p["id"] for p in _chain(db, slides)["playlists"]] == ["pl-morning", "pl-spare"]


CATALOGUE = {
    "stores.csv": "store,region,devices\ns001,south,kiosk-1\n",
    "chain/products.csv": "sku,name.en,name.bg,category\nCOF-001,Espresso,Еспресо,coffee\n",
    "chain/prices.csv": "sku,price_cents,currency\nCOF-001,180,EUR\n",
    "region/south/prices.csv": "sku,price_cents,currency\nCOF-001,170,EUR\n",
}


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    return write_headoffice(tmp_path / "catalogue", CATALOGUE)


def _catalogue_draft(db: Database, root: Path, scope: str, section: str, item: dict,
                     clock: FixedClock) -> signage_drafts.Draft:
    view = signage_drafts.device_view(root, db, load_stores(root), scope, (section, item))
    live = signage_drafts.live_items(db, root).get((scope, section, item["sku"]))
    return signage_drafts.save_draft(db, scope, section, item, ready=True, view=view, live=live, by="mia",
                                     now=clock.time(), media=media_files(root))


def test_a_price_or_product_is_saved_ready_only_when_the_device_accepts_it(db: Database, catalogue: Path,
                                                                           clock: FixedClock):
    refusals = [
        ("region/south", "prices", {"sku": "COF-001", "price_cents": -5, "currency": "EUR"},
         "price COF-001: field 'price_cents': -5 is below 0 (whole cents, like 150 for 1.50)"),
        ("chain", "prices", {"sku": "COF-999", "price_cents": 150, "currency": "EUR"},
         "price COF-999: field 'sku': no product 'COF-999'"),
        ("chain", "prices", {"sku": "COF-001", "price_cents": "1,50", "currency": "EUR"},
         "price COF-001: field 'price_cents' must be int, got str"),
        ("chain", "products", {"sku": "TEA-001", "name": {"en": "Tea"}, "category": "tea"},
         "product TEA-001: field 'name': no text in bg (the chain's languages: bg, en)"),
        ("chain", "products", {"sku": "TEA-001", "name": {"en": "Tea", "bg": "Чай"}, "category": "tea",
                               "image": "tea.png"},
         "product TEA-001: field 'image': no media file 'tea.png' in the media library"),
    ]
    for scope, section, item, problem in refusals:
        with pytest.raises(SignageRefused) as refused:
            _catalogue_draft(db, catalogue, scope, section, item, clock)
        assert refused.value.problems == [problem]
    assert signage_drafts.drafts(db) == {}  # nothing saved

    tea = {"sku": "TEA-001", "name": {"en": "Tea", "bg": "Чай"}, "category": "tea", "image": "croissant.png"}
    assert _catalogue_draft(db, catalogue, "chain", "products", tea, clock).ready
    assert _catalogue_draft(db, catalogue, "chain", "prices", {"sku": "TEA-001", "price_cents": 120,
                                                               "currency": "EUR"}, clock).ready
    assert _catalogue_draft(db, catalogue, "region/south", "prices", {"sku": "COF-001", "price_cents": 160,
                                                                      "currency": "EUR"}, clock).ready
    tree = drafts.draft_content(db, catalogue, "https://ho.example")[1]
    sha = hashlib.sha256((catalogue / "media" / "croissant.png").read_bytes()).hexdigest()
    assert [(p["sku"], p.get("image")) for p in tree["chain"].content["products"]] == [
        ("COF-001", None), ("TEA-001", sha)]
    assert tree["chain"].content["prices"][1] == {"sku": "TEA-001", "price_cents": 120, "currency": "EUR"}
    assert tree["region/south"].content["prices"] == [{"sku": "COF-001", "price_cents": 160, "currency": "EUR"}]
    live = drafts.draft_content(db, catalogue, "https://ho.example", waiting=False)[1]
    assert [c.text for c in changes(live["region/south"].content, tree["region/south"].content)] == [
        "prices: changed COF-001 (price (cents) 170 → 160)"]


def test_a_regions_price_override_is_removed_back_to_the_chains(db: Database, catalogue: Path, clock: FixedClock):
    gone = signage_drafts.removal("prices", "COF-001")
    assert gone == {"sku": "COF-001", "#removed": True}
    assert _catalogue_draft(db, catalogue, "region/south", "prices", gone, clock).ready
    tree = drafts.draft_content(db, catalogue, "https://ho.example")[1]
    assert tree["region/south"].content["prices"] == []  # the devices drop the override
    assert [(r.scope, r.item_id, r.change) for r in signage_drafts.rows(db, catalogue, "prices")] == [
        ("chain", "COF-001", ""), ("region/south", "COF-001", "removed")]
    with pytest.raises(SignageRefused) as refused:
        _catalogue_draft(db, catalogue, "chain", "products", signage_drafts.removal("products", "TEA-404"), clock)
    assert refused.value.problems == ["product TEA-404: there is no live product TEA-404 to remove"]


def test_a_menu_is_drafted_and_checked_as_the_kiosk_loads_it(db: Database, catalogue: Path, clock: FixedClock):
    menu = {"id": "menu-morning", "name": {"en": "Morning", "bg": "Сутрин"}, "items": ["COF-001", "TEA-404"],
            "dayparts": [{"from": "06:00", "to": "11:00"}]}
    view = signage_drafts.device_view(catalogue, db, load_stores(catalogue), "chain", ("menus", menu))
    assert signage_drafts.check_item("menus", menu, view) == ["menu menu-morning: field 'items': no product 'TEA-404'"]
    late = dict(menu, items=["COF-001"], dayparts=[{"from": "06:00", "to": "25:00"}])
    view = signage_drafts.device_view(catalogue, db, load_stores(catalogue), "chain", ("menus", late))
    assert signage_drafts.check_item("menus", late, view) == [
        "menu menu-morning: field 'dayparts[0]': {'from': '06:00', 'to': '25:00'} is not {'from': 'HH:MM', 'to':"
        " 'HH:MM'}"]
    good = dict(menu, items=["COF-001"])
    view = signage_drafts.device_view(catalogue, db, load_stores(catalogue), "chain", ("menus", good))
    assert signage_drafts.save_draft(db, "chain", "menus", good, ready=True, view=view, live=None, by="mia",
                                     now=clock.time()).ready
    assert drafts.draft_content(db, catalogue, "https://ho.example")[1]["chain"].content["menus"] == [good]


def test_a_brand_is_saved_ready_only_when_every_screen_can_read_it(db: Database, catalogue: Path, clock: FixedClock):
    brand = {"id": "demo", "name": "Demo", "primary": "#1d5c50", "accent": "#f2b33d", "background": "#fbf6ec",
             "text": "#b0b0b0", "logo": "croissant.png"}
    view = signage_drafts.device_view(catalogue, db, load_stores(catalogue), "chain", ("brand", brand))
    problems = signage_drafts.check_item("brand", brand, view, media_files(catalogue))
    assert problems[0].startswith("brand demo: field 'text': #b0b0b0 as text on the background #fbf6ec has a"
                                  " contrast of ")
    assert signage_drafts.check_item("brand", dict(brand, font="croissant.png"), view, media_files(catalogue)) == [
        "brand demo: field 'font': croissant.png does not load as a TrueType or OpenType font"]
    readable = dict(brand, text="#1c2522")
    view = signage_drafts.device_view(catalogue, db, load_stores(catalogue), "chain", ("brand", readable))
    assert signage_drafts.save_draft(db, "chain", "brand", readable, ready=True, view=view, live=None, by="mia",
                                     now=clock.time(), media=media_files(catalogue)).ready
    sha = hashlib.sha256((catalogue / "media" / "croissant.png").read_bytes()).hexdigest()
    assert drafts.draft_content(db, catalogue, "https://ho.example")[1]["chain"].content["brand"] == [
        dict(readable, logo=sha)]
