"""Issue 16 on the kiosk's real widget tree under Xvfb: reach mode puts every control in the lower half of a tall
kiosk for a seated shopper and a session's end turns it off; no text under 18 dp; the menu browsed by category.
Screenshots in test-output/screens/."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from ui_driver import advance, close_kiosk, open_kiosk, resize_window, shot, tap

from sync.clock import FixedClock
from sync.protocol import signing

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # Monday 08:30 in Sofia: the breakfast menu
KEY = signing.generate_private_key()
TICKS = FixedClock(5000.0)  # the idle timer's seconds: stepped here, never waited for
LANGS = ("en", "bg", "ru")
TALL, WIDE, SMALL = (1080, 1920), (1920, 1080), (1280, 800)
MARIA = "0899100101"  # known, has chosen: straight to her offers
COFFEE = {"en": "Coffee", "bg": "Кафе", "ru": "Кофе"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    kiosk = open_kiosk(tmp_path_factory.mktemp("store"), KEY, FixedClock(NOW), ticks=TICKS.time)
    yield kiosk
    close_kiosk(kiosk)
    resize_window((1280, 720))


@pytest.fixture(autouse=True)
def fresh(app):
    app.reset()
    advance(3)


def dp(value: float) -> float:
    from kivy.metrics import dp

    return dp(value)


def settle(frames: int = 12) -> None:
    for _ in range(frames):
        advance(1)


def status_chip(app, screen: str, text: str):
    from kivy.uix.button import Button

    found = [w for w in app.root.get_screen(screen).walk() if isinstance(w, Button) and w.text == text]
    assert len(found) == 1, text
    return found[0]


def reach_chip(app, screen: str = "attract"):
    return status_chip(app, screen, app.tr("Buttons lower"))


def shown(widget) -> bool:
    while widget is not None:
        if widget.opacity == 0 or widget.width <= 0 or widget.height <= 0:
            return False
        widget = widget.parent if widget.parent is not widget else None
    return True


def window_box(widget) -> tuple[float, float, float, float] | None:
    """The part of ``widget`` a finger can touch, in window coordinates (x0, y0, x1, y1): clipped by every
    scroll view it is in; None when scrolled out of sight."""
    from kivy.uix.scrollview import ScrollView

    x0, y0 = widget.to_window(widget.x, widget.y)
    x1, y1 = widget.to_window(widget.right, widget.top)
    parent = widget.parent
    while parent is not None and parent is not parent.parent:
        if isinstance(parent, ScrollView):
            px0, py0 = parent.to_window(parent.x, parent.y)
            px1, py1 = parent.to_window(parent.right, parent.top)
            x0, y0, x1, y1 = max(x0, px0), max(y0, py0), min(x1, px1), min(y1, py1)
        parent = parent.parent
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def touch_targets(root) -> list:
    """What takes a touch: buttons, toggles and the scroll views (a finger drags them)."""
    from kivy.uix.behaviors import ButtonBehavior
    from kivy.uix.scrollview import ScrollView

    return [w for w in root.walk() if isinstance(w, ButtonBehavior | ScrollView) and not w.disabled and shown(w)]


def out_of_reach(root, half: float) -> list[str]:
    high = []
    for widget in touch_targets(root):
        box = window_box(widget)
        if box is not None and box[3] > half + 0.5:
            high.append(f"{type(widget).__name__} {getattr(widget, 'text', '')!r} top at {box[3]:.0f}")
    return high


def to_offers(app, lang: str) -> None:
    app.set_language(lang)
    app.start_identify()
    app.phone_digits = MARIA
    app.phone_submit()
    if app.root.current == "consent":
        app.save_consent({"personal_offers": True, "e_receipt": False, "marketing": False})
    settle()
    assert app.root.current == "offers"


def visit(app, lang: str):
    """Every screen of a visit in ``lang``, reached as a shopper reaches it: (name, root of what is shown)."""
    from kivy.core.window import Window

    app.set_language(lang)
    settle()
    yield "attract", app.root.current_screen
    app.start_identify()
    settle()
    yield "identify", app.root.current_screen
    app.phone_digits = MARIA
    app.phone_submit()
    app.change_consent()
    settle()
    yield "consent", app.root.current_screen
    app.save_consent({"personal_offers": True, "e_receipt": False, "marketing": False})
    settle()
    yield "offers", app.root.current_screen
    app.send_to_phone(0)
    settle(20)
    yield "coupon", Window.children[0]
    app.coupon_view.dismiss(animation=False)
    app.end_session()
    settle()
    yield "goodbye", app.root.current_screen


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
@pytest.mark.parametrize("lang", LANGS)
def test_reach_mode_puts_every_control_of_every_screen_in_the_lower_half_of_a_tall_kiosk(app, shots, lang, large):
    resize_window(TALL)
    tap(reach_chip(app))
    assert app.reach
    if large:
        app.toggle_large_text()
    seen = set()
    for name, root in visit(app, lang):
        assert app.reach, f"{name}: reach mode lasts the whole visit"
        high = out_of_reach(root, TALL[1] / 2)
        assert not high, f"{lang} {name}: out of a seated shopper's reach: {high}"
        if name != "goodbye":
            assert touch_targets(root), f"{name}: no control found: the check would pass on anything"
        shot(shots, f"reach-{name}-{lang}{'-large' if large else ''}")
        seen.add(name)
    assert seen == {"attract", "identify", "consent", "offers", "coupon", "goodbye"}


def test_reach_mode_keeps_the_keypad_low_beside_the_camera(app, shots):
    import numpy as np

    from kiosk.camera import FileFrames

    resize_window(TALL)
    tap(reach_chip(app))
    app.camera_factory = lambda: FileFrames([np.full((720, 1280, 3), 200, np.uint8)], fps=20)
    try:
        app.start_identify()
        settle(20)
        identify = app.root.current_screen
        assert app.camera_on and identify.ids.preview.to_window(0, identify.ids.preview.top)[1] <= TALL[1] / 2
        assert not out_of_reach(identify, TALL[1] / 2)
        shot(shots, "reach-identify-camera-en")
    finally:
        app.reset()
        app.camera_factory = None


def test_without_reach_mode_a_tall_kiosk_has_controls_in_its_top_half(app):
    """The other side of the test above: it would catch a control left high."""
    resize_window(TALL)
    app.start_identify()
    settle()
    assert out_of_reach(app.root.current_screen, TALL[1] / 2)


@pytest.mark.parametrize("lang", LANGS)
def test_the_reach_toggle_is_labelled_in_the_screens_language_and_drawn_beside_large_text(app, shots, lang):
    resize_window(TALL)
    app.set_language(lang)
    settle()
    chip, large = reach_chip(app), status_chip(app, "attract", app.tr("Large text"))
    assert chip.text and (lang == "en" or chip.text != "Buttons lower")
    assert chip.texture_size[0] <= chip.width and chip.height >= dp(48) and chip.width >= dp(48)
    assert chip.parent is large.parent and chip.parent.children.index(chip) == chip.parent.children.index(large) - 1
    assert chip.canvas.after.length() > 0  # its symbol is drawn, not a font's glyph
    tap(chip)
    assert app.reach and chip.selected
    shot(shots, f"reach-toggle-{lang}")
    tap(chip)
    assert not app.reach


@pytest.mark.parametrize("size", [WIDE, SMALL], ids=["1920x1080", "1280x800"])
def test_a_wide_screen_does_not_offer_reach_mode_and_turns_it_off(app, size):
    """Only a tall screen's top half is out of reach; on a wide one halving the screen would crush every layout."""
    resize_window(TALL)
    tap(reach_chip(app))
    assert app.reach and app.reach_gap == TALL[1] / 2
    resize_window(size)
    chip = reach_chip(app)
    assert not app.reach and app.reach_gap == 0
    assert chip.disabled and chip.opacity == 0 and chip.width == 0
    tap(status_chip(app, "attract", app.tr("Large text")))  # beside it, the large-text chip still works
    assert app.large_text and not app.reach


