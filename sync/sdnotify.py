"""systemd's notify protocol (sd_notify) in plain socket code: READY, WATCHDOG, STATUS, STOPPING.

Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op, so the same binary runs in a
terminal, in tests and under a unit with ``Type=notify`` and ``WatchdogSec=``.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    def __init__(self, address: str | None = None):
        self._address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        if self._address.startswith("@"):
            self._address = "\0" + self._address[1:]  # abstract namespace socket

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def watchdog_interval_s(self) -> float | None:
        """Half of systemd's WatchdogSec, the interval its docs recommend; None when there is no watchdog."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        try:
            return int(usec) / 2_000_000
        except ValueError:
            return None

    def notify(self, state: str) -> bool:
        if not self._address:
            return False
        # Never blocking: a full queue (systemd busy, or nobody reading) must not stall the UI loop that pings
        # from; a dropped watchdog ping is followed by the next one.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK) as sock:
            try:
                sock.sendto(state.encode(), self._address)
            except OSError:
                return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")
