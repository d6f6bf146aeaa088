"""Text that fits its box: a slide never drops a line or shortens a name to make it fit, it makes the type smaller.

``FitLabel`` wraps its text to its width at ``max_font_size`` and, if the lines are taller than its box,
at the largest size down to ``min_font_size`` that fits (``min_font_size`` is the floor: a box too small
for that shows its text larger than the box, which the layout audit reports, rather than losing words).
``one_line_font`` is the size at which a heading fills a width on one line.
"""

from __future__ import annotations

from kivy.properties import NumericProperty
from kivy.uix.label import Label


class FitLabel(Label):
    max_font_size = NumericProperty(24)
    min_font_size = NumericProperty(10)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._fitted: tuple | None = None
        self.bind(size=self.fit, text=self.fit, max_font_size=self.fit, min_font_size=self.fit)

    def fit(self, *args: object) -> None:
        key = (self.text, round(self.width), round(self.height), self.max_font_size, self.min_font_size)
        if key == self._fitted or self.width < 2 or self.height < 2:
            return
        self._fitted = key
        lo, hi = int(self.min_font_size), int(self.max_font_size)
        if not self._fits(hi):
            while hi - lo > 1:  # the largest size that fits lies in (lo, hi)
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if self._fits(mid) else (lo, mid)
            hi = lo
        self.font_size = hi
        self.text_size = self.size  # halign and valign place the lines in the box
        self._trigger_texture.cancel()
        self.texture_update()

    def _fits(self, size: int) -> bool:
        self.font_size = size
        self.text_size = (self.width, None)
        self.texture_update()
        return self.texture_size[1] <= self.height


def one_line_font(text: str, width: float, largest: float, *, bold: bool = False, smallest: float = 10) -> float:
    """The font size, at most ``largest``, at which ``text`` is one line no wider than ``width``."""
    from kivy.core.text import Label as CoreLabel

    if not text or width <= 0:
        return largest
    measured = CoreLabel(font_size=largest, bold=bold).get_extents(text)[0]
    return max(smallest, min(largest, largest * width / measured if measured else largest) * 0.98)
