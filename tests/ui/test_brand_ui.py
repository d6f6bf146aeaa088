"""A chain's brand on the real widget tree under Xvfb: the kiosk and a signage screen drawn with the demo brand, then
with another one that arrives in a bundle while they run (no restart), read back from the pixels drawn; and a brand
whose logo or font is missing or unusable falls back to the built-in ones without a blank screen."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

import pytest
from layout_audit import background, screen_problems
from PIL import Image
from signage_content import store_media
from support import latin_only_font
from ui_driver import advance, close_kiosk, open_kiosk, shot, stop_previous_app, until

from demo.store import ASSETS, demo_cache, load_media
from signage.app import SignageApp
from signage.cards import brand_logo
from signage.live import StoreInfo
from sync.cache.bundles import apply_bundle
from sync.cache.outbox import Outbox
from sync.clock import FixedClock
from sync.config import SignageSection
from sync.protocol import signing
from sync.protocol.brand import brand_problems, hex_rgb
from sync.protocol.content import validate

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # Monday 08:30 in Sofia: the breakfast menu
KEY = signing.generate_private_key()
GREEN = {"primary": "#1d5c50", "background": "#fbf6ec"}  # the demo chain's (assets/demo/brand.json)
PLUM = {"id": "demo", "name": "Plum Bakehouse", "primary": "#6b2346", "accent": "#f4a259", "background": "#f4eef5",
        "text": "#221a21"}
KIVY_FONTS = Path(find_spec("kivy").origin).parent / "data" / "fonts"
SIGNAGE_STORE = StoreInfo("demo", "south", "s001", "signage-1", "Europe/Sofia")


def near(drawn: tuple[float, float, float], colour: str, tolerance: float = 3 / 255) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(drawn, hex_rgb(colour), strict=True))


def corner(drawn: Image.Image, widget) -> tuple[float, float, float]:
    """The colour drawn just inside a widget's top-left corner (a zone's margin, where its own colour shows)."""
    x, top = widget.to_window(widget.x, widget.top)
    return tuple(c / 255 for c in drawn.getpixel((round(x) + 3, drawn.height - round(top) + 3)))


def picture(path: Path) -> Image.Image:
    return Image.open(path).convert("RGB")


def logo_of(root, kind: str = "BrandLogo"):
    (logo,) = [w for w in root.walk() if type(w).__name__ == kind]
    return logo


def new_brand(cache, media: Path, brand: dict, version: int, *, files: dict[str, bytes] = ()) -> dict:
    """Head office's next chain bundle with ``brand`` (and its files in ``media``, as the agent fetches them)."""
    entries = []
    for data in dict(files).values():
        sha = store_media(media, data)
        entries.append({"sha256": sha, "url": f"http://127.0.0.1:9/{sha}", "size": len(data)})
    apply_bundle(cache, stream="chain", scope="chain", version=version, sha256=f"v{version}", mode="delta",
                 content=validate({"brand": [brand], "media": entries}), at=0)
    return brand


def plum_logo() -> bytes:
    return brand_logo(PLUM["primary"], PLUM["accent"], PLUM["background"])


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory):
    app = open_kiosk(tmp_path_factory.mktemp("store"), KEY, FixedClock(NOW))
    yield app
    close_kiosk(app)


def test_the_kiosk_draws_each_brand_and_takes_a_new_one_without_a_restart(kiosk, shots):
    assert brand_problems(PLUM) == []
    attract = kiosk.root.get_screen("attract")
    drawn = picture(shot(shots, "brand-kiosk-attract-demo"))
    assert near(background(drawn, attract), GREEN["background"])
    assert near(background(drawn, attract.ids.poster), GREEN["primary"])
    assert near(background(drawn, attract.ids.start), GREEN["primary"])
    logo = logo_of(attract)
    assert logo.width > 0 and logo.texture is not None
    assert near(background(drawn, logo), GREEN["primary"], 6 / 255)  # the badge, drawn in the header

    service = kiosk.service
    new_brand(service.cache, service.reader.media_dir, {**PLUM, "logo": hashlib.sha256(plum_logo()).hexdigest()}, 2,
              files={"logo": plum_logo()})
    until(lambda: near(tuple(kiosk.brand.primary[:3]), PLUM["primary"]), timeout=8)  # within FOLLOW_S, running
    drawn = picture(shot(shots, "brand-kiosk-attract-plum"))
    assert near(background(drawn, attract), PLUM["background"])
    assert near(background(drawn, attract.ids.poster), PLUM["primary"])
    assert near(background(drawn, attract.ids.start), PLUM["primary"])
    assert near(background(drawn, logo_of(attract)), PLUM["primary"], 6 / 255)
    assert screen_problems(attract, drawn, "en", [kiosk.store_name]) == []  # AA, from the pixels, in the new brand

    kiosk.browse()
    until(lambda: kiosk.root.current == "offers")
    offers = kiosk.root.get_screen("offers")
    drawn = picture(shot(shots, "brand-kiosk-offers-plum"))
    assert near(background(drawn, offers.ids.done), PLUM["primary"])
    assert near(background(drawn, logo_of(offers)), PLUM["primary"], 6 / 255)
    assert screen_problems(offers, drawn, "en", [kiosk.store_name]) == []
    kiosk.reset()


