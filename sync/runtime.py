"""What every long-running store-edge process does the same way."""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def wait_for_stop_signal() -> None:
    """Block until SIGTERM (systemd stop) or SIGINT (Ctrl-C)."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a job builds many short-lived containers.

    A bundle apply or an analysis builds ~10^5-10^6 small dicts and tuples, none of them cyclic;
    the collector would rescan every live object again and again (measured: 1.4 s of a 1.7 s
    bundle parse, a third of an RFM run). Its previous state is restored on the way out.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
