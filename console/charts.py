"""Line charts drawn on the server as inline SVG: no chart library, no script, and only presentation attributes
(the console's Content-Security-Policy allows no inline style)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 520, 170
LEFT, RIGHT, TOP, BOTTOM = 80, 16, 12, 30  # room for the axis labels
INK, MUTED, GRID, LINE = "#1b2430", "#4a5565", "#d5dbe3", "#1d4e89"


def _nice_top(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if value <= m * power)


def _time_label(at: float, span: float) -> str:
    t = datetime.fromtimestamp(at, UTC)
    if span <= 12 * 3600:
        return t.strftime("%H:%M")
    return t.strftime("%d %b %H:%M") if span <= 36 * 3600 else t.strftime("%d %b")


def line_chart(points: Sequence[tuple[float, float]], *, title: str, start: float, end: float,
               fmt: Callable[[float], str]) -> Markup:
    """``points`` (time, value) from ``start`` to ``end`` (unix seconds, UTC labels); ``fmt`` writes a value."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_top(max((v for _, v in points), default=0.0))
    span = max(end - start, 1.0)

    def x(t: float) -> float:
        return LEFT + (t - start) / span * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - v / top * plot_h

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}"'
             f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for share in (0, 0.5, 1) if points else (0,):  # no scale without a figure to read on it
        gy = y(top * share)
        parts.append(f'<line x1="{LEFT}" y1="{gy:.1f}" x2="{WIDTH - RIGHT}" y2="{gy:.1f}" stroke="{GRID}"/>')
        if points:
            parts.append(f'<text x="{LEFT - 6}" y="{gy + 5:.1f}" text-anchor="end" font-size="15" fill="{MUTED}">'
                         f'{escape(fmt(top * share))}</text>')
    for share in (0, 0.5, 1):
        t = start + span * share
        anchor = ("start", "middle", "end")[int(share * 2)]
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" font-size="15" fill="{MUTED}">'
                     f'{_time_label(t, span)}</text>')
    if points:
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"'
                     ' stroke-linejoin="round"/>')
        lx, ly = x(points[-1][0]), y(points[-1][1])
        parts.append(f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="3" fill="{LINE}"/>')
    else:
        parts.append(f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" font-size="15"'
                     f' fill="{INK}">no reports in this window</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def byte_size(value: float) -> str:
    """Bytes in the unit that keeps an axis label short: kB, MB or GB."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:,.{0 if value / size >= 10 else 1}f} {unit}"
    return f"{value:,.0f} B"


def plain(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:,.1f}"
