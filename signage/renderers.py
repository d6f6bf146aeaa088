"""What a zone draws: one Kivy widget class per content kind, built and decoded before it is shown.

Every slide is made by ``build_slide`` (for the next item while the current one plays) and
``prepare()`` does the slow part: decode the image into a texture, open the video, ask the engine
for the menu board. A slide that fails there raises SlideError and never reaches the screen.
The kv rules that style them are in ``signage/kv/signage.kv``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from babel.support import Translations
from kivy.app import App
from kivy.core.image import Image as CoreImage
from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.utils import get_color_from_hex

from kiosk.i18n import Translator, load_translations
from sync.protocol.brand import BUILT_IN

from .fit import FitLabel  # noqa: F401 (the kv rules use it)
from .library import Item
from .live import LiveBoards, money
from .text_fill import fill, localised

log = logging.getLogger("store_edge.signage")


@lru_cache(maxsize=8)
def _catalog(lang: str) -> Translations:
    return load_translations(lang if lang in Translator.languages else "en")


def tr(lang: str, msgid: str) -> str:
    """The screen's own words in its language (the kiosk's catalogues; English for a language they lack)."""
    return _catalog(lang).gettext(msgid)
VIDEO_FIRST_FRAME_S = 5.0
MIN_FONT = 12
MAX_CROP = 0.2
SETTLE_PASSES = 8


class SlideError(RuntimeError):
    """This item cannot be shown; the message says why (for the log and the report)."""


class SlideSkipped(SlideError):
    """Nothing for this slide to show here now, and nothing wrong: the player moves on without a report."""


class Slide(FloatLayout):
    background = ListProperty([0.11, 0.08, 0.06, 1])
    item: Item | None = None
    duration_s: float = 8.0

    def prepare(self) -> None:
        """Load and decode everything the first frame needs. Raises SlideError."""

    def settle(self) -> None:
        """Lay the slide out and render its text now, at its final size, so that the frame that swaps it in
        only draws (Kivy would otherwise do both on that frame, about 30 ms for a menu board here). Only what
        Kivy has queued is done, and taken off its queue; a box sized by its text (a card as tall as its
        lines) moves its parents, so again until nothing is queued."""
        from kivy.uix.label import Label
        from kivy.uix.layout import Layout

        widgets = list(self.walk())
        layouts = [w for w in widgets if isinstance(w, Layout)]
        labels = [w for w in widgets if isinstance(w, Label)]
        for _ in range(SETTLE_PASSES):
            queued = [w for w in layouts if w._trigger_layout.is_triggered]
            for layout in queued:
                layout._trigger_layout.cancel()
                layout.do_layout()
            rendered = [w for w in labels if w._trigger_texture.is_triggered]
            for label in rendered:
                label._trigger_texture.cancel()
                label.texture_update()
            if not queued and not rendered:
                return

    def start(self) -> None:
        """The slide is on screen."""

    def stop(self) -> None:
        """The slide left the screen; free what it holds."""

    def failure(self) -> str | None:
        """A reason once the slide failed while playing (a video that never shows a frame)."""
        return None

    def ended_early(self) -> bool:
        return False


def decode(path: Path) -> Texture:
    """A picture decoded and uploaded now, not on its first draw; SlideError if it cannot be."""
    try:
        texture = CoreImage(str(path)).texture
    except Exception as exc:
        raise SlideError(f"image {path.name[:12]} cannot be decoded ({exc.__class__.__name__})") from None
    if texture is None:
        raise SlideError(f"image {path.name[:12]} cannot be decoded")
    return texture


class ImageSlide(Slide):
    texture = ObjectProperty(None, allownone=True)
    cover_size = ListProperty([0, 0])

    def __init__(self, path: Path, **kwargs):
        super().__init__(**kwargs)
        self.path = path
        self.bind(size=self._fit, texture=self._fit)

    def prepare(self) -> None:
        self.texture = decode(self.path)

    def _fit(self, *args: object) -> None:
        """Fill the zone, cropping the longer side (what a designer means by 'cover'), unless that would cut
        off more than ``MAX_CROP`` of the picture (a 16:9 picture in a portrait zone, its words and price
        cut in half): then the whole picture, with bars."""
        if self.texture is None or not self.width or not self.height:
            return
        tw, th = self.texture.size
        cover, contain = max(self.width / tw, self.height / th), min(self.width / tw, self.height / th)
        cut = 1 - min(self.width / (tw * cover), self.height / (th * cover))
        scale = cover if cut <= MAX_CROP else contain
        self.cover_size = [tw * scale, th * scale]

    def stop(self) -> None:
        self.texture = None


class VideoSlide(Slide):
    """Kivy's core video on the ffpyplayer provider; the first frame is decoded before it is shown."""

    def __init__(self, path: Path, **kwargs):
        super().__init__(**kwargs)
        self.path = path
        self.video = None
        self._eos = False
        self._started_at: float | None = None
        self._frames = 0
        with self.canvas:
            Color(1, 1, 1, 1)
            self._rect = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._fit, size=self._fit)

    def prepare(self) -> None:
        from kivy.core.video import Video as CoreVideo

        if CoreVideo is None:
            raise SlideError("no video provider (install ffpyplayer)")
        if not self.path.is_file() or self.path.stat().st_size == 0:
            raise SlideError(f"video {self.path.name[:12]} is missing or empty")
        self.video = CoreVideo(filename=str(self.path), eos="stop")
        self.video.bind(on_frame=self._frame, on_eos=self._end)
        self.video.play()  # decoding starts now; the texture is shown from start()
        self.video.pause()

    def start(self) -> None:
        import time

        self._started_at = time.monotonic()
        if self.video is not None:
            self.video.play()

    def _frame(self, *args: object) -> None:
        self._frames += 1
        self._rect.texture = self.video.texture
        self._fit()

    def _fit(self, *args: object) -> None:
        tex = self._rect.texture
        if tex is None or not self.width:
            self._rect.pos, self._rect.size = self.pos, self.size
            return
        scale = min(self.width / tex.width, self.height / tex.height)
        w, h = tex.width * scale, tex.height * scale
        self._rect.size = (w, h)
        self._rect.pos = (self.center_x - w / 2, self.center_y - h / 2)

    def _end(self, *args: object) -> None:
        self._eos = True

    def ended_early(self) -> bool:
        return self._eos

    def failure(self) -> str | None:
        import time

        if self._started_at is not None and self._frames == 0 and \
                time.monotonic() - self._started_at > VIDEO_FIRST_FRAME_S:
            return f"video {self.path.name[:12]} showed no frame in {VIDEO_FIRST_FRAME_S:g} s"
        return None

    @property
    def frames(self) -> int:
        return self._frames

    def stop(self) -> None:
        if self.video is not None:
            self.video.unbind(on_frame=self._frame, on_eos=self._end)
            self.video.stop()
            self.video.unload()
            self.video = None
        self._rect.texture = None


