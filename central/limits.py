"""What one device can make head office do: a token bucket per device, and warnings a device cannot flood."""

from __future__ import annotations

import logging
from collections.abc import Hashable

from sync.clock import Clock


class TokenBucket:
    """``rate_per_s`` tokens a second per key, at most ``burst`` saved up; read from the injected clock."""

    def __init__(self, rate_per_s: float, burst: float, *, clock: Clock):
        self.rate = rate_per_s
        self.burst = burst
        self.clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def take(self, key: Hashable) -> bool:
        now = self.clock.time()
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - then) * self.rate)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        return allowed


class QuietLog:
    """At most one warning per kind every ``every_s``; the next one says how many were left out."""

    def __init__(self, logger: logging.Logger, *, every_s: float, clock: Clock):
        self.logger = logger
        self.every_s = every_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        now = self.clock.time()
        last = self._last.get(kind)
        if last is not None and now - last < self.every_s:
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        self._last[kind] = now
        held = self._held.pop(kind, 0)
        suffix = f" ({held} more like it not logged since)" if held else ""
        self.logger.warning(message + suffix, *args)
