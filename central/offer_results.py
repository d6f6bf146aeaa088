"""Offer results from the events: impressions, sends and redemptions per arm, lift against the holdout
with a 95 % confidence interval, double spends, and the bandits' statistics.

Every function reads deduplicated event envelopes (from the central store, or the reference
responder's) and is pure.

- A coupon redeemed in two places (two offline stores, or two devices of one store before either
  synced) counts once, at its earliest redemption, and is listed under ``double_spends``.
- Lift compares, per offer, how often shoppers bought the offer's product after seeing the offer
  (per arm) with how often held-out shoppers bought it after being held out. Its 95 % interval is
  the usual one for a ratio of two proportions (Katz's log method): with p1 = x1/n1 for the arm and
  p0 = x0/n0 for the holdout, ``exp(ln(p1/p0) +- 1.96 * sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0)) - 1``.
  It is left out (None) while either arm has no purchase yet.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping

Z95 = 1.959964


def lift_interval(x1: int, n1: int, x0: int, n0: int, z: float = Z95) -> tuple[float, float, float] | None:
    """(lift, low, high) of the arm's purchase rate x1/n1 over the holdout's x0/n0; None without data."""
    if min(x1, x0) <= 0 or min(n1, n0) <= 0:
        return None
    log_rr = math.log((x1 / n1) / (x0 / n0))
    se = math.sqrt(max(0.0, 1 / x1 - 1 / n1 + 1 / x0 - 1 / n0))
    return (math.exp(log_rr) - 1, math.exp(log_rr - z * se) - 1, math.exp(log_rr + z * se) - 1)


def _by_type(events: Iterable[Mapping]) -> dict[str, list[Mapping]]:
    out: dict[str, list[Mapping]] = defaultdict(list)
    for e in events:
        out[e["type"]].append(e)
    for rows in out.values():
        rows.sort(key=lambda e: (e.get("wall_time") or 0, e["id"]))
    return out


def redemptions(events: Iterable[Mapping]) -> tuple[list[Mapping], list[dict]]:
    """(the first redemption of every code, the codes redeemed more than once)."""
    first: dict[str, Mapping] = {}
    again: dict[str, list[Mapping]] = defaultdict(list)
    for e in _by_type(events)["redeemed"]:
        code = e["payload"]["code"]
        if code in first:
            again[code].append(e)
        else:
            first[code] = e
    flags = [{"code": code, "offer": first[code]["payload"]["offer"],
              "redeemed_at": [f"{e['store']}/{e['device']}" for e in [first[code], *dups]],
              "events": [e["id"] for e in [first[code], *dups]]} for code, dups in sorted(again.items())]
    return list(first.values()), flags


def lift_report(events: Iterable[Mapping], offer_skus: Mapping[str, str] | None = None) -> dict:
    """Per offer and arm: shown, coupons, redeemed, and purchase after exposure against the holdout."""
    events = list(events)
    typed = _by_type(events)
    issued = {e["payload"]["code"]: e["payload"] for e in typed["offer_sent_to_phone"]}
    firsts, double = redemptions(events)
    report: dict[str, dict] = defaultdict(lambda: {"arms": defaultdict(lambda: {
        "shown": 0, "coupons": 0, "redeemed": 0, "exposed_profiles": set(), "bought_after": 0})})

    def arm_of(payload: Mapping) -> str:
        return payload.get("arm") or "none"

    exposures: dict[tuple[str, str, str], float] = {}  # (offer, arm, profile) -> first exposure time
    for e in typed["offer_shown"] + typed["offer_held_out"]:
        p = e["payload"]
        arm = "holdout" if e["type"] == "offer_held_out" else arm_of(p)
        cell = report[p["offer"]]["arms"][arm]
        cell["shown"] += 1
        if p.get("profile_id"):
            cell["exposed_profiles"].add(p["profile_id"])
            exposures.setdefault((p["offer"], arm, p["profile_id"]), e.get("wall_time") or 0)
    for p in issued.values():
        report[p["offer"]]["arms"][arm_of(p)]["coupons"] += 1
    for e in firsts:
        p = e["payload"]
        arm = arm_of(issued.get(p["code"], p))
        report[p["offer"]]["arms"][arm]["redeemed"] += 1
    if offer_skus:
        bought: dict[tuple[str, str], list[float]] = defaultdict(list)  # (profile, sku) -> times
        for e in typed["sale"]:
            p = e["payload"]
            for line in p.get("lines", []):
                if p.get("profile_id"):
                    bought[p["profile_id"], line["sku"]].append(e.get("wall_time") or 0)
        for (offer, arm, profile), seen_at in exposures.items():
            sku = offer_skus.get(offer)
            if sku and any(t >= seen_at for t in bought.get((profile, sku), [])):
                report[offer]["arms"][arm]["bought_after"] += 1
    out = {}
    for offer, data in sorted(report.items()):
        arms = {}
        for arm, c in sorted(data["arms"].items()):
            exposed = len(c["exposed_profiles"])
            arms[arm] = {"shown": c["shown"], "coupons": c["coupons"], "redeemed": c["redeemed"],
                         "redemption_rate": round(c["redeemed"] / c["coupons"], 4) if c["coupons"] else None,
                         "exposed_profiles": exposed, "bought_after": c["bought_after"],
                         "purchase_rate": round(c["bought_after"] / exposed, 4) if exposed else None}
        control = arms.get("holdout", {})
        for arm, row in arms.items():
            if arm != "holdout" and control.get("purchase_rate") and row["purchase_rate"] is not None:
                row["lift_vs_holdout"] = round(row["purchase_rate"] / control["purchase_rate"] - 1, 4)
                ci = lift_interval(row["bought_after"], row["exposed_profiles"], control["bought_after"],
                                   control["exposed_profiles"])
                row["lift_ci95"] = [round(ci[1], 4), round(ci[2], 4)] if ci else None
        out[offer] = arms
    return {"offers": out, "double_spends": double}


def offer_stats(events: Iterable[Mapping]) -> list[dict]:
    """The ``offer_stats`` bundle section: shown and redeemed per (offer, variant, context)."""
    events = list(events)
    typed = _by_type(events)
    cells: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for e in typed["offer_shown"]:
        p = e["payload"]
        if p.get("variant") and p.get("context"):
            cells[p["offer"], p["variant"], p["context"]][0] += 1
    issued = {e["payload"]["code"]: e["payload"] for e in typed["offer_sent_to_phone"]}
    for e in redemptions(events)[0]:
        p = issued.get(e["payload"]["code"])
        if p and p.get("variant") and p.get("context"):
            cells[p["offer"], p["variant"], p["context"]][1] += 1
    return [{"id": f"{o}|{v}|{c}", "offer": o, "variant": v, "context": c, "shown": s, "redeemed": min(r, s)}
            for (o, v, c), (s, r) in sorted(cells.items())]
