"""The layout audit: walk a real Kivy widget tree and list what a person would see as broken.

One audit for the kiosk, the staff tablet and signage. ``problems(root)`` is the layout alone:

- a label's text is all drawn: no line dropped, nothing shortened to an ellipsis, no word split across
  two lines, and its texture fits its box (a label that wraps by design, ``text_size`` set, may be any
  height its box allows, but not more);
- no box is laid out to nothing while what it holds is drawn (out of it);
- no widget leaves its parent, and no widget covers a sibling (but a tag or caption laid on a picture in
  a float layout is the design: its contrast is checked instead).

``screen_problems(root, picture, lang)`` adds what needs the screenshot and the language, on every
widget in sight (not scrolled out of its scroll view):

- touch targets (anything a tap acts on, enabled) are at least 48 dp each way;
- a text field's hint fits the field, and every character is in the font (no missing-glyph box);
- text and background (of an enabled widget: AA asks nothing of an inactive control) have a WCAG AA
  contrast of 4.5:1, 3:1 for large text (24 dp, or 18.66 dp bold); the text's colour is the label's
  (blended by its alpha), the background the commonest pixel of its box on the screenshot, so it is
  the colour actually drawn;
- in bg and ru nothing is left in English. The rule: a Latin word of three letters or more that is a
  word of an English msgid (``kiosk/locale/en``) is English, unless it is part of a proper name the
  caller passes (the store's name, a brand) or of a web address (a word with a dot or a slash), or an
  abbreviation in capitals (PIN, QR: Bulgarian and Russian write them so too). Prices, numbers and the
  language chips (EN, two letters) carry no such word.

A label's footprint is the texture it draws (centred in its box), the rest of a widget's is its box.
The children of a widget that moves them through itself on purpose (a ``ScrollView``, or any widget
with ``scrolls = True``, such as signage's ticker) may leave it. Widgets of zero size, and labels with
no text, draw nothing and are not looked at.

What a label drew is read from Kivy's core label (``_cached_lines``, ``_internal_size``, ``is_shortened``,
as in Kivy 2.3): the lines it laid out, which leave out what did not fit.

``record`` keeps each audited screenshot with its findings; ``write_contact_sheet`` makes them one HTML
page, ``index.html`` beside the screenshots (tests/ui/conftest.py calls it at the session's end).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

TOLERANCE_PX = 1.0
MARKUP = re.compile(r"\[/?[a-z_]+(?:=[^\]]*)?\]")
LOCALE_EN = Path(__file__).resolve().parents[2] / "kiosk" / "locale" / "en" / "LC_MESSAGES" / "kiosk.po"
Box = tuple[float, float, float, float]  # x, y, right, top in window coordinates
RGB = tuple[float, float, float]


def problems(root) -> list[str]:
    """Every defect under ``root`` (itself included), one line each, naming the widget by its path."""
    found: list[str] = []
    _visit(root, _name(root), found)
    return found


def assert_layout_ok(root, where: str) -> None:
    found = problems(root)
    assert not found, f"{where}: {len(found)} layout defect(s)\n" + "\n".join(found)


def label_problem(label) -> str | None:
    """Why this label's text is not shown in full, or None."""
    from kivy.uix.label import Label

    if not isinstance(label, Label) or not label.text.strip():
        return None
    label.texture_update()
    core = label._label
    want = plain(label)
    drawn = " ".join("".join(word.text for word in line.words) for line in core._cached_lines)
    if getattr(core, "is_shortened", False) or _letters(drawn) != _letters(want):
        return f"text not drawn in full: {label.text!r} shows as {_drawn_text(core)!r}"
    if _entities(drawn).split() != _entities(want).split():
        return f"text {label.text!r} is split mid-word: {_drawn_text(core)!r}"
    tw, th = label.texture_size
    content_w, content_h = getattr(core, "_internal_size", (tw, th))
    if content_h > th + TOLERANCE_PX or content_w > tw + TOLERANCE_PX:
        return f"text {label.text!r} is {content_w:.0f}x{content_h:.0f} px in a {tw:.0f}x{th:.0f} texture"
    if tw > label.width + TOLERANCE_PX or th > label.height + TOLERANCE_PX:
        return f"text {label.text!r} is {tw:.0f}x{th:.0f} px in a {label.width:.0f}x{label.height:.0f} box"
    return None


