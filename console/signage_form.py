"""The signage and catalogue forms' fields to bundle items and back: a content item, a playlist, a layout, a schedule
entry; a product, a price.

A content item's words are ``text.<language>``, one field per language side by side; its picture or video names a
file of the media library (``media``), a product poster its product (``sku``) and its line.

Rows are numbered fields: a playlist's ``item.<n>.id``, ``item.<n>.duration``, ``item.<n>.weight``; a layout's
``zone.<n>.id``, ``.kind``, ``.x``, ``.y``, ``.w``, ``.h``, ``.playlist``. A schedule entry's dayparts are written
``06:00-11:00, 22:00-02:00`` and its dates ``2026-12-15 to 2026-12-29, 2026-12-31``. Numbers that are not numbers
are kept as typed, so that the device's check names them instead of the form dropping them.

A product's names are ``name.<language>`` side by side (its category's ``category_name.<language>``), its tags
``hot, coffee``, its picture a file of the media library (``image``). A price is typed in whole cents as head office's
prices.csv holds it, and read as the files' loader reads a cell: what it says of ``1,50`` is the form's typo. A
menu's products are rows ``item.<n>.id`` in the order the kiosk lists them, its dayparts written as a schedule
entry's, its weather hints ``weather.<band or condition>`` as ``COF-007, PAS-006`` (shown first in that weather). The
brand's colours are ``#rrggbb`` as typed, its tagline ``tagline.<language>``, its logo and font files of the media
library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from central.content_files import field_value
from decisions.context import TEMPERATURE_BANDS, WEATHER_CODES
from signage.layout import ZONE_KINDS
from signage.schedule import WEEKDAYS
from sync.protocol.brand import COLOURS as BRAND_COLOURS

from .offer_form import _list, _number

ORDERS = (("sequential", "In order"), ("shuffle", "Shuffled: each item once per round"),
          ("weighted", "Weighted: drawn by weight"))
SLOT_FIELDS = ("id", "duration", "weight")
ZONE_FIELDS = ("id", "kind", "x", "y", "w", "h", "playlist")
WORDS = {"playlist": "Playlist", "menu_board": "Menu board", "offers": "Offers", "ticker": "Ticker",
         "clock": "Clock and weather"}
ZONE_KIND_WORDS = [(k, WORDS.get(k, k)) for k in ZONE_KINDS]
CONTENT_KINDS = (("text", "Text slide"), ("image", "Picture"), ("video", "Video"), ("product", "Product poster"),
                 ("menu_board", "Menu board"), ("offers", "Offers"))
WORDED = ("text", "product")  # the kinds whose words shoppers read
FILED = ("image", "video")  # the kinds that show a media file
WEATHER_KEYS = (*TEMPERATURE_BANDS, *WEATHER_CODES)  # what a menu's weather hints are keyed by
_RANGE = re.compile(r"^\s*(\S+)\s*(?:-|–|to)\s*(\S+)\s*$")


@dataclass
class Parsed:
    kind: str  # content_items, playlists, layouts, schedules, products, prices
    scope: str
    item: dict
    rows: list[dict[str, str]] = field(default_factory=list)  # a playlist's slots or a layout's zones, as typed
    values: dict[str, str] = field(default_factory=dict)  # the other fields, as typed
    typos: list[str] = field(default_factory=list)  # what the files' loader says of a field it could not read


def _rows(form: Mapping[str, str], prefix: str, names: tuple[str, ...]) -> list[dict[str, str]]:
    numbers = sorted({int(m.group(1)) for k in form if (m := re.fullmatch(rf"{prefix}\.(\d+)\.id", k))})
    return [{f: form.get(f"{prefix}.{n}.{f}", "").strip() for f in names} for n in numbers]


def read_form(kind: str, form: Mapping[str, str]) -> Parsed:
    scope = form.get("scope", "chain").strip() or "chain"
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str) and "." not in k or k.startswith("weekday.")}
    if kind == "playlists":
        rows = _rows(form, "item", SLOT_FIELDS)
        return Parsed(kind, scope, playlist_item(values, rows), rows, values)
    if kind == "layouts":
        rows = _rows(form, "zone", ZONE_FIELDS)
        return Parsed(kind, scope, layout_item(values, rows), rows, values)
    if kind == "content_items":
        values |= _worded(form, "text")
        return Parsed(kind, scope, content_item(values), [], values)
    if kind == "products":
        values |= _worded(form, "name") | _worded(form, "category_name")
        return Parsed(kind, scope, product_item(values), [], values)
    if kind == "menus":
        values |= _worded(form, "name") | {f"weather.{k}": form.get(f"weather.{k}", "").strip() for k in WEATHER_KEYS}
        rows = _rows(form, "item", ("id",))
        return Parsed(kind, scope, menu_item(values, rows), rows, values)
    if kind == "brand":
        values |= _worded(form, "tagline")
        return Parsed(kind, scope, brand_item(values), [], values)
    if kind == "prices":
        parsed = Parsed(kind, scope, {}, [], values)
        parsed.item = price_item(values, parsed.typos)
        return parsed
    return Parsed(kind, scope, schedule_item(values), [], values)


def _worded(form: Mapping[str, str], name: str) -> dict[str, str]:
    """A text's fields, one per language (``name.en``)."""
    return {k: v.strip() for k, v in form.items() if re.fullmatch(rf"{name}\.[a-z]{{2,3}}", k) and isinstance(v, str)}


