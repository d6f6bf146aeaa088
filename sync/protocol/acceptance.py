"""Would a device load this content? One check for both ends, with the code the device loads it with.

Head office runs it on what each device will hold after a publish (chain, region, store and device
merged, the most specific scope winning) before anything is signed; the device runs it on a bundle's
items against what its cache will hold after the apply (inside the apply's transaction) and commits
only when it passes.

The checks are the engine's own load (``decisions.playbook.compile_offer``, ``decisions.menus.check_menu``),
the signage player's (``signage.schedule``, ``signage.layout``, ``signage.library``), and the references
between sections: every sku an offer, price, stock level, menu or product poster names is a product; every media file
and template an item names is there; every playlist a schedule or zone names and every item a playlist
names exist; a discount is 0-100 %; a price is not below 0; every text a shopper reads (product names, offer
titles and variants, menu names, a product poster's line) is in every language of the chain, the languages its
product names use.

A reference is checked only when the content holds any of the section it points into: a device whose
chain bundle has not arrived yet cannot judge a store's prices, and judges them when it has.

Every item's problems are reported (the engine's own loader stops at an item's first; each reference is
checked), e.g. ``offer OFF-X: field 'channels': 'kisok' is not one of kiosk, tablet, signage``.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from decisions.conditions import PlaybookError
from decisions.context import DEFAULT_DAYPARTS
from decisions.experiments import GlobalHoldout
from decisions.menus import check_menu
from decisions.playbook import compile_offer
from signage.layout import LayoutError, layout_from_doc
from signage.library import LibraryError, item_from_doc, playlist_from_doc
from signage.schedule import Entry, ScheduleError

from .brand import brand_problems
from .content import PROGRAMME_ID, SECTIONS

NOUNS = {"stores": "store", "offers": "offer", "menus": "menu", "products": "product", "prices": "price",
         "inventory": "stock of", "content_items": "content item", "playlists": "playlist", "schedules": "schedule",
         "layouts": "layout", "brand": "brand"}
TEXT_FIELDS = {"products": ("name", "category_name"), "offers": ("title",), "menus": ("name",)}
SKU_SECTIONS = ("prices", "inventory")
JUDGED = ("stores", "products", "prices", "inventory", "offers", "menus", "content_items", "playlists", "schedules",
          "layouts", "brand")  # the sections whose items are checked: a bundle with none of them needs no check
REFERRED = ("products", "media", "text_templates", "content_items", "playlists")  # what items name by key

STORE_NAME_MAX = 40  # what the kiosk's and the tablet's header show unclipped
COUNTRY_RE = re.compile(r"[A-Z]{2}")

View = Mapping[str, Sequence[Mapping]]


@dataclass(frozen=True)
class Problem:
    section: str
    key: str
    message: str  # "field 'x': what is wrong", or what is wrong with the whole item

    def __str__(self) -> str:
        return f"{NOUNS.get(self.section, self.section)} {self.key}: {self.message}"


@dataclass(frozen=True)
class Known:
    """What the content will hold that items may name: the keys of each referred section (none held: that
    reference is not checked) and the chain's languages, those its product names use."""

    keys: Mapping[str, frozenset[str]]
    languages: tuple[str, ...]

    @classmethod
    def of(cls, view: View) -> Known:
        return cls({name: frozenset(item_key(name, i) for i in view.get(name) or ()) for name in REFERRED},
                   tuple(sorted({lang for p in view.get("products") or () for lang in _texts(p.get("name"))})))


