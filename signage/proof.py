"""Proof of play on the device: every play as a raw row, summed per hour into the outbox.

Plays are buffered in memory and written every ``flush_s`` (one small transaction, not one per
0.2 s item); each finished hour becomes one ``proof_of_play`` event; raw rows stay until head office
has acked that event (``sync.cache.signage``). Also counts the plays of each schedule entry in the
current hour, the schedule's ``max_per_hour`` input.
"""

from __future__ import annotations

import logging

from sync.cache import Cache
from sync.cache.db import CacheError
from sync.cache.outbox import Outbox
from sync.cache.signage import HOUR_S, Play, prune_acked, record_plays, summarise_hours

log = logging.getLogger("store_edge.signage")


class ProofOfPlay:
    def __init__(self, cache: Cache, outbox: Outbox, *, flush_s: float = 10.0):
        self.cache, self.outbox, self.flush_s = cache, outbox, flush_s
        self._pending: list[Play] = []
        self._last_flush: float | None = None
        self._hour: float | None = None
        self.plays_this_hour: dict[str, int] = {}
        self.total = 0

    def played(self, item_id: str, zone: str, entry_id: str | None, started_at: float, ended_at: float,
               planned_s: float) -> None:
        duration = max(0.0, ended_at - started_at)
        self._pending.append(Play(item_id, zone, started_at, round(duration, 3), duration >= planned_s - 0.05))
        self.total += 1
        hour = started_at - started_at % HOUR_S
        if hour != self._hour:
            self._hour, self.plays_this_hour = hour, {}
        if entry_id:
            self.plays_this_hour[entry_id] = self.plays_this_hour.get(entry_id, 0) + 1

    def counts_at(self, now: float) -> dict[str, int]:
        return self.plays_this_hour if self._hour == now - now % HOUR_S else {}

    def tick(self, now: float) -> None:
        """Write buffered plays every ``flush_s``; sum finished hours; drop rows head office has acked."""
        if self._last_flush is None:
            self._last_flush = now
        if now - self._last_flush < self.flush_s:
            return
        self._last_flush = now
        self.flush(now)

    def flush(self, now: float) -> None:
        pending, self._pending = self._pending, []
        try:
            record_plays(self.cache, pending)
            summarise_hours(self.cache, self.outbox, now)
            prune_acked(self.cache)
        except CacheError as exc:
            self._pending = pending + self._pending  # kept for the next try; the screen goes on
            log.error("proof of play not written: %s", exc)
