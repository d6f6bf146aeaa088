"""The kiosk's offers and attract screens as a shopper sees them, on the real widget tree under Xvfb:
friendly words instead of the engine's, cards led by picture and price, every offer the slots allow,
and a menu that fits or scrolls in every text size and window size."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from ui_driver import advance, close_kiosk, open_kiosk, resize_window, shot, tap

from kiosk.i18n import format_price
from kiosk.screens import MenuRow
from sync.clock import FixedClock
from sync.protocol import signing

MONDAY = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 08:30 in Sofia: breakfast, the morning combo on
KEY = signing.generate_private_key()
MARIA = "0899100101"  # c-0001: buys cappuccino and tikvenik, a champion
ENGINE_WORDS = ("RFM", "tier", "weigh", "in stock", "weather", "identified shopper", "anonymous", "segment",
                "experiment", "variant", "·")
ASSETS = Path(__file__).resolve().parent.parent.parent / "assets" / "demo"
CARD = (255, 255, 255)  # the offer cards, white in every brand
SIZES = [(1920, 1080), (1280, 800), (1080, 1920)]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    kiosk = open_kiosk(tmp_path_factory.mktemp("store"), KEY, FixedClock(MONDAY))
    yield kiosk
    close_kiosk(kiosk)
    resize_window((1280, 720))


@pytest.fixture(autouse=True)
def fresh(app):
    app.reset()
    app.set_language("en")
    if app.large_text:
        app.toggle_large_text()
    advance(3)
    yield


def dp(value: float) -> float:
    from kivy.metrics import dp

    return dp(value)


def on_weekday(app, n: int) -> None:
    """08:30 on the n-th weekday from Monday 23 November: a day of its own, so one test's offers do not
    use up another's daily caps."""
    weeks, day = divmod(n, 5)
    app.service.clock.set(MONDAY + timedelta(weeks=weeks, days=day))


def maria_sees_her_offers(app) -> None:
    app.service.identify_phone(MARIA)
    app.save_consent({"personal_offers": True, "e_receipt": True, "marketing": False})
    advance(5)


def cards(app) -> list:
    return app.root.get_screen("offers").ids.cards.children[::-1]


def shown_texts(screen) -> list[str]:
    from kivy.uix.label import Label

    return [w.text for w in screen.walk() if isinstance(w, Label) and w.opacity > 0 and w.height > 0
            and w.text.strip()]


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def box_pixels(image: np.ndarray, widget) -> np.ndarray:
    """The part of a window screenshot (top-left origin) that ``widget`` covers."""
    x, y = widget.to_window(widget.x, widget.y)
    h = image.shape[0]
    return image[int(h - y - widget.height) + 2:int(h - y) - 2, int(x) + 2:int(x + widget.width) - 2]


def near(colour: np.ndarray, target: tuple[int, int, int], tolerance: int = 12) -> np.ndarray:
    return (np.abs(colour - np.array(target)) <= tolerance).all(axis=-1)


def longest_run(flags: np.ndarray) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def test_a_shopper_reads_one_friendly_line_per_offer_and_no_engine_words(app, shots):
    on_weekday(app, 0)
    maria_sees_her_offers(app)
    offers = app.root.get_screen("offers")
    lines = {"en": "Because you often pick up Tikvenik", "bg": "Защото често взимате Тиквеник",
             "ru": "Потому что вы часто берёте Тыквенник"}
    for lang, line in lines.items():
        app.set_language(lang)
        advance(5)
        whys = {card.title: card.why for card in cards(app)}
        tikvenik = next(why for title, why in whys.items() if "ikven" in title or "иквен" in title or "ыквен" in title)
        assert tikvenik == line
        assert all(len(why) <= 48 and "·" not in why for why in whys.values()), whys
        shot(shots, f"kiosk-offers-{lang}")
    app.set_language("en")
    advance(5)
    texts = shown_texts(offers)
    assert not [t for t in texts if any(word in t for word in ENGINE_WORDS)], texts
    # the engine's full reasons are still there for staff and events
    assert any("RFM tier" in reason for choice in app.service.session.shown.offers for reason in choice.reasons)