def _languages(values: Mapping[str, str], name: str) -> dict[str, str]:
    return {k.removeprefix(f"{name}."): v for k, v in sorted(values.items()) if k.startswith(f"{name}.") and v}


def product_item(values: Mapping[str, str]) -> dict:
    item: dict = {"sku": values.get("sku", ""), "name": _languages(values, "name"),
                  "category": values.get("category", "")}
    if _languages(values, "category_name"):
        item["category_name"] = _languages(values, "category_name")
    item |= {k: values[k] for k in ("brand", "unit", "image") if values.get(k)}
    if _list(values.get("tags", "")):
        item["tags"] = _list(values.get("tags", ""))
    return item


def menu_item(values: Mapping[str, str], rows: list[dict[str, str]]) -> dict:
    item: dict = {"id": values.get("id", ""), "name": _languages(values, "name"), "items": [r["id"] for r in rows]}
    if _dayparts(values.get("dayparts", "")):
        item["dayparts"] = _dayparts(values.get("dayparts", ""))
    weather = {k: _list(values.get(f"weather.{k}", "")) for k in WEATHER_KEYS if _list(values.get(f"weather.{k}", ""))}
    if weather:
        item["weather"] = weather
    return item


def brand_item(values: Mapping[str, str]) -> dict:
    item: dict = {"id": values.get("id", ""), **{k: values.get(k, "") for k in BRAND_COLOURS}}
    item |= {k: values[k] for k in ("name", "logo", "font") if values.get(k)}
    if _languages(values, "tagline"):
        item["tagline"] = _languages(values, "tagline")
    return item


def price_item(values: Mapping[str, str], typos: list[str]) -> dict:
    """A price as typed; a cents field the files' loader could not read is kept as typed, and said in ``typos``."""
    item: dict = {"sku": values.get("sku", ""), "price_cents": values.get("price_cents", ""),
                  "currency": values.get("currency", "")}
    if values.get("was_cents"):
        item["was_cents"] = values["was_cents"]
    for name in ("price_cents", "was_cents"):
        if name in item:
            try:
                item[name] = field_value("prices", name, item[name])
            except ValueError as exc:
                typos.append(f"price {item['sku'] or '(no product)'}: field {name!r}: {exc}")
    return item


