"""What a bundle may contain, and a validator whose errors name the section, item and field.

A bundle's content is a JSON object whose keys are sections. Each section is a list of
items. Applying a snapshot bundle replaces, for its scope, every section it names and
leaves the others alone. A delta bundle upserts its items and deletes the keys listed
under ``"delete"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Field:
    types: tuple[type, ...]
    required: bool = False


def _f(*types: type, required: bool = False) -> Field:
    return Field(types, required)


STR, INT, NUM, DICT, LIST = (str,), (int,), (int, float), (dict,), (list,)


@dataclass(frozen=True)
class Section:
    """One bundle section: its cache table, its key fields and its field types."""

    table: str
    key: tuple[str, ...]
    fields: dict[str, Field]


PROGRAMME_ID = "#chain"  # the chain's own item in the stores section: "#" is in no store's name (no scope has one)


SECTIONS: dict[str, Section] = {
    "products": Section("products", ("sku",), {
        "sku": _f(*STR, required=True), "name": _f(*DICT, required=True),
        "category": _f(*STR, required=True), "category_name": _f(*DICT), "brand": _f(*STR), "unit": _f(*STR),
        "image": _f(*STR), "tags": _f(*LIST),
    }),
    "prices": Section("prices", ("sku",), {
        "sku": _f(*STR, required=True), "price_cents": _f(*INT, required=True),
        "currency": _f(*STR, required=True), "was_cents": _f(*INT),
    }),
    "inventory": Section("inventory", ("sku",), {
        "sku": _f(*STR, required=True), "on_hand": _f(*INT, required=True),
    }),
    "offers": Section("offers", ("id",), {
        "id": _f(*STR, required=True), "priority": _f(*INT, required=True),
        "channels": _f(*LIST, required=True), "title": _f(*DICT, required=True),
        "sku": _f(*STR), "conditions": _f(*DICT), "schedule": _f(*DICT), "caps": _f(*DICT),
        "variants": _f(*LIST), "experiment": _f(*DICT), "discount": _f(*DICT), "benefit": _f(*DICT),
        "adaptive": _f(bool),
    }),
    "menus": Section("menus", ("id",), {
        "id": _f(*STR, required=True), "name": _f(*DICT, required=True),
        "items": _f(*LIST, required=True), "dayparts": _f(*LIST), "weather": _f(*DICT),
    }),
    # Signage (docs/protocol.md, "Signage content"). kind: image | video | text | menu_board | offers | product
    # (a product poster: its sku's picture, name and price-list price drawn by the screen; text: its short line).
    "content_items": Section("content_items", ("id",), {
        "id": _f(*STR, required=True), "kind": _f(*STR, required=True),
        "media": _f(*STR), "duration_s": _f(*NUM), "text": _f(*DICT), "valid_until": _f(*STR),
        "template": _f(*STR), "vars": _f(*DICT), "title": _f(*DICT), "limit": _f(*INT),
        "sku": _f(*STR),
    }),
    # items: item ids, or {"item": id, "duration_s": s, "weight": w}; order: sequential | shuffle | weighted.
    "playlists": Section("playlists", ("id",), {
        "id": _f(*STR, required=True), "items": _f(*LIST, required=True), "order": _f(*STR),
    }),
    # dates: "YYYY-MM-DD" or {"from": date, "to": date}; dayparts: {"from": "HH:MM", "to": "HH:MM"} (may wrap
    # midnight); zone: the layout zone it plays in (default "main"); default: plays when nothing else matches.
    "schedules": Section("schedules", ("id",), {
        "id": _f(*STR, required=True), "playlist": _f(*STR, required=True), "priority": _f(*INT),
        "dates": _f(*LIST), "weekdays": _f(*LIST), "dayparts": _f(*LIST), "max_per_hour": _f(*INT),
        "zone": _f(*STR), "default": _f(bool),
    }),
    # zones: {"id", "kind": playlist | menu_board | offers | ticker | clock, "x", "y", "w", "h" (screen fractions),
    # "playlist": the zone's own playlist when no schedule names the zone}.
    "layouts": Section("layouts", ("id",), {
        "id": _f(*STR, required=True), "zones": _f(*LIST, required=True), "orientation": _f(*STR),
        "background": _f(*STR), "brand": _f(*DICT),
    }),
    # A text slide's look: title and body with {var} fields filled from the item's vars; colours as #rrggbb.
    "text_templates": Section("text_templates", ("id",), {
        "id": _f(*STR, required=True), "title": _f(*DICT), "body": _f(*DICT),
        "background": _f(*STR), "foreground": _f(*STR), "accent": _f(*STR),
    }),
    # The chain's look on every screen (sync/protocol/brand.py): colours as #rrggbb; logo (PNG) and font (TTF/OTF)
    # are media files by sha256. One per scope; a region's, store's or device's replaces the chain's whole.
    "brand": Section("brand", ("id",), {
        "id": _f(*STR, required=True), "primary": _f(*STR, required=True), "accent": _f(*STR, required=True),
        "background": _f(*STR, required=True), "text": _f(*STR, required=True), "name": _f(*STR),
        "tagline": _f(*DICT), "logo": _f(*STR), "font": _f(*STR),
    }),
    "media": Section("media", ("sha256",), {
        "sha256": _f(*STR, required=True), "url": _f(*STR, required=True),
        "size": _f(*INT, required=True), "mime": _f(*STR),
    }),
    "profiles": Section("profiles", ("profile_id",), {
        "profile_id": _f(*STR, required=True), "phone_hash": _f(*STR), "first_name": _f(*STR),
        "segments": _f(*LIST), "rfm": _f(*DICT), "purchase_summary": _f(*DICT), "consents": _f(*DICT),
        "last_visit": _f(*STR),
    }),
    "co_purchase": Section("co_purchase", ("a", "b"), {
        "a": _f(*STR, required=True), "b": _f(*STR, required=True),
        "score": _f(*NUM, required=True), "count": _f(*INT),
    }),
    "staff": Section("staff", ("id",), {
        "id": _f(*STR, required=True), "name": _f(*STR, required=True),
        "pin_hash": _f(*STR, required=True), "role": _f(*STR),
    }),
    # The store itself, in its store bundle: the name the screens show, where it is (weather) and its zone. The
    # chain bundle holds one item for the chain as a whole (id PROGRAMME_ID): settings every store applies, such as
    # the global holdout ({"share_pct": 5, "salt": "..."}); it rides in this section so that no cache table is new.
    "stores": Section("stores", ("id",), {
        "id": _f(*STR, required=True), "name": _f(*STR, required=True), "region": _f(*STR),
        "timezone": _f(*STR), "country": _f(*STR), "lat": _f(*NUM), "lon": _f(*NUM),
        "global_holdout": _f(*DICT),
    }),
    "basket_lines": Section("basket_lines", ("line_id",), {
        "line_id": _f(*STR, required=True), "basket_id": _f(*STR, required=True), "profile_id": _f(*STR),
        "sku": _f(*STR, required=True), "qty": _f(*INT, required=True),
        "amount_cents": _f(*INT, required=True), "at": _f(*STR, required=True),
    }),
    "offer_stats": Section("offer_stats", ("id",), {
        "id": _f(*STR, required=True), "offer": _f(*STR, required=True), "variant": _f(*STR, required=True),
        "context": _f(*STR, required=True), "shown": _f(*INT, required=True),
        "redeemed": _f(*INT, required=True),
    }),
}


SHA_FIELDS = {n: tuple(f for f in ("media", "image", "sha256", "logo", "font") if f in s.fields)
              for n, s in SECTIONS.items()}


class ContentError(ValueError):
    """The content of a bundle breaks the schema; the message names where."""


def validate(content: object, *, delta: bool = False) -> dict[str, list[dict]]:
    """Check a decoded bundle body. Returns it typed, or raises ContentError naming the place."""
    if not isinstance(content, dict):
        raise ContentError("content is not a JSON object")
    for name, items in content.items():
        if name == "delete" and delta:
            _validate_deletes(items)
            continue
        section = SECTIONS.get(name)
        if section is None:
            raise ContentError(f"unknown section {name!r}")
        if not isinstance(items, list):
            raise ContentError(f"section {name!r} is not a list")
        seen: set = set()
        single_key = section.key[0] if len(section.key) == 1 else None
        for i, item in enumerate(items):
            _validate_item(name, section, i, item)
            key = item[single_key] if single_key else tuple(item[k] for k in section.key)
            if key in seen:
                shown = key if single_key else "/".join(map(str, key))
                raise ContentError(f"{name}[{i}]: duplicate key {shown!r}")
            seen.add(key)
    return content  # type: ignore[return-value]


def _validate_item(name: str, section: Section, i: int, item: object) -> None:
    # The fast pass: a bundle holds ~100k items and almost all are fine. Messages are built only on failure.
    if type(item) is dict:
        for field, spec in section.fields.items():
            value = item.get(field)
            if value is None:
                if spec.required:
                    break
            elif type(value) not in spec.types:
                break
        else:
            for f in SHA_FIELDS[name]:
                value = item.get(f)
                if type(value) is str and not SHA256_RE.match(value):
                    break
            else:
                return
    _explain(name, section, i, item)


def _explain(name: str, section: Section, i: int, item: object) -> None:
    """Raise ContentError naming the section, item and field that is wrong."""
    if not isinstance(item, dict):
        raise ContentError(f"{name}[{i}]: not a JSON object")
    where = f"{name}[{i}]"
    ident = item.get(section.key[0])
    if isinstance(ident, str):
        where = f"{name}[{i}] ({ident})"
    for field, spec in section.fields.items():
        value = item.get(field)
        if value is None:
            if spec.required:
                raise ContentError(f"{where}: missing field {field!r}")
            continue
        if type(value) not in spec.types:
            want = "/".join(t.__name__ for t in spec.types)
            raise ContentError(f"{where}: field {field!r} must be {want}, got {type(value).__name__}")
    for field in SHA_FIELDS[name]:
        value = item.get(field)
        if isinstance(value, str) and not SHA256_RE.match(value):
            raise ContentError(f"{where}: field {field!r} is not a lowercase hex sha256")


def _validate_deletes(deletes: object) -> None:
    if not isinstance(deletes, dict):
        raise ContentError("'delete' is not an object of section -> keys")
    for name, keys in deletes.items():
        section = SECTIONS.get(name)
        if section is None:
            raise ContentError(f"delete: unknown section {name!r}")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) or len(section.key) != 1:
            raise ContentError(f"delete.{name}: must be a list of {section.key[0]} strings")