def test_a_session_end_turns_reach_mode_off_for_the_next_shopper(app):
    resize_window(TALL)
    tap(reach_chip(app))
    to_offers(app, "bg")
    tap(app.root.get_screen("offers").ids.done)
    assert app.root.current == "goodbye" and app.reach  # still in reach while the goodbye shows
    tap(app.root.current_screen)
    settle()
    assert app.root.current == "attract" and not app.reach and app.reach_gap == 0
    assert not reach_chip(app).selected


def test_the_idle_timeout_turns_reach_mode_off_on_the_attract_screen(app):
    resize_window(TALL)
    tap(reach_chip(app))
    TICKS.advance(app.idle_timeout_s + 1)
    for _ in range(40):  # the idle timer looks every 0.25 s
        advance(1)
        time.sleep(0.01)
    assert not app.reach and app.reach_gap == 0


@pytest.mark.parametrize("size", [WIDE, TALL], ids=["1920x1080", "1080x1920"])
def test_no_text_on_a_shoppers_screen_is_under_18_dp(app, size):
    from kivy.uix.label import Label

    resize_window(size)
    small = []
    for name, root in visit(app, "bg"):
        small += [f"{name}: {w.text!r} at {w.font_size / dp(1):.0f} dp" for w in root.walk()
                  if isinstance(w, Label) and w.text.strip() and shown(w) and w.font_size < dp(18) - 0.01]
    assert not small


@pytest.mark.parametrize("lang", LANGS)
def test_the_menu_is_browsed_by_category(app, shots, lang):
    resize_window(WIDE)
    to_offers(app, lang)
    offers = app.root.get_screen("offers")
    menu = app.service.menu(lang)
    names = list(dict.fromkeys(item.category_name for item in menu.items))
    chips = offers.ids.menu_categories.children[::-1]
    assert [c.text for c in chips] == names and len(names) > 2
    assert names[0] == COFFEE[lang]  # translated, from the product data
    assert all(c.height >= dp(48) and c.width >= dp(48) and c.texture_size[0] <= c.width for c in chips)

    def rows() -> list[str]:
        return [row.title for row in offers.ids.menu.children[::-1]]

    def of(category: str) -> list[str]:
        return [item.name for item in menu.items if item.category_name == category]

    assert [c.selected for c in chips] == [True] + [False] * (len(chips) - 1)
    assert rows() == of(names[0]) and len(rows()) < len(menu.items)
    shot(shots, f"menu-categories-{lang}")
    tap(chips[1])
    settle()
    assert rows() == of(names[1]) and chips[1].selected and not chips[0].selected
    shot(shots, f"menu-category-2-{lang}")
    app.end_session()
    to_offers(app, lang)
    assert rows() == of(names[0]), "the next shopper starts at the first category"
