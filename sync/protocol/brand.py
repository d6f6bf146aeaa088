"""A chain's brand as the screens draw it: its colours, the colours made from them, and whether every text the
screens draw on them is readable (WCAG AA).

Head office writes four colours (``primary``, ``accent``, ``background``, ``text``); the screens also draw white
on the primary colour (buttons), text on white cards, a muted text (reasons, hints), a pressed primary and
signage's dark boards. Those are made here from the four, so that the check below judges exactly the pairs the
kiosk, the staff tablet and signage draw. The built-in brand is the palette the screens had before brands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

RGB = tuple[float, float, float]
HEX_RE = re.compile(r"#[0-9a-fA-F]{6}")
COLOURS = ("primary", "accent", "background", "text")
WHITE: RGB = (1.0, 1.0, 1.0)
BLACK: RGB = (0.0, 0.0, 0.0)
AA = 4.5
MUTED_MIX = (0.34, 0.25, 0.15, 0.0)  # how far the muted text leans from the text towards the background
NAME_MAX = 40  # the signage brand slide and the headers show it on one line
# Every letter of the chain's languages (en, bg, ru): a font without one of them would draw a box for it.
NEEDED_LETTERS = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789€"
                  "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЬЮЯабвгдежзийклмнопрстуфхцчшщъьюяЁёЫыЭэ")
PICTURE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
FILE_MAX_BYTES = {"logo": 4 << 20, "font": 16 << 20}  # a logo is a badge, a font one weight: more is a mistake


def hex_rgb(value: str) -> RGB:
    return tuple(int(value[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(x + (y - x) * t for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def luminance(rgb: RGB) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True)
class Palette:
    primary: RGB
    accent: RGB
    background: RGB
    text: RGB

    @classmethod
    def of(cls, brand: Mapping) -> Palette:
        """The palette of a brand item whose colours are valid (``brand_problems`` says nothing about them)."""
        return cls(*(hex_rgb(brand[name]) for name in COLOURS))

    @property
    def card(self) -> RGB:
        return WHITE

    @property
    def primary_text(self) -> RGB:
        """Words on a primary button or poster."""
        return WHITE if contrast(WHITE, self.primary) >= contrast(self.background, self.primary) else self.background

    @property
    def primary_down(self) -> RGB:
        return mix(self.primary, BLACK, 0.24)

    @property
    def dark(self) -> RGB:
        """Signage's boards (menu, clock, waiting screen): the text colour, deeper."""
        return mix(self.text, BLACK, 0.35)

    @property
    def muted(self) -> RGB:
        """Secondary text: as light as still reads on the background and on cards."""
        for t in MUTED_MIX:
            colour = mix(self.text, self.background, t)
            if min(contrast(colour, self.background), contrast(colour, self.card)) >= AA:
                return colour
        return self.text


BUILT_IN = Palette(hex_rgb("#8c3b1f"), hex_rgb("#e38c2e"), hex_rgb("#faf2e6"), hex_rgb("#2b1f1a"))

# (what is drawn, on what, the field a marketer changes, how it is drawn): every pair the screens draw text with.
PAIRS: tuple[tuple[str, str, str, str], ...] = (
    ("text", "background", "text", "as text on the background {background}"),
    ("text", "card", "text", "as text on the white offer cards"),
    ("primary", "background", "primary", "as the store's name and prices on the background {background}"),
    ("primary", "card", "primary", "as prices and button outlines on white"),
    ("primary_text", "primary", "primary", "under the words of its buttons and posters"),
    ("accent", "dark", "accent", "as signage's prices on its dark boards (the text colour {text}, deepened)"),
)


def brand_problems(brand: Mapping) -> list[str]:
    """What is wrong with a brand item, in a marketer's words: a colour that is not ``#rrggbb``, a name too long
    for the screens, or a pair of colours the screens draw text with whose contrast is below WCAG AA (4.5:1)."""
    out = []
    for name in COLOURS:
        value = brand.get(name)
        if value is None:
            out.append(f"field {name!r}: missing (a colour like #1f5c4a)")
        elif not isinstance(value, str) or not HEX_RE.fullmatch(value):
            out.append(f"field {name!r}: {value!r} is not a colour like #1f5c4a")
    name = brand.get("name")
    if isinstance(name, str) and len(name) > NAME_MAX:
        out.append(f"field 'name': {len(name)} characters; at most {NAME_MAX} fit the screens")
    if out:
        return out
    palette = Palette.of(brand)
    for fore, back, field, how in PAIRS:
        ratio = contrast(getattr(palette, fore), getattr(palette, back))
        if ratio < AA:
            out.append(f"field {field!r}: {brand[field]} {how.format(**brand)} has a contrast of {ratio:.2f}:1;"
                       f" shoppers need at least {AA:g}:1 (WCAG AA)")
    return out


def missing_letters(path: Path) -> str | None:
    """The letters the screens need that the font file at ``path`` has no glyph for; None when it is not a font
    (TrueType or OpenType) at all."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(str(path), lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except (TTLibError, OSError, ValueError, AssertionError, KeyError, TypeError):
        return None
    return "".join(c for c in NEEDED_LETTERS if ord(c) not in cmap)


def is_picture(path: Path) -> bool:
    """Is the file a PNG or a JPEG, what a logo may be."""
    with path.open("rb") as f:
        return f.read(8).startswith(PICTURE_MAGIC)


def file_problems(field: str, path: Path) -> list[str]:
    """What is wrong with a brand's logo or font file: head office checks it before publishing, the screens
    before they use it (a file is read only up to its size limit)."""
    size = path.stat().st_size
    if size > FILE_MAX_BYTES[field]:
        return [f"field {field!r}: {path.name} is {size / (1 << 20):.1f} MB; at most"
                f" {FILE_MAX_BYTES[field] >> 20} MB"]
    if field == "logo" and not is_picture(path):
        return [f"field 'logo': {path.name} is not a PNG or JPEG picture"]
    if field == "font":
        missing = missing_letters(path)
        if missing is None:
            return [f"field 'font': {path.name} does not load as a TrueType or OpenType font"]
        if missing:
            return [f"field 'font': {path.name} has no letters {missing[:24]} (the screens need every Latin and"
                    " Cyrillic letter; without them the screens keep their built-in font)"]
    return []
