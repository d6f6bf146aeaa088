"""Thompson sampling over an adaptive offer's variants, per (offer, daypart, weather band).

Each variant's redemption rate has a Beta(1 + redeemed, 1 + shown - redeemed) posterior, from the
``offer_stats`` rows head office ships (its view of every store's redemptions). The variant with
the highest draw wins. Draws come from the ``random.Random`` the caller passes, so a decision is
reproducible under a given seed. Variants not eligible for this shopper are masked out before
sampling (mabwiser #74): a masked arm must not win and must not be counted as shown.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


def stats_context(daypart: str | None, weather_band: str | None) -> str:
    return f"{daypart or 'any'}|{weather_band or 'unknown'}"


@dataclass(frozen=True)
class ArmStats:
    shown: int
    redeemed: int


def index_stats(rows: Iterable[Mapping]) -> dict[tuple[str, str, str], ArmStats]:
    """offer_stats rows -> {(offer, variant, context): ArmStats}."""
    return {(r["offer"], r["variant"], r["context"]): ArmStats(r["shown"], r["redeemed"]) for r in rows}


def choose(offer_id: str, variants: list[str], context: str, stats: Mapping[tuple[str, str, str], ArmStats],
           rng: random.Random) -> tuple[str, float]:
    """The winning variant and its sampled redemption rate."""
    best, best_draw = variants[0], -1.0
    for variant in variants:
        s = stats.get((offer_id, variant, context), ArmStats(0, 0))
        redeemed = min(max(s.redeemed, 0), max(s.shown, 0))
        draw = rng.betavariate(1 + redeemed, 1 + max(s.shown, 0) - redeemed)
        if draw > best_draw:
            best, best_draw = variant, draw
    return best, best_draw
