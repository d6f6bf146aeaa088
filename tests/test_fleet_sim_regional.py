"""The fleet simulator's regional mode end to end at tiny scale: real Mosquittos (a core and two edges bridged
by ``store-edge bridge --region``), head office's worker on PostgreSQL, simulated devices and a real agent.

Its figures are speed, which the benchmark reports (BENCHMARKS.md); here, that every phase completes: every
device connected, kept by its edge while the core is down, back after its edge's restart, the bundle fanned
out to all, and events stored."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from support import PG_ADMIN

from sync.protocol import events as events_wire
from sync.protocol import signing

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


def test_a_simulated_event_is_the_bytes_a_real_device_sends(tmp_path: Path, monkeypatch):
    (tmp_path / "chain.pub").write_bytes(signing.public_key_pem(Ed25519PrivateKey.generate().public_key()))
    spec = importlib.util.spec_from_file_location("fleet_sim", ROOT / "benchmarks" / "fleet_sim.py")
    sim = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fleet_sim", sim)  # its dataclasses look their module up there
    spec.loader.exec_module(sim)
    process = sim.SimProcess([(42, "kiosk")], [1883], 5, str(tmp_path / "chain.pub"), 0)
    device = process.devices[0]
    event_id = events_wire.uuid7(1_796_000_000_000)
    made = sim.sim_envelope(device, event_id, 7, 1_796_000_000.123456, 98_765.4321)
    kind, payload = sim.SIM_EVENT
    assert made == events_wire.envelope(
        event_id=event_id, seq=7, type=kind, boot_id=device.boot, device="kiosk-42", store="s00042",
        wall_time=1_796_000_000.123456, mono_time=98_765.4321, payload=payload)
    assert events_wire.parse_batch(events_wire.batch([made]))[0]["payload"] == json.loads(payload)
