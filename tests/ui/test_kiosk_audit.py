"""The layout audit on every kiosk screen a shopper meets, in every language, window size and text size.

Attract, identify (without and with a camera), consent, a known shopper's offers and goodbye, in en, bg
and ru, at 1920x1080, 1280x800 and 1080x1920, in normal and large text: 18 visits of six screens on one
app whose window is resized. Each screen is audited by ``layout_audit.screen_problems`` on its real widget
tree and its screenshot, which goes to test-output/screens/ and the contact sheet there (index.html).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from layout_audit import problems, record, screen_problems
from PIL import Image
from ui_driver import advance, close_kiosk, open_kiosk, resize_window, shot, tap, until

from kiosk.camera import FileFrames
from sync.clock import FixedClock
from sync.protocol import signing

MONDAY = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 08:30 in Sofia: breakfast
KEY = signing.generate_private_key()
TICKS = FixedClock(5000.0)  # the idle timer's seconds: never stepped, so no visit times out mid-audit
MARIA = "0899100101"  # c-0001, a regular with offers of her own
STORE_NAME = "Demo Coffee & Bakery"  # a proper name: the same in every language
LANGS = ("en", "bg", "ru")
SIZES = [(1920, 1080), (1280, 800), (1080, 1920)]
COMBINATIONS = [(size, large, lang) for size in SIZES for large in (False, True) for lang in LANGS]
KNOWN: dict[tuple[tuple[int, int], bool, str], str] = {}  # a combination's defect not fixed yet, by name


def combination(size: tuple[int, int], large: bool, lang: str):
    reason = KNOWN.get((size, large, lang))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(size, large, lang, marks=marks, id=tag(size, large, lang))


def tag(size: tuple[int, int], large: bool, lang: str) -> str:
    return f"{lang}-{size[0]}x{size[1]}-{'large' if large else 'normal'}"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    kiosk = open_kiosk(tmp_path_factory.mktemp("store"), KEY, FixedClock(MONDAY), ticks=TICKS.time)
    yield kiosk
    kiosk.camera_factory = None
    close_kiosk(kiosk)
    resize_window((1280, 720))


def begin(app, lang: str, large: bool, camera: bool) -> None:
    """A new shopper at the attract screen, who picks ``lang`` and, if ``large``, large text."""
    app.reset()
    app.camera_factory = (lambda: FileFrames([np.full((720, 1280, 3), 200, np.uint8)], fps=20)) if camera else None
    app.set_language(lang)
    if large:
        app.toggle_large_text()
    advance(3)


@pytest.mark.parametrize(("size", "large", "lang"), [combination(*c) for c in COMBINATIONS])
def test_every_kiosk_screen_passes_the_layout_audit(app, shots, size, large, lang):
    """No clipped or shortened text, nothing outside its parent or over a sibling, touch targets of 48 dp,
    AA contrast from the pixels drawn and no English left in bg and ru, on each of the six screens."""
    found: dict[str, list[str]] = {}

    def audit(name: str, screen: str) -> None:
        picture = shot(shots, f"kiosk-{name}-{tag(size, large, lang)}")
        assert app.root.current == screen
        found[name] = screen_problems(app.root.get_screen(screen), Image.open(picture).convert("RGB"), lang,
                                      [STORE_NAME])
        record(f"kiosk {name}", tag(size, large, lang), picture, found[name])

    resize_window(size)
    weeks, day = divmod(COMBINATIONS.index((size, large, lang)), 5)
    app.service.clock.set(MONDAY + timedelta(weeks=weeks, days=day))  # a weekday of its own: fresh daily caps
    try:
        begin(app, lang, large, camera=False)
        audit("attract", "attract")
        tap(app.root.get_screen("attract").ids.start)
        audit("identify", "identify")

        begin(app, lang, large, camera=True)
        tap(app.root.get_screen("attract").ids.start)
        assert app.camera_on
        audit("identify-camera", "identify")
        keys = {b.text: b for b in app.root.get_screen("identify").ids.keypad.children}
        for digit in MARIA:
            tap(keys[digit])
        tap(app.root.get_screen("identify").ids.continue_)
        until(lambda: app.root.current in ("consent", "offers"))
        if app.root.current == "offers":  # she chose in an earlier combination: ask her again
            app.change_consent()
            advance(3)
        consent = app.root.get_screen("consent")
        for purpose in ("personal_offers", "e_receipt"):
            consent.ids[purpose].state = "down"
        audit("consent", "consent")
        tap(consent.ids.save)
        until(lambda: app.root.current == "offers")
        assert app.personal and app.root.get_screen("offers").ids.cards.children  # her offers, on cards
        audit("offers", "offers")
        tap(app.root.get_screen("offers").ids.done)
        audit("goodbye", "goodbye")
    finally:
        app.reset()
        app.camera_factory = None
    found = {name: p for name, p in found.items() if p}
    assert not found, "\n".join(f"{name}: {p}" for name, problems in found.items() for p in problems)


def test_the_audit_sees_each_kind_of_defect_planted_on_a_real_screen(app, shots):
    """Faint text, a small key, English on a Bulgarian screen and a label wider than its box: each is
    reported, so a green audit means the screens have none of them."""
    from kivy.metrics import dp

    resize_window((1280, 800))
    begin(app, "bg", False, camera=False)
    ids = app.root.get_screen("attract").ids
    start, browse = ids.start, ids.browse
    assert screen_problems(app.root.get_screen("attract"), Image.open(shot(shots, "audit-clean")).convert("RGB"),
                           "bg", [STORE_NAME]) == []
    saved = start.color[:], browse.text, browse.size_hint_y, browse.height
    try:
        start.color = (0.7, 0.35, 0.2, 1)  # brown on the brand's brown
        browse.text = "Just browse"
        browse.size_hint_y, browse.height = None, dp(30)
        advance(5)
        found = "\n".join(screen_problems(app.root.get_screen("attract"),
                                          Image.open(shot(shots, "audit-planted")).convert("RGB"), "bg", [STORE_NAME]))
        assert "contrast" in found and "touch target of" in found and "untranslated in bg: Just browse" in found
        assert "text not drawn in full" not in found
        browse.text = "Just browse " * 30  # far wider than its box, and no text_size to wrap it
        advance(3)
        assert "px in a" in "\n".join(problems(app.root.get_screen("attract")))
    finally:
        start.color, browse.text, browse.size_hint_y, browse.height = saved
        app.reset()