# What a text slide draws with where its template names no colour (or it has none): the chain's brand.
BRAND_COLOURS = {"background": "background", "foreground": "text", "accent": "primary"}


def brand_colour(name: str) -> list[float]:
    """The running app's brand colour (kiosk.brand), the built-in one outside an app."""
    brand = getattr(App.get_running_app(), "brand", None)
    return list(getattr(brand, name)) if brand is not None else [*getattr(BUILT_IN, name), 1.0]


class TextSlide(Slide):
    """A slide from a text template: title and body with ``{var}`` fields filled from the item."""

    title = StringProperty("")
    body = StringProperty("")
    footer = StringProperty("")
    foreground = ListProperty([0.17, 0.12, 0.10, 1])
    accent = ListProperty([0.89, 0.55, 0.18, 1])

    def __init__(self, item: Item, template: Mapping | None, lang: str, **kwargs):
        super().__init__(**kwargs)
        self.item_doc, self.template, self.lang = item.doc, template or {}, lang

    def prepare(self) -> None:
        doc, t = self.item_doc, self.template
        variables = {k: localised(v, self.lang) for k, v in (doc.get("vars") or {}).items()}
        text = localised(doc.get("text"), self.lang)
        try:
            if "title" in t:
                self.title = fill(localised(t["title"], self.lang), variables, text)
                self.body = fill(localised(t.get("body"), self.lang), variables, text)
            else:
                self.title = text
            self.footer = fill(localised(doc.get("title"), self.lang), variables, text)
            for field, brand in BRAND_COLOURS.items():
                setattr(self, field, get_color_from_hex(t[field]) if t.get(field) else brand_colour(brand))
        except (KeyError, ValueError, IndexError) as exc:
            raise SlideError(f"text template {t.get('id', '(default)')!r}: {exc}") from None


def shrink_until(fits: Callable[[], bool], lay_out: Callable[[], None], font: float, widgets: list) -> None:
    """Set the ``font`` of ``widgets``, lay out, and make it a tenth smaller each time until ``fits()`` (or the
    smallest font)."""
    while True:
        for widget in widgets:
            widget.font = font
        lay_out()
        if fits() or font <= MIN_FONT:
            return
        font = max(MIN_FONT, font * 0.9)


class BoardRow(BoxLayout):
    name = StringProperty("")
    price = StringProperty("")
    font = NumericProperty(20)

    def fits(self) -> bool:
        """The name (wrapped to its column) and the price are no taller than the row."""
        return max(self.ids.name.texture_size[1], self.ids.price.texture_size[1]) <= self.height


