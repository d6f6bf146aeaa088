"""Ctrl-C and systemd's SIGTERM stop a program whose main thread sleeps in a long wait, whichever thread the
kernel hands the signal to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROGRAM = """
import os, signal, threading, time
from sync.runtime import wait_unless_signalled

threading.Thread(target=time.sleep, args=(120,), daemon=True).start()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # so the kernel must hand it to the other thread
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
start = time.monotonic()
try:
    wait_unless_signalled(threading.Event(), 90)
    print("the wait ended")
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - start:.1f} s")
"""


def test_a_signal_another_thread_caught_ends_the_main_threads_wait():
    result = subprocess.run([sys.executable, "-c", PROGRAM], cwd=ROOT, capture_output=True, text=True, timeout=80)
    # a plain Event.wait(90) would sleep through it and the run would time out
    assert result.stdout.startswith("interrupted after"), result.stdout + result.stderr
