"""The kiosk's maintenance screen, without Kivy: who may open it and what it shows.

A long press in the top-left corner asks for a PIN (no button, nothing a shopper would find). Only
staff whose role maintains devices may open it, with the staff tablet's PIN rules and lockout. It
shows the device id, the software and content versions, the sync state from the device's agent,
and a network test: is the broker reachable, and the round trip of a TCP connection to it.
"""

from __future__ import annotations

import platform
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

from sync.cache.db import Cache
from sync.cache.read import CacheReader
from sync.clock import Clock

from .staff import UNKNOWN_STAFF, LoginResult, StaffMember, attempt_pin, login_result

MAINTENANCE_ROLES = ("manager", "technician")
NOT_ALLOWED = "This staff member may not open the maintenance screen."


@dataclass(frozen=True)
class NetworkResult:
    ok: bool
    text: str
    rtt_ms: float | None = None


class MaintenanceService:
    def __init__(self, cache: Cache, *, device: str, store: str, broker: tuple[str, int],
                 health: Callable[[], dict], clock: Clock, max_failures: int = 5):
        """``health``: the device's agent's ``health()`` (connection, outbox, content versions)."""
        self.max_failures = max_failures
        self.cache = cache
        self.reader = CacheReader(cache)
        self.device, self.store, self.broker = device, store, broker
        self.health = health
        self.clock = clock

    def staff(self) -> list[StaffMember]:
        """Who may open the screen here: staff in the cache with a maintenance role."""
        ids = [row[0] for row in self.cache.query("SELECT DISTINCT id FROM staff ORDER BY id")]
        members = [(sid, self.reader.staff(sid)) for sid in ids]
        return [StaffMember(sid, s.get("name", sid), s.get("role", "")) for sid, s in members
                if s and s.get("role") in MAINTENANCE_ROLES]

    def unlock(self, staff_id: str, pin: str) -> LoginResult:
        staff = self.reader.staff(staff_id)
        if staff is None:
            return LoginResult(False, UNKNOWN_STAFF, status="unknown_staff")
        if staff.get("role") not in MAINTENANCE_ROLES:
            return LoginResult(False, NOT_ALLOWED, status="not_allowed")
        result = attempt_pin(self.cache, staff_id, staff, pin, now=self.clock.time(), max_failures=self.max_failures)
        return login_result(result, self.max_failures)

    def report(self) -> list[tuple[str, str]]:
        """The screen's rows: (what, value)."""
        h = self.health()
        versions = ", ".join(f"{scope} v{version}" for scope, version in sorted(h["sync_state"].items())) or "none yet"
        host, port = self.broker
        return [
            ("Device", f"{self.device} (store {self.store})"),
            ("Software", f"store-edge {_version('store-edge')}, Kivy {_version('kivy')}, "
                         f"Python {platform.python_version()}"),
            ("Content", versions),
            ("Sync", f"{'connected to' if h['connected'] else 'offline from'} {host}:{port}; "
                     f"{h['outbox_rows']} events waiting; up {h['uptime_s']:.0f} s"),
            ("Disk", f"cache {h['cache_file_bytes'] / 1e6:.1f} MB, media {h['media_bytes'] / 1e6:.1f} MB"),
        ]

    def network_test(self, timeout_s: float = 3.0) -> NetworkResult:
        """A TCP connection to the broker, timed. Blocks up to ``timeout_s``: call it off the UI thread."""
        host, port = self.broker
        started = time.perf_counter()
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                rtt_ms = (time.perf_counter() - started) * 1000
        except OSError as exc:
            return NetworkResult(False, f"broker {host}:{port} unreachable ({exc.strerror or exc})")
        return NetworkResult(True, f"broker {host}:{port} reachable, round trip {rtt_ms:.1f} ms", rtt_ms)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
