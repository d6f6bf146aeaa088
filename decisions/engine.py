"""The engine's front door: one object per loaded cache state, rebuilt when a bundle lands.

    engine = Engine.load(reader, now=now)     # after start-up and after each applied bundle
    decision = engine.offers(ctx, shopper, caps, k=6, seed=session_seed)
    menu = engine.menu(ctx)
    picks = engine.recommendations(ctx, shopper)   # staff tablet; engine.add_ons(ctx) for the basket

Everything it decides from is in memory; a decision does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from . import bandit, recommendations
from .caps import CapCounts
from .catalog import Catalog, CatalogSource
from .context import DEFAULT_DAYPARTS, Context
from .menus import MenuDecision, decide_menu, load_menus
from .offers import OfferDecision, decide_offers
from .playbook import Playbook
from .recommendations import Suggestion
from .shopper import Shopper


@dataclass(frozen=True)
class Engine:
    playbook: Playbook
    catalog: Catalog
    menus: tuple[Mapping, ...]
    stats: Mapping
    popular: Mapping = field(default_factory=dict)  # daypart -> sku -> (score, baskets) in this store
    # Memo of situations (what is possible at a moment and place, for anyone): a pure function's cache.
    situations: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, source: CatalogSource, *, now: datetime, timezone: str = "Europe/Sofia",
             dayparts: Mapping[str, tuple[str, str]] = DEFAULT_DAYPARTS) -> Engine:
        """Read and compile everything; raises PlaybookError naming the offer or menu and field on bad content.

        ``now`` anchors the store's popularity window (the last 28 days of its cached history).
        """
        return cls(
            playbook=Playbook.load(source.offers(), dayparts),
            catalog=Catalog.from_source(source),
            menus=load_menus(source.menus()),
            stats=bandit.index_stats(source.offer_stats()),
            popular=recommendations.popularity_table(source.basket_lines(), timezone, dayparts, now),
        )

    def offers(self, ctx: Context, shopper: Shopper, caps: CapCounts | None = None, *, k: int = 6,
               seed: int = 0, lang: str = "en") -> OfferDecision:
        return decide_offers(self.playbook, self.catalog, ctx, shopper, caps or CapCounts(), k=k, seed=seed,
                             stats=self.stats, lang=lang, situations=self.situations)

    def menu(self, ctx: Context, *, lang: str = "en", limit: int | None = None) -> MenuDecision:
        return decide_menu(self.menus, self.catalog, ctx, lang=lang, limit=limit)

    def recommendations(self, ctx: Context, shopper: Shopper, *, k: int = 5, lang: str = "en") -> list[Suggestion]:
        return recommendations.for_shopper(self.catalog, self.popular, ctx, shopper, k=k, lang=lang)

    def add_ons(self, ctx: Context, *, k: int = 3, lang: str = "en") -> list[Suggestion]:
        return recommendations.add_ons(self.catalog, self.popular, ctx, k=k, lang=lang)
