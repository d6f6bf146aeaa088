"""Benchmark of the central service (issue 6): ingest, lookups, publishing to 1,000 stores, RFM + co-purchase.

    .venv/bin/python benchmarks/central_bench.py                 # full size (about 10 minutes)
    .venv/bin/python benchmarks/central_bench.py --scale 0.1     # a quick run: 100k profiles, 1M lines

PostgreSQL at ``--pg`` (default 127.0.0.1:5432, user postgres): the benchmark creates its own
database and drops it. A real Mosquitto is started on a free port. Prints each figure beside its
target.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
import psycopg  # noqa: E402

from central import jobs, partitions  # noqa: E402
from central.config import CentralConfig, CentralSection  # noqa: E402
from central.db import Database, open_database  # noqa: E402
from central.headoffice import HeadOffice  # noqa: E402
from central.ingest import store_events  # noqa: E402
from central.keys import Keyring  # noqa: E402
from central.mqtt import BrokerLink  # noqa: E402
from central.profiles import lookup  # noqa: E402
from central.worker import Worker  # noqa: E402
from sync.agent.connection import request_properties  # noqa: E402
from sync.broker import Mosquitto  # noqa: E402
from sync.clock import SYSTEM  # noqa: E402
from sync.config import BrokerSection  # noqa: E402
from sync.protocol import lookup as lookup_wire  # noqa: E402
from sync.protocol import topics  # noqa: E402

CHAIN = "bench"
DAY = 86_400.0
NOW = SYSTEM.time()


def report(name: str, value: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    print(f"  {name:<74} {value:>16}   target {target:<14} {verdict}", flush=True)


def phone(i: int) -> str:
    return hashlib.sha256(f"phone-{i}".encode()).hexdigest()


def device_events(n: int, customers: int, seed: int) -> list[dict]:
    """A day's mix from the devices: impressions, sales, identifications, plays, health."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        pid = f"C{rng.randrange(customers):07d}"
        store, device = f"s{rng.randrange(1000):04d}", "kiosk-1"
        r = rng.random()
        if r < 0.55:
            kind, payload = "offer_shown", {"offer": f"OFF-{rng.randrange(50)}", "profile_id": pid, "arm": "A",
                                            "variant": "v1", "channel": "kiosk"}
        elif r < 0.70:
            kind, payload = "sale", {"basket_id": f"B-{seed}-{k}", "at": NOW, "profile_id": pid, "lines": [
                {"sku": f"SKU{rng.randrange(500):03d}", "qty": 1, "amount_cents": 250} for _ in range(3)]}
        elif r < 0.80:
            kind, payload = "identified", {"profile_id": pid, "method": "qr"}
        elif r < 0.95:
            kind, payload = "proof_of_play", {"item": f"item-{rng.randrange(40)}", "duration_s": 8}
        else:
            kind, payload = "health", {"outbox_rows": 0, "sync_state": {"chain": 3}}
        out.append({"id": str(uuid.uuid4()), "seq": k, "type": kind, "store": store, "device": device,
                    "boot_id": "b", "wall_time": NOW - rng.random() * 3600, "mono_time": 1.0, "payload": payload})
    return out


