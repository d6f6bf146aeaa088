"""The layout audit: walk a real Kivy widget tree and list what a person would see as broken.

- a label's text is all drawn: no line dropped, nothing shortened to an ellipsis, and its texture fits
  its box (a label that wraps by design, ``text_size`` set, may be any height its box allows, but not
  more);
- no widget leaves its parent, and no widget covers a sibling.

A label's footprint is the texture it draws (centred in its box), the rest of a widget's is its box.
The children of a widget that moves them through itself on purpose (a ``ScrollView``, or any widget
with ``scrolls = True``, such as signage's ticker) may leave it. Widgets of zero size, and labels with
no text, draw nothing and are not looked at. Signage, kiosk and tablet screens use the same audit:
``assert_layout_ok(root, "what and where")``.

What a label drew is read from Kivy's core label (``_cached_lines``, ``_internal_size``, ``is_shortened``,
as in Kivy 2.3): the lines it laid out, which leave out what did not fit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

TOLERANCE_PX = 1.0
MARKUP = re.compile(r"\[/?[a-z_]+(?:=[^\]]*)?\]")
Box = tuple[float, float, float, float]  # x, y, right, top in window coordinates


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
    want = _letters(MARKUP.sub("", label.text) if label.markup else label.text)
    drawn = _letters("".join(word.text for line in core._cached_lines for word in line.words))
    if getattr(core, "is_shortened", False) or drawn != want:
        return f"text not drawn in full: {label.text!r} shows as {_drawn_text(core)!r}"
    tw, th = label.texture_size
    content_w, content_h = getattr(core, "_internal_size", (tw, th))
    if content_h > th + TOLERANCE_PX or content_w > tw + TOLERANCE_PX:
        return f"text {label.text!r} is {content_w:.0f}x{content_h:.0f} px in a {tw:.0f}x{th:.0f} texture"
    if tw > label.width + TOLERANCE_PX or th > label.height + TOLERANCE_PX:
        return f"text {label.text!r} is {tw:.0f}x{th:.0f} px in a {label.width:.0f}x{label.height:.0f} box"
    return None


def _visit(widget, path: str, found: list[str]) -> None:
    from kivy.uix.scrollview import ScrollView

    problem = label_problem(widget)
    if problem:
        found.append(f"{path}: {problem}")
    kids = [(child, f"{path} > {_name(child)}") for child in reversed(widget.children) if _draws(child)]
    contained = isinstance(widget, ScrollView) or getattr(widget, "scrolls", False)
    outer = _box(widget)
    for child, child_path in kids:
        inner = _footprint(child)
        if not contained and not _inside(inner, outer):
            found.append(f"{child_path}: leaves its parent ({_show(inner)} outside {_show(outer)})")
    for i, (a, a_path) in enumerate(kids):
        for b, _ in kids[i + 1:]:
            if _overlap(_footprint(a), _footprint(b)):
                found.append(f"{a_path}: overlaps its sibling {_name(b)} "
                             f"({_show(_footprint(a))} and {_show(_footprint(b))})")
    for child, child_path in kids:
        _visit(child, child_path, found)


def _draws(widget) -> bool:
    from kivy.uix.label import Label

    if widget.width <= 0 or widget.height <= 0 or getattr(widget, "opacity", 1) == 0:
        return False
    return not isinstance(widget, Label) or bool(widget.text.strip())


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


def _letters(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("&bl;", "[").replace("&br;", "]").replace("&amp;", "&"))


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
