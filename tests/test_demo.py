"""The demo chain's data and ``python -m demo.store --once`` end to end."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from sync.protocol.content import SECTIONS, validate

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets" / "demo"
FILES = sorted(ASSETS.glob("*.json"))


def section_of(path: Path) -> str:
    """products.json -> products; inventory_s001.json -> inventory."""
    return path.stem if path.stem in SECTIONS else path.stem.rsplit("_", 1)[0]


def load(name: str) -> list[dict]:
    return json.loads((ASSETS / f"{name}.json").read_text(encoding="utf-8"))


def run_demo(var: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORE_EDGE_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run([sys.executable, "-m", "demo.store", "--once", "--var", str(var), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, encoding="utf-8", timeout=60)


def count(output: str, label: str) -> int:
    match = re.search(rf"^\s*{label}: (\d+)", output, re.MULTILINE)
    assert match, f"no '{label}:' line in:\n{output}"
    return int(match.group(1))


# --- the data ---------------------------------------------------------------------------------
def test_the_demo_has_every_file():
    assert {section_of(p) for p in FILES} == set(SECTIONS)
    assert (ASSETS / "inventory_s001.json") in FILES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_asset_validates_against_its_section(path: Path):
    items = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(items, list) and items
    validate({section_of(path): items})
    allowed = set(SECTIONS[section_of(path)].fields)
    for item in items:
        assert set(item) <= allowed, f"{path.name}: fields outside the schema: {set(item) - allowed}"


def test_references_point_at_things_that_exist():
    skus = {p["sku"] for p in load("products")}
    assert {p["sku"] for p in load("prices")} == skus
    assert {i["sku"] for i in load("inventory_s001")} == skus
    for offer in load("offers"):
        assert offer.get("sku") is None or offer["sku"] in skus, offer["id"]
        assert set(offer["channels"]) <= {"kiosk", "tablet", "signage"}, offer["id"]
    for menu in load("menus"):
        assert set(menu["items"]) <= skus, menu["id"]
        assert all(set(v) <= skus for v in menu["weather"].values()), menu["id"]
    for pair in load("co_purchase"):
        assert pair["a"] in skus and pair["b"] in skus and pair["a"] != pair["b"]
    slides = {c["id"] for c in load("content_items")}
    playlists = {p["id"]: p for p in load("playlists")}
    assert all({s if isinstance(s, str) else s["item"] for s in p["items"]} <= slides for p in playlists.values())
    assert all(s["playlist"] in playlists for s in load("schedules"))
    templates = {t["id"] for t in load("text_templates")}
    media = {m["sha256"] for m in load("media")}
    for item in load("content_items"):
        assert item.get("template") is None or item["template"] in templates, item["id"]
        assert item.get("media") is None or item["media"] in media, item["id"]
    for layout in load("layouts"):
        assert all(z.get("playlist") is None or z["playlist"] in playlists for z in layout["zones"]), layout["id"]
    for profile in load("profiles"):
        assert set(profile["purchase_summary"]["top_skus"]) <= skus, profile["profile_id"]


def test_signage_pictures_are_the_files_media_json_names():
    for entry in load("media"):
        data = (ASSETS / entry["url"]).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry["sha256"], entry["size"]), entry["url"]


def test_every_text_is_in_three_languages_with_cyrillic():
    texts = ([p["name"] for p in load("products")] + [o["title"] for o in load("offers")]
             + [m["name"] for m in load("menus")] + [c["text"] for c in load("content_items") if "text" in c])
    for text in texts:
        assert set(text) == {"en", "bg", "ru"}, text
        assert all(re.search("[а-яА-Я]", text[lang]) for lang in ("bg", "ru")), text


def test_readme_phone_numbers_hash_to_their_profiles():
    readme = (ASSETS / "README.md").read_text(encoding="utf-8")
    key = re.search(r"demo chain phone key: (\S+)", readme).group(1).encode()
    rows = re.findall(r"^\| `(\+\d+)` \| (c-\d{4}) \|", readme, re.MULTILINE)
    by_id = {p["profile_id"]: p for p in load("profiles")}
    assert len(rows) == len(by_id)
    for phone, profile_id in rows:
        assert hmac.new(key, phone.encode(), hashlib.sha256).hexdigest() == by_id[profile_id]["phone_hash"], phone


def test_the_demo_chain_rolls_forward_to_any_date_and_leaves_what_still_runs():
    from demo.store import load_assets, roll_forward

    chain, _ = load_assets(ASSETS)
    now = roll_forward(copy.deepcopy(chain), date(2026, 11, 23))
    for offer, kept in zip(chain["offers"], now["offers"], strict=True):
        if offer.get("schedule", {}).get("to", "9999") >= "2026-11-23":
            assert kept == offer, offer["id"]  # running or to come: untouched
        else:
            assert kept["schedule"]["to"] > "2026-11-23", offer["id"]  # over: next year's
    assert now["schedules"] == chain["schedules"]

    later = roll_forward(copy.deepcopy(chain), date(2028, 1, 3))
    validate({name: later[name] for name in ("offers", "content_items", "schedules")})
    windows = {o["id"]: o["schedule"] for o in later["offers"] if "to" in o.get("schedule", {})}
    for offer_id, window in windows.items():
        assert date.fromisoformat(window["to"]) >= date(2028, 1, 3), offer_id
        before = next(o["schedule"] for o in chain["offers"] if o["id"] == offer_id)
        assert date.fromisoformat(window["from"]).replace(year=2000) == \
            date.fromisoformat(before["from"]).replace(year=2000), offer_id  # the same day of the year
    season = [w for w in windows.values() if w["from"] <= "2028-01-03" <= w["to"]]
    assert season, "the winter campaigns that span the new year are running"
    new_year = next(e for e in later["schedules"] if e["id"] == "sch-new-year")
    assert new_year["dates"][0] == "2028-12-15"
    assert all(i["valid_until"] >= "2028-01-03" for i in later["content_items"] if i.get("valid_until"))


# --- the demo ---------------------------------------------------------------------------------
def test_demo_once_syncs_the_chain_and_sends_an_event(tmp_path: Path):
    first = run_demo(tmp_path, "--at", "mon 08:30")  # an hour with offers to show, whenever the test runs
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert re.search(r"^broker: Mosquitto \d+$", out, re.MULTILINE), out
    assert count(out, "products") == len(load("products"))
    assert count(out, "offers") == len(load("offers"))
    assert count(out, "profiles") == len(load("profiles"))
    assert "bg Баница със сирене | ru Баница с брынзой" in out
    assert "head office received 1 event so far (1 offer_shown)" in out
    version = int(re.search(r"chain v(\d+), store/s001 v\1", out).group(1))

    keys = tmp_path / "keys"
    assert (keys / "demo-chain.pub").exists()
    assert (keys / "demo-chain.key").stat().st_mode & 0o077 == 0

    # A second run reuses the keys, the broker folder and the kiosk's cache, with newer bundles.
    second = run_demo(tmp_path, "--at", "mon 08:30")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "wrote" not in second.stdout
    assert int(re.search(r"chain v(\d+)", second.stdout).group(1)) > version
    assert "head office received 2 events so far (2 offer_shown)" in second.stdout


def offered(output: str, day_time: str) -> list[str]:
    match = re.search(rf"^  offers an anonymous shopper sees at {day_time} store time: (.*)$", output, re.MULTILINE)
    assert match, output
    return match.group(1).split(", ")


def test_demo_states_its_store_time_and_offers_what_is_right_for_it(tmp_path: Path):
    morning = run_demo(tmp_path, "--at", "mon 08:30")
    assert morning.returncode == 0, morning.stdout + morning.stderr
    assert re.search(r"^store time: Mon \d\d \w{3} 08:3\d Europe/Sofia \(set by --at", morning.stdout, re.MULTILINE)
    assert "OFF-MORNING-COMBO" in offered(morning.stdout, r"Mon \d\d \w{3} 08:3\d")
    assert "top offer OFF-MORNING-COMBO" in morning.stdout

    afternoon = run_demo(tmp_path, "--at", "mon 15:25")
    assert afternoon.returncode == 0, afternoon.stdout + afternoon.stderr
    shown = offered(afternoon.stdout, r"Mon \d\d \w{3} 15:2\d")
    assert "OFF-MORNING-COMBO" not in shown and "OFF-AFTERNOON-TREAT" in shown
    assert "top offer OFF-MORNING-COMBO" not in afternoon.stdout

    real = run_demo(tmp_path)
    assert "(the real time; --at 'mon 08:30' picks another)" in real.stdout


@pytest.mark.parametrize("at", ["08:70", "someday 08:30", "monday", ""])
def test_demo_refuses_a_store_time_it_cannot_read(tmp_path: Path, at: str):
    result = run_demo(tmp_path / "var", "--at", at)
    assert result.returncode == 2
    assert "--at" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "var").exists()


def test_demo_without_mosquitto_names_the_apt_line(tmp_path: Path):
    env = {**os.environ, "STORE_EDGE_MOSQUITTO": str(tmp_path / "no-such-mosquitto")}
    result = subprocess.run([sys.executable, "-m", "demo.store", "--once", "--var", str(tmp_path / "var")], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    err = result.stderr
    assert "mosquitto is not installed" in err and "apt-get install -y --no-install-recommends mosquitto" in err
    assert not (tmp_path / "var").exists()  # nothing made before the check