def check_content(items: View, known: Known | None = None, *,
                  dayparts: Mapping[str, tuple[str, str]] = DEFAULT_DAYPARTS) -> list[Problem]:
    """Every problem the device would have with ``items`` (section -> items), naming into ``known``: head office
    passes a device's whole merged share and lets ``known`` come from it; a device passes the bundle's items
    and what its cache will hold, so it judges only what the bundle brings (what it holds already, perhaps
    written by an older release, is not the new bundle's fault)."""
    known = known or Known.of(items)
    problems: list[Problem] = []
    skus = known.keys.get("products")
    for section, fields in TEXT_FIELDS.items():
        for item in items.get(section, ()):
            for name in fields:
                _languages(problems, section, item, name, item.get(name), known.languages)
    for section in SKU_SECTIONS:
        for item in items.get(section, ()):
            _refer(problems, section, item_key(section, item), "sku", [item.get("sku")], skus, "no product")
    for price in items.get("prices", ()):
        for name in ("price_cents", "was_cents"):
            cents = price.get(name)
            if isinstance(cents, int) and not isinstance(cents, bool) and cents < 0:
                problems.append(Problem("prices", item_key("prices", price),
                                        f"field {name!r}: {cents} is below 0 (whole cents, like 150 for 1.50)"))
    for offer in items.get("offers", ()):
        _engine_load(problems, "offers", offer, lambda o=offer: compile_offer(o, dayparts))
        benefit = offer.get("benefit")
        combo = benefit.get("skus") if isinstance(benefit, dict) else None
        _refer(problems, "offers", offer["id"], "sku", [offer.get("sku")], skus, "no product")
        _refer(problems, "offers", offer["id"], "benefit.skus", combo or [], skus, "no product")
        for i, variant in enumerate(offer.get("variants") or []):
            if isinstance(variant, dict):
                _languages(problems, "offers", offer, f"variants[{i}].title", variant.get("title"), known.languages)
    for menu in items.get("menus", ()):
        _engine_load(problems, "menus", menu, lambda m=menu: check_menu(m))
        listed = menu.get("items")
        _refer(problems, "menus", menu["id"], "items", listed if isinstance(listed, list) else [], skus,
               "no product")
    _signage(problems, items, known)
    for store in items.get("stores", ()):
        problems.extend(Problem("stores", item_key("stores", store), message) for message in store_problems(store))
        if store.get("id") == PROGRAMME_ID:
            _engine_load(problems, "stores", store, lambda s=store: GlobalHoldout.from_raw(s.get("global_holdout")))
        elif "global_holdout" in store:
            problems.append(Problem("stores", item_key("stores", store), "field 'global_holdout': the chain's"
                                    " setting, sent on the chain's own item, not a store's"))
    _brand(problems, items.get("brand", ()), known.keys.get("media"))
    return problems


def _brand(problems: list[Problem], brands: Sequence[Mapping], media: frozenset[str] | None) -> None:
    """Each brand readable on every screen, its logo and font files there; one brand where a device reads it."""
    for brand in brands:
        key = item_key("brand", brand)
        problems.extend(Problem("brand", key, message) for message in brand_problems(brand))
        _refer(problems, "brand", key, "logo", [brand.get("logo")], media, "no media file")
        _refer(problems, "brand", key, "font", [brand.get("font")], media, "no media file")
    if len(brands) > 1:
        ids = ", ".join(item_key("brand", b) for b in brands)
        problems.append(Problem("brand", item_key("brand", brands[-1]), f"one brand per scope, not {len(brands)}"
                                f" ({ids}); to override the chain's, give it the chain brand's id"))


