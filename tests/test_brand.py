"""A chain's brand from content: the check both ends run (WCAG AA on every pair of colours the screens draw text
with), head office's check of its logo and font files, and the cache's read with a store's brand over the chain's."""

from __future__ import annotations

import json
import shutil
from importlib.util import find_spec
from pathlib import Path

import pytest
from support import latin_only_font

from central.content_files import ContentProblem, load_stores, load_tree
from sync.cache import Cache
from sync.cache.bundles import apply_bundle
from sync.cache.read import CacheReader
from sync.protocol.acceptance import check_content
from sync.protocol.brand import BUILT_IN, PAIRS, Palette, brand_problems, contrast, file_problems, missing_letters
from sync.protocol.content import ContentError, validate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "headoffice.example"
DEMO_BRAND = json.loads((ROOT / "assets" / "demo" / "brand.json").read_text(encoding="utf-8"))[0]
KIVY_FONTS = Path(find_spec("kivy").origin).parent / "data" / "fonts"
BASE = "https://cdn.example"


def brand(**colours: str) -> dict:
    return {"id": "chain", "primary": "#1d5c50", "accent": "#f2b33d", "background": "#fbf6ec", "text": "#1c2522",
            **colours}


def test_the_built_in_and_the_demo_brand_pass_aa_on_every_pair_the_screens_draw():
    assert brand_problems(DEMO_BRAND) == []
    for palette in (BUILT_IN, Palette.of(DEMO_BRAND)):
        for fore, back, _, _ in PAIRS:
            assert contrast(getattr(palette, fore), getattr(palette, back)) >= 4.5, (fore, back)


@pytest.mark.parametrize("colours, message", [
    ({"text": "#a0a0a0", "background": "#ffffff"},
     "brand chain: field 'text': #a0a0a0 as text on the background #ffffff has a contrast of 2.61:1; shoppers need"
     " at least 4.5:1 (WCAG AA)"),
    ({"primary": "#f2b33d"}, "brand chain: field 'primary': #f2b33d as the store's name and prices on the background"
                             " #fbf6ec has a contrast of 1.7"),
    ({"accent": "#3a3a3a"}, "brand chain: field 'accent': #3a3a3a as signage's prices on its dark boards"),
    ({"primary": "green"}, "brand chain: field 'primary': 'green' is not a colour like #1f5c4a"),
])
def test_a_marketers_low_contrast_brand_is_refused_with_what_to_change(colours, message):
    problems = [str(p) for p in check_content({"brand": [brand(**colours)]})]
    assert any(p.startswith(message) for p in problems), problems


def test_logo_and_font_must_be_media_the_content_holds_and_one_brand_per_scope():
    sha = "ab" * 32
    problems = [str(p) for p in check_content({"brand": [brand(logo=sha), brand(id="other")],
                                               "media": [{"sha256": "cd" * 32, "url": "u", "size": 1}]})]
    assert f"brand chain: field 'logo': no media file '{sha}'" in problems
    assert any(p.startswith("brand other: one brand per scope, not 2 (chain, other)") for p in problems), problems
    with pytest.raises(ContentError, match=r"brand\[0\] \(chain\): field 'font' is not a lowercase hex sha256"):
        validate({"brand": [brand(font="brand.ttf")]})


def test_a_device_refuses_a_low_contrast_brand_and_keeps_drawing_the_last_good_one(tmp_path):
    cache = Cache(tmp_path / "cache.db")
    reader = CacheReader(cache)
    apply_bundle(cache, stream="chain", scope="chain", version=1, sha256="a", mode="snapshot",
                 content={"brand": [brand()]}, at=0)
    grey = {"brand": [brand(text="#9a9a9a")]}
    from sync.cache.bundles import ContentRefused

    with pytest.raises(ContentRefused, match="field 'text': #9a9a9a as text on the background #fbf6ec"):
        apply_bundle(cache, stream="chain", scope="chain", version=2, sha256="b", mode="snapshot", content=grey,
                     at=0, accept=lambda: [str(p) for p in check_content(grey)])
    assert reader.brand() == brand()


def test_a_stores_brand_replaces_the_chains_on_its_devices(tmp_path):
    cache = Cache(tmp_path / "cache.db")
    reader = CacheReader(cache)
    assert reader.brand() is None  # nothing yet: the screens draw the built-in brand
    apply_bundle(cache, stream="chain", scope="chain", version=1, sha256="a", mode="snapshot",
                 content={"brand": [brand()]}, at=0)
    apply_bundle(cache, stream="store/s001", scope="store/s001", version=1, sha256="b", mode="snapshot",
                 content={"brand": [brand(primary="#7a1f3d")]}, at=0)
    assert reader.brand()["primary"] == "#7a1f3d"
    apply_bundle(cache, stream="store/s001", scope="store/s001", version=2, sha256="c", mode="snapshot",
                 content={"brand": []}, at=0)
    assert reader.brand()["primary"] == "#1d5c50"


def test_the_example_head_office_publishes_its_brand_with_the_logo_as_media():
    tree = load_tree(EXAMPLE, BASE, load_stores(EXAMPLE))
    (item,) = tree["chain"].content["brand"]
    logo = [m for m in tree["chain"].content["media"] if m["sha256"] == item["logo"]]
    assert logo and logo[0]["mime"] == "image/png" and item["logo"] == DEMO_BRAND["logo"]


def test_font_and_logo_files_are_loaded_to_be_checked(tmp_path):
    latin = tmp_path / "latin.ttf"
    latin_only_font(latin)
    (tmp_path / "fake.ttf").write_bytes(b"not a font at all" * 10)
    assert missing_letters(KIVY_FONTS / "DejaVuSans.ttf") == ""
    assert missing_letters(latin).startswith("€АБВ")
    assert missing_letters(tmp_path / "fake.ttf") is None
    assert file_problems("font", tmp_path / "fake.ttf") == [
        "field 'font': fake.ttf does not load as a TrueType or OpenType font"]
    assert file_problems("font", latin)[0].startswith("field 'font': latin.ttf has no letters €АБВ")
    assert file_problems("logo", tmp_path / "fake.ttf") == ["field 'logo': fake.ttf is not a PNG or JPEG picture"]
    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:  # a picture's first bytes, then 5 MB the check must not read
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(5 << 20)
    assert file_problems("logo", huge) == ["field 'logo': huge.png is 5.0 MB; at most 4 MB"]


def test_head_office_refuses_a_brand_whose_font_lacks_cyrillic_naming_file_and_line(tmp_path):
    root = tmp_path / "headoffice"
    shutil.copytree(EXAMPLE, root)
    latin_only_font(root / "media" / "latin.ttf")
    path = root / "chain" / "brand.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  font: latin.ttf\n", encoding="utf-8")
    with pytest.raises(ContentProblem) as caught:
        load_tree(root, BASE, load_stores(root))
    line = len(path.read_text(encoding="utf-8").splitlines())
    assert caught.value.problems[0].startswith(f"{path}:{line}: brand[0]: field 'font': latin.ttf has no letters")


def test_head_office_refuses_a_low_contrast_brand_at_its_line(tmp_path):
    root = tmp_path / "headoffice"
    shutil.copytree(EXAMPLE, root)
    path = root / "chain" / "brand.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("'#1c2522'", "'#b0b0b0'"), encoding="utf-8")
    with pytest.raises(ContentProblem) as caught:
        load_tree(root, BASE, load_stores(root))
    line = next(n for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "b0b0b0" in text)
    assert f"{path}:{line}: brand demo: field 'text': #b0b0b0 as text on the background #fbf6ec" in \
        caught.value.problems[0]
