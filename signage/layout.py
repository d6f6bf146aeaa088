"""Layouts: zones placed in fractions of the screen, and how the screen is turned.

A zone is ``{"id", "kind", "x", "y", "w", "h", "playlist"}`` with x/y/w/h in 0..1 of the (rotated)
screen, origin top-left as a designer reads it. Kinds: ``playlist`` (the schedule's or the zone's own
playlist), ``menu_board`` (the engine's menu decision), ``offers`` (anonymous offers from the
engine), ``ticker`` (text items scrolling) and ``clock`` (time and weather). With no layout in the
cache the whole screen is one ``main`` playlist zone.

Rotation is config (``[signage] rotation``, 0/90/180/270), not content: the same bundle drives a
portrait and a landscape screen, and each picks the layout whose orientation fits it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ZONE_KINDS = ("playlist", "menu_board", "offers", "ticker", "clock")
ROTATIONS = (0, 90, 180, 270)


class LayoutError(ValueError):
    """A layout that cannot be drawn; the message names the layout, zone and field."""


@dataclass(frozen=True)
class Zone:
    id: str
    kind: str
    x: float
    y: float
    w: float
    h: float
    playlist: str | None = None

    def kivy_pos_hint(self) -> dict[str, float]:
        """Kivy's origin is bottom-left."""
        return {"x": self.x, "y": 1.0 - self.y - self.h}


@dataclass(frozen=True)
class Layout:
    id: str
    zones: tuple[Zone, ...]
    orientation: str = "landscape"
    background: str = "#1b1410"
    brand: Mapping[str, str] | None = None

    def zone(self, zone_id: str) -> Zone | None:
        return next((z for z in self.zones if z.id == zone_id), None)


FULL_SCREEN = Layout("full-screen", (Zone("main", "playlist", 0.0, 0.0, 1.0, 1.0),))


def layout_from_doc(doc: Mapping) -> Layout:
    where = f"layout {doc.get('id')!r}"
    zones: list[Zone] = []
    for i, z in enumerate(doc.get("zones") or ()):
        at = f"{where} zones[{i}]"
        if not isinstance(z, Mapping) or not isinstance(z.get("id"), str):
            raise LayoutError(f"{at}: a zone is an object with an 'id'")
        kind = z.get("kind", "playlist")
        if kind not in ZONE_KINDS:
            raise LayoutError(f"{at} ({z['id']}): kind {kind!r} is not one of {', '.join(ZONE_KINDS)}")
        box = []
        for f in ("x", "y", "w", "h"):
            v = z.get(f)
            if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v <= 1:
                raise LayoutError(f"{at} ({z['id']}): {f} must be a fraction of the screen from 0 to 1")
            box.append(float(v))
        if box[0] + box[2] > 1.0001 or box[1] + box[3] > 1.0001 or box[2] == 0 or box[3] == 0:
            raise LayoutError(f"{at} ({z['id']}): the zone does not fit on the screen")
        zones.append(Zone(z["id"], kind, *box, playlist=z.get("playlist")))
    if not zones:
        raise LayoutError(f"{where}: no zones")
    orientation = doc.get("orientation", "landscape")
    if orientation not in ("landscape", "portrait"):
        raise LayoutError(f"{where}: orientation must be landscape or portrait, not {orientation!r}")
    return Layout(doc["id"], tuple(zones), orientation, doc.get("background") or "#1b1410", doc.get("brand"))


def orientation_of(width: int, height: int, rotation: int) -> str:
    """What the viewer sees once the output is turned by ``rotation`` degrees."""
    if rotation not in ROTATIONS:
        raise LayoutError(f"rotation must be one of {ROTATIONS}, not {rotation!r}")
    turned = rotation in (90, 270)
    w, h = (height, width) if turned else (width, height)
    return "portrait" if h > w else "landscape"


def choose_layout(docs: Sequence[Mapping], orientation: str, wanted: str = "") -> Layout:
    """The configured layout by id, else the first (by id) for this orientation, else the first; else full screen."""
    if wanted:
        for d in docs:
            if d.get("id") == wanted:
                return layout_from_doc(d)
    fitting = [d for d in docs if d.get("orientation", "landscape") == orientation]
    for d in sorted(fitting or docs, key=lambda d: d.get("id", "")):
        return layout_from_doc(d)
    return FULL_SCREEN