def playlist_item(values: Mapping[str, str], rows: list[dict[str, str]]) -> dict:
    items: list = []
    for row in rows:
        slot: dict = {"item": row["id"]}
        if row["duration"]:
            slot["duration_s"] = _number(row["duration"])
        if row["weight"]:
            slot["weight"] = _number(row["weight"])
        items.append(slot if len(slot) > 1 else row["id"])
    return {"id": values.get("id", ""), "order": values.get("order") or "sequential", "items": items}


def content_item(values: Mapping[str, str]) -> dict:
    kind = values.get("shows") or "text"
    item: dict = {"id": values.get("id", ""), "kind": kind}
    if kind in FILED:
        item["media"] = values.get("media", "")
    if kind == "product":
        item["sku"] = values.get("sku", "")
    if kind in WORDED:
        item["text"] = _languages(values, "text")
    if values.get("duration"):
        item["duration_s"] = _number(values["duration"])
    if values.get("valid_until"):
        item["valid_until"] = values["valid_until"]
    return item


def layout_item(values: Mapping[str, str], rows: list[dict[str, str]]) -> dict:
    zones = []
    for row in rows:
        zone: dict = {"id": row["id"], "kind": row["kind"] or "playlist"}
        zone |= {f: _number(row[f]) for f in ("x", "y", "w", "h")}
        if row["playlist"]:
            zone["playlist"] = row["playlist"]
        zones.append(zone)
    item = {"id": values.get("id", ""), "orientation": values.get("orientation") or "landscape", "zones": zones}
    if values.get("background"):
        item["background"] = values["background"]
    return item


def schedule_item(values: Mapping[str, str]) -> dict:
    item: dict = {"id": values.get("id", ""), "playlist": values.get("playlist", "")}
    if values.get("priority"):
        item["priority"] = _number(values["priority"])
    if values.get("zone") and values["zone"] != "main":
        item["zone"] = values["zone"]
    days = [d for d in WEEKDAYS if values.get(f"weekday.{d}")]
    if days and len(days) < len(WEEKDAYS):
        item["weekdays"] = days
    if _dayparts(values.get("dayparts", "")):
        item["dayparts"] = _dayparts(values.get("dayparts", ""))
    dates: list = []
    for text in _split(values.get("dates", "")):
        m = _RANGE.match(text) if " " in text.strip() or "–" in text else None
        dates.append({"from": m.group(1), "to": m.group(2)} if m else text.strip())
    if dates:
        item["dates"] = dates
    if values.get("max_per_hour"):
        item["max_per_hour"] = _number(values["max_per_hour"])
    if values.get("default"):
        item["default"] = True
    return item


def _dayparts(text: str) -> list[dict[str, str]]:
    """``06:00-11:00, 22:00-02:00`` as dayparts; a part that is no range is kept as its start, for the check to name."""
    parts = []
    for part in _split(text):
        m = _RANGE.match(part)
        parts.append({"from": m.group(1), "to": m.group(2)} if m else {"from": part, "to": ""})
    return parts


def _dayparts_text(item: Mapping) -> str:
    return ", ".join(f"{p.get('from', '')}-{p.get('to', '')}" for p in item.get("dayparts") or []
                     if isinstance(p, Mapping))


def _split(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,;\n]", text) if p.strip()]


