"""Benchmark of the reports (issue 14): a month of a chain's events in PostgreSQL, then each report for one
store's week, one region's month and the whole chain's month, the way the console asks for them.

    .venv/bin/python benchmarks/reports_bench.py                      # 100 stores, 30 days: ~1.5M events
    .venv/bin/python benchmarks/reports_bench.py --stores 20 --days 10   # a quick run

PostgreSQL at ``--pg`` (default 127.0.0.1:5432, user postgres): the benchmark creates its own database and
drops it. Prints each figure beside its target: a report page's query should not keep a person waiting.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from central.content_files import Store  # noqa: E402
from central.db import open_database  # noqa: E402
from central.ingest import store_events  # noqa: E402
from central.reports import REPORTS, Filters, choose_stores  # noqa: E402

TZ = "Europe/Sofia"
LAST = date(2026, 11, 30)


def events(stores: int, days: int, rng: random.Random):
    """Per store and day: 24 hourly proof-of-play summaries, 300 impressions, 30 held out, 40 coupons, 12
    redemptions, 60 sales to known customers and 25 assisted sales."""
    period = Filters(LAST - timedelta(days=days - 1), LAST, TZ)
    seq = 0
    for day in period.days():
        start = period.midnight(day)
        for s in range(stores):
            store = f"s{s:03d}"
            batch: list[tuple[str, dict, float]] = []
            for h in range(24):
                batch.append(("proof_of_play", {"hour_start": start + h * 3600, "items": [
                    {"item": f"item-{i}", "zone": "main", "plays": 30, "full_plays": 29, "seconds": 240.0}
                    for i in rng.sample(range(40), 6)]}, start + h * 3600 + 3660))
            for n in range(330):
                arm = "holdout" if n >= 300 else "AB"[n % 2]
                batch.append(("offer_held_out" if arm == "holdout" else "offer_shown",
                              {"offer": f"OFF-{n % 12}", "arm": arm, "profile_id": f"P{rng.randrange(50_000)}"},
                              start + rng.uniform(0, 86_000)))
            for n in range(40):
                coupon = {"offer": f"OFF-{n % 12}", "arm": "A", "code": f"{store}-{day}-{n}"}
                batch.append(("offer_sent_to_phone", coupon, start + 40_000))
                if n < 12:
                    batch.append(("redeemed", coupon, start + 50_000))
            for n in range(60):
                batch.append(("sale", {"basket_id": f"{store}-{day}-{n}", "profile_id": f"P{rng.randrange(50_000)}",
                                       "lines": [{"sku": f"SKU-{rng.randrange(12)}", "qty": 1, "amount_cents": 300}]},
                              start + rng.uniform(0, 86_000)))
            for _ in range(25):
                batch.append(("assisted_sale", {"staff_id": f"st-{rng.randrange(8)}", "outcome": {
                    "contacted": True, "purchased": rng.random() < 0.4, "add_ons": rng.randrange(3)}},
                    start + rng.uniform(0, 86_000)))
            out = []
            for kind, payload, at in batch:
                seq += 1
                out.append({"id": f"e{seq}", "seq": seq, "type": kind, "store": store, "device": f"{store}-k",
                            "wall_time": at, "payload": payload})
            yield out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--stores", type=int, default=100)
    p.add_argument("--days", type=int, default=30)
    args = p.parse_args()
    name = f"se_reports_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        db = open_database(args.pg.rsplit("/", 1)[0] + f"/{name}")
        db.executemany("INSERT INTO offer_skus (offer, sku) VALUES (?, ?)",
                       [(f"OFF-{i}", f"SKU-{i}") for i in range(12)])
        t0, total = time.perf_counter(), 0
        for batch in events(args.stores, args.days, random.Random(14)):
            total += len(store_events(db, batch, now=0.0).new)
        db.execute("ANALYZE")
        print(f"store-edge reports benchmark: {args.stores} stores, {args.days} days, {total:,} events"
              f" (loaded in {time.perf_counter() - t0:.0f} s)")
        stores = [Store(f"s{s:03d}", "north" if s % 10 == 0 else "south", ()) for s in range(args.stores)]
        north = choose_stores(stores, region="north")
        cases = [("one store, 7 days", Filters(LAST - timedelta(days=6), LAST, TZ, ("s001",)), 0.5),
                 (f"region north ({len(north)} stores), {args.days} days",
                  Filters(LAST - timedelta(days=args.days - 1), LAST, TZ, north), 2.0),
                 (f"every store, {args.days} days", Filters(LAST - timedelta(days=args.days - 1), LAST, TZ), None)]
        for label, f, target in cases:
            for report in REPORTS.values():
                t = time.perf_counter()
                rows = report.rows(db, f, {})
                took = time.perf_counter() - t
                verdict = "" if target is None else ("PASS" if took <= target else "MISS")
                shown = f"<= {target:.1f} s" if target is not None else "(measured)"
                print(f"  {report.title + ', ' + label:<58} {took:8.3f} s {len(rows):>7} rows   target {shown:<10}"
                      f" {verdict}", flush=True)
        db.close()
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