def test_a_change_of_language_keeps_every_offer_on_screen(app):
    on_weekday(app, 1)
    maria_sees_her_offers(app)
    shown = [card.title for card in cards(app)]
    assert len(shown) == 3  # the morning combo, tikvenik, double points: every offer she qualifies for
    ids = [choice.offer_id for choice in app._choices]
    for lang in ("bg", "ru", "en"):
        app.set_language(lang)
        advance(5)
        assert [choice.offer_id for choice in app._choices] == ids, lang
        assert len(cards(app)) == 3, lang


def test_cards_lead_with_the_picture_and_a_localised_price(app, shots):
    on_weekday(app, 2)
    app.set_language("bg")
    maria_sees_her_offers(app)
    path = shot(shots, "kiosk-offers-cards-bg")
    by_offer = dict(zip((c.offer_id for c in app._choices), cards(app), strict=True))

    points = by_offer["OFF-GOLD-DOUBLE-POINTS"]  # no product, so no picture and no price
    blank = near(box_pixels(pixels(path), points), CARD).mean()
    assert blank < 0.5, f"{blank:.0%} of the card without a picture is blank"
    assert not points.image and points.ids.hero_title.text == points.title
    assert points.ids.hero.collide_point(*points.ids.hero_title.center)

    combo = by_offer["OFF-MORNING-COMBO"]
    media = json.loads((ASSETS / "media.json").read_text())
    products = {m["sha256"] for m in media if m["url"].startswith("products/")}
    assert combo.image and Path(combo.image).name in products  # a product's own picture: no words baked in
    picture, tag, hero = combo.ids.picture, combo.ids.price_tag, combo.ids.hero
    assert picture.texture is not None and picture.opacity == 1
    assert abs(hero.top - combo.top) < 1 and hero.height >= combo.width * 9 / 16 - 1  # the picture leads
    assert tag.text == format_price(390, "EUR", "bg") == "3,90\xa0€" and tag.opacity == 1
    assert hero.collide_point(*tag.pos) and hero.collide_point(tag.right, tag.top)  # the price on the picture
    assert combo.ids.title.top <= hero.y  # the words come after the picture


def drawn_at_its_size(picture) -> bool:
    """The picture's texture covers its box and is no larger (one side as the box's, the other at least as long), or
    is the file's own size where the box is larger than the file."""
    (tw, th), (w, h) = picture.texture.size, picture.size
    with Image.open(picture.source) as file:
        if (tw, th) == file.size:
            return w >= tw - 1 or h >= th - 1
    return tw >= w - 1 and th >= h - 1 and (abs(tw - w) <= 1 or abs(th - h) <= 1)


def test_a_cards_picture_is_one_texture_at_the_size_it_is_drawn(app, shots):
    from kivy.core.window import Window

    from kiosk.pictures import Picture

    on_weekday(app, 2)
    maria_sees_her_offers(app)
    picture = next(card for card in cards(app) if card.image).ids.picture
    with Image.open(picture.source) as file:
        assert picture.texture.width < file.width  # the 960x540 file, drawn smaller on a card
    assert drawn_at_its_size(picture), (picture.texture.size, picture.size)
    twin = Picture(source=picture.source, fit_mode="cover", size_hint=(None, None), size=picture.size)
    Window.add_widget(twin)
    try:
        advance(2)
        assert twin.texture is picture.texture  # another box of that size draws the same texture
    finally:
        Window.remove_widget(twin)


def menu_heading(app):
    """The menu's heading on the offers screen: the label that starts with the word "Menu"."""
    from kivy.uix.label import Label

    word = app.tr("Menu")
    return next(w for w in app.root.get_screen("offers").walk() if isinstance(w, Label) and w.text.startswith(word))


def test_the_menu_has_a_heading_not_a_hyphen(app):
    on_weekday(app, 3)
    app.browse()
    advance(5)
    assert menu_heading(app).text == "Menu: Breakfast"
    app.set_language("bg")
    advance(3)
    heading = menu_heading(app)
    assert heading.text == f"Меню: {app.menu_name}" and " - " not in heading.text


