"""The Xvfb a process starts for itself ends with it, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = "from kiosk.display import start_xvfb; import time; print(start_xvfb().pid, flush=True); time.sleep(60)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended: only its parent has not read its status
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_an_xvfb_ends_with_the_process_that_started_it_even_killed_with_sigkill():
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        xvfb = int(child.stdout.readline())
        assert _alive(xvfb)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        deadline = time.monotonic() + 10
        while _alive(xvfb) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(xvfb)
    finally:
        child.kill()
