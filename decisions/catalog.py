"""An immutable in-memory view of the catalogue the engine decides over.

Built from the cache's read API once per bundle change, so a decision never queries SQLite
for 2,000 stock levels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class CatalogSource(Protocol):
    """The part of ``sync.cache.read.CacheReader`` the engine reads."""

    def products(self) -> list[dict]: ...
    def prices(self) -> list[dict]: ...
    def inventory(self) -> list[dict]: ...
    def co_purchase_pairs(self) -> list[dict]: ...
    def offers(self, channel: str | None = None) -> list[dict]: ...
    def menus(self) -> list[dict]: ...
    def offer_stats(self) -> list[dict]: ...
    def basket_lines(self, profile_id: str | None = None) -> list[dict]: ...
    def programme(self) -> dict | None: ...


@dataclass(frozen=True)
class Catalog:
    products: Mapping[str, Mapping] = field(default_factory=dict)
    prices: Mapping[str, Mapping] = field(default_factory=dict)
    stock_levels: Mapping[str, int] = field(default_factory=dict)
    neighbours: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    @classmethod
    def from_source(cls, source: CatalogSource) -> Catalog:
        neighbours: dict[str, dict[str, float]] = {}
        for pair in source.co_purchase_pairs():
            neighbours.setdefault(pair["a"], {})[pair["b"]] = pair["score"]
            neighbours.setdefault(pair["b"], {})[pair["a"]] = pair["score"]
        return cls(
            products={p["sku"]: p for p in source.products()},
            prices={p["sku"]: p for p in source.prices()},
            stock_levels={i["sku"]: i["on_hand"] for i in source.inventory()},
            neighbours=neighbours,
        )

    def stock(self, sku: str) -> int | None:
        return self.stock_levels.get(sku)

    def in_stock(self, sku: str) -> bool:
        return (self.stock_levels.get(sku) or 0) > 0

    def category(self, sku: str) -> str | None:
        product = self.products.get(sku)
        return product["category"] if product else None

    def category_name(self, sku: str, lang: str = "en") -> str:
        """The product's category as a shopper reads it: its ``category_name`` in ``lang``, else the category."""
        product = self.products.get(sku)
        if not product:
            return ""
        names = product.get("category_name") or {}
        return names.get(lang) or names.get("en") or product["category"]

    def name(self, sku: str, lang: str = "en") -> str:
        product = self.products.get(sku)
        if not product:
            return sku
        names = product["name"]
        return names.get(lang) or names.get("en") or next(iter(names.values()), sku)

    def category_map(self) -> Mapping[str, str]:
        return _CategoryView(self.products)


class _CategoryView(Mapping[str, str]):
    """sku -> category without copying 20k products per decision."""

    def __init__(self, products: Mapping[str, Mapping]):
        self._products = products

    def __getitem__(self, sku: str) -> str:
        return self._products[sku]["category"]

    def get(self, sku: str, default: str | None = None) -> str | None:  # type: ignore[override]
        product = self._products.get(sku)
        return product["category"] if product else default

    def __iter__(self):
        return iter(self._products)

    def __len__(self) -> int:
        return len(self._products)