def test_attract_shows_a_product_and_its_price_with_no_empty_half(app, shots):
    on_weekday(app, 4)
    attract = app.root.get_screen("attract")
    for lang, product in (("en", "Cappuccino + croissant"), ("bg", "Капучино + кроасан"),
                          ("ru", "Капучино + круассан")):
        headline = f"{product}  {format_price(390, 'EUR', lang)}"
        app.set_language(lang)
        for _ in range(len(attract.slides) + 1):
            if attract.ids.slide.text == headline:
                break
            attract.next_slide()
        advance(5)
        assert attract.ids.slide.text == headline and attract.ids.slide_body.text, lang
        path = shot(shots, f"kiosk-attract-{lang}")
    image = pixels(path)
    ground, primary = (tuple(round(c * 255) for c in rgba[:3]) for rgba in (app.brand.background, app.brand.primary))
    assert longest_run(near(image, ground, 6).all(axis=1)) < 0.1 * image.shape[0]  # no empty band
    # the status bar's buttons in the brand's colours: the chosen language filled, the others outlined
    chips = {w.text: w for w in attract.walk() if type(w).__name__ == "Chip"}
    assert set(chips) == {app.tr("Large text"), "EN", "БГ", "РУ"}
    ru, en = box_pixels(image, chips["РУ"]), box_pixels(image, chips["EN"])
    assert near(ru, primary, 20).mean() > 0.3 and near(en, CARD).mean() > 0.3


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_the_menu_fits_under_its_heading_or_scrolls(app, shots, size, large):
    resize_window(size)
    try:
        if large:
            app.toggle_large_text()
        on_weekday(app, 5 + 2 * SIZES.index(size) + large)
        maria_sees_her_offers(app)
        advance(5)
        offers = app.root.get_screen("offers")
        heading = menu_heading(app)
        rows = [w for w in offers.walk() if isinstance(w, MenuRow)]
        first, last = offers.ids.menu.children[-1], offers.ids.menu.children[0]  # a row, or a section's heading
        top_of_first = first.to_window(0, first.top)[1]
        chips = offers.ids.menu_categories  # the category chips between the heading and the rows
        assert heading.y - dp(16) <= chips.top <= heading.y + 1 and chips.children
        assert chips.y - dp(16) <= top_of_first <= chips.y + 1  # whole, right under its heading and chips
        assert all(row.width <= heading.width + 1 for row in rows)
        scroll = offers.ids.menu_scroll
        if offers.ids.menu.height > scroll.height + 1:  # longer than its room: it scrolls to its last row
            scroll.scroll_y = 0
            advance(3)
            assert abs(last.to_window(0, last.y)[1] - scroll.to_window(0, scroll.y)[1]) < 1
            scroll.scroll_y = 1
        grid = offers.ids.cards_scroll
        assert all(card.width > 0 and card.height > 0 for card in cards(app))
        assert grid.top <= offers.ids.greeting.y + 1
        shot(shots, f"kiosk-offers-{size[0]}x{size[1]}-{'large' if large else 'normal'}")
        app.reset()
        advance(3)
        shot(shots, f"kiosk-attract-{size[0]}x{size[1]}-{'large' if large else 'normal'}")
    finally:
        if app.large_text:
            app.toggle_large_text()
        resize_window((1280, 720))


def test_a_technician_sees_the_engines_full_reasons_on_the_maintenance_screen(app, shots):
    from kiosk.maintenance import MaintenanceService

    on_weekday(app, 11)
    health = {"sync_state": {"chain": 1}, "connected": False, "outbox_rows": 0, "uptime_s": 1.0,
              "cache_file_bytes": 0, "media_bytes": 0}
    app.maintenance = MaintenanceService(app.service.cache, device="kiosk-1", store="s001", broker=("127.0.0.1", 1),
                                         health=lambda: health, clock=app.service.clock)
    try:
        def shown() -> int:
            return app.service.cache.query("SELECT COUNT(*) FROM outbox WHERE type = 'offer_shown'")[0][0]

        before = shown()
        app.maintenance_refresh()
        app.root.current = "maintenance"
        advance(5)
        rows = [(row.what, row.value) for row in app.root.get_screen("maintenance").ids.rows.children[::-1]]
        assert ("Offer", "OFF-TIKVENIK-SEASON: in stock: Tikvenik (pumpkin pastry) (3)") in rows
        assert ("Offer", "OFF-MORNING-COMBO: morning (08:30); in stock: Butter croissant (42); "
                         "in stock: Cappuccino (240)") in rows
        assert "weather unknown" in dict(rows)["Offers now"]
        assert shown() == before  # a technician's look is not an impression
        shot(shots, "kiosk-maintenance-reasons")
    finally:
        app.maintenance = None
        app.reset()


