"""The fleet simulator's regional mode end to end at tiny scale: real Mosquittos (a core and two edges bridged
by ``store-edge bridge --region``), head office's worker on PostgreSQL, simulated devices and a real agent.

Its figures are speed, which the benchmark reports (BENCHMARKS.md); here, that every phase completes: every
device connected, kept by its edge while the core is down, back after its edge's restart, the bundle fanned
out to all, and events stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import PG_ADMIN

ROOT = Path(__file__).resolve().parent.parent


def figure(out: str, name: str) -> str:
    line = next(line for line in out.splitlines() if line.strip().startswith(name))
    return line[len("  ") + 62:].split("target")[0].strip()


def test_the_regional_topology_runs_every_phase_of_the_fleet_simulator():
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fleet_sim.py"), "--stores", "3", "--devices", "2",
         "--regions", "2", "--processes", "1", "--real-agents", "1", "--ingest-s", "2", "--rate", "200",
         "--lookup-rate", "5", "--workers", "1", "--pg", PG_ADMIN],
        capture_output=True, text=True, timeout=240)
    out = run.stdout
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 regional Mosquittos" in out
    assert "not reached" not in out, out
    assert "core broker killed" in out and "edge broker r00 killed" in out
    assert figure(out, "devices connected to their edge all along") == "6 of 6"
    assert figure(out, "devices with their retained bundles all along") == "6 of 6"
    assert figure(out, "bundles refused by the simulated devices") == "0"
    assert int(figure(out, "1 worker(s): events stored").split()[0].replace(",", "")) > 0
    for broker in ("core", "edge r00", "edge r01"):
        assert f"peak {broker} broker memory (RSS)" in out
