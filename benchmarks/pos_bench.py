"""Benchmark of the till's side (issue 8): redemption round trip on the store device, then trends.

    .venv/bin/python benchmarks/pos_bench.py

A store device with the demo chain's cache; the till posts a redemption over HTTP on loopback
(a new connection each time, as a till does) and waits for the answer: verify the code offline,
check the basket, write the redemption and its event in one transaction, answer.
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decisions import coupons  # noqa: E402
from decisions.playbook import Offer  # noqa: E402
from demo.store import demo_cache  # noqa: E402
from pos.desk import Desk  # noqa: E402
from pos.http import PosServer  # noqa: E402
from sync.cache.outbox import Outbox  # noqa: E402
from sync.clock import FixedClock  # noqa: E402
from sync.config import PosSection  # noqa: E402

N = 2000
# The desk and its coupons on a fixed Monday morning: the same offers apply on whatever day the benchmark runs.
CLOCK = FixedClock(datetime(2026, 11, 23, 6, 30, tzinfo=UTC))


def bench_desk(folder: Path) -> tuple[Desk, bytes, Offer]:
    """A store device's desk on the demo chain's cache in ``folder``, its coupon key, and the offer to issue
    coupons for (the morning combo: a cappuccino and a croissant)."""
    cache = demo_cache(folder / "cache.db", clock=CLOCK)
    key = coupons.store_key(b"bench secret", "s001")
    desk = Desk(cache, Outbox(cache, boot_id="b", device="pos-1", store="s001", clock=CLOCK), store="s001",
                coupon_key=key, clock=CLOCK)
    return desk, key, next(o for o in desk.playbook().offers if o.id == "OFF-MORNING-COMBO")


def main() -> int:
    print("store-edge point-of-sale benchmark (issue 8)")
    ok = True
    with tempfile.TemporaryDirectory() as d:
        desk, key, offer = bench_desk(Path(d))
        codes = [coupons.issue(key, store="s001", offer=offer, arm=None, expires_at=CLOCK.time() + 86400,
                               serial=i).code for i in range(N)]
        till_key = "till-1-key-" + "0" * 40
        # One till at full speed: its rate is lifted (the till door's own benchmark keeps it).
        server = PosServer(desk, {"till-1": till_key.encode()}, options=PosSection(rate_burst=10**9)).start()
        host, port = server.server_address[:2]
        basket = [{"sku": "COF-003", "qty": 1, "amount_cents": 260}, {"sku": "PAS-001", "qty": 1, "amount_cents": 180}]
        times, accepted = [], 0
        for i, code in enumerate(codes):
            body = json.dumps({"code": code, "basket_id": f"T1-{i}", "basket": basket})
            t = time.perf_counter()
            conn = http.client.HTTPConnection(host, port, timeout=5)
            conn.request("POST", "/v1/redemptions", body, {"Content-Type": "application/json",
                                                           "Authorization": f"Bearer {till_key}"})
            answer = json.loads(conn.getresponse().read())
            times.append((time.perf_counter() - t) * 1000)
            conn.close()
            accepted += answer["accepted"]
        server.stop()
        times.sort()
        p99 = times[int(len(times) * 0.99) - 1]
        ok &= p99 < 20
        name = f"redemption round trip over HTTP, {N} coupons (p50 {statistics.median(times):.2f})"
        value = f"p99 {p99:.2f} ms"
        print(f"  {name:<72} {value:>14}   target < 20 ms     {'PASS' if p99 < 20 else 'MISS'}")
        print(f"  (accepted {accepted} of {N}; each wrote its redemption and its outbox event)")
    try:
        import trends_bench
    except ImportError:
        print("  (benchmarks/trends_bench.py missing: trends not measured)")
    else:
        ok &= trends_bench.main() == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