@pytest.mark.parametrize("lang", ["en", "bg", "ru"])
def test_the_status_bar_buttons_hold_their_words_in_large_text(app, lang):
    app.set_language(lang)
    app.toggle_large_text()
    advance(5)
    chips = [w for w in app.root.get_screen("attract").walk() if type(w).__name__ == "Chip"]
    assert len(chips) == 4
    assert all(chip.texture_size[0] <= chip.width - dp(8) and chip.height >= dp(48) for chip in chips), [
        (chip.text, chip.texture_size, chip.size) for chip in chips]


def shown_labels(screen) -> list:
    from kivy.uix.label import Label

    return [w for w in screen.walk() if isinstance(w, Label) and w.opacity > 0 and w.height > 0 and w.text.strip()]


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_1080p_kiosk_draws_its_text_and_buttons_for_arms_length(app, shots, size):
    """The 1280x800 design's sizes, 1080/800 times larger on a 1080p screen (landscape or portrait): no text under
    18 dp of the design, the buttons as much taller; large text grows on top of that."""
    resize_window(size)
    try:
        on_weekday(app, 12 + SIZES.index(size))
        least = dp(18) * 1080 / 800
        attract = app.root.get_screen("attract")
        smallest = min(shown_labels(attract), key=lambda w: w.font_size)
        assert smallest.font_size >= least - 0.5, (smallest.text, smallest.font_size)
        assert attract.ids.start.height >= dp(64) * 1080 / 800 - 0.5
        maria_sees_her_offers(app)
        offers = app.root.get_screen("offers")
        smallest = min(shown_labels(offers), key=lambda w: w.font_size)
        assert smallest.font_size >= least - 0.5, (smallest.text, smallest.font_size)
        assert offers.ids.done.height >= dp(64) * 1080 / 800 - 0.5
        shot(shots, f"kiosk-offers-arms-length-{size[0]}x{size[1]}")
        normal = offers.ids.done.font_size
        app.toggle_large_text()
        advance(5)
        assert offers.ids.done.font_size >= 1.3 * normal
    finally:
        if app.large_text:
            app.toggle_large_text()
        resize_window((1280, 720))
    assert app.root.get_screen("attract").ids.start.height == pytest.approx(dp(64))  # the design's size below 800


def test_portrait_offer_cards_hug_their_content_and_the_menu_follows(app, shots):
    resize_window((1080, 1920))
    try:
        on_weekday(app, 14)
        maria_sees_her_offers(app)
        shown = cards(app)
        assert len(shown) >= 2
        for card in shown:  # as tall as the tallest content in its row, no taller
            row = [c for c in shown if abs(c.y - card.y) < 1]
            assert card.height <= max(c.natural_height for c in row) + 1, (card.height, card.natural_height)
        lowest = min(card.to_window(card.x, card.y)[1] for card in shown)
        heading = menu_heading(app)
        gap = lowest - heading.to_window(heading.x, heading.top)[1]
        assert 0 <= gap <= dp(48) * 1080 / 800, gap  # the menu right under the cards, no blank band between
        shot(shots, "kiosk-offers-portrait-cards")
    finally:
        resize_window((1280, 720))


def test_a_card_without_a_picture_is_a_poster_not_a_plain_block(app, shots):
    on_weekday(app, 15)
    maria_sees_her_offers(app)
    path = shot(shots, "kiosk-offers-poster-card")
    points = next(card for card, choice in zip(cards(app), app._choices, strict=True)
                  if choice.offer_id == "OFF-GOLD-DOUBLE-POINTS")
    assert not points.image
    hero, title = points.ids.hero, points.ids.hero_title
    primary = tuple(round(c * 255) for c in app.brand.primary[:3])
    plain = near(box_pixels(pixels(path), hero), primary).mean()
    assert plain < 0.7, f"{plain:.0%} of the card without a picture is one flat colour"
    assert title.font_size >= 1.4 * points.ids.why.font_size  # a headline, not a caption
    assert hero.collide_point(*title.pos) and hero.collide_point(title.right, title.top)