class MenuBoardSlide(Slide):
    """The engine's menu decision for now: daypart, weather and stock aware, with prices."""

    heading = StringProperty("")
    columns = NumericProperty(1)

    def __init__(self, boards: LiveBoards, lang: str, limit: int = 12, **kwargs):
        super().__init__(**kwargs)
        self.boards, self.lang, self.limit = boards, lang, limit
        self.note = ""  # why the engine chose this menu: for technicians (health), never on the screen
        self.bind(size=self._layout_rows)

    def prepare(self) -> None:
        try:
            decision = self.boards.menu(self.lang, self.limit)
        except Exception as exc:  # the engine's own errors name the menu and field
            raise SlideError(f"menu board: {exc}") from None
        if not decision.items:
            raise SlideError("menu board: nothing on the menu is in stock")
        self.heading = decision.name
        self.note = "  ·  ".join(r for r in decision.reasons if r)
        self._decision = decision
        self._layout_rows()

    def _layout_rows(self, *args: object) -> None:
        """One row per item; a name too long for its column wraps, and the type gets smaller until every row fits."""
        decision = getattr(self, "_decision", None)
        if decision is None or not self.width:
            return
        rows = self.ids.rows
        rows.clear_widgets()
        self.columns = 2 if self.width > self.height * 1.3 and len(decision.items) > 6 else 1
        per_column = -(-len(decision.items) // self.columns)
        font = max(MIN_FONT, min(self.height * 0.7 / max(per_column, 1) * 0.5, self.width / self.columns * 0.045))
        board = [BoardRow(name=item.name, price=money(item.price_cents, item.currency, self.lang) or "", font=font)
                 for item in decision.items]
        for row in board:
            rows.add_widget(row)
        shrink_until(lambda: all(row.fits() for row in board), self.settle, font, board)


class OfferCardView(BoxLayout):
    title = StringProperty("")
    price = StringProperty("")
    was = StringProperty("")
    font = NumericProperty(20)


class OffersSlide(Slide):
    """Anonymous offers for this store and moment (``LiveBoards.offers``): never a shopper's data. An offer
    already on screen in another zone (``elsewhere``) is left out here: one offer, one place at a time."""

    heading = StringProperty("")
    heading_font = NumericProperty(20)

    def __init__(self, boards: LiveBoards, lang: str, k: int = 3, elsewhere: Collection[str] = (), **kwargs):
        super().__init__(**kwargs)
        self.boards, self.lang, self.k, self.elsewhere = boards, lang, k, frozenset(elsewhere)
        self.heading = tr(lang, "Today at the counter")
        self.offer_ids: tuple[str, ...] = ()

    def prepare(self) -> None:
        try:
            offers = self.boards.offers(self.lang, self.k + len(self.elsewhere))
        except Exception as exc:
            raise SlideError(f"offers: {exc}") from None
        if not offers:
            raise SlideError("offers: the engine has no offer for signage now")
        cards = [c for c in offers if c.offer_id not in self.elsewhere][:self.k]
        if not cards:
            raise SlideSkipped("offers: every offer is on screen in another zone")
        self.offer_ids = tuple(c.offer_id for c in cards)
        box = self.ids.cards
        for c in cards:
            was = tr(self.lang, "was {price}").format(price=c.was) if c.was else ""
            box.add_widget(OfferCardView(title=c.title, price=c.price or "", was=was))
        self.bind(size=self._fit_cards)
        self._fit_cards()

    def _fit_cards(self, *args: object) -> None:
        """Cards as tall as what they say, as large as the zone allows, smaller until they all fit."""
        if not self.width:
            return
        box, views = self.ids.cards, self.ids.cards.children
        self.heading_font = max(MIN_FONT, min(self.height * 0.13, self.width * 0.06))
        across = box.orientation == "horizontal"
        stacked = 1 if across else len(views)
        font = max(MIN_FONT, min(self.width / (len(views) if across else 1) * 0.085,
                                 self.height / stacked * 0.16))
        shrink_until(lambda: box.height <= self.ids.area.height, self.settle, font, list(views))


class ProductSlide(Slide):
    """A product poster: the product's own word-free picture, and beside it its name, the item's short line and
    the price list's price (``was`` only when the price was lowered), all drawn in the screen's language, so
    a poster never shows another language or a price the till does not charge."""

    name = StringProperty("")
    line = StringProperty("")
    price = StringProperty("")
    was = StringProperty("")
    picture = ObjectProperty(None, allownone=True)  # the part of the picture that covers its box
    wide = BooleanProperty(True)  # picture beside the words; else above them
    font = NumericProperty(20)

    def __init__(self, boards: LiveBoards, sku: str, lang: str, **kwargs):
        super().__init__(**kwargs)
        self.boards, self.sku, self.lang = boards, sku, lang
        self._texture: Texture | None = None

    def prepare(self) -> None:
        try:
            poster = self.boards.product(self.sku, self.lang)
        except Exception as exc:
            raise SlideError(f"product poster: {exc}") from None
        path = self.item.path if self.item is not None and self.item.path else poster.picture
        if path is None and not poster.image:
            raise SlideError(f"product poster: product {self.sku!r} has no picture")
        if path is None:
            raise SlideSkipped(f"product poster: the picture of {self.sku!r} is not on this device yet")
        if poster.price is None:
            raise SlideError(f"product poster: product {self.sku!r} has no price")
        self._texture = decode(path)
        self.name, self.price = poster.name, poster.price
        self.was = tr(self.lang, "was {price}").format(price=poster.was) if poster.was else ""
        self.line = localised(self.item.doc.get("text"), self.lang) if self.item is not None else ""
        self.ids.frame.bind(size=self._crop)
        self._crop()

    def _crop(self, *args: object) -> None:
        """The middle of the picture in its box's proportions: it fills the box, nothing stretched."""
        frame, texture = self.ids.frame, self._texture
        if texture is None or not frame.width or not frame.height:
            return
        tw, th = texture.size
        w, h = min(tw, th * frame.width / frame.height), min(th, tw * frame.height / frame.width)
        self.picture = texture.get_region((tw - w) / 2, (th - h) / 2, w, h)

    def stop(self) -> None:
        self._texture = self.picture = None


class MessageSlide(Slide):
    """An emergency override's message."""

    title = StringProperty("")
    body = StringProperty("")
    style = StringProperty("alert")


class BrandSlide(Slide):
    """Store branding: shown when nothing at all can play."""

    name = StringProperty("")
    tagline = StringProperty("")


class WaitingScreen(Slide):
    """A fresh device: branded, with the device id an installer reads to register it."""

    name = StringProperty("")
    device_id = StringProperty("")
    dots = NumericProperty(0)


class IdentifyOverlay(FloatLayout):
    device_id = StringProperty("")
    detail = StringProperty("")
    flash = BooleanProperty(True)


class BlackCover(FloatLayout):
    """The output blanked where DPMS is not available."""


class TickerZone(Slide):
    """Text scrolling right to left; it fades in and out at the zone's ends instead of being cut off there
    (by a clock or any zone beside it)."""

    scrolls = True  # its text runs through it on purpose (the layout audit lets it)
    text = StringProperty("")
    offset = NumericProperty(0)
    fade = ObjectProperty(None, allownone=True)
    speed_px_s = 120.0

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fade = _fade_texture()

    def advance(self, dt: float) -> None:
        label = self.ids.text
        self.offset -= self.speed_px_s * dt
        if self.offset < -label.width:
            self.offset = self.width


def _fade_texture() -> Texture:
    """White from opaque (left) to clear (right); drawn in the zone's colour over the ends of its text."""
    steps = 64
    texture = Texture.create(size=(steps, 1), colorfmt="rgba")
    texture.blit_buffer(bytes(v for i in range(steps) for v in (255, 255, 255, 255 - i * 255 // (steps - 1))),
                        colorfmt="rgba", bufferfmt="ubyte")
    texture.wrap = "clamp_to_edge"
    return texture


class ClockZone(Slide):
    time_text = StringProperty("")
    detail = StringProperty("")

    def show(self, local: datetime, weather: str) -> None:
        self.time_text = f"{local:%H:%M}"
        self.detail = "   ".join(p for p in (f"{local:%a %d %b}", weather) if p)


def build_slide(item: Item, *, templates: Mapping[str, Mapping], boards: LiveBoards, lang: str,
                offers_elsewhere: Collection[str] = ()) -> Slide:
    """The widget for ``item``, not yet prepared; ``offers_elsewhere``: offer ids other zones show or will."""
    if item.kind == "image":
        slide: Slide = ImageSlide(item.path or Path("/nonexistent"))
    elif item.kind == "video":
        slide = VideoSlide(item.path or Path("/nonexistent"))
    elif item.kind == "text":
        template = templates.get(item.doc.get("template", "")) if item.doc.get("template") else None
        if item.doc.get("template") and template is None:
            raise SlideError(f"text template {item.doc['template']!r} is not in the cache")
        slide = TextSlide(item, template, lang)
    elif item.kind == "menu_board":
        slide = MenuBoardSlide(boards, lang, item.doc.get("limit", 12))
    elif item.kind == "offers":
        slide = OffersSlide(boards, lang, item.doc.get("limit", 3), elsewhere=offers_elsewhere)
    elif item.kind == "product":
        slide = ProductSlide(boards, item.doc["sku"], lang)
    else:
        raise SlideError(f"unknown item kind {item.kind!r}")
    slide.item = item
    slide.duration_s = item.duration_s
    return slide