def screen_problems(root, picture, lang: str = "en", proper_names: Iterable[str] = ()) -> list[str]:
    """``problems(root)`` and, on each widget in sight, touch target, hint, glyphs, contrast on ``picture``
    (a PIL RGB screenshot of the whole window) and, in ``lang`` other than en, English left on screen."""
    from kivy.uix.label import Label

    found = problems(root)
    names = {word.lower() for name in proper_names for word in _latin_words(name)}
    for widget in in_sight(root):
        where = _name(widget) + (f" {widget.text[:30]!r}" if isinstance(getattr(widget, "text", None), str) else "")
        found += [f"{where}: {p}" for p in _widget_problems(widget)]
        if not isinstance(widget, Label) or not plain(widget).strip():
            continue
        ratio, needed = contrast_on(picture, widget)
        if ratio < needed and not widget.disabled:  # AA asks nothing of an inactive control
            found.append(f"{where}: contrast {ratio:.2f}:1, below {needed}:1")
        english = untranslated(plain(widget), lang, names)
        if english:
            found.append(f"{where}: untranslated in {lang}: {' '.join(english)}")
    return found


def in_sight(root, clip: Box | None = None) -> Iterator:
    """The widgets under ``root`` a person sees: drawn, and inside the scroll view that holds them (the
    rest is scrolled away, and a scroll view's content is as long as its rows)."""
    from kivy.uix.scrollview import ScrollView

    for child in root.children:
        if not _draws(child):
            continue
        if clip is not None and not _inside(_box(child), clip):
            yield from in_sight(child, clip)  # the scrolled content itself, or a row half out of view
            continue
        yield child
        yield from in_sight(child, _box(child) if isinstance(child, ScrollView) else clip)


def _widget_problems(widget) -> list[str]:
    from kivy.core.text import Label as CoreLabel
    from kivy.metrics import dp
    from kivy.uix.behaviors import ButtonBehavior
    from kivy.uix.label import Label
    from kivy.uix.textinput import TextInput

    found = []
    if isinstance(widget, ButtonBehavior) and not widget.disabled and min(widget.size) < dp(48) - 0.5:
        found.append(f"a touch target of {widget.width:.0f}x{widget.height:.0f} px, under 48 dp ({dp(48):.0f} px)")
    if isinstance(widget, TextInput) and widget.hint_text and not widget.text:
        hint = CoreLabel(text=widget.hint_text, font_size=widget.font_size, font_name=widget.font_name)
        hint.refresh()
        if hint.content_width > widget.width - widget.padding[0] - widget.padding[2]:
            found.append(f"the hint {widget.hint_text!r} is cut off")
    if isinstance(widget, Label):
        missing = {ch for ch in plain(widget) if not ch.isspace() and ord(ch) not in font_chars()}
        if missing:
            found.append(f"characters the font lacks: {''.join(sorted(missing))!r}")
    return found


def plain(label) -> str:
    """The text a label shows, without its markup tags (entities stay, as Kivy keeps them until drawn)."""
    return MARKUP.sub("", label.text) if label.markup else label.text


@cache
def font_chars() -> frozenset[int]:
    from fontTools.ttLib import TTFont
    from kivy.resources import resource_find

    chars: set[int] = set()
    for face in ("Roboto-Regular.ttf", "Roboto-Bold.ttf"):
        chars.update(TTFont(resource_find(f"data/fonts/{face}")).getBestCmap())
    return frozenset(chars)


# --- contrast ------------------------------------------------------------------------------------------------------


def luminance(rgb: RGB) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def contrast_on(picture, label) -> tuple[float, float]:
    """The label's text against the background drawn behind it, and the ratio AA asks of its size."""
    from kivy.metrics import dp

    back = background(picture, label)
    alpha = label.color[3] if len(label.color) > 3 else 1.0
    ink = tuple(alpha * c + (1 - alpha) * b for c, b in zip(label.color[:3], back, strict=True))
    large = label.font_size >= dp(24) or (label.bold and label.font_size >= dp(18.66))
    return contrast(ink, back), 3.0 if large else 4.5


def background(picture, widget) -> RGB:
    """The colour drawn behind a widget's text: the commonest pixel in its box on the screenshot."""
    x0, y0, x1, y1 = _box(widget)
    top = picture.height
    crop = picture.crop((int(x0) + 1, int(top - y1) + 1, max(int(x1) - 1, int(x0) + 2), max(int(top - y0) - 1,
                                                                                          int(top - y1) + 2)))
    _, rgb = max(crop.getcolors(crop.width * crop.height))
    return tuple(c / 255 for c in rgb[:3])


