"""Live boards from the decision engine: the menu board and the anonymous offers.

Signage shows the same thing to everyone in front of it, so offers are always decided for
``Shopper.anonymous()`` on the ``signage`` channel: no profile, no personal data, ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from decisions.context import Context, weather_from_observation
from decisions.engine import Engine, EngineHolder
from decisions.menus import MenuDecision
from decisions.offers import offer_price
from decisions.shopper import Shopper
from kiosk.i18n import format_price
from sync.cache import Cache
from sync.cache.read import CacheReader
from sync.cache.weather import latest_weather
from sync.clock import Clock


@dataclass(frozen=True)
class StoreInfo:
    chain: str
    region: str
    store: str
    device: str
    timezone: str = "Europe/Sofia"


@dataclass(frozen=True)
class OfferCard:
    offer_id: str
    title: str
    price: str | None  # what the shopper pays: the offer's price, else the product's own
    was: str | None  # the product's own price, when the offer lowers it


@dataclass(frozen=True)
class ProductPoster:
    name: str
    price: str | None  # the price list's price, as the screen's language writes it
    was: str | None  # the price before it was lowered (the price list's ``was_cents``), only when it was
    image: str | None  # the sha256 of the product's own picture, if it has one
    picture: Path | None  # that picture on disk; None while it is not here


def money(cents: int | None, currency: str | None, lang: str) -> str | None:
    """A price as the screen's language writes it (bg '3,90 €', en '€3.90'); None for no price."""
    return None if cents is None else format_price(cents, currency or "EUR", lang)


class LiveBoards:
    """The engine for the cache as it is; ``reload()`` after a bundle (UI thread)."""

    def __init__(self, cache: Cache, store: StoreInfo, *, clock: Clock, media_dir: Path | None = None):
        self.cache = cache
        self.reader = CacheReader(cache, media_dir)
        self.store = store
        self.clock = clock
        self.holder: EngineHolder | None = None

    def reload(self) -> None:
        if self.holder is None:
            self.holder = EngineHolder(self.reader, now=self.clock.now, timezone=self.store.timezone)
        else:
            self.holder.reload()

    @property
    def error(self) -> str | None:
        """Why the engine is not the cache's content (it does not load), if it is not."""
        return self.holder.error if self.holder else None

    def context(self) -> Context:
        obs = latest_weather(self.cache, self.store.store)
        s = self.store
        return Context(now=self.clock.now(), store=s.store, region=s.region, device=s.device,
                       channel="signage", timezone=s.timezone,
                       weather=weather_from_observation(obs.as_dict()) if obs else None)

    def _engine(self) -> Engine:
        if self.holder is None:
            self.reload()
        if not self.holder.loaded:  # a board says why it is empty, and the player skips it
            raise ValueError(f"the cache's content does not load ({self.holder.error})")
        return self.holder()

    def menu(self, lang: str, limit: int = 12) -> MenuDecision:
        return self._engine().menu(self.context(), lang=lang, limit=limit)

    def offers(self, lang: str, k: int = 3) -> list[OfferCard]:
        engine = self._engine()
        ctx = self.context()
        decision = engine.offers(ctx, Shopper.anonymous(), k=k, seed=int(ctx.now.timestamp() // 600), lang=lang)
        cards = []
        for choice in decision.offers:
            price = offer_price(choice.raw, engine.catalog)
            base = engine.catalog.prices.get(choice.sku or "") or {}
            own = money(base.get("price_cents"), base.get("currency"), lang)
            lower = price is not None and isinstance(base.get("price_cents"), int) and price[0] < base["price_cents"]
            cards.append(OfferCard(choice.offer_id, choice.title.get(lang) or next(iter(choice.title.values()), ""),
                                   money(*price, lang) if price else own, own if lower else None))
        return cards

    def product(self, sku: str, lang: str) -> ProductPoster:
        """A product's poster as the price list has it now; raises ValueError for a product not in the cache."""
        catalog = self._engine().catalog
        product = catalog.products.get(sku)
        if product is None:
            raise ValueError(f"product {sku!r} is not in the cache")
        base = catalog.prices.get(sku) or {}
        cents, was_cents, currency = base.get("price_cents"), base.get("was_cents"), base.get("currency")
        lowered = isinstance(cents, int) and isinstance(was_cents, int) and was_cents > cents
        names = product.get("name") or {}
        image = product.get("image")
        return ProductPoster(names.get(lang) or next(iter(names.values()), sku), money(cents, currency, lang),
                             money(was_cents, currency, lang) if lowered else None, image,
                             self.reader.media_path(image) if image else None)

    def weather_line(self) -> str:
        w = self.context().current_weather
        return "" if w is None else f"{w.temperature_c:.0f}°C  {w.condition}"