def test_the_attract_poster_leads_with_the_products_picture(app, shots):
    media = json.loads((ASSETS / "media.json").read_text())
    products = {m["sha256"] for m in media if m["url"].startswith("products/")}
    for size in SIZES:
        resize_window(size)
        try:
            on_weekday(app, 4)  # the morning combo's slide, in the weekday morning loop
            app.reset()
            attract = app.root.get_screen("attract")
            for _ in range(len(attract.slides) + 1):
                if attract.ids.slide.text == "Cappuccino + croissant  €3.90":
                    break
                attract.next_slide()
            advance(5)
            poster, picture, headline = attract.ids.poster, attract.ids.slide_picture, attract.ids.slide
            assert Path(picture.source).name in products and picture.texture is not None and picture.opacity == 1
            assert drawn_at_its_size(picture), (picture.texture.size, picture.size)
            assert picture.width * picture.height >= 0.3 * poster.width * poster.height  # photo-led
            assert poster.collide_point(*picture.pos) and poster.collide_point(picture.right, picture.top)
            assert not picture.collide_widget(headline.parent)  # the words beside or under it, not over it
            shot(shots, f"kiosk-attract-picture-{size[0]}x{size[1]}")
        finally:
            resize_window((1280, 720))


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_a_tall_kiosk_lists_the_whole_menu_by_section_down_to_the_done_button(app, shots, large):
    """At 1080x1920 one short category (Coffee, 4 items) left the lower 40 % of the screen blank above Done: a tall
    screen lists every category under its heading, as a portrait menu board does, filling the room or scrolling;
    a category's chip scrolls to its section. A wide screen, or reach mode, shows one category at a time."""
    from kivy.core.window import Window

    resize_window((1080, 1920))
    try:
        if large:
            app.toggle_large_text()
        on_weekday(app, 16 + large)
        maria_sees_her_offers(app)
        offers = app.root.get_screen("offers")
        menu, scroll, done = offers.ids.menu, offers.ids.menu_scroll, offers.ids.done
        chips = offers.ids.menu_categories.children[::-1]
        heads = [w for w in menu.children[::-1] if not isinstance(w, MenuRow)]
        assert len(chips) > 1 and [head.text for head in heads] == [chip.text for chip in chips]
        assert menu.children[-1] is heads[0]  # the menu opens on its first section
        lowest = max(menu.to_window(0, menu.y)[1], scroll.to_window(0, scroll.y)[1])  # the last row seen
        assert lowest - done.to_window(0, done.top)[1] <= 0.08 * Window.height  # no blank band above Done
        shot(shots, f"kiosk-offers-tall-menu-{'large' if large else 'normal'}")
        tap(chips[1])
        advance(3)
        head = heads[1]  # at the top of the list, its items under it
        assert abs(head.to_window(0, head.top)[1] - scroll.to_window(0, scroll.top)[1]) <= 1 and chips[1].selected
        shot(shots, f"kiosk-offers-tall-menu-chosen-{'large' if large else 'normal'}")
        app.toggle_reach()  # the lower half of a tall screen: a wide band, one category at a time
        advance(5)
        assert not [w for w in menu.children if not isinstance(w, MenuRow)] and menu.children
        app.toggle_reach()
        resize_window((1920, 1080))
        assert not [w for w in menu.children if not isinstance(w, MenuRow)] and menu.children
    finally:
        app.reach = False
        if app.large_text:
            app.toggle_large_text()
        resize_window((1280, 720))


@pytest.mark.parametrize("lang", ["ru", "bg"])
def test_each_offers_button_is_on_a_wide_screen_in_large_text_without_scrolling(app, shots, lang):
    """At 1920x1080 in large text the pictures' 16:9 and a poster's headline made the cards taller than the room:
    'Send to my phone' was a thin strip under the fold. The pictures give up height (cropped), a poster its mark,
    and a poster's headline is a little smaller in large text."""
    resize_window((1920, 1080))
    app.set_language(lang)
    app.toggle_large_text()
    try:
        on_weekday(app, 30 + ["ru", "bg"].index(lang))
        maria_sees_her_offers(app)
        advance(5)
        view = app.root.get_screen("offers").ids.cards_scroll
        bottom = view.to_window(view.x, view.y)[1]
        shown = cards(app)
        assert len(shown) >= 2
        for card in shown:
            button = next(w for w in card.walk() if getattr(w, "text", "") == app.tr("Send to my phone"))
            assert button.to_window(button.x, button.y)[1] >= bottom - 0.5, card.title
            picture = card.ids.hero
            assert picture.height >= card.width * 9 / 32 - 0.5  # a picture still, not a sliver
        shot(shots, f"kiosk-offers-wide-large-{lang}")
    finally:
        app.toggle_large_text()
        app.set_language("en")
        resize_window((1280, 720))
