"""A year of events in PostgreSQL (issue 17): the reports and RFM at a year's volume, raw and from the rollups.

    .venv/bin/python benchmarks/events_year_bench.py                      # 5,000 stores, 12 months (~10 min)
    .venv/bin/python benchmarks/events_year_bench.py --per-day 4          # a quicker, smaller run

A chain of 5,000 stores sends about 5,000 events per store and day (two signage screens' proof of play
every 30 s for 12 hours, four devices' health every 5 minutes, 400 sales, 300 offers shown and their
holdouts, coupons, redemptions, identifications and assisted sales): 9 billion a year, some 3 TB with
indexes. That does not fit here, so the year is scaled down in two ways, both printed: one sampled day
per week (52 of 365) and ``--per-day`` events per store and sampled day instead of 5,000, in the same
mix of types. Every store and every month is there, so partitions, rollup cells and report groups
have their full count; only the rows inside them are fewer.

The events are made by ``INSERT ... SELECT generate_series`` straight into the partitioned table of
migration 9 (with the play_hours rows, basket lines and profiles they would feed), then:

- before: the reports as ``central/reports.py`` runs them (``proof_of_play_rows``, ``offer_rows``,
  ``staff_rows``) and the RFM job (``central.jobs.update_rfm``) over the raw tables;
- the rollups filled from the events (what migration 9 does on upgrade; at run time ingest adds to them);
- after: the same figures from the rollups (``central.rollups``), and retention dropping the oldest month.

PostgreSQL at ``--pg`` (default 127.0.0.1:5432, user postgres): the benchmark makes its own database and
drops it at the end. Each figure is printed beside its target.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from central import jobs, partitions, reports, rollups  # noqa: E402
from central.db import open_database  # noqa: E402
from sync.clock import SYSTEM  # noqa: E402

FULL_PER_STORE_DAY = 5_000
DAY = 86_400.0
# The mix of a store's day, per 1,000 events: (type, share).
MIX = (("proof_of_play", 576), ("health", 230), ("sale", 80), ("offer_shown", 60), ("offer_held_out", 6),
       ("offer_sent_to_phone", 4), ("redeemed", 2), ("identified", 12), ("assisted_sale", 5), ("lookup_miss", 25))
assert sum(share for _t, share in MIX) == 1000
OFFERS, ITEMS, SKUS, PROFILES, STAFF = 40, 60, 500, 200_000, 12


def type_case(slot: str) -> str:
    """SQL choosing an event type from ``slot`` (0..999) by the mix."""
    parts, edge = [], 0
    for kind, share in MIX:
        edge += share
        parts.append(f"WHEN {slot} < {edge} THEN '{kind}'")
    return "CASE " + " ".join(parts) + " END"


@contextmanager
def timed(label: str, target: float | None, results: list):
    started = time.perf_counter()
    yield
    took = time.perf_counter() - started
    results.append((label, took, target))
    verdict = "" if target is None else ("  ok" if took <= target else "  OVER")
    print(f"  {label:<66} {took:9.2f} s" + (f"   target < {target:g} s{verdict}" if target else ""), flush=True)


def generate(url: str, stores: int, per_day: int, now: float) -> tuple[int, float]:
    """One sampled day per week for 52 weeks before ``now``; returns (events, seconds)."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        first_day = (now // DAY) * DAY - 364 * DAY
        for week in range(52):
            day = first_day + week * 7 * DAY + (week % 7) * DAY  # a different weekday each week
            if day > now - DAY:
                day -= 7 * DAY
            n = stores * per_day
            conn.execute(f"""
                WITH g AS (
                    SELECT x, x % {stores} AS store_no, (x * 7919 + {week} * 104729) % 1000 AS slot,
                           {day} + 28800 + (x % 43200) + (x % 1000) / 1000.0 AS t
                    FROM generate_series(1, {n}) x),
                e AS (
                    SELECT x, 's' || lpad(store_no::text, 4, '0') AS store, t, {type_case('slot')} AS type,
                           'C' || ((x * 31 + {week}) % {PROFILES}) AS pid, 'OFF-' || (x % {OFFERS}) AS offer,
                           CASE WHEN x % 2 = 0 THEN 'a' ELSE 'b' END AS arm, 'w{week}-' || x AS id FROM g)
                INSERT INTO events (id, store, device, seq, type, wall_time, received_at, profile_id, body)
                SELECT id, store, 'dev-' || (x % 4), x, type, t, t + 30,
                       CASE WHEN type IN ('offer_shown', 'offer_held_out', 'sale', 'identified') THEN pid END,
                       json_build_object('id', id, 'seq', x, 'type', type, 'store', store, 'device', 'dev-' || (x % 4),
                           'wall_time', t, 'payload', CASE type
                           WHEN 'proof_of_play' THEN json_build_object('item', 'item-' || (x % {ITEMS}),
                               'started_at', t - 15, 'duration_s', 15)
                           WHEN 'offer_shown' THEN json_build_object('offer', offer, 'arm', arm, 'profile_id', pid)
                           WHEN 'offer_held_out' THEN json_build_object('offer', offer, 'profile_id', pid)
                           WHEN 'offer_sent_to_phone' THEN json_build_object('offer', offer, 'arm', arm,
                               'code', 'K' || id, 'profile_id', pid)
                           WHEN 'redeemed' THEN json_build_object('offer', offer, 'arm', arm, 'code', 'K' || id)
                           WHEN 'sale' THEN json_build_object('basket_id', 'B' || id, 'profile_id', pid, 'at', t,
                               'lines', json_build_array(json_build_object('sku', 'SKU' || (x % {SKUS}), 'qty', 1,
                                   'amount_cents', 100 + x % 900)))
                           WHEN 'assisted_sale' THEN json_build_object('staff_id', 'st' || (x % {STAFF}),
                               'outcome', json_build_object('contacted', x % 3 > 0, 'purchased', x % 3 = 2,
                                   'add_ons', x % 2))
                           ELSE json_build_object() END)::text
                FROM e""")
            print(f"\r  generating: week {week + 1}/52", end="", flush=True)
        print()
        # What ingest would have derived from them: proof of play rows, basket lines (3 per sale), profiles.
        conn.execute(f"""INSERT INTO play_hours (event_id, n, store, device, item, zone, started_at, plays,
                full_plays, seconds)
            SELECT id, 0, store, device, 'item-' || (seq % {ITEMS}), '', wall_time - 15, 1, 1, 15
            FROM events WHERE type = 'proof_of_play'""")
        conn.execute(f"""INSERT INTO basket_lines (line_id, basket_id, profile_id, sku, qty, amount_cents, at, store)
            SELECT id || ':' || k, 'B' || id, profile_id, 'SKU' || ((seq + k * 7) % {SKUS}), 1, 100 + seq % 900,
                   wall_time, store
            FROM events, generate_series(0, 2) k WHERE type = 'sale'""")
        conn.execute(f"""INSERT INTO profiles (profile_id, created_at, updated_at)
            SELECT 'C' || p, {first_day}, {first_day} FROM generate_series(0, {PROFILES - 1}) p""")
        conn.execute("INSERT INTO offer_skus (offer, sku) SELECT 'OFF-' || o, 'SKU' || o FROM generate_series(0, 39) o")
        conn.execute("ANALYZE")
        count = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    return count, time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--stores", type=int, default=5_000)
    ap.add_argument("--per-day", type=int, default=10, help="events per store and sampled day (full: 5,000)")
    ap.add_argument("--keep", action="store_true", help="keep the database (default: drop it)")
    args = ap.parse_args()

    free = shutil.disk_usage("/work").free
    need = args.stores * 52 * args.per_day * 1_200  # bytes per event with its share of indexes and derived rows
    print(f"disk: {free / 2**30:.0f} GiB free on /work; this run needs about {need / 2**30:.1f} GiB")
    if need > free * 0.5:
        print("not enough room: lower --per-day or --stores", file=sys.stderr)
        return 2
    full = args.stores * 365 * FULL_PER_STORE_DAY
    made = args.stores * 52 * args.per_day
    print(f"scale: {args.stores:,} stores x 52 sampled days (1 a week) x {args.per_day} events/store/day ="
          f" {made:,} events; a full year at {FULL_PER_STORE_DAY:,}/store/day is {full:,}:"
          f" scale factor 1/{full / made:,.0f} ({52 / 365:.3f} of the days x {args.per_day / FULL_PER_STORE_DAY:.4f}"
          " of each day)")

    name = f"se_events_year_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    results: list = []
    now = SYSTEM.time()
    try:
        db = open_database(url)
        partitions.ensure(db, now=now - 366 * DAY, ahead=12)  # the year's months, then the coming ones
        partitions.ensure(db, now=now, ahead=3)
        count, took = generate(url, args.stores, args.per_day, now)
        size = db.scalar("SELECT pg_total_relation_size('events') + coalesce((SELECT sum(pg_total_relation_size("
                         "inhrelid)) FROM pg_inherits WHERE inhparent = 'events'::regclass), 0)")
        print(f"  {count:,} events generated in {took:.0f} s; events with indexes: {int(size) / 2**30:.2f} GiB")

        print("before: the reports (the year, every store, in UTC days) and RFM over the raw tables")
        year = reports.Filters(reports.today(SYSTEM.now(), "UTC") - timedelta(days=365),
                               reports.today(SYSTEM.now(), "UTC"), "UTC")
        with timed("report proof_of_play (reports.proof_of_play_rows)", 2.0, results):
            pop = [{k: r[k] for k in ("day", "store", "item", "plays", "seconds")}
                   for r in reports.proof_of_play_rows(db, year, {})]
        with timed("report offers (reports.offer_rows)", 2.0, results):
            offers = reports.offer_rows(db, year, {})
        with timed("report staff (reports.staff_rows)", 2.0, results):
            staff = reports.staff_rows(db, year, {})
        with timed("RFM job (jobs.update_rfm)", 60.0, results):
            customers = jobs.update_rfm(db, now=now)
        print(f"  ({len(pop):,} proof-of-play rows, {len(offers)} offer/arm rows, {len(staff)} staff rows,"
              f" {customers:,} customers scored)")

        print("the rollups, filled from the events (migration 9 on upgrade; ingest adds to them after)")
        with timed("rollups.rebuild over every event", None, results), db.transaction():
            rollups.rebuild(db)
        cells = db.scalar("SELECT (SELECT count(*) FROM rollup_event_counts) + (SELECT count(*) FROM rollup_offers)"
                          " + (SELECT count(*) FROM rollup_plays)")
        print(f"  {int(cells):,} rollup rows")

        print("after: the same figures from the rollups")
        with timed("proof of play per day, store, item (rollups.proof_of_play_rows)", 2.0, results):
            pop_rolled = rollups.proof_of_play_rows(db)
        with timed("offers per offer and arm (rollups.offer_totals)", 2.0, results):
            totals = rollups.offer_totals(db)
        with timed("events per day, store, type, last 30 days (rollups.event_counts)", 2.0, results):
            rollups.event_counts(db, since_day=time.strftime("%Y-%m-%d", time.gmtime(now - 30 * DAY)))
        print(f"  proof of play from the rollup is the report's: {pop_rolled == pop};"
              f" impressions agree: {sum(t['impressions'] for t in totals) == sum(r['impressions'] for r in offers)}")

        print("retention")
        with timed("events partitions (counts every row)", 30.0, results):
            listing = partitions.partitions(db)
        with timed("retention of 12 months: plan and drop the oldest month(s)", 30.0, results):
            plan = partitions.plan(db, now=now, months=12)
            removed = partitions.apply(db, plan)
        print(f"  {len(listing)} partitions; dropped {[p.name for p in plan.drop]}: {removed:,} events;"
              f" rollups unchanged: {rollups.proof_of_play_rows(db) == pop_rolled}")
        db.close()
    finally:
        if not args.keep:
            with psycopg.connect(args.pg, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"dropped database {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
