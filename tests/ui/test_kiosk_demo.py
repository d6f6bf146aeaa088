"""The README's first command: a scripted shopper that ends by itself, a store time the demo states, and
Ctrl-C that stops everything the demo started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from support import wait_for

ROOT = Path(__file__).resolve().parent.parent.parent


def demo_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORE_EDGE_")}
    return {**env, "PYTHONIOENCODING": "utf-8", **extra}


def test_demo_plays_a_scripted_shopper_and_exits(tmp_path):
    result = subprocess.run([sys.executable, "-m", "demo", "--script", "--at", "mon 08:30", "--var",
                             str(tmp_path)], cwd=ROOT, env=demo_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "scripted shopper: done" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert re.search(r"^store time: Mon \d\d \w{3} 08:3\d Europe/Sofia \(set by --at", result.stdout, re.MULTILINE)
    assert re.search(r"^the kiosk is open at store time Mon \d\d \w{3} 08:3\d;", result.stdout, re.MULTILINE)
    assert result.stdout.rstrip().splitlines()[-1].startswith("stopped: ")
    for step in ("attract", "identify", "phone", "consent", "offers", "coupon", "bulgarian", "goodbye"):
        shots = list((tmp_path / "screens").glob(f"{step}*.png"))
        assert shots and shots[0].stat().st_size > 5000, step


@pytest.mark.parametrize("what", ["kiosk", "signage", "headless"])
def test_ctrl_c_stops_every_process_the_demo_started(tmp_path, what):
    """SIGINT, as a terminal's Ctrl-C sends it to the demo alone: its broker and its Xvfb must go with it."""
    command = {"kiosk": ["-m", "demo"], "signage": ["-m", "demo", "--signage"],
               "headless": ["-m", "demo.store"]}[what]
    env = demo_env()
    env.pop("DISPLAY", None)  # the demo starts its own Xvfb, one more process that must stop with it
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_path.open("w") as out_file, err_path.open("w") as err_file:
        proc = subprocess.Popen([sys.executable, *command, "--var", str(tmp_path)], cwd=ROOT, env=env,
                                stdout=out_file, stderr=err_file, start_new_session=True)
    try:
        ready = "running; Ctrl-C stops" if what == "headless" else "is open at store time"
        wait_for(lambda: ready in out_path.read_text() or proc.poll() is not None, timeout=90,
                 what=f"the demo to say {ready!r}")
        assert proc.poll() is None, out_path.read_text() + err_path.read_text()
        children = psutil.Process(proc.pid).children(recursive=True)
        names = {c.name() for c in children}
        assert "mosquitto" in names
        assert what == "headless" or "Xvfb" in names
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out, err = out_path.read_text(), err_path.read_text()
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in out + err
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("stopped: ") and "Mosquitto" in last and "head office" in last, last
    assert what == "headless" or "Xvfb" in last
    wait_for(lambda: not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE],
             what="every process the demo started to stop")
