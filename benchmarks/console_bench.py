"""Benchmark of the console's fleet page (issue 14): 25,000 devices in 5,000 stores on PostgreSQL, the page's
server time with filters and paging, through the Litestar app, signed in.

    .venv/bin/python benchmarks/console_bench.py                  # 25,000 devices, 5,000 stores
    .venv/bin/python benchmarks/console_bench.py --stores 500     # a quick run

The benchmark creates its own database at ``--pg`` (default 127.0.0.1:5432, user postgres), fills it with COPY
(devices in every state, a day of health), and drops it at the end. Requests go through Litestar's TestClient:
the whole app (session cookie, guards, SQL, templates) in this process, without a network. Prints each figure
beside its target.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from litestar.testing import TestClient  # noqa: E402

from central import users  # noqa: E402
from central.config import CentralConfig, CentralSection, ConsoleSection  # noqa: E402
from central.db import Database, open_database  # noqa: E402
from central.fleet import FleetFilter, find_devices, fleet, format_fleet  # noqa: E402
from console.app import create_app  # noqa: E402
from console.state import Console  # noqa: E402
from sync.clock import FixedClock  # noqa: E402

PASSWORD = "bench-password-1"
KINDS = ("kiosk", "tablet", "signage", "signage", "kiosk")  # five devices a store
TARGET_P95_MS = 150.0


def report(name: str, value: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    print(f"  {name:<58} {value:>22}   target {target:<12} {verdict}", flush=True)


def fill(db: Database, content: Path, stores: int, now: float, rng: random.Random) -> int:
    """stores.csv with five devices a store; 90 % of the devices seen (online, stale, offline), the rest never."""
    lines, devices = ["store,region,devices"], []
    for s in range(stores):
        store = f"s{s:05d}"
        names = [f"{kind}-{s}-{n}" for n, kind in enumerate(KINDS)]
        lines.append(f"{store},r{s % 12:02d},{'|'.join(names)}")
        for name in names:
            roll = rng.random()
            if roll < 0.10:
                continue  # never seen
            state = "offline" if roll < 0.15 else "online"
            seen = now - (rng.uniform(200, 5000) if roll < 0.2 else rng.uniform(0, 100))  # some stale
            health = json.dumps({"outbox_rows": rng.randint(0, 40), "rss_bytes": rng.randint(100, 300) * 10**6,
                                 "sync_state": {"chain": 40, f"store/{store}": rng.randint(1, 9)}})
            devices.append((store, name, state, uuid.uuid4().hex, seen, seen, health, seen, 1, 0, 0))
    (content / "stores.csv").write_text("\n".join(lines) + "\n")
    db.copy_rows("devices", ("store", "device", "state", "boot_id", "presence_at", "last_seen", "health", "health_at",
                             "boots", "crashes", "clean_stop"), devices)
    db.execute("ANALYZE")
    return stores * len(KINDS)


def sign_in(client: TestClient, name: str) -> None:
    token = re.search(r'name="_csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post("/login", data={"username": name, "password": PASSWORD, "_csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def measure(client: TestClient, url: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return times


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--stores", type=int, default=5000)
    p.add_argument("--repeat", type=int, default=30, help="requests per address")
    args = p.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request otherwise
    name = f"se_console_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    rng = random.Random(14)
    clock = FixedClock(datetime(2026, 11, 23, 6, 30, tzinfo=UTC))
    try:
        with tempfile.TemporaryDirectory(prefix="se-console-bench-") as tmp:
            content = Path(tmp) / "headoffice"
            content.mkdir()
            db = open_database(url)
            started = time.perf_counter()
            count = fill(db, content, args.stores, clock.time(), rng)
            print(f"PostgreSQL {name}: {count:,} devices in {args.stores:,} stores, filled in"
                  f" {time.perf_counter() - started:.1f} s")
            users.add_user(db, "ada", "admin", PASSWORD, now=clock.time())
            users.add_user(db, "sam", "store_manager", PASSWORD, stores=("s00007", "s00019", "s00031"),
                           now=clock.time())
            config = CentralConfig(CentralSection(dsn=url, content_dir=str(content)),
                                   console=ConsoleSection(secret_file=str(Path(tmp) / "key")))
            app = create_app(Console(config, db, clock), b"k" * 32, secure_cookies=False)
            last = args.stores - 1
            addresses = [
                ("admin", "/fleet/table"),
                ("admin", "/fleet/table?page=250"),
                ("admin", "/fleet/table?region=r03"),
                ("admin", "/fleet/table?kind=signage&page=40"),
                ("admin", "/fleet/table?state=stale"),
                ("admin", "/fleet/table?state=offline&kind=kiosk&region=r07&page=2"),
                ("admin", f"/fleet/table?store=s{last:05d}"),
                ("admin", "/fleet?kind=tablet&state=never+seen"),  # the whole page: filters with every store
                ("admin", f"/fleet/s{last:05d}/kiosk-{last}-0"),  # the device page
                ("store_manager", "/fleet/table?kind=kiosk"),
            ]
            print(f"fleet page server time, {args.repeat} requests each, through the Litestar app (TestClient);"
                  f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores:")
            every: list[float] = []
            with TestClient(app) as admin, TestClient(app) as manager:
                started = time.perf_counter()
                sign_in(admin, "ada")
                admin.get("/fleet/table")  # the first request loads stores.csv into the roster
                print(f"  first request (sign-in, and stores.csv into the roster): "
                      f"{(time.perf_counter() - started) * 1000:.0f} ms")
                sign_in(manager, "sam")
                for role, address in addresses:
                    times = measure(admin if role == "admin" else manager, address, args.repeat)
                    every += times
                    p95 = statistics.quantiles(times, n=20)[18]
                    report(f"{role} {address}", f"p50 {statistics.median(times):5.1f} p95 {p95:5.1f} ms",
                           f"p95 < {TARGET_P95_MS:.0f} ms", p95 < TARGET_P95_MS)
            p95 = statistics.quantiles(every, n=20)[18]
            report("all of the above", f"p50 {statistics.median(every):5.1f} p95 {p95:5.1f} ms",
                   f"p95 < {TARGET_P95_MS:.0f} ms", p95 < TARGET_P95_MS)
            print("the SQL alone (central.fleet.find_devices: the counts and one page), for comparison; load average"
                  f" {os.getloadavg()[0]:.1f}:")
            for where, offset in ((FleetFilter(), 0), (FleetFilter(state="stale"), 0),
                                  (FleetFilter(kind="signage"), 1950), (FleetFilter(region="r03", kind="kiosk"), 50)):
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    find_devices(db, now=clock.time(), stale_after_s=180, where=where, limit=50, offset=offset)
                    times.append((time.perf_counter() - started) * 1000)
                shown = ", ".join(f"{k}={v}" for k, v in vars(where).items() if v) or "no filter"
                report(f"{shown}, offset {offset}", f"p50 {statistics.median(times):5.1f} p95"
                       f" {statistics.quantiles(times, n=20)[18]:5.1f} ms", "(no target)", None)
            started = time.perf_counter()
            text = format_fleet(fleet(db, now=clock.time(), stale_after_s=180), now=clock.time())
            print(f"  the CLI's fleet (every device, no paging): {len(text.splitlines()):,} lines in"
                  f" {(time.perf_counter() - started) * 1000:.0f} ms")
            db.close()
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"dropped {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
