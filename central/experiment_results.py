"""One offer's experiment, arm by arm: purchases after exposure, lift against the holdout with its 95 % interval
(the offers report's own figures, ``central.reports.offer_rows``) and the probability that each arm is the best.
And the whole programme's lift against the chain's global holdout (``programme_lift``).

The probability of being best is over the arms' purchase rates (bought after exposure / customers exposed), each
a Beta posterior with a uniform prior, by sampling: the share of draws in which the arm's rate is the highest. The
seed is fixed, so the same figures give the same probabilities on every page load.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from .db import Database
from .offer_results import lift_interval
from .reports import Filters, events_of, offer_rows

DRAWS = 20_000
HOLDOUT = "holdout"


@dataclass(frozen=True)
class Arm:
    arm: str
    exposed: int
    bought_after: int
    purchase_rate: float | None
    lift: float | None  # against the holdout; None without a purchase in both
    lift_low: float | None
    lift_high: float | None
    p_best: float | None  # None for the holdout, which is not a choice


def probability_best(counts: Mapping[str, tuple[int, int]], *, draws: int = DRAWS, seed: int = 0) -> dict[str, float]:
    """arm -> the probability that its rate is the highest, from (successes, trials) per arm."""
    if not counts:
        return {}
    rng = np.random.default_rng(seed)
    names = sorted(counts)
    samples = np.stack([rng.beta(1 + x, 1 + max(n - x, 0), size=draws) for x, n in (counts[a] for a in names)])
    wins = np.bincount(samples.argmax(axis=0), minlength=len(names))
    return {a: float(w) / draws for a, w in zip(names, wins, strict=True)}


def arm_results(db: Database, offer_id: str, f: Filters) -> list[Arm]:
    """The offer's arms in the period (the holdout last); empty when nobody was exposed to it."""
    rows = [r for r in offer_rows(db, f, {}) if r["offer"] == offer_id]
    best = probability_best({r["arm"]: (r["bought_after"], r["exposed"]) for r in rows if r["arm"] != HOLDOUT})
    arms = [Arm(r["arm"], r["exposed"], r["bought_after"], r["purchase_rate"], r["lift"], r["lift_low"],
                r["lift_high"], best.get(r["arm"])) for r in rows]
    return sorted(arms, key=lambda a: (a.arm == HOLDOUT, a.arm))


@dataclass(frozen=True)
class ProgrammeLift:
    programme: tuple[int, int]  # (customers shown offers, of them bought after) outside the global holdout
    held_out: tuple[int, int]  # the same for the customers in it
    lift: float | None  # of the programme's purchase rate over the holdout's; None without a purchase in both
    lift_low: float | None
    lift_high: float | None


def programme_lift(db: Database, f: Filters) -> ProgrammeLift:
    """Customers shown offers in the period, by whether the global holdout held them (as at their first showing),
    and how many bought anything after it: the programme's lift is the rate of those it reached over the rate of
    those it held out, with its 95 % interval."""
    first: dict[str, tuple[float, bool]] = {}
    sales: dict[str, list[float]] = {}
    for e in sorted(events_of(db, ("offer_shown", "sale"), f), key=lambda e: e.get("wall_time") or 0):
        p, at = e["payload"], e.get("wall_time") or 0
        if e["type"] == "sale":
            sales.setdefault(p.get("profile_id"), []).append(at)
        elif p.get("profile_id"):
            first.setdefault(p["profile_id"], (at, bool(p.get("global_holdout"))))
    counts = {True: [0, 0], False: [0, 0]}
    for profile, (seen, held) in first.items():
        counts[held][0] += 1
        counts[held][1] += any(t >= seen for t in sales.get(profile, ()))
    (n1, x1), (n0, x0) = counts[False], counts[True]
    ci = lift_interval(x1, n1, x0, n0)
    return ProgrammeLift((n1, x1), (n0, x0), *(ci if ci else (None, None, None)))


def chart_png(offer_id: str, arms: list[Arm], f: Filters) -> bytes:
    """Two panels: each arm's lift against the holdout with its interval, and each arm's probability of being best."""
    chosen = [a for a in arms if a.arm != HOLDOUT]
    fig = Figure(figsize=(9, 1.2 + 0.5 * max(len(chosen), 1)), dpi=100, layout="constrained")
    lift_ax, best_ax = fig.subplots(1, 2, sharey=True)
    ys = list(range(len(chosen)))
    for y, a in zip(ys, chosen, strict=True):
        if a.lift is not None:
            low, high = (a.lift_low, a.lift_high) if a.lift_low is not None else (a.lift, a.lift)
            lift_ax.errorbar([a.lift * 100], [y], xerr=[[(a.lift - low) * 100], [(high - a.lift) * 100]], fmt="o",
                             color="#1d4e89", capsize=4)
        else:
            lift_ax.text(0, y, "no lift yet", va="center", ha="center", color="#4a5565")
    lift_ax.axvline(0, color="#4a5565", linewidth=1)
    lift_ax.set_yticks(ys, [a.arm for a in chosen])
    lift_ax.set_xlabel("lift in purchases against the holdout, % (95 % interval)")
    best_ax.barh(ys, [(a.p_best or 0) * 100 for a in chosen], color="#176c3a")
    best_ax.set_xlim(0, 100)
    best_ax.set_xlabel("probability of being the best arm, %")
    fig.suptitle(f"{offer_id}: {f.period_text()}")
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
