"""Where the signage pages' drawings go: the week calendar's blocks and the layout's zones, in SVG units; the brand
form's sample's colours.

SVG, because the console's content security policy allows no inline styles: positions are SVG attributes and the
colours are classes of the stylesheet (``.pl-0`` .. ``.pl-7``, each AA with the ink on it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from central.signage_calendar import Day, entry_words
from sync.protocol.brand import COLOURS as BRAND_COLOURS
from sync.protocol.brand import HEX_RE, Palette

WIDTH = 1140
AXIS = 56
HEAD = 48
HOUR = 26
COLOURS = 8
CHAR_PX = 6.6  # the calendar's 12 px text, on average: how many characters a block's line holds
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    colour: int  # -1: a default playlist's own style
    playlists: tuple[str, ...]
    entry: str  # the first schedule entry that plays it: the block opens it
    lines: tuple[str, ...]  # what fits, top down
    title: str  # the whole story, as a tooltip


@dataclass(frozen=True)
class Column:
    x: float
    w: float
    head: str
    note: str  # "23 hours: no 03:00", "25 hours: 03:00 twice", ""
    today: bool
    boxes: tuple[Box, ...]
    skipped: tuple[float, float] | None  # y and height of the hour that never shows
    repeated: tuple[float, float] | None


@dataclass(frozen=True)
class Week:
    width: int
    height: int
    hours: tuple[tuple[float, str], ...]  # (y, "06:00")
    columns: tuple[Column, ...]
    now_y: tuple[float, float, float] | None  # x, width, y of the line at the present moment
    legend: tuple[tuple[str, int], ...]  # (playlist, colour)


def _y(minutes: float) -> float:
    return HEAD + minutes / 60 * HOUR


def _fit(text: str, width: float) -> str:
    most = max(3, int((width - 10) / CHAR_PX))
    return text if len(text) <= most else text[:most - 1] + "…"


def week_view(days: Sequence[Day], playlists: Sequence[str], today: date, now: datetime | None) -> Week:
    """The calendar of ``days`` (seven, from Monday); ``playlists`` fixes each playlist's colour; ``now`` (in the
    store's zone) draws the present moment when it falls in the week."""
    colour = {p: i % COLOURS for i, p in enumerate(playlists)}
    col_w = (WIDTH - AXIS) / len(days)
    columns = []
    for n, day in enumerate(days):
        x = AXIS + n * col_w
        boxes = []
        for b in day.blocks:
            if not b.playlists:
                continue
            y, h = _y(b.start_min), (b.end_min - b.start_min) / 60 * HOUR
            name = " + ".join(b.playlists)
            why = "; ".join(f"{e.playlist}: {entry_words(e)} (entry {e.id})" for e in b.entries)
            lines = [_fit(name, col_w - 6)]
            if h >= 30:
                caps = [e.max_per_hour for e in b.entries if e.max_per_hour]
                lines.append(_fit(b.label + (" · default" if b.default else f" · ≤{min(caps)}/h" if caps else ""),
                                  col_w - 6))
            boxes.append(Box(x + 3, y + 1, col_w - 6, max(h - 2, 3), -1 if b.default else colour.get(b.playlists[0], 0),
                             b.playlists, b.entries[0].id, tuple(lines) if h >= 15 else (), f"{b.label} {name}. {why}"))
        note = (f"23 hours: no {_hm(day.skipped[0])}" if day.skipped else
                f"25 hours: {_hm(day.repeated[0])} twice" if day.repeated else "")
        columns.append(Column(x, col_w, f"{DAY_NAMES[day.day.weekday()]} {day.day.day} {MONTHS[day.day.month - 1]}",
                              note, day.day == today, tuple(boxes), _band(day.skipped), _band(day.repeated)))
    now_y = None
    if now is not None:
        for col, day in zip(columns, days, strict=True):
            if day.day == now.date():
                now_y = (col.x, col.w, _y(now.hour * 60 + now.minute))
    hours = tuple((_y(h * 60), f"{h:02d}:00") for h in range(24))
    return Week(WIDTH, int(_y(24 * 60)) + 2, hours, tuple(columns), now_y,
                tuple((p, colour[p]) for p in playlists))


def _band(span: tuple[int, int] | None) -> tuple[float, float] | None:
    return (_y(span[0]), (span[1] - span[0]) / 60 * HOUR) if span else None


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class ZoneBox:
    x: float
    y: float
    w: float
    h: float
    label: str
    detail: str


def layout_view(item: Mapping, *, long_side: int = 480) -> tuple[int, int, list[ZoneBox]]:
    """The layout's screen (16:9, or 9:16 in portrait) and its zones as boxes; zones that cannot be placed (not yet
    numbers) are left out: the check above the drawing says why."""
    portrait = item.get("orientation") == "portrait"
    width, height = (long_side * 9 // 16, long_side) if portrait else (long_side, long_side * 9 // 16)
    boxes = []
    for zone in item.get("zones") or []:
        if not isinstance(zone, Mapping):
            continue
        box = [zone.get(f) for f in ("x", "y", "w", "h")]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in box):
            continue
        x, y, w, h = (max(0.0, min(1.0, float(v))) for v in box)
        detail = zone.get("playlist") or ("the schedule's playlists" if zone.get("kind", "playlist") == "playlist"
                                          else str(zone.get("kind", "")).replace("_", " "))
        boxes.append(ZoneBox(x * width, y * height, w * width, h * height, str(zone.get("id", "")), str(detail)))
    return width, height, boxes


SAMPLE_COLOURS = ("primary", "accent", "background", "text", "card", "primary_text", "dark", "muted")


def brand_sample(item: Mapping) -> dict[str, str] | None:
    """The colours the screens draw a brand with (``sync.protocol.brand.Palette``: the four typed and those made from
    them) as ``#rrggbb``, for the brand form's live sample; None while a typed colour is not one."""
    if any(not isinstance(item.get(k), str) or not HEX_RE.fullmatch(item[k]) for k in BRAND_COLOURS):
        return None
    palette = Palette.of(item)
    return {name: "#{:02x}{:02x}{:02x}".format(*(round(v * 255) for v in getattr(palette, name)))
            for name in SAMPLE_COLOURS}