def form_of(kind: str, scope: str, item: Mapping) -> Parsed:
    """The form's fields for a bundle item (what the files or a draft hold)."""
    values = {"id": str(item.get("id", ""))}
    rows: list[dict[str, str]] = []
    if kind == "playlists":
        values["order"] = str(item.get("order") or "sequential")
        for slot in item.get("items") or []:
            if isinstance(slot, Mapping):
                rows.append({"id": str(slot.get("item", "")), "duration": _text(slot.get("duration_s")),
                             "weight": _text(slot.get("weight"))})
            else:
                rows.append({"id": str(slot), "duration": "", "weight": ""})
    elif kind == "content_items":
        values |= {"shows": str(item.get("kind") or "text"), "media": _text(item.get("media")),
                   "sku": _text(item.get("sku")), "duration": _text(item.get("duration_s")),
                   "valid_until": _text(item.get("valid_until"))}
        text = item.get("text")
        values |= {f"text.{k}": str(v) for k, v in text.items()} if isinstance(text, Mapping) else {}
    elif kind == "products":
        values |= {k: _text(item.get(k)) for k in ("sku", "category", "brand", "unit", "image")}
        values["tags"] = ", ".join(map(str, item.get("tags") or []))
        for name in ("name", "category_name"):
            words = item.get(name)
            values |= {f"{name}.{k}": str(v) for k, v in words.items()} if isinstance(words, Mapping) else {}
    elif kind == "prices":
        values |= {k: _text(item.get(k)) for k in ("sku", "price_cents", "currency", "was_cents")}
    elif kind == "brand":
        values |= {k: _text(item.get(k)) for k in (*BRAND_COLOURS, "name", "logo", "font")}
        tagline = item.get("tagline")
        values |= {f"tagline.{k}": str(v) for k, v in tagline.items()} if isinstance(tagline, Mapping) else {}
    elif kind == "menus":
        values["dayparts"] = _dayparts_text(item)
        name, weather = item.get("name"), item.get("weather")
        values |= {f"name.{k}": str(v) for k, v in name.items()} if isinstance(name, Mapping) else {}
        values |= {f"weather.{k}": ", ".join(map(str, v)) for k, v in weather.items()
                   if isinstance(v, list)} if isinstance(weather, Mapping) else {}
        rows = [{"id": str(sku)} for sku in item.get("items") or []]
    elif kind == "layouts":
        values |= {"orientation": str(item.get("orientation") or "landscape"),
                   "background": str(item.get("background") or "")}
        rows = [{f: _text(z.get(f)) for f in ZONE_FIELDS} for z in item.get("zones") or [] if isinstance(z, Mapping)]
    else:
        values |= {k: _text(item.get(k)) for k in ("playlist", "priority", "max_per_hour")}
        values["zone"] = str(item.get("zone") or "main")
        days = item.get("weekdays") if isinstance(item.get("weekdays"), list) else list(WEEKDAYS)
        values |= {f"weekday.{str(d).lower()[:3]}": "1" for d in days}
        values["dayparts"] = _dayparts_text(item)
        values["dates"] = ", ".join(d if isinstance(d, str) else f"{d.get('from', '')} to {d.get('to', '')}"
                                    for d in item.get("dates") or [] if isinstance(d, str | Mapping))
        if item.get("default") is True:
            values["default"] = "1"
    return Parsed(kind, scope, dict(item), rows, values)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def edit_rows(parsed: Parsed, edit: str) -> None:
    """A row button: ``add``, ``remove:<n>``, ``up:<n>``, ``down:<n>``; the item is read again from the rows."""
    rows = parsed.rows
    verb, _, number = edit.partition(":")
    n = int(number) if number.isdigit() else -1
    if verb == "add":
        blank = dict.fromkeys({"playlists": SLOT_FIELDS, "layouts": ZONE_FIELDS}.get(parsed.kind, ("id",)), "")
        if parsed.kind == "layouts":
            blank |= {"id": f"zone-{len(rows) + 1}", "kind": "playlist", "x": "0", "y": "0", "w": "1", "h": "1"}
        rows.append(blank)
    elif verb == "remove" and 0 <= n < len(rows):
        rows.pop(n)
    elif verb in ("up", "down"):
        other = n - 1 if verb == "up" else n + 1
        if 0 <= n < len(rows) and 0 <= other < len(rows):
            rows[n], rows[other] = rows[other], rows[n]
    parsed.item = {"playlists": playlist_item, "layouts": layout_item, "menus": menu_item}[parsed.kind](parsed.values,
                                                                                                       rows)