def store_problems(store: Mapping) -> list[str]:
    """What is wrong with a store's own item (its name fits a screen's header, its zone is one the device knows,
    its place is on the globe); head office's ``stores.csv`` is checked with this too."""
    out = []
    name = store.get("name")
    if isinstance(name, str) and not name.strip():
        out.append("field 'name': is empty")
    elif isinstance(name, str) and len(name) > STORE_NAME_MAX:
        out.append(f"field 'name': {len(name)} characters; at most {STORE_NAME_MAX} fit the screens' header")
    zone = store.get("timezone")
    if isinstance(zone, str) and zone not in _zones():
        out.append(f"field 'timezone': {zone!r} is not a time zone (write it like Europe/Sofia)")
    for field, limit in (("lat", 90), ("lon", 180)):
        value = store.get(field)
        if isinstance(value, bool) or (isinstance(value, int | float) and not -limit <= value <= limit):
            out.append(f"field {field!r}: {value!r} is not between -{limit} and {limit}")
    if ("lat" in store) != ("lon" in store):
        out.append("fields 'lat' and 'lon': give both or neither")
    country = store.get("country")
    if isinstance(country, str) and not COUNTRY_RE.fullmatch(country):
        out.append(f"field 'country': {country!r} is not a two-letter country code like BG")
    return out


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _signage(problems: list[Problem], items: View, known: Known) -> None:
    keys = known.keys
    for doc in items.get("content_items", ()):
        # a poster's product; a text slide's, whose picture the kiosk's attract screen shows beside its words
        _refer(problems, "content_items", doc["id"], "sku", [doc.get("sku")], keys.get("products"), "no product")
        if doc.get("kind") == "product":  # a poster's line is read by shoppers, in the screen's language
            _languages(problems, "content_items", doc, "text", doc.get("text"), known.languages)
        _engine_load(problems, "content_items", doc, lambda d=doc: item_from_doc(d, None))
        _refer(problems, "content_items", doc["id"], "media", [doc.get("media")], keys.get("media"),
               "no media file")
        _refer(problems, "content_items", doc["id"], "template", [doc.get("template")], keys.get("text_templates"),
               "no text template")
    for doc in items.get("playlists", ()):
        _engine_load(problems, "playlists", doc, lambda d=doc: playlist_from_doc(d))
        names = [s if isinstance(s, str) else s.get("item") for s in doc["items"] if isinstance(s, str | dict)]
        _refer(problems, "playlists", doc["id"], "items", names, keys.get("content_items"), "no content item")
    for doc in items.get("schedules", ()):
        _engine_load(problems, "schedules", doc, lambda d=doc: Entry.from_doc(d))
        _refer(problems, "schedules", doc["id"], "playlist", [doc.get("playlist")], keys.get("playlists"),
               "no playlist")
    for doc in items.get("layouts", ()):
        _engine_load(problems, "layouts", doc, lambda d=doc: layout_from_doc(d))
        zones = [z.get("playlist") for z in doc["zones"] if isinstance(z, dict)]
        _refer(problems, "layouts", doc["id"], "zones.playlist", zones, keys.get("playlists"), "no playlist")


def _engine_load(problems: list[Problem], section: str, item: Mapping, load: Callable[[], object]) -> None:
    """Run the device's own loader on one item; its error becomes a problem with the item's name taken off."""
    key = item_key(section, item)
    try:
        load()
    except (PlaybookError, ScheduleError, LayoutError, LibraryError) as exc:
        message = str(exc)
        for prefix in (f"{NOUNS[section]} {key}: ", f"{NOUNS[section]} {key!r}: ", f"{NOUNS[section]} {key!r} "):
            if message.startswith(prefix):
                message = message.removeprefix(prefix)
                break
        where, sep, what = message.partition(": ")
        if sep and " " not in where:
            message = f"field {where!r}: {what}"
        problems.append(Problem(section, key, message))


def _refer(problems: list[Problem], section: str, key: str, field: str, names: Sequence[object],
           known: frozenset[str] | None, what: str) -> None:
    if not known:
        return
    for name in names:
        if isinstance(name, str) and name not in known:
            problems.append(Problem(section, key, f"field {field!r}: {what} {name!r}"))


def _languages(problems: list[Problem], section: str, item: Mapping, field: str, text: object,
               languages: Sequence[str]) -> None:
    missing = [lang for lang in languages if isinstance(text, dict) and not text.get(lang)]
    if missing:
        problems.append(Problem(section, item_key(section, item), f"field {field!r}: no text in {', '.join(missing)}"
                                f" (the chain's languages: {', '.join(languages)})"))


def _texts(value: object) -> list[str]:
    return [k for k, v in value.items() if isinstance(v, str) and v] if isinstance(value, dict) else []


def item_key(section: str, item: Mapping) -> str:
    """An item's key as one text (``a/b`` for a pair)."""
    return "/".join(str(item.get(k)) for k in SECTIONS[section].key)