def bench_ingest(db: Database, label: str, target: float, n: int) -> None:
    events = device_events(n, 100_000, seed=len(label))
    batch = 2000  # what one worker commits per flush under load (worker.ACK_BATCH)
    dupes = events[: n // 10]  # 10 % arrive again (lost acks)
    started = time.perf_counter()
    for i in range(0, n, batch):
        store_events(db, events[i:i + batch], now=SYSTEM.time())
    for i in range(0, len(dupes), batch):
        store_events(db, dupes[i:i + batch], now=SYSTEM.time())
    elapsed = time.perf_counter() - started
    rate = (n + len(dupes)) / elapsed
    stored = db.scalar("SELECT count(*) FROM events")
    report(f"event ingest, one worker, {label}, dedupe on ({n:,} + {len(dupes):,} dupes; stored {stored:,})",
           f"{rate:,.0f} ev/s", f">= {target:,.0f}/s", rate >= target and stored >= n)


def _store_share(url: str, seed: int, n: int, start, done) -> None:
    """One worker process's share of the parallel ingest: its own connection, its own events and dupes."""
    db = open_database(url)
    events = device_events(n, 100_000, seed=seed)
    dupes = events[: n // 10]
    start.wait()
    for chunk in (events, dupes):
        for i in range(0, len(chunk), 2000):
            store_events(db, chunk[i:i + 2000], now=SYSTEM.time())
    done.put(time.perf_counter())
    db.close()


def bench_ingest_workers(url: str, db: Database, workers: int, target: float, n: int) -> None:
    """``workers`` processes storing at once, as the workers on the shared subscription do: what the storing path
    gives on this machine's cores with no broker and no devices beside it."""
    context = multiprocessing.get_context("fork")
    start, done = context.Event(), context.Queue()
    before = db.scalar("SELECT count(*) FROM events")
    share = n // workers
    procs = [context.Process(target=_store_share, args=(url, 1000 + w, share, start, done)) for w in range(workers)]
    for proc in procs:
        proc.start()
    time.sleep(3)  # every process has made its events and connected
    started = time.perf_counter()
    start.set()
    ended = max(done.get(timeout=600) for _ in procs)
    for proc in procs:
        proc.join()
    offered = workers * (share + share // 10)
    rate = offered / (ended - started)
    stored = db.scalar("SELECT count(*) FROM events") - before
    report(f"event ingest, {workers} workers at once, PostgreSQL, dedupe on ({offered:,} offered; stored {stored:,})",
           f"{rate:,.0f} ev/s", f">= {target:,.0f}/s", rate >= target and stored == workers * share)


def bench_worker_over_mqtt(config: CentralConfig, n: int, broker: Mosquitto) -> None:
    """The same through the worker: device batches of 50 over Mosquitto, stored, acked."""
    worker = Worker(config, 1, clock=SYSTEM).start()
    before = worker.db.scalar("SELECT count(*) FROM events")
    events = device_events(n, 100_000, seed=99)
    device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id="bench-device")
    acked = [0]
    device.on_message = lambda c, u, m: acked.__setitem__(0, acked[0] + len(json.loads(m.payload)["seqs"]))
    device.connect("127.0.0.1", broker.port)
    device.subscribe(f"{topics.PREFIX}/{CHAIN}/ack/+/+", 1)
    device.loop_start()
    time.sleep(0.3)
    started = time.perf_counter()
    for i in range(0, n, 50):
        chunk = events[i:i + 50]
        store = chunk[0]["store"]
        for e in chunk:
            e["store"] = store
        device.publish(f"{topics.PREFIX}/{CHAIN}/events/{store}/kiosk-1", json.dumps(chunk).encode(), qos=1)
    deadline = time.monotonic() + 300
    while acked[0] < n and time.monotonic() < deadline:
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    stored = worker.db.scalar("SELECT count(*) FROM events") - before
    device.loop_stop()
    device.disconnect()
    worker.stop()
    report(f"  through one worker over MQTT: received, stored, acked ({stored:,} stored)",
           f"{n / elapsed:,.0f} ev/s", "(no target)", None)


def load_profiles(db: Database, n: int) -> None:
    rows = ((f"C{i:07d}", NOW - 400 * DAY, NOW, f"Name{i % 997}", phone(i), json.dumps(["coffee"])) for i in range(n))
    with db.transaction():
        db.copy_rows("profiles", ("profile_id", "created_at", "updated_at", "first_name", "phone_hash", "segments"),
                     rows)
        db.copy_rows("aliases", ("kind", "value", "profile_id"),
                     (kv for i in range(n) for kv in (("profile_id", f"C{i:07d}", f"C{i:07d}"),
                                                      ("phone_hash", phone(i), f"C{i:07d}"))))
        db.copy_rows("consents", ("profile_id", "purpose", "status", "at", "wording_version", "channel", "store",
                                  "source"),
                     ((f"C{i:07d}", "personal_offers", "granted", NOW, "v1", "kiosk", "s0001", "device")
                      for i in range(0, n, 2)))
    if db.postgres:
        db.execute("ANALYZE")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def bench_lookups(db: Database, config: CentralConfig, broker: Mosquitto, n: int, label: str) -> None:
    rng = random.Random(5)
    times = []
    for _ in range(5000):
        h = phone(rng.randrange(n))
        t = time.perf_counter()
        assert lookup(db, "phone_hash", h) is not None
        times.append((time.perf_counter() - t) * 1000)
    report(f"lookup in the store, {label}, {n:,} profiles (p50 {statistics.median(times):.2f} ms)",
           f"p99 {percentile(times, 99):.2f} ms", "< 10 ms", percentile(times, 99) < 10)

    worker = Worker(config, 1, clock=SYSTEM).start()
    answered: dict[bytes, float] = {}
    got = threading.Event()

    def on_message(client, userdata, msg):
        answered[msg.properties.CorrelationData] = time.perf_counter()
        got.set()

    shop = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, client_id="bench-kiosk")
    shop.on_message = on_message
    shop.connect("127.0.0.1", broker.port)
    reply = f"{topics.PREFIX}/{CHAIN}/resp/s0001/kiosk-1"
    shop.subscribe(reply, 0)
    shop.loop_start()
    time.sleep(0.3)
    rtts = []
    for k in range(1000):
        corr = k.to_bytes(4, "big")
        got.clear()
        t = time.perf_counter()
        shop.publish(topics.lookup_request_topic(CHAIN, "s0001", "kiosk-1"),
                     lookup_wire.request("phone_hash", phone(rng.randrange(n))), qos=0,
                     properties=request_properties(reply, corr))
        got.wait(2)
        if corr in answered:
            rtts.append((answered[corr] - t) * 1000)
    shop.loop_stop()
    shop.disconnect()
    worker.stop()
    report(f"  lookup answered over MQTT 5 request/response, {label} ({len(rtts)}/1000 answered)",
           f"p99 {percentile(rtts, 99):.2f} ms", "< 10 ms", len(rtts) == 1000 and percentile(rtts, 99) < 10)


def bench_publish(db: Database, config: CentralConfig, keys: Keyring, stores: int) -> None:
    root = Path(config.central.content_dir)
    rng = random.Random(3)
    (root / "chain").mkdir(parents=True)
    (root / "chain" / "products.csv").write_text("sku,name.en,name.bg,category\n" + "".join(
        f"SKU{i:03d},Product {i},Продукт {i},cat{i % 12}\n" for i in range(500)), encoding="utf-8")
    (root / "chain" / "prices.csv").write_text("sku,price_cents,currency\n" + "".join(
        f"SKU{i:03d},{100 + i},EUR\n" for i in range(500)))
    lines = ["store,region,devices"]
    for s in range(stores):
        folder = root / "store" / f"s{s:04d}"
        folder.mkdir(parents=True)
        (folder / "inventory.csv").write_text("sku,on_hand\n" + "".join(
            f"SKU{i:03d},{rng.randrange(60)}\n" for i in range(500)))
        lines.append(f"s{s:04d},r{s % 20},kiosk-1|sign-1")
    (root / "stores.csv").write_text("\n".join(lines) + "\n")
    # 100 customers seen lately in each store: every store bundle carries its chosen customers' profiles.
    customers = int(db.scalar("SELECT count(*) FROM profiles"))
    db.copy_rows("profile_stores", ("profile_id", "store", "first_seen", "last_seen", "visits"),
                 ((f"C{(s * 100 + k) % customers:07d}", f"s{s:04d}", NOW - 90 * DAY, NOW - k * 3600, 3)
                  for s in range(stores) for k in range(100)))
    link = BrokerLink(config.broker, "bench-publisher").start()
    office = HeadOffice(config, db, keys, link, clock=SYSTEM)
    started = time.perf_counter()
    sent = office.publish_content()
    elapsed = time.perf_counter() - started
    link.stop()
    report(f"build + sign + publish bundles for {stores:,} stores ({len(sent):,} bundles from CSV: 500 skus,"
           " 100 customers each)", f"{elapsed:.1f} s", "< 60 s", elapsed < 60 and len(sent) == stores + 1)


def bench_jobs(db: Database, customers: int, lines: int) -> None:
    """Basket history generated in SQL (not timed), then both jobs from scratch."""
    t = time.perf_counter()
    baskets = lines // 4
    db.execute("DELETE FROM basket_lines")
    db.execute("DELETE FROM basket_queue")
    db.execute(
        "INSERT INTO basket_lines (line_id, basket_id, profile_id, sku, qty, amount_cents, at, store)"
        " SELECT 'L' || g, 'B' || (g / 4), 'C' || lpad(((g / 4) * 7919 % ?)::text, 7, '0'),"
        " 'SKU' || lpad(floor(power(random(), 2) * 500)::int::text, 3, '0'), 1, (100 + random() * 900)::int,"
        " ? - ((g / 4) * 37 % 31536000), 's' || lpad(((g / 4) % 1000)::text, 4, '0')"
        " FROM generate_series(0::bigint, ? - 1) AS g", (customers, NOW, lines))
    db.execute("INSERT INTO basket_queue (basket_id) SELECT DISTINCT basket_id FROM basket_lines")
    db.execute("ANALYZE")
    print(f"    (generated {lines:,} lines in {baskets:,} baskets for {customers:,} customers in"
          f" {time.perf_counter() - t:.0f} s)", flush=True)
    started = time.perf_counter()
    t = time.perf_counter()
    scored = jobs.update_rfm(db, now=NOW)
    rfm_s = time.perf_counter() - t
    t = time.perf_counter()
    counted, pairs = jobs.update_co_purchase(db)
    co_s = time.perf_counter() - t
    elapsed = time.perf_counter() - started
    tiers = db.scalar("SELECT count(*) FROM profiles WHERE rfm IS NOT NULL")
    report(f"RFM ({rfm_s:.0f} s, {scored:,} scored, {tiers:,} profiles updated) + co-purchase ({co_s:.0f} s,"
           f" {counted:,} baskets, {pairs:,} pairs), PostgreSQL", f"{elapsed / 60:.1f} min", "< 10 min",
           elapsed < 600)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0, help="1.0: 1M profiles, 10M lines; 0.1 for a quick run")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--stores", type=int, default=1000)
    p.add_argument("--only", choices=("ingest", "lookup", "publish", "jobs"), action="append",
                   help="run only these parts (repeatable)")
    args = p.parse_args()
    parts = set(args.only or ("ingest", "lookup", "publish", "jobs"))
    profiles, lines = int(1_000_000 * args.scale), int(10_000_000 * args.scale)
    name = f"se_central_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    pg_url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    print(f"store-edge central benchmark, scale {args.scale} ({profiles:,} profiles, {lines:,} basket lines)")
    try:
        with tempfile.TemporaryDirectory() as tmp, Mosquitto(data_dir=Path(tmp) / "broker") as broker:
            keys = Keyring(Path(tmp) / "keys")
            keys.activate(keys.new_key())

            def config(dsn: str, sub: str) -> CentralConfig:
                # One bench kiosk asks 1000 times in a row: the per-device limit would measure itself, not lookups.
                return CentralConfig(CentralSection(chain=CHAIN, dsn=dsn, keys_dir=str(keys.folder),
                                                    content_dir=f"{tmp}/{sub}/ho", http_dir=f"{tmp}/{sub}/http",
                                                    lookup_rate_per_s=1e6, lookup_burst=1000),
                                     BrokerSection(port=broker.port))

            pg_conf, lite_conf = config(pg_url, "pg"), config(f"{tmp}/central.db", "lite")
            pg, lite = open_database(pg_url), open_database(lite_conf.central.dsn)
            partitions.ensure(pg, now=NOW)  # as `serve` does at start-up: the month's partition takes the events
            if "ingest" in parts:
                bench_ingest(pg, "PostgreSQL", 10_000, args.events)
                bench_ingest_workers(pg_url, pg, 2, 20_000, args.events)  # issue 17: the workers 2 cores hold
                bench_worker_over_mqtt(pg_conf, 50_000, broker)
                bench_ingest(lite, "SQLite", 5_000, args.events)
                bench_worker_over_mqtt(lite_conf, 50_000, broker)
            for db, conf, label in ((pg, pg_conf, "PostgreSQL"), (lite, lite_conf, "SQLite")):
                if "lookup" in parts or (parts & {"jobs", "publish"} and db is pg):
                    t = time.perf_counter()
                    load_profiles(db, profiles)
                    print(f"    (loaded {profiles:,} profiles into {label} in {time.perf_counter() - t:.0f} s)",
                          flush=True)
                if "lookup" in parts:
                    bench_lookups(db, conf, broker, profiles, label)
            if "publish" in parts:
                bench_publish(pg, pg_conf, keys, args.stores)
            if "jobs" in parts:
                bench_jobs(pg, profiles, lines)
            pg.close()
            lite.close()
    finally:
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
