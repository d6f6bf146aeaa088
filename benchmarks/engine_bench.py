"""Benchmark of the decision engine (issue 3).

    .venv/bin/python benchmarks/engine_bench.py

A cache with 20k products, 2k offers and 100k profiles; then kiosk decisions (identify by phone
hash, read consent, count caps, decide and rank 6 offers) and menu decisions, each timed end to
end over the real cache; then the engine's added memory; then RFM and co-purchase over 1M basket
lines (benchmarks/analytics_bench.py).
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decisions.caps import count, windows  # noqa: E402
from decisions.consent import current_consents  # noqa: E402
from decisions.context import Context, Weather  # noqa: E402
from decisions.engine import Engine  # noqa: E402
from decisions.shopper import Shopper  # noqa: E402
from sync.cache import Cache  # noqa: E402
from sync.cache.bundles import apply_bundle  # noqa: E402
from sync.cache.engine_state import impressions_since  # noqa: E402
from sync.cache.read import CacheReader  # noqa: E402

KEY = b"bench-chain-phone-key"
NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # Monday 08:30 in Sofia: the bench's store time
rows: list[tuple[str, str, str, bool]] = []


def report(name: str, value: str, target: str, ok: bool) -> None:
    rows.append((name, value, target, ok))
    print(f"  {name:<72} {value:>14}   target {target:<10} {'PASS' if ok else 'MISS'}", flush=True)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        import os
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def phone_hash(n: int) -> str:
    return hmac.new(KEY, f"+35988{n:07d}".encode(), hashlib.sha256).hexdigest()


def build_cache(path: Path, rng: random.Random) -> None:
    categories = [f"cat{i}" for i in range(40)]
    products = [{"sku": f"SKU{i:05d}", "name": {"en": f"Product {i}", "bg": f"Продукт {i}"},
                 "category": categories[i % 40]} for i in range(20_000)]
    leaves = [{"daypart": "morning"}, {"daypart": ["lunch", "afternoon"]}, {"weekday": ["sat", "sun"]},
              {"temperature_band": "cold"}, {"weather": ["rain", "snow"]}, {"segment": "coffee"},
              {"tier": ["champions", "loyal"]}, {"customer": "new"}, {"days_since_visit": {"min": 30}},
              {"bought": {"category": "cat3", "min_times": 2, "within_days": 30}}, {"identified": True}]
    offers = []
    for i in range(2_000):
        sku = f"SKU{rng.randrange(20_000):05d}"
        offers.append({"id": f"OFF{i:04d}", "priority": rng.randrange(100), "channels": ["kiosk", "tablet"],
                       "title": {"en": f"Offer {i}"}, "sku": sku,
                       "conditions": {"all": rng.sample(leaves, 2) + [{"in_stock": sku}]},
                       "caps": {"per_customer_per_day": 2, "per_device_per_hour": 50},
                       "schedule": {"from": "2026-01-01", "to": "2027-12-31"}})
    profiles = [{"profile_id": f"P{i:06d}", "phone_hash": phone_hash(i),
                 "segments": rng.sample(["coffee", "tea", "pastry", "vegan"], 2),
                 "rfm": {"r": 3, "f": 3, "m": 3, "tier": rng.choice(["champions", "loyal", "at_risk", "new"])},
                 "consents": {"personal_offers": "granted" if i % 5 else "denied"},
                 "last_visit": "2026-11-01"} for i in range(100_000)]
    lines = [{"line_id": f"L{i}", "basket_id": f"B{i // 3}", "profile_id": f"P{rng.randrange(2_000):06d}",
              "sku": f"SKU{rng.randrange(20_000):05d}", "qty": 1, "amount_cents": 250,
              "at": (datetime(2026, 11, 22, tzinfo=UTC) - timedelta(days=rng.randrange(90))).isoformat()}
             for i in range(20_000)]
    windows_by_menu = (("breakfast", "06:00", "11:00"), ("lunch", "11:00", "15:00"),
                       ("afternoon", "15:00", "18:00"), ("evening", "18:00", "23:00"))
    menus = [{"id": f"menu-{d}", "name": {"en": d}, "dayparts": [{"from": a, "to": b}],
              "items": [f"SKU{rng.randrange(20_000):05d}" for _ in range(60)],
              "weather": {"cold": [f"SKU{rng.randrange(20_000):05d}" for _ in range(5)]}}
             for d, a, b in windows_by_menu]
    chain = {"products": products, "offers": offers, "menus": menus,
             "prices": [{"sku": p["sku"], "price_cents": 100 + i % 900, "currency": "EUR"}
                        for i, p in enumerate(products)]}
    store = {"inventory": [{"sku": p["sku"], "on_hand": rng.choice([0, 3, 12, 40])} for p in products],
             "profiles": profiles, "basket_lines": lines}
    cache = Cache(path)
    at = NOW.timestamp()
    apply_bundle(cache, stream="chain", scope="chain", version=1, sha256="x", mode="snapshot", content=chain, at=at)
    apply_bundle(cache, stream="store/s1", scope="store/s1", version=1, sha256="x", mode="snapshot", content=store,
                 at=at)
    cache.close()


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99) - 1]


def main() -> int:
    rng = random.Random(7)
    print("store-edge decision engine benchmark (issue 3)")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cache.db"
        build_cache(path, rng)
        gc.collect()
        cache = Cache(path)
        reader = CacheReader(cache)
        before = rss_mb()
        t0 = time.perf_counter()
        engine = Engine.load(reader, now=NOW)
        load_s = time.perf_counter() - t0
        gc.collect()
        added = rss_mb() - before
        print(f"  (engine load: {load_s:.2f} s for {len(engine.playbook.offers)} offers, "
              f"{len(engine.catalog.products)} products)")

        weather = Weather(5.0, 0.8, "rain", NOW)
        kiosk_ms, menu_ms, shown = [], [], []
        for i in range(3_000):
            moment = NOW + timedelta(minutes=rng.randrange(12 * 60))
            ctx = Context(now=moment, store="s1", region="r1", device="kiosk-1", channel="kiosk", weather=weather)
            at = moment.timestamp()
            t = time.perf_counter()
            profile = reader.profile_by_phone_hash(phone_hash(rng.randrange(100_000)), at)  # identify
            consents = current_consents(profile, reader.consent_history(profile["profile_id"]))  # consent
            shopper = Shopper.for_decision(profile, consents, reader.basket_lines(profile["profile_id"]))
            caps = count(windows(moment, "Europe/Sofia"),                                        # caps
                         lambda since, pid: impressions_since(cache, since, pid), profile["profile_id"])
            decision = engine.offers(ctx, shopper, caps, k=6, seed=i)                            # rank 6
            kiosk_ms.append((time.perf_counter() - t) * 1000)
            shown.append(len(decision.offers))
            t = time.perf_counter()
            engine.menu(ctx)
            menu_ms.append((time.perf_counter() - t) * 1000)
        report(f"one kiosk decision, 100k profiles, 2k offers, 20k products (p50 {statistics.median(kiosk_ms):.2f})",
               f"p99 {p99(kiosk_ms):.2f} ms", "< 5 ms", p99(kiosk_ms) < 5)
        print(f"  (offers per decision: mean {statistics.mean(shown):.1f}, min {min(shown)})")
        report(f"one menu decision (p50 {statistics.median(menu_ms):.3f})", f"p99 {p99(menu_ms):.3f} ms", "< 2 ms",
               p99(menu_ms) < 2)
        report("engine's added RSS with that cache loaded", f"{added:.0f} MB", "< 150 MB", added < 150)
    try:
        import analytics_bench
    except ImportError:
        print("  (benchmarks/analytics_bench.py missing: RFM and co-purchase not measured)")
    else:
        analytics_bench.main()
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
