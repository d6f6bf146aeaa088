"""Head office's YAML and CSV files: loading, errors by file, line and field, and the dry run."""

from __future__ import annotations

from pathlib import Path

import pytest
from headoffice_files import HEADOFFICE, write_headoffice

from central import publishing
from central.__main__ import main
from central.content_files import ContentProblem, load_stores, load_tree
from sync.clock import FixedClock

BASE = "http://files.example"


def test_files_become_scoped_content_with_media_by_sha256(tmp_path):
    root = write_headoffice(tmp_path)
    tree = load_tree(root, BASE)
    chain = tree["chain"].content
    assert [p["sku"] for p in chain["products"]] == ["COF-001", "PAS-001"]
    assert chain["prices"][0] == {"sku": "COF-001", "price_cents": 180, "currency": "EUR"}  # CSV typed by schema
    assert chain["content_items"][0]["valid_until"] == "2027-01-01"  # dates stay text
    assert chain["schedules"][0]["priority"] == 1 and chain["playlists"][0]["items"] == ["txt-welcome"]
    (media,) = chain["media"]
    assert chain["products"][1]["image"] == media["sha256"] and media["url"] == f"{BASE}/media/{media['sha256']}"
    assert media["size"] == (root / "media" / "croissant.png").stat().st_size
    assert tree["region/north"].content == {"prices": [{"sku": "COF-001", "price_cents": 170, "currency": "EUR"}]}
    assert tree["store/s001"].content["inventory"][1] == {"sku": "PAS-001", "on_hand": 12}
    assert [s.scopes() for s in load_stores(root)][1] == ["chain", "region/north", "store/s002", "device/kiosk-2"]


@pytest.mark.parametrize("name, text, expected", [
    ("chain/offers.yaml", "- id: OFF-1\n  priority: ten\n  channels: [kiosk]\n  title: {en: x}\n",
     "chain/offers.yaml:2: offers[0] (OFF-1): field 'priority' must be int, got str"),
    ("chain/offers.yaml", "- id: OFF-1\n  priority: 1\n  channels: [kiosk]\n  title: {en: x}\n"
                          "- id: OFF-2\n  priority: 1\n  title: {en: y}\n",
     "chain/offers.yaml:5: offers[1] (OFF-2): missing field 'channels'"),
    ("chain/prices.csv", "sku,price_cents,currency\nCOF-001,180,EUR\nPAS-001,1.5.0,EUR\n",
     "chain/prices.csv:3: prices: field 'price_cents': '1.5.0' is not a number"),
    ("chain/prices.csv", "sku,price_cents\nCOF-001,180\n",
     "chain/prices.csv:2: prices[0] (COF-001): missing field 'currency'"),
    ("chain/products.yaml", "- sku: A\n  name: {en: a}\n  category: x\n  image: nowhere.png\n",
     "chain/products.yaml:4: products[0]: field 'image': no media file 'nowhere.png'"),
    ("chain/menus.yaml", "- id: M1\n  name: [oops\n", "chain/menus.yaml:3: YAML syntax error"),
    ("chain/widgets.yaml", "- id: W1\n", "chain/widgets.yaml:1: unknown section 'widgets'"),
    ("chain/more_prices.yaml", "prices:\n  - {sku: COF-001, price_cents: 1, currency: EUR}\n",
     "chain/prices.csv:2: prices[1]: duplicate key 'COF-001'"),
])
def test_errors_name_file_line_and_field(tmp_path, name, text, expected):
    root = write_headoffice(tmp_path, {**HEADOFFICE, name: text})
    with pytest.raises(ContentProblem) as err:
        load_tree(root, BASE)
    assert any(p.startswith(f"{root}/{expected}") for p in err.value.problems), err.value.problems


def test_a_media_file_no_screen_can_show_is_not_published(tmp_path):
    """A picture copied into media/ by hand goes through the devices' own media check before any bundle names it."""
    root = write_headoffice(tmp_path)
    (root / "media" / "croissant.png").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(900))
    with pytest.raises(ContentProblem) as err:
        load_tree(root, BASE)
    assert err.value.problems == [
        f"{root}/chain/products.yaml:7: products[1]: field 'image': media file 'croissant.png': a screen cannot show"
        " it: This file is a HEIC photo; screens show JPEG, PNG and WebP pictures, and MP4 or WebM videos."]


def test_dry_run_shows_each_store_its_share_and_publishes_nothing(tmp_path, capsys, clock: FixedClock):
    root = write_headoffice(tmp_path / "ho")
    config = tmp_path / "central.toml"
    config.write_text(f'[central]\ndsn = "{tmp_path / "c.db"}"\ncontent_dir = "{root}"\nkeys_dir = "{tmp_path}/k"\n'
                      '[broker]\nport = 1\n')  # no broker there: a dry run must not need one
    assert main(["--config", str(config), "publish", "--dry-run"], clock=clock) == 0
    out = capsys.readouterr().out.split("changes against what is live:")[0]  # the stores' shares; the changes after
    s001, s002 = out.split("store s002")
    assert "store s001 (region south, devices kiosk-1, sign-1)" in s001 and "store/s001" in s001
    assert "region/north" not in s001 and "region/north" in s002 and "store/s001" not in s002
    assert "chain                v1" in out and "prices 2" in out
    assert "effective: content_items 1, inventory 2, media 1, offers 1, playlists 1, prices 2, products 2" in s001


