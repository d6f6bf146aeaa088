"""Menu boards and kiosk menus: by daypart, weather, trending and stock, with prices.

The menu on show is the one whose daypart windows hold the store's local time (first by id when
several do; the first menu by id, said so, when none does). Items keep the menu's order except:
the menu's weather hints for the current temperature band or condition move to the top, then
items trending in this store, by trend score. Out-of-stock items are left off and listed under
``hidden``. The same inputs always give the same menu; every item says why it is there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .catalog import Catalog
from .conditions import PlaybookError
from .context import Context, in_window, parse_hhmm
from .playbook import is_text_map
from .reasons import Reason, Term


@dataclass(frozen=True)
class MenuItem:
    sku: str
    name: str
    price_cents: int | None
    currency: str | None
    reasons: tuple[str, ...]
    category: str | None = None
    category_name: str = ""  # in the decision's language


@dataclass(frozen=True)
class MenuDecision:
    menu_id: str | None
    name: str
    items: tuple[MenuItem, ...]
    hidden: tuple[tuple[str, str], ...]  # (sku, why)
    reasons: tuple[str, ...]


def load_menus(raw_menus: Sequence[Mapping]) -> tuple[Mapping, ...]:
    """Check every menu as ``decide_menu`` reads it; the first bad one raises PlaybookError naming menu and field."""
    for menu in raw_menus:
        check_menu(menu)
    return tuple(raw_menus)


def check_menu(raw: Mapping) -> None:
    where = f"menu {raw.get('id')}"

    def fail(field_name: str, message: str) -> PlaybookError:
        return PlaybookError(f"{where}: {field_name}: {message}")

    if not isinstance(raw.get("id"), str) or not raw["id"]:
        raise PlaybookError("menu without an id")
    if not is_text_map(raw.get("name")):
        raise fail("name", "must map language codes to text")
    items = raw.get("items")
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise fail("items", "must be a list of skus")
    for i, window in enumerate(raw.get("dayparts") or []):
        try:
            parse_hhmm(window["from"]), parse_hhmm(window["to"])
        except (TypeError, KeyError, ValueError, AttributeError):
            raise fail(f"dayparts[{i}]", f"{window!r} is not {{'from': 'HH:MM', 'to': 'HH:MM'}}") from None
    hints = raw.get("weather") or {}
    if not isinstance(hints, dict) or not all(isinstance(v, list) for v in hints.values()):
        raise fail("weather", "must map a temperature band or condition to a list of skus")


def decide_menu(menus: Sequence[Mapping], catalog: Catalog, ctx: Context, *, lang: str = "en",
                limit: int | None = None) -> MenuDecision:
    local = ctx.local
    ordered = sorted(menus, key=lambda m: m["id"])
    current = [m for m in ordered if any(in_window(local, w["from"], w["to"]) for w in m.get("dayparts") or [])]
    reasons: list[str] = []
    if current:
        menu = current[0]
        reasons.append(Reason("{daypart} menu ({time})", daypart=Term(ctx.daypart or "this time"),
                              time=f"{local:%H:%M}"))
    elif ordered:
        menu = ordered[0]
        reasons.append(Reason("no menu is set for {time}; showing {menu}", time=f"{local:%H:%M}", menu=menu["id"]))
    else:
        return MenuDecision(None, "", (), (), (Reason("no menus in the cache"),))
    weather = ctx.current_weather
    boosted: list[str] = []
    weather_reason = Reason("weather unknown")
    if weather is not None:
        hints = menu.get("weather") or {}
        for key in (weather.band, weather.condition):
            boosted += [s for s in hints.get(key, []) if s not in boosted]
        weather_reason = weather.describe()
    reasons.append(weather_reason)

    items = list(dict.fromkeys(menu["items"]))
    position = {sku: i for i, sku in enumerate(items)}
    trending = ctx.trending

    def rank(sku: str) -> tuple:
        boost = boosted.index(sku) if sku in boosted else len(boosted)
        return (boost, -trending.get(sku, 0.0), position[sku])

    shown: list[MenuItem] = []
    hidden: list[tuple[str, str]] = []
    for sku in sorted(items, key=rank):
        if not catalog.in_stock(sku):
            hidden.append((sku, "out of stock"))
            continue
        why = []
        if sku in boosted:
            why.append(Reason("suits the weather: {weather}", weather=weather_reason))
        if trending.get(sku):
            why.append(Reason("popular in this store in the last hours"))
        why.append(Reason("on the {menu} menu", menu=menu["name"].get(lang) or menu["id"]))
        price = catalog.prices.get(sku) or {}
        shown.append(MenuItem(sku, catalog.name(sku, lang), price.get("price_cents"), price.get("currency"),
                              tuple(why), catalog.category(sku), catalog.category_name(sku, lang)))
    if limit is not None:
        shown = shown[:limit]
    return MenuDecision(menu["id"], menu["name"].get(lang) or menu["id"], tuple(shown), tuple(hidden),
                        tuple(reasons))
