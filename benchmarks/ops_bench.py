"""Benchmark of the operations side (issue 7): logging, the media budget, config check, an idle agent.

    .venv/bin/python benchmarks/ops_bench.py

Issue 7 sets no figures; these are the costs an IT team pays on every device, measured so that a
change that makes them worse shows.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sync.broker import Mosquitto  # noqa: E402
from sync.config import LogSection  # noqa: E402
from sync.logs import setup_logging  # noqa: E402
from sync.media import MediaFetcher  # noqa: E402
from sync.protocol import signing  # noqa: E402

LINES = 50_000
FILES = 10_000


def row(what: str, value: str) -> None:
    print(f"  {what:<72} {value:>14}   target (none in the issue)")


def logging_cost(folder: Path) -> None:
    setup_logging(LogSection(file=str(folder / "bench.log"), max_bytes=1_000_000, backups=3), device="kiosk-1",
                  secrets=["a-password-to-mask"])
    log = logging.getLogger("store_edge.bench")
    started = time.perf_counter()
    for i in range(LINES):
        log.info("bundle applied", extra={"scope": "store/s001", "version": i})
    elapsed = time.perf_counter() - started
    logging.getLogger().handlers[0].close()
    on_disk = sum(p.stat().st_size for p in folder.glob("bench.log*"))
    row(f"JSON log line to a rotating file ({LINES:,} lines; {on_disk / 1e6:.1f} MB kept of 4 MB budget)",
        f"{elapsed / LINES * 1e6:.1f} us/line")


def media_budget_cost(folder: Path) -> None:
    fetcher = MediaFetcher(folder / "media", budget_bytes=FILES * 1024 // 2)
    names = [f"{i:064x}" for i in range(FILES)]
    for i, name in enumerate(names):
        fetcher.path(name).write_bytes(b"x" * 1024)
        os.utime(fetcher.path(name), (1_000_000 + i, 1_000_000 + i))
    wanted = set(names[: FILES // 4])
    started = time.perf_counter()
    removed = fetcher.collect(wanted, grace_s=3600)
    over = time.perf_counter() - started
    started = time.perf_counter()
    fetcher.collect(wanted, grace_s=3600)
    within = time.perf_counter() - started
    row(f"media collect over budget, {FILES:,} files, {len(removed):,} least recently used removed",
        f"{over * 1000:.0f} ms")
    row(f"media collect within budget, {FILES - len(removed):,} files (after every bundle)", f"{within * 1000:.0f} ms")


def config_check_cost(folder: Path) -> None:
    key = signing.generate_private_key()
    (folder / "chain.pub").write_bytes(signing.public_key_pem(key.public_key()))
    config = folder / "device.toml"
    config.write_text(f'[sync]\ntrusted_keys = ["{folder}/chain.pub"]\n')
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sync.cli", "config", "check", "--config", str(config)], check=True,
                       capture_output=True)
        times.append(time.perf_counter() - started)
    row("store-edge config check, a new process (best of 5)", f"{min(times) * 1000:.0f} ms")


def idle_agent_cost(folder: Path) -> None:
    with Mosquitto(data_dir=folder / "broker") as broker:
        key = signing.generate_private_key()
        (folder / "chain.pub").write_bytes(signing.public_key_pem(key.public_key()))
        config = folder / "agent.toml"
        config.write_text(f'[cache]\npath = "{folder}/cache.db"\nmedia_dir = "{folder}/media"\n'
                          f'[broker]\nport = {broker.port}\n[sync]\ntrusted_keys = ["{folder}/chain.pub"]\n')
        env = {**os.environ, "WATCHDOG_USEC": "30000000"}
        agent = subprocess.Popen([sys.executable, "-m", "sync.agent", "--config", str(config)], env=env,
                                 stderr=subprocess.DEVNULL)
        try:
            time.sleep(5)  # started and connected
            before = _cpu_s(agent.pid)
            time.sleep(20)
            cpu = _cpu_s(agent.pid) - before
            rss = _rss_mb(agent.pid)
        finally:
            agent.terminate()
            agent.wait(10)
    row("idle agent: CPU over 20 s, connected, watchdog every 15 s", f"{cpu / 20 * 100:.2f} % CPU")
    row("idle agent: resident memory", f"{rss:.0f} MB")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> int:
    print(f"store-edge operations benchmark (issue 7), on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as d:
        for step in (logging_cost, media_budget_cost, config_check_cost, idle_agent_cost):
            folder = Path(d) / step.__name__
            folder.mkdir()
            step(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
