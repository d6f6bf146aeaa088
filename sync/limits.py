"""What one client can make a process do: a token bucket per key, and warnings a client cannot flood.

Generic, on the injected clock: head office limits each device's lookups with it (``central.worker``),
and the store device each till's requests (``pos.http``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable

from .clock import Clock


class TokenBucket:
    """``rate_per_s`` tokens a second per key, at most ``burst`` saved up; read from the injected clock.

    Thread-safe. At most ``max_keys`` keys are remembered: beyond that, the keys whose bucket has filled
    up again are forgotten (a forgotten key starts full, so forgetting them changes nothing)."""

    def __init__(self, rate_per_s: float, burst: float, *, clock: Clock, max_keys: int = 10_000):
        self.rate = rate_per_s
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._lock = threading.Lock()

    def _tokens(self, key: Hashable, now: float) -> float:
        tokens, then = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + max(0.0, now - then) * self.rate)

    def take(self, key: Hashable) -> bool:
        now = self.clock.time()
        with self._lock:
            tokens = self._tokens(key, now)
            allowed = tokens >= 1
            self._buckets[key] = (tokens - 1 if allowed else tokens, now)
            if len(self._buckets) > self.max_keys:
                self._buckets = {k: v for k, v in self._buckets.items() if self._tokens(k, now) < self.burst}
        return allowed

    def retry_after(self, key: Hashable) -> float:
        """Seconds until ``key`` has a token again (0 when it has one now)."""
        now = self.clock.time()
        with self._lock:
            return max(0.0, (1 - self._tokens(key, now)) / self.rate)


class QuietLog:
    """At most one warning per kind every ``every_s``; the next one says how many were left out."""

    def __init__(self, logger: logging.Logger, *, every_s: float, clock: Clock):
        self.logger = logger
        self.every_s = every_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def warning(self, kind: str, message: str, *args: object) -> None:
        now = self.clock.time()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.every_s:
                self._held[kind] = self._held.get(kind, 0) + 1
                return
            self._last[kind] = now
            held = self._held.pop(kind, 0)
        suffix = f" ({held} more like it not logged since)" if held else ""
        self.logger.warning(message + suffix, *args)
