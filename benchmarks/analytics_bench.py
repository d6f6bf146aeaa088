"""Benchmark of the engine's analytics: RFM, co-purchase and popularity over 1M basket lines.

    .venv/bin/python benchmarks/analytics_bench.py [--lines 1000000] [--seed 7]

The history is synthetic but shaped like a store chain's year (seeded, so every run is the same):
60k customers with Pareto-skewed visit rates, a quarter of baskets anonymous, 300 skus with a
Zipf-like popularity, items with a usual companion, ~2.5 lines per basket with a rare stock-up
basket of 60 items (skipped by the co-purchase basket cap), times over a year weighted to opening
hours. Lines are in the compact tuple form and in time order, as the cache returns them; the same
lines shuffled are timed too (worse memory locality; the results must be identical). Converting
the bundle's dict form is timed last, so its memory does not count in the first peak RSS figure.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decisions.copurchase import co_purchase  # noqa: E402
from decisions.popularity import popularity_by_daypart  # noqa: E402
from decisions.rfm import compact, rfm_scores  # noqa: E402

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
TZ = "Europe/Sofia"
DAYPARTS = {"morning": ("06:00", "11:00"), "lunch": ("11:00", "15:00"),
            "afternoon": ("15:00", "18:00"), "evening": ("18:00", "22:00")}
TARGET_S = 30.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def generate(n_lines: int, seed: int = 7, n_customers: int = 60_000, n_skus: int = 300) -> list[tuple]:
    """``n_lines`` compact basket lines in time order (a basket's lines together)."""
    rng = random.Random(seed)
    skus = [f"SKU{i:05d}" for i in range(n_skus)]
    price = [rng.choice((90, 120, 150, 180, 220, 250, 320, 450, 690, 990)) for _ in skus]
    sku_cum = list(accumulate(1.0 / (i + 1) ** 0.9 for i in range(n_skus)))
    companion = [(i * 7 + 3) % n_skus for i in range(n_skus)]
    customers = [f"P{i:07d}" for i in range(n_customers)]
    cust_cum = list(accumulate(rng.paretovariate(1.3) for _ in customers))
    hours = list(range(6, 23))
    hour_w = [3, 6, 8, 5, 4, 7, 8, 5, 3, 3, 4, 5, 6, 5, 3, 2, 1]
    year_start = (NOW - timedelta(days=365)).timestamp()
    sku_range = range(n_skus)

    baskets = []
    n = 0
    while n < n_lines:
        day = rng.randrange(365)
        hour = rng.choices(hours, weights=hour_w)[0]
        at = float(year_start + day * 86400 + (hour - 2) * 3600 + rng.randrange(3600))  # ~local hour in Sofia
        size = 60 if rng.random() < 0.001 else 1 + min(int(rng.expovariate(1 / 1.9)), 30)
        baskets.append((at, size))
        n += size
    baskets.sort()

    lines: list[tuple] = []
    for b, (at, size) in enumerate(baskets):
        bid = f"B{b:08d}"
        pid = None if rng.random() < 0.25 else rng.choices(customers, cum_weights=cust_cum)[0]
        idx = rng.choices(sku_range, cum_weights=sku_cum)[0]
        for j in range(size):
            if j:
                idx = companion[idx] if rng.random() < 0.35 else rng.choices(sku_range, cum_weights=sku_cum)[0]
            qty = 1 if rng.random() < 0.85 else 2
            lines.append((bid, pid, skus[idx], qty, price[idx] * qty, at))
    del lines[n_lines:]
    return lines


def timed(fn, *args, **kwargs):
    gc.collect()
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def row(label: str, value: str, target: str = "") -> None:
    print(f"  {label:<70} {value:>9}   {target}".rstrip(), flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args([] if argv is None and __name__ != "__main__" else argv)

    t0 = time.perf_counter()
    lines = generate(args.lines, args.seed)
    gen_s = time.perf_counter() - t0
    n_baskets = len({ln[0] for ln in lines})
    n_customers = len({ln[1] for ln in lines if ln[1] is not None})
    print(f"store-edge analytics benchmark, on {len(os.sched_getaffinity(0))} cores, Python {sys.version.split()[0]}")
    print(f"  history: {len(lines):,} lines, {n_baskets:,} baskets, {n_customers:,} customers, 300 skus "
          f"(generated in {gen_s:.1f} s, not timed; peak RSS then {peak_rss_mb():.0f} MB)")

    scores, rfm_s = timed(rfm_scores, lines, NOW)
    rows_j, cop_s = timed(co_purchase, lines)
    pop, pop_s = timed(popularity_by_daypart, lines, tz=TZ, dayparts=DAYPARTS, now=NOW, window_days=365,
                        half_life_days=30)
    rows_l, lift_s = timed(co_purchase, lines, similarity="lift")
    total = rfm_s + cop_s
    row(f"RFM ({len(scores):,} customers)", f"{rfm_s:.2f} s")
    row(f"co-purchase, jaccard ({len(rows_j):,} pairs kept)", f"{cop_s:.2f} s")
    row(f"RFM + co-purchase over {len(lines):,} basket lines", f"{total:.2f} s",
        f"target < {TARGET_S:.0f} s   {'PASS' if total < TARGET_S else 'MISS'}")
    row("popularity, 4 dayparts + all day, 30-day half-life, Europe/Sofia", f"{pop_s:.2f} s")
    row(f"co-purchase, lift ({len(rows_l):,} pairs kept)", f"{lift_s:.2f} s")
    row("peak RSS (process, 1M lines in memory as tuples)", f"{peak_rss_mb():.0f} MB")

    shuffled = lines[:]
    random.Random(args.seed).shuffle(shuffled)
    scores_s, rfm_s2 = timed(rfm_scores, shuffled, NOW)
    rows_s, cop_s2 = timed(co_purchase, shuffled)
    same = scores_s == scores and rows_s == rows_j
    row("the same lines shuffled: RFM + co-purchase", f"{rfm_s2 + cop_s2:.2f} s",
        f"target < {TARGET_S:.0f} s   {'PASS' if rfm_s2 + cop_s2 < TARGET_S else 'MISS'}"
        f"   results {'identical' if same else 'DIFFER'}")
    del shuffled, scores_s, rows_s

    tiers: dict[str, int] = {}
    for s in scores:
        tiers[s.tier] = tiers.get(s.tier, 0) + 1
    print("  tiers: " + ", ".join(f"{t} {n:,}" for t, n in sorted(tiers.items(), key=lambda x: -x[1])))
    top = sorted(rows_j, key=lambda r: -r["score"])[:3]
    print("  strongest pairs: " + ", ".join(f"{r['a']}+{r['b']} {r['score']:.2f} ({r['count']})" for r in top))
    print("  morning top 3: " + ", ".join(f"{s} {v[0]:.0f}" for s, v in
                                          sorted(pop["morning"].items(), key=lambda x: -x[1][0])[:3]))

    # The bundle form, as CacheReader.basket_lines() returns it: converted once, then analysed as above.
    iso: dict[float, str] = {}
    dicts = []
    for i, (bid, pid, sku, qty, amount, at) in enumerate(lines):
        s = iso.get(at)
        if s is None:
            s = iso[at] = datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")
        d = {"line_id": f"L{i:08d}", "basket_id": bid, "sku": sku, "qty": qty, "amount_cents": amount, "at": s}
        if pid is not None:
            d["profile_id"] = pid
        dicts.append(d)
    del iso
    converted, conv_s = timed(compact, dicts)
    ok = converted == lines
    row(f"bundle dicts -> compact tuples ({len(dicts):,} lines, ISO times parsed)", f"{conv_s:.2f} s",
        "" if ok else "CONVERSION DIFFERS")
    row("peak RSS with the dict form also in memory", f"{peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