# --- untranslated --------------------------------------------------------------------------------------------------


@cache
def english_words() -> frozenset[str]:
    """The words of the kiosk's and tablet's English msgids, placeholders left out."""
    from babel.messages.pofile import read_po

    with LOCALE_EN.open("rb") as f:
        catalog = read_po(f)
    words: set[str] = set()
    for message in catalog:
        for msgid in message.id if isinstance(message.id, tuple) else (message.id,):
            words.update(w.lower() for w in _latin_words(re.sub(r"\{[^}]*\}", " ", msgid or "")))
    return frozenset(words)


def untranslated(text: str, lang: str, proper: set[str] = frozenset()) -> list[str]:
    """The English words in ``text`` shown in ``lang`` (none in en), by the rule in this module's doc."""
    if lang == "en":
        return []
    words = [w for token in text.split() if "." not in token.strip(".,:;!?") and "/" not in token
             for w in _latin_words(token)]
    return [w for w in words if w.lower() in english_words() and w.lower() not in proper and not w.isupper()]


def _latin_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{3,}", text)


# --- the contact sheet ---------------------------------------------------------------------------------------------

RESULTS: list[tuple[str, str, Path, list[str]]] = []  # screen, combination, screenshot, findings


def record(screen: str, combination: str, picture: Path, found: list[str]) -> None:
    RESULTS.append((screen, combination, picture, list(found)))


def write_contact_sheet(folder: Path) -> Path | None:
    """One HTML page of every audited screenshot, grouped by screen, each with its findings (or 'ok'), and
    the same as one PNG per screen (``sheet-<screen>.png``) for a look without a browser."""
    if not RESULTS:
        return None
    sections = []
    for screen in dict.fromkeys(r[0] for r in RESULTS):
        _sheet_png(folder / f"sheet-{screen.replace(' ', '-')}.png", [r for r in RESULTS if r[0] == screen])
        cards = []
        for _, combination, picture, found in (r for r in RESULTS if r[0] == screen):
            verdict = ("<ul class=bad>" + "".join(f"<li>{html.escape(p)}</li>" for p in found) + "</ul>") if found \
                else "<p class=ok>ok</p>"
            src = html.escape(picture.relative_to(folder).as_posix() if picture.is_relative_to(folder) else
                              str(picture))
            cards.append(f"<figure><a href='{src}'><img src='{src}' loading=lazy></a>"
                         f"<figcaption><b>{html.escape(combination)}</b>{verdict}</figcaption></figure>")
        failed = sum(1 for r in RESULTS if r[0] == screen and r[3])
        sections.append(f"<h2>{html.escape(screen)} <small>{failed} with findings</small></h2>"
                        f"<div class=grid>{''.join(cards)}</div>")
    page = folder / "index.html"
    page.write_text(
        "<!doctype html><meta charset=utf-8><title>Layout audit</title><style>"
        "body{font-family:sans-serif;margin:1em}.grid{display:flex;flex-wrap:wrap;gap:12px}"
        "figure{margin:0;width:300px}img{max-width:300px;max-height:300px;border:1px solid #999}"
        "figcaption{font-size:12px}.ok{color:#060}.bad{color:#a00;padding-left:1em}</style>"
        f"<h1>Layout audit: {len(RESULTS)} screenshots, {sum(1 for r in RESULTS if r[3])} with findings</h1>"
        + "".join(sections), encoding="utf-8")
    return page


