"""What every long-running store-edge process does the same way."""

from __future__ import annotations

import logging
import signal
import threading


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def wait_for_stop_signal() -> None:
    """Block until SIGTERM (systemd stop) or SIGINT (Ctrl-C)."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