def test_cli_reports_every_problem_and_exits_2(tmp_path, capsys, clock: FixedClock):
    root = write_headoffice(tmp_path / "ho", {**HEADOFFICE, "chain/offers.yaml": "- id: X\n  priority: a\n",
                                              "chain/prices.csv": "sku,price_cents,currency\nA,b,EUR\n"})
    config = tmp_path / "central.toml"
    config.write_text(f'[central]\ndsn = "{tmp_path / "c.db"}"\ncontent_dir = "{root}"\n')
    assert main(["--config", str(config), "publish", "--dry-run"], clock=clock) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "store-edge-central: 2 problem(s); nothing was published"
    assert err[0].endswith("offers.yaml:2: offers[0] (X): field 'priority' must be int, got str")
    assert err[1].endswith("prices.csv:2: prices: field 'price_cents': 'b' is not a number")


def test_plan_skips_unchanged_content(tmp_path, db):
    tree = load_tree(write_headoffice(tmp_path), BASE)
    plans = publishing.plan(db, tree)
    assert {p.scope for p in plans} == {"chain", "region/north", "store/s001"}
    for p in plans:
        publishing.next_version(db, f"bundle:{p.scope}", p.sha256)
    assert all(p.unchanged for p in publishing.plan(db, tree))
    assert not any(p.unchanged for p in publishing.plan(db, tree, force=True))


def test_example_headoffice_folder_is_valid():
    root = Path(__file__).resolve().parents[2] / "config" / "headoffice.example"
    tree = load_tree(root, BASE, load_stores(root))  # every device's share passes the device's own check
    assert tree["chain"].content["offers"]


MARKETER_OFFERS = """\
- id: OFF-1
  priority: 10
  channels: [kiosk, signage]
  title: {en: Espresso and croissant, bg: Еспресо и кроасан}
  sku: COF-001
- id: OFF-KISOK
  priority: 10
  channels: [kisok]
  title: {en: Typo, bg: Грешка}
- id: OFF-RAIN
  priority: 10
  channels: [kiosk]
  title: {en: Rain, bg: Дъжд}
  conditions: {weather: drizzle}
- id: OFF-DATE
  priority: 10
  channels: [kiosk]
  title: {en: Date, bg: Дата}
  schedule: {from: 2026-12-32}
- id: OFF-GHOST
  priority: 10
  channels: [kiosk]
  title: {en: Ghost, bg: Призрак}
  sku: NO-SUCH
- id: OFF-GIVEAWAY
  priority: 10
  channels: [kiosk]
  title: {en: Giveaway, bg: Подарък}
  sku: COF-001
  discount: {percent: 120}
- id: OFF-ENGLISH
  priority: 10
  channels: [kiosk]
  title: {en: English only}
"""


def test_content_a_device_would_refuse_is_not_published_and_every_problem_is_named(tmp_path, capsys,
                                                                                   clock: FixedClock):
    """Issue 13: each of these passed the dry run and was published; each is now named at its file and line."""
    root = write_headoffice(tmp_path / "ho", {
        **HEADOFFICE, "chain/offers.yaml": MARKETER_OFFERS,
        "chain/prices.csv": "sku,price_cents,currency\nCOF-001,180,EUR\nPAS-001,3.50,EUR\n",
        "region/north/prices.csv": "sku,price_cents,currency\nCOF-001,170,EUR\nGHOST-1,100,EUR\n"})
    config = tmp_path / "central.toml"
    config.write_text(f'[central]\ndsn = "{tmp_path / "c.db"}"\ncontent_dir = "{root}"\nkeys_dir = "{tmp_path}/k"\n'
                      '[broker]\nport = 1\n')
    for argv in (["publish", "--dry-run"], ["publish"]):
        assert main(["--config", str(config), *argv], clock=clock) == 2
        err = capsys.readouterr().err.splitlines()
        offers, prices, north = (f"{root}/{name}" for name in ("chain/offers.yaml", "chain/prices.csv",
                                                                "region/north/prices.csv"))
        for expected in [
            f"{offers}:8: offer OFF-KISOK: field 'channels': 'kisok' is not one of kiosk, tablet, signage",
            f"{offers}:14: offer OFF-RAIN: field 'conditions.weather': 'drizzle' is not one of clear, cloudy, rain",
            f"{offers}:19: offer OFF-DATE: field 'schedule.from': must be a date like 2026-11-22",
            f"{offers}:24: offer OFF-GHOST: field 'sku': no product 'NO-SUCH'",
            f"{offers}:30: offer OFF-GIVEAWAY: field 'discount.percent': 120 is not a percentage from 0 to 100",
            f"{offers}:34: offer OFF-ENGLISH: field 'title': no text in bg (the chain's languages: bg, en)",
            f"{prices}:3: prices: field 'price_cents': '3.50' is not a whole number of cents (for 3.50 write 350)",
            f"{north}:3: price GHOST-1: field 'sku': no product 'GHOST-1'",
        ]:
            assert any(line.startswith(expected) for line in err), (expected, err)
        assert err[-1] == "store-edge-central: 8 problem(s); nothing was published"


def test_yaml_syntax_errors_name_file_and_line(tmp_path):
    root = write_headoffice(tmp_path, {**HEADOFFICE, "chain/offers.yaml": "- id: OFF-1\n  title: {en: x\n"})
    with pytest.raises(ContentProblem) as err:
        load_tree(root, BASE, load_stores(root))
    assert err.value.problems[0].startswith(f"{root}/chain/offers.yaml:3: YAML syntax error: ")