def _sheet_png(path: Path, results: list[tuple[str, str, Path, list[str]]], thumb: int = 320) -> None:
    from PIL import Image, ImageDraw

    columns = 6
    rows = -(-len(results) // columns)
    sheet = Image.new("RGB", (columns * (thumb + 10) + 10, rows * (thumb + 60) + 10), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (_, combination, picture, found) in enumerate(results):
        x, y = 10 + (i % columns) * (thumb + 10), 10 + (i // columns) * (thumb + 60)
        with Image.open(picture) as image:
            image.thumbnail((thumb, thumb))
            sheet.paste(image, (x, y))
            draw.rectangle((x - 1, y - 1, x + image.width, y + image.height), outline="grey")
        verdict = "ok" if not found else f"{len(found)} finding(s): {found[0][-60:]}"
        draw.text((x, y + thumb + 4), combination, fill="black")
        draw.text((x, y + thumb + 20), verdict, fill="darkgreen" if not found else "darkred")
    sheet.save(path)


# --- the tree walk -------------------------------------------------------------------------------------------------


def _visit(widget, path: str, found: list[str]) -> None:
    from kivy.uix.scrollview import ScrollView

    problem = label_problem(widget)
    if problem:
        found.append(f"{path}: {problem}")
    for child in widget.children:
        if _squeezed(child):
            found.append(f"{path} > {_name(child)}: laid out to {child.width:.0f}x{child.height:.0f} px, and what it"
                         " holds is drawn out of it")
    kids = [(child, f"{path} > {_name(child)}") for child in reversed(widget.children) if _draws(child)]
    contained = isinstance(widget, ScrollView) or getattr(widget, "scrolls", False)
    outer = _box(widget)
    for child, child_path in kids:
        inner = _footprint(child)
        if not contained and not _inside(inner, outer):
            found.append(f"{child_path}: leaves its parent ({_show(inner)} outside {_show(outer)})")
    for i, (a, a_path) in enumerate(kids):
        for b, _ in kids[i + 1:]:
            if _overlap(_footprint(a), _footprint(b)) and not _laid_on_a_picture(widget, a, b):
                found.append(f"{a_path}: overlaps its sibling {_name(b)} "
                             f"({_show(_footprint(a))} and {_show(_footprint(b))})")
    for child, child_path in kids:
        _visit(child, child_path, found)


def _laid_on_a_picture(parent, a, b) -> bool:
    """A price tag or a caption placed on a picture in a float layout: covering it is the design."""
    from kivy.uix.floatlayout import FloatLayout
    from kivy.uix.image import Image

    return isinstance(parent, FloatLayout) and isinstance(a, Image) != isinstance(b, Image)


def _draws(widget) -> bool:
    from kivy.uix.label import Label

    if widget.width <= 0 or widget.height <= 0 or getattr(widget, "opacity", 1) == 0:
        return False
    return not isinstance(widget, Label) or bool(widget.text.strip())


def _squeezed(widget) -> bool:
    """A box laid out to nothing (so not walked as drawn) whose content still draws, out of it."""
    from kivy.uix.label import Label

    if (widget.width > 0 and widget.height > 0) or getattr(widget, "opacity", 1) == 0:
        return False
    return any(isinstance(w, Label) and w.text.strip() and w.opacity and min(w.texture_size) > 0
               for w in widget.walk(restrict=True))


def _box(widget) -> Box:
    x, y = widget.to_window(widget.x, widget.y)
    return x, y, x + widget.width, y + widget.height


def _footprint(widget) -> Box:
    from kivy.uix.label import Label

    if not isinstance(widget, Label):
        return _box(widget)
    tw, th = widget.texture_size
    cx, cy = widget.to_window(widget.center_x, widget.center_y)
    return cx - tw / 2, cy - th / 2, cx + tw / 2, cy + th / 2


def _inside(inner: Box, outer: Box) -> bool:
    t = TOLERANCE_PX
    return inner[0] >= outer[0] - t and inner[1] >= outer[1] - t and inner[2] <= outer[2] + t and \
        inner[3] <= outer[3] + t


def _overlap(a: Box, b: Box) -> bool:
    t = TOLERANCE_PX
    return min(a[2], b[2]) - max(a[0], b[0]) > t and min(a[3], b[3]) - max(a[1], b[1]) > t


def _entities(text: str) -> str:
    return text.replace("&bl;", "[").replace("&br;", "]").replace("&amp;", "&")


def _letters(text: str) -> str:
    return re.sub(r"\s+", "", _entities(text))


def _drawn_text(core) -> str:
    return " / ".join(" ".join(w.text for w in line.words) for line in core._cached_lines)


def _show(box: Box) -> str:
    return "({:.0f},{:.0f})-({:.0f},{:.0f})".format(*box)


def _name(widget) -> str:
    ids = _ids_of(widget)
    kind = type(getattr(widget, "__self__", widget)).__name__  # a kv id is a weak proxy
    return f"{kind}#{ids}" if ids else kind


def _ids_of(widget) -> str:
    parent = widget.parent
    for owner in _owners(parent):
        for key, value in owner.ids.items():
            if value is widget:
                return key
    return ""


def _owners(widget) -> Iterator:
    while widget is not None and hasattr(widget, "ids"):
        yield widget
        widget = widget.parent
