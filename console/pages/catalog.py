"""Products & prices (admin, marketer): the chain's products, each with its chain price and the prices regions and
stores set for it; the dayparts' menus (``/catalog/menus``: the products each lists, in order, its dayparts and its
weather hints); a product's form (its names in every language side by side, its category, its picture from the
media library) and a price's form at a scope, checked as you type with the device's own check and kept as drafts in
the central store until they are published (``central.signage_drafts``, sections products and prices). Saving,
discarding and removing (a region's or store's price: back to the chain's) are the signage page's handlers
(``/signage/save`` and the like); every change is in the audit log (``catalog.ready``, ``catalog.draft``,
``catalog.discard``, ``catalog.remove``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import Template

from central import signage_drafts
from central.signage_drafts import Row

from .. import session, signage_form
from ..render import CATALOG_ROLES, page
from .offers import _scopes
from .signage import CHANGE_WORDS, _current, _live, _rows, _stores, _view

GUARDS = [session.allow(*CATALOG_ROLES)]
Sku = Annotated[str, QueryParameter(name="sku", max_length=200)]
Where = Annotated[str, QueryParameter(name="scope", max_length=200)]
Category = Annotated[str, QueryParameter(name="category", max_length=200)]
Words = Annotated[str, QueryParameter(name="q", max_length=200)]


@dataclass(frozen=True)
class Line:
    """A product and its prices: the chain's first, then each region's and store's."""

    product: Row
    prices: list[Row]


@get("/catalog", sync_to_thread=True, guards=GUARDS)
def catalog_page(request: Request, category: Category = "", words: Words = "") -> Template:
    """``category``: that category's products only; ``words``: those whose sku or a name holds them (any case)."""
    errors: list[str] = []
    prices: dict[str, list[Row]] = {}
    for r in sorted(_rows(request, "prices", error_out=errors), key=lambda r: (r.scope != "chain", r.scope)):
        prices.setdefault(r.item_id, []).append(r)
    every = [Line(p, prices.get(p.item_id, [])) for p in _rows(request, "products", error_out=errors)]
    lines = [line for line in every if _matches(line.product, category, words.strip().casefold())]
    categories = sorted({str(line.product.body.get("category") or "") for line in every} - {""})
    return page(request, "catalog.html", lines=lines, total=len(every), categories=categories, category=category,
                words=words, error="; ".join(dict.fromkeys(errors)), changes=CHANGE_WORDS,
                scopes=_scopes(_stores(request)))


def _matches(product: Row, category: str, words: str) -> bool:
    body = product.body
    if category and body.get("category") != category:
        return False
    names = body.get("name") if isinstance(body.get("name"), dict) else {}
    return not words or any(words in str(text).casefold() for text in (product.item_id, *names.values()))


@get("/catalog/product", sync_to_thread=True, guards=GUARDS)
def product_form(request: Request, sku: Sku = "", where: Where = "chain") -> Template:
    """A product's form: its draft, else the live product; a blank one without ``sku``. (``scope`` is a name Litestar
    keeps for itself: the parameter is ``where`` here and ``scope`` in the address.)"""
    if not sku:
        blank = {"sku": "", "name": {}, "category": ""}
        return _view(request, signage_form.form_of("products", where, blank), new=True, problems=[])
    return _view(request, signage_form.form_of("products", where, _current(request, where, "products", sku)),
                 new=False)


@get("/catalog/price", sync_to_thread=True, guards=GUARDS)
def price_form(request: Request, sku: Sku = "", where: Where = "chain") -> Template:
    """A product's price at a scope: its draft or live price there, else a new one starting from the chain's."""
    c = session.console(request)
    draft = signage_drafts.get_draft(c.db, where, "prices", sku)
    if (draft is not None and not signage_drafts.is_removal(draft.body)) or _live(request, where, "prices", sku):
        return _view(request, signage_form.form_of("prices", where, _current(request, where, "prices", sku)),
                     new=False)
    chain = _live(request, "chain", "prices", sku)
    start = {"sku": sku, "price_cents": "", "currency": chain.body.get("currency", "") if chain else "EUR"}
    return _view(request, signage_form.form_of("prices", where, start), new=True, problems=[])


@get("/catalog/menus", sync_to_thread=True, guards=GUARDS)
def menus_page(request: Request) -> Template:
    errors: list[str] = []
    rows = _rows(request, "menus", error_out=errors)
    return page(request, "catalog_menus.html", rows=rows, error="; ".join(errors), changes=CHANGE_WORDS, kind="menus",
                noun="menu")


@get("/catalog/menu", sync_to_thread=True, guards=GUARDS)
def menu_form(request: Request, menu_id: Annotated[str, QueryParameter(name="id", max_length=200)] = "",
              where: Where = "chain") -> Template:
    """A menu's form: its draft, else the live menu; a blank one without ``id``."""
    if not menu_id:
        blank = {"id": "", "name": {}, "items": [], "dayparts": []}
        return _view(request, signage_form.form_of("menus", where, blank), new=True, problems=[])
    return _view(request, signage_form.form_of("menus", where, _current(request, where, "menus", menu_id)),
                 new=False)


ROUTES = [catalog_page, product_form, price_form, menus_page, menu_form]