def test_a_missing_or_unusable_logo_or_font_falls_back_without_a_blank_screen(kiosk, shots, tmp_path):
    attract = kiosk.root.get_screen("attract")
    media = kiosk.service.reader.media_dir
    start = attract.ids.start
    absent = {**PLUM, "logo": "1" * 64, "font": "2" * 64}  # named, not downloaded yet
    new_brand(kiosk.service.cache, media, absent, 3)
    until(lambda: kiosk.brand.item == absent, timeout=8)
    drawn = picture(shot(shots, "brand-kiosk-attract-no-logo-no-font"))
    assert kiosk.brand.logo == "" and logo_of(attract).width == 0 and start.font_name == "Roboto"
    assert near(background(drawn, attract.ids.poster), PLUM["primary"]) and start.texture is not None
    assert screen_problems(attract, drawn, "en", [kiosk.store_name]) == []

    # the font's file arrives: every label draws with it, resolved to the downloaded file
    dejavu = (KIVY_FONTS / "DejaVuSans.ttf").read_bytes()
    font = new_brand(kiosk.service.cache, media, {**PLUM, "font": hashlib.sha256(dejavu).hexdigest()}, 4,
                     files={"font": dejavu})
    until(lambda: kiosk.brand.item == font and kiosk.brand.font_name != "Roboto", timeout=8)
    advance(3)
    assert start.font_name == kiosk.brand.font_name
    assert Path(start._label.options["font_name_r"]).resolve() == (media / font["font"]).resolve()
    shot(shots, "brand-kiosk-attract-brand-font")

    # a font without Cyrillic (bg and ru would show boxes) and a logo that is no picture: the built-in ones
    latin, junk = latin_only_font(tmp_path / "latin.ttf"), b"<html>not a picture</html>" * 20
    bad = {**PLUM, "font": hashlib.sha256(latin).hexdigest(), "logo": hashlib.sha256(junk).hexdigest()}
    new_brand(kiosk.service.cache, media, bad, 5, files={"font": latin, "logo": junk})
    until(lambda: kiosk.brand.item == bad, timeout=8)
    kiosk.set_language("bg")
    drawn = picture(shot(shots, "brand-kiosk-attract-bad-font-bg"))
    assert start.font_name == "Roboto" and kiosk.brand.logo == "" and logo_of(attract).width == 0
    assert near(background(drawn, attract.ids.start), PLUM["primary"])
    assert screen_problems(attract, drawn, "bg", [kiosk.store_name]) == []
    kiosk.reset()


def test_signage_draws_each_brand_and_takes_a_new_one_without_a_restart(tmp_path, shots):
    from kivy.core.window import Window

    Window.size = (1280, 720)
    clock = FixedClock(NOW.timestamp())
    cache = demo_cache(tmp_path / "cache.db", clock=clock)
    media = tmp_path / "media"
    for entry in load_media(ASSETS):
        store_media(media, (ASSETS / entry["url"]).read_bytes())
    stop_previous_app()
    app = SignageApp(cache=cache, outbox=Outbox(cache, boot_id="b", device="signage-1", store="s001", clock=clock),
                     store=SIGNAGE_STORE, media_dir=media, settings=SignageSection(lang="en"), clock=clock)
    app._run_prepare()
    try:
        advance(5)
        zones = app.player.zones
        drawn = picture(shot(shots, "brand-signage-demo"))
        assert near(background(drawn, zones["ticker"].box), GREEN["primary"])
        assert near(corner(drawn, zones["offers"].box), GREEN["primary"])
        clock_logo = zones["clock"].box.children[0].ids.logo
        assert clock_logo.width > 0 and near(background(drawn, clock_logo), GREEN["primary"], 6 / 255)

        new_brand(cache, media, {**PLUM, "logo": hashlib.sha256(plum_logo()).hexdigest()}, 2,
                  files={"logo": plum_logo()})
        until(lambda: near(tuple(app.brand.primary[:3]), PLUM["primary"]), timeout=8)
        drawn = picture(shot(shots, "brand-signage-plum"))
        assert near(background(drawn, zones["ticker"].box), PLUM["primary"])
        assert near(corner(drawn, zones["offers"].box), PLUM["primary"])
        assert near(background(drawn, zones["side"].box), "#161115", 3 / 255)  # the text colour, deepened
        assert near(background(drawn, clock_logo), PLUM["primary"], 6 / 255)
    finally:
        app.detach()
        cache.close()
    shutil.rmtree(media)
