"""The chain's brand on the screen: the kv rules of the kiosk, the staff tablet and signage draw every colour, the
logo and the typeface from one ``ScreenBrand``, which follows the ``brand`` section in the cache.

Until a bundle brings a brand, and for anything a brand leaves out or that does not load (its logo not here or
not a picture, its font not a font or without the Cyrillic letters bg and ru need), the built-in look stays:
the palette the screens had before brands (``sync.protocol.brand.BUILT_IN``), no logo, Kivy's Roboto.
"""

from __future__ import annotations

import atexit
import functools
import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.text import Label as CoreLabel
from kivy.event import EventDispatcher
from kivy.properties import ColorProperty, StringProperty

from sync.cache.db import CacheError
from sync.cache.read import CacheReader
from sync.protocol.brand import BUILT_IN, NEEDED_LETTERS, Palette, brand_problems, file_problems

log = logging.getLogger("store_edge.brand")

FOLLOW_S = 2.0  # how often the screens look for a new brand in the cache: a new one shows within this, no restart


def _rgba(rgb: tuple[float, float, float]) -> list[float]:
    return [*rgb, 1.0]


class ScreenBrand(EventDispatcher):
    """The colours, logo and typeface the kv rules read (``app.brand.primary``, ``app.brand.font_name``, ...)."""

    primary = ColorProperty(_rgba(BUILT_IN.primary))
    primary_down = ColorProperty(_rgba(BUILT_IN.primary_down))
    primary_text = ColorProperty(_rgba(BUILT_IN.primary_text))
    accent = ColorProperty(_rgba(BUILT_IN.accent))
    background = ColorProperty(_rgba(BUILT_IN.background))
    text = ColorProperty(_rgba(BUILT_IN.text))
    muted = ColorProperty(_rgba(BUILT_IN.muted))
    card = ColorProperty(_rgba(BUILT_IN.card))
    dark = ColorProperty(_rgba(BUILT_IN.dark))
    logo = StringProperty("")  # the logo file, "" for none
    font_name = StringProperty(DEFAULT_FONT)
    name = StringProperty("")  # the chain's name, "" when the brand names none

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.item: Mapping | None = None
        self._event = None

    def apply(self, item: Mapping | None, media_path: Callable[[str], Path | None]) -> None:
        """Draw with ``item`` (a ``brand`` section item; None: the built-in brand). A brand the device's check
        would refuse never reaches here from a bundle; one that does anyway is not drawn."""
        problems = brand_problems(item) if item is not None else []
        if problems:
            log.error("brand %s not drawn: %s", item.get("id"), "; ".join(problems))
            item = None
        palette = Palette.of(item) if item else BUILT_IN
        for name in ("primary", "primary_down", "primary_text", "accent", "background", "text", "muted", "card",
                     "dark"):
            setattr(self, name, _rgba(getattr(palette, name)))
        self.logo = _logo(item.get("logo") if item else None, media_path)
        self.font_name = _font(item.get("font") if item else None, media_path)
        self.name = (item.get("name") or "") if item else ""
        self.item = item

    def follow(self, reader: CacheReader) -> None:
        """Apply the cache's brand now and whenever it changes (a bundle, or its logo or font file arriving)."""
        self.stop()
        self.refresh(reader)
        self._event = Clock.schedule_interval(lambda dt: self.refresh(reader), FOLLOW_S)

    def refresh(self, reader: CacheReader) -> None:
        try:
            item = reader.brand()
        except CacheError as exc:  # the cache busy or broken: keep drawing what is on screen
            log.warning("brand not read: %s", exc)
            return
        if item != self.item or self._files_arrived(item, reader):
            self.apply(item, reader.media_path)

    def _files_arrived(self, item: Mapping | None, reader: CacheReader) -> bool:
        """A file the brand names that was missing when it was applied is here now."""
        if not item:
            return False
        return (bool(item.get("logo")) and not self.logo and reader.media_path(item["logo"]) is not None) or \
            (bool(item.get("font")) and self.font_name == DEFAULT_FONT and reader.media_path(item["font"]) is not None)

    def stop(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None


def _logo(sha256: str | None, media_path: Callable[[str], Path | None]) -> str:
    path = media_path(sha256) if sha256 else None
    if path is None:
        return ""
    for problem in file_problems("logo", path):  # the check head office ran: a device may get one it did not
        log.error("brand logo not shown: %s", problem)
        return ""
    return str(path)


@functools.cache
def _font_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="store-edge-fonts-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _named_font(path: Path) -> Path:
    """The media file under a font's file name: SDL_ttf, under Kivy, opens a font file only by such a name."""
    with path.open("rb") as f:
        suffix = ".otf" if f.read(4) == b"OTTO" else ".ttf"
    link = _font_folder() / f"{path.name}{suffix}"
    if not link.exists():
        link.symlink_to(path.resolve())
    return link


def _font(sha256: str | None, media_path: Callable[[str], Path | None]) -> str:
    """The brand font's registered name once it loads and has every letter the screens need; else Roboto."""
    path = media_path(sha256) if sha256 else None
    if path is None:
        return DEFAULT_FONT
    for problem in file_problems("font", path):
        log.error("brand font not used, the built-in one is: %s", problem)
        return DEFAULT_FONT
    name = f"brand-{sha256[:16]}"
    LabelBase.register(name, str(_named_font(path)))
    try:
        CoreLabel(text=NEEDED_LETTERS, font_name=name, font_size=20).refresh()  # loaded as the screens will
    except Exception as exc:  # noqa: BLE001 - whatever the text provider says, the screens keep a font
        log.error("brand font %s does not render (%s); the built-in font is used", sha256[:12], exc)
        return DEFAULT_FONT
    return name
