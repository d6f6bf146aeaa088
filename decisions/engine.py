"""The engine's front door: one object per loaded cache state, rebuilt when a bundle lands.

    engine = Engine.load(reader, now=now)     # after start-up and after each applied bundle
    decision = engine.offers(ctx, shopper, caps, k=6, seed=session_seed)
    menu = engine.menu(ctx)
    picks = engine.recommendations(ctx, shopper)   # staff tablet; engine.add_ons(ctx) for the basket

Everything it decides from is in memory; a decision does no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from . import bandit, recommendations
from .caps import CapCounts
from .catalog import Catalog, CatalogSource
from .context import DEFAULT_DAYPARTS, Context
from .experiments import GlobalHoldout, held_out
from .menus import MenuDecision, decide_menu, load_menus
from .offers import OfferDecision, decide_offers
from .playbook import Playbook
from .recommendations import Suggestion
from .shopper import Shopper

log = logging.getLogger("store_edge.decisions")


@dataclass(frozen=True)
class Engine:
    playbook: Playbook
    catalog: Catalog
    menus: tuple[Mapping, ...]
    stats: Mapping
    popular: Mapping = field(default_factory=dict)  # daypart -> sku -> (score, baskets) in this store
    global_holdout: GlobalHoldout | None = None  # the chain's: customers who get no personal offers
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
            global_holdout=GlobalHoldout.from_raw((source.programme() or {}).get("global_holdout")),
        )

    @classmethod
    def empty(cls) -> Engine:
        """No offers, no menus: what a screen shows (its attract loop, its own pages) until content loads."""
        return cls(playbook=Playbook.load([], {}), catalog=Catalog(), menus=(), stats={})

    def offers(self, ctx: Context, shopper: Shopper, caps: CapCounts | None = None, *, k: int = 6,
               seed: int = 0, lang: str = "en") -> OfferDecision:
        return decide_offers(self.playbook, self.catalog, ctx, shopper, caps or CapCounts(), k=k, seed=seed,
                             stats=self.stats, lang=lang, situations=self.situations,
                             global_holdout=self.global_holdout)

    def menu(self, ctx: Context, *, lang: str = "en", limit: int | None = None) -> MenuDecision:
        return decide_menu(self.menus, self.catalog, ctx, lang=lang, limit=limit)

    def recommendations(self, ctx: Context, shopper: Shopper, *, k: int = 5, lang: str = "en") -> list[Suggestion]:
        """What the staff tablet suggests for this customer. One in the chain's global holdout gets the store's
        popular picks, as anyone does: the programme's lift is measured on customers nothing personal reached."""
        if held_out(self.global_holdout, shopper.profile_id):
            shopper = Shopper.anonymous()
        return recommendations.for_shopper(self.catalog, self.popular, ctx, shopper, k=k, lang=lang)

    def add_ons(self, ctx: Context, *, k: int = 3, lang: str = "en") -> list[Suggestion]:
        return recommendations.add_ons(self.catalog, self.popular, ctx, k=k, lang=lang)


class EngineHolder:
    """The engine for the cache as it is now; ``reload()`` after each applied bundle (on the screen's UI thread).

    Content that does not load (a cache written by an older release, or one a bug let through) never takes
    the screen down: the holder keeps the last engine that loaded, or ``Engine.empty()`` before any has,
    and logs why once per reload. So no content can make a screen crash at start, again and again.
    """

    def __init__(self, source: CatalogSource, *, now: Callable[[], datetime], timezone: str = "Europe/Sofia"):
        self.source = source
        self.now = now
        self.timezone = timezone
        self.engine = Engine.empty()
        self.loaded = False  # some engine has loaded from the cache (else this is the empty one)
        self.error: str | None = None  # why the content on screen is not the cache's, if it is not
        self.reload()

    def __call__(self) -> Engine:
        return self.engine

    def reload(self) -> None:
        try:
            self.engine = Engine.load(self.source, now=self.now(), timezone=self.timezone)
            self.loaded, self.error = True, None
        except Exception as exc:  # noqa: BLE001 - whatever content does, the screen stays up
            self.error = f"{exc.__class__.__name__}: {exc}"
            log.error("content in the cache does not load; the screen keeps what it had: %s", self.error)
