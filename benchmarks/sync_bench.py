"""Benchmark of the data layer (issue 2): bundle apply, outbox drain, lookup round trip, idle RSS.

    .venv/bin/python benchmarks/sync_bench.py

Runs against a real Mosquitto started on a free port. Prints each figure beside its target.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from central.responder import Responder  # noqa: E402
from sync import config as config_mod  # noqa: E402
from sync.agent import SyncAgent  # noqa: E402
from sync.agent.bundles import Arrival, BundleWorker  # noqa: E402
from sync.broker import Mosquitto  # noqa: E402
from sync.cache import Cache  # noqa: E402
from sync.cache.outbox import Outbox  # noqa: E402
from sync.clock import SYSTEM  # noqa: E402
from sync.media import MediaFetcher  # noqa: E402
from sync.protocol import bundle as wire  # noqa: E402
from sync.protocol import signing  # noqa: E402
from sync.protocol.signing import TrustedKeys  # noqa: E402

rows: list[tuple[str, str, str, bool]] = []


def report(name: str, value: str, target: str, ok: bool) -> None:
    rows.append((name, value, target, ok))
    print(f"  {name:<72} {value:>14}   target {target:<12} {'PASS' if ok else 'MISS'}", flush=True)


def big_content() -> dict:
    names = {"en": "Oat milk flat white 350 ml", "bg": "Флат уайт с овесено мляко", "ru": "Флэт уайт на овсяном"}
    return {
        "products": [{"sku": f"SKU{i:06d}", "name": names, "category": f"cat{i % 40}", "brand": "Demo",
                      "unit": "pcs", "tags": ["hot", "breakfast"]} for i in range(20_000)],
        "offers": [{"id": f"OFF{i:05d}", "priority": i % 100, "channels": ["kiosk", "tablet"],
                    "title": {"en": "2 for 1", "bg": "2 за 1", "ru": "2 по цене 1"}, "sku": f"SKU{i:06d}",
                    "conditions": {"all": [{"segment": "coffee"}, {"daypart": "morning"}]},
                    "caps": {"per_customer_per_day": 1}} for i in range(2_000)],
        "profiles": [{"profile_id": f"P{i:07d}", "phone_hash": hashlib.sha256(str(i).encode()).hexdigest(),
                      "first_name": "Ana" if i % 3 else None, "segments": ["coffee", "breakfast"],
                      "rfm": {"r": 4, "f": 3, "m": 5, "tier": "gold"},
                      "purchase_summary": {"visits": i % 50, "top": ["SKU000001"]}} for i in range(100_000)],
    }


def bench_apply(tmp: Path) -> None:
    key = signing.generate_private_key()
    content = big_content()
    for p in content["profiles"]:
        if p["first_name"] is None:
            del p["first_name"]
    www = tmp / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    manifest, data = wire.build_manifest(chain="bench", scope="store/s1", version=1, content=content, key=key,
                                         url=f"http://127.0.0.1:{server.server_port}/b.gz")
    (www / "b.gz").write_bytes(data)
    del content  # a device never holds the source objects; keep the heap as small as the agent's
    cache = Cache(tmp / "apply.db")
    worker = BundleWorker(cache_path=str(tmp / "apply.db"), media=MediaFetcher(tmp / "media"), chain="bench",
                          keys=TrustedKeys([key.public_key()]), on_applied=lambda m: None, clock=SYSTEM)
    t0 = time.perf_counter()
    worker.handle(cache, Arrival("store/s1", "store/s1", "snapshot", json.dumps(manifest).encode()))
    elapsed = time.perf_counter() - t0
    server.shutdown()
    assert worker.counts["applied"] == 1, worker.counts
    n = cache.query("SELECT count(*) FROM profiles")[0][0]
    report(f"apply bundle 20k products, 2k offers, {n // 1000}k profiles ({len(data) // 1024} KiB gz)",
           f"{elapsed:.2f} s", "< 3 s", elapsed < 3)


def device(tmp: Path, port: int, key, name: str, **sync) -> config_mod.DeviceConfig:
    (tmp / "chain.pub").write_bytes(signing.public_key_pem(key.public_key()))
    base = config_mod.load(env={})
    return dataclasses.replace(
        base,
        device=dataclasses.replace(base.device, id=name, chain="bench"),
        cache=dataclasses.replace(base.cache, path=str(tmp / name / "cache.db"), media_dir=str(tmp / name / "m")),
        broker=dataclasses.replace(base.broker, port=port),
        sync=dataclasses.replace(base.sync, trusted_keys=(str(tmp / "chain.pub"),), **sync),
    )


def bench_drain(tmp: Path, broker: Mosquitto, key, batch_events: int) -> None:
    n = 20_000
    cfg = device(tmp, broker.port, key, f"drain{batch_events}", health_interval_s=3600.0, batch_events=batch_events)
    cache = Cache(cfg.cache.path)
    outbox = Outbox(cache, boot_id="b", device=cfg.device.id, store="s001", clock=SYSTEM)
    with cache.transaction() as conn:
        for i in range(n):
            outbox.append(conn, "offer_shown", {"offer": f"OFF{i % 99:05d}", "arm": "a"})
    wire_size = len(outbox.window(after_seq=0, limit=1)[0].wire)
    cache.close()
    # Head office runs in its own process, as it does in a store chain, so it does not share our GIL.
    key_file = tmp / "chain.key"
    key_file.write_bytes(signing.private_key_pem(key))
    responder = subprocess.Popen([sys.executable, "-m", "central.responder", "--chain", "bench", "--port",
                                  str(broker.port), "--key", str(key_file)], cwd=ROOT, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    agent = SyncAgent(cfg, clock=SYSTEM)
    t0 = time.perf_counter()
    agent.start()
    while len(agent.drain.delivered) + agent.drain.acked < n:
        time.sleep(0.005)
    t_puback = time.perf_counter() - t0
    while agent.outbox.stats().rows:
        time.sleep(0.005)
    t_ack = time.perf_counter() - t0
    agent.stop()
    responder.terminate()
    responder.wait(10)
    if batch_events == 1:
        report(f"  for reference, one event per message: until PUBACK ({n} events)", f"{n / t_puback:,.0f} ev/s",
               "(no target)", True)
        return
    report(f"outbox drain, QoS 1, {wire_size}-byte events, {batch_events}/message, until PUBACK ({n} events)",
           f"{n / t_puback:,.0f} ev/s", ">= 5,000/s", n / t_puback >= 5000)
    report("outbox drain until head office acked and rows deleted", f"{n / t_ack:,.0f} ev/s", "(no target)", True)


def bench_lookup(tmp: Path, broker: Mosquitto, key) -> None:
    cfg = device(tmp, broker.port, key, "lookup", health_interval_s=3600.0)
    responder = Responder(chain="bench", host="127.0.0.1", port=broker.port, key=key, clock=SYSTEM).start()
    responder.add_profiles([{"profile_id": f"P{i}", "segments": ["coffee"]} for i in range(1000)])
    agent = SyncAgent(cfg, clock=SYSTEM).start()
    agent.connected.wait(10)
    times = []
    for i in range(1000):
        t0 = time.perf_counter()
        result = agent.lookup("profile_id", f"P{i}", timeout_s=1.0)
        times.append((time.perf_counter() - t0) * 1000)
        assert result.status == "found", result
    agent.stop()
    responder.stop()
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    report(f"profile lookup round trip, loopback (p50 {statistics.median(times):.2f} ms)", f"p99 {p99:.2f} ms",
           "< 20 ms", p99 < 20)


def bench_idle_rss(tmp: Path, broker: Mosquitto, key) -> None:
    cfg = device(tmp, broker.port, key, "idle")
    toml = tmp / "idle.toml"
    toml.write_text(
        f'[device]\nid = "idle"\nchain = "bench"\n'
        f'[cache]\npath = "{cfg.cache.path}"\nmedia_dir = "{cfg.cache.media_dir}"\n'
        f'[broker]\nport = {broker.port}\n[sync]\ntrusted_keys = ["{tmp / "chain.pub"}"]\n'
    )
    proc = subprocess.Popen([sys.executable, "-m", "sync.agent", "--config", str(toml)], cwd=ROOT,
                            stderr=subprocess.DEVNULL)
    time.sleep(10)
    status = Path(f"/proc/{proc.pid}/status").read_text()
    rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    proc.terminate()
    proc.wait(10)
    report("idle agent RSS (after 10 s connected, process total)", f"{rss_kb / 1024:.1f} MB", "< 80 MB",
           rss_kb / 1024 < 80)


def main() -> int:
    print("store-edge data layer benchmark (issue 2), on", Path("/proc/cpuinfo").read_text().count("processor"),
          "cores")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench_apply(tmp)
        key = signing.generate_private_key()
        with Mosquitto(data_dir=tmp / "broker", persistence=False) as broker:
            bench_drain(tmp, broker, key, batch_events=50)
            bench_drain(tmp, broker, key, batch_events=1)
            bench_lookup(tmp, broker, key)
            bench_idle_rss(tmp, broker, key)
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
