"""RFM tiers and co-purchase similarity over the chain's basket lines, with the engine's own code.

``decisions.rfm.rfm_scores`` and ``decisions.copurchase`` compute both here and at the edge, so a
store and head office agree on every tier and pair (``tests/central/test_jobs.py`` checks it).

- **Co-purchase is incremental.** Each sale's basket enters ``basket_queue``. A run counts only the
  queued baskets (``co_occurrence``), adds the counts to ``item_counts`` and ``pair_counts``, and
  ranks the pairs from the totals (``similarity_rows``): the same result as counting everything
  again, at the cost of the new baskets.
- **RFM is recomputed whole** when anything is new (or once a day, since recency moves with the
  clock): its scores are quintiles over the whole population, so one new customer can shift
  others. The lines reach it pre-summed per (basket, customer, time) in SQL, which leaves every
  RFM figure unchanged (recency and first purchase take the times, frequency counts baskets,
  monetary sums amounts) and reads 3-4 times fewer rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby

from decisions.copurchase import co_occurrence, similarity_rows
from decisions.rfm import profile_rfm, rfm_scores

from .db import Database

DAY = 86_400.0


@dataclass(frozen=True)
class JobResult:
    ran: bool
    customers: int = 0
    baskets: int = 0
    pairs: int = 0
    seconds: float = 0.0


def run(db: Database, *, now: float, force: bool = False) -> JobResult:
    """Run both jobs if baskets arrived since the last run, or the last run is a day old, or ``force``."""
    pending = db.scalar("SELECT count(*) FROM basket_queue") or 0
    last = db.scalar("SELECT ran_at FROM jobs WHERE name = 'rfm'")
    if not (force or pending or last is None or now - float(last) >= DAY):
        return JobResult(False)
    started = time.perf_counter()
    customers = update_rfm(db, now=now)
    baskets, pairs = update_co_purchase(db)
    db.execute("INSERT INTO jobs (name, watermark, ran_at) VALUES ('rfm', ?, ?) ON CONFLICT (name)"
               " DO UPDATE SET watermark = excluded.watermark, ran_at = excluded.ran_at", (customers, now))
    return JobResult(True, customers, baskets, pairs, time.perf_counter() - started)


def rfm_rows(db: Database) -> list[tuple]:
    """Compact basket lines for RFM, one per (basket, customer, time), amounts summed."""
    return [(b, p, "", 0, int(m), float(t)) for b, p, m, t in db.stream(
        "SELECT basket_id, profile_id, sum(amount_cents), at FROM basket_lines WHERE profile_id IS NOT NULL"
        " GROUP BY basket_id, profile_id, at")]


def update_rfm(db: Database, *, now: float) -> int:
    scores = rfm_scores(rfm_rows(db), now)
    with db.transaction():
        db.stage("rfm_stage", "(profile_id TEXT PRIMARY KEY, rfm TEXT)",
                 ((s.profile_id, json.dumps(profile_rfm(s))) for s in scores))
        db.execute("UPDATE profiles SET rfm = rfm_stage.rfm FROM rfm_stage"
                   " WHERE profiles.profile_id = rfm_stage.profile_id")
    return len(scores)


def _baskets(rows: Iterator[tuple]) -> Iterator[list[str]]:
    for _basket, lines in groupby(rows, key=lambda r: r[0]):
        yield [sku for _b, sku in lines]


def update_co_purchase(db: Database) -> tuple[int, int]:
    """Count the queued baskets into the totals and rank the pairs again; returns (baskets, pairs)."""
    with db.transaction():
        db.stage("job_baskets", "(basket_id TEXT PRIMARY KEY)")
        db.execute("INSERT INTO job_baskets (basket_id) SELECT basket_id FROM basket_queue")
        baskets = int(db.scalar("SELECT count(*) FROM job_baskets") or 0)
        items, pairs = co_occurrence(_baskets(db.stream(
            "SELECT l.basket_id, l.sku FROM basket_lines l JOIN job_baskets j ON j.basket_id = l.basket_id"
            " ORDER BY l.basket_id")))
        db.insert_rows("item_counts", ("sku", "n"), list(items.items()),
                       "ON CONFLICT (sku) DO UPDATE SET n = item_counts.n + excluded.n")
        db.insert_rows("pair_counts", ("a", "b", "n"), [(a, b, n) for (a, b), n in pairs.items()],
                       "ON CONFLICT (a, b) DO UPDATE SET n = pair_counts.n + excluded.n")
        db.execute("DELETE FROM basket_queue WHERE basket_id IN (SELECT basket_id FROM job_baskets)")
        all_items = dict(db.stream("SELECT sku, n FROM item_counts"))
        all_pairs = {(a, b): n for a, b, n in db.stream("SELECT a, b, n FROM pair_counts")}
        rows = similarity_rows(all_items, all_pairs)
        db.execute("DELETE FROM co_purchase")
        db.copy_rows("co_purchase", ("a", "b", "score", "n"), ((r["a"], r["b"], r["score"], r["count"]) for r in rows))
    return baskets, len(rows)
