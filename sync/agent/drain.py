"""Draining the outbox at QoS 1 through a bounded in-flight window.

Three states for a row: waiting in SQLite; in flight (published, no PUBACK yet); and
delivered to the broker (PUBACK seen, waiting for head office's ack). A row is deleted
only on head office's ack. If no ack comes within ``ack_timeout_s`` (doubling on each
miss, up to 10 minutes) the cursor rewinds and the rows go again; the receiver drops the
duplicates by event id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..cache.outbox import Outbox

log = logging.getLogger("store_edge.sync.drain")
MAX_ACK_TIMEOUT_S = 600.0


class OutboxDrain:
    def __init__(self, outbox: Outbox, publish: Callable[[bytes], int], *, window: int,
                 ack_timeout_s: float, max_unacked: int = 50_000):
        self.outbox = outbox
        self._publish = publish
        self.window = window
        self.base_ack_timeout_s = ack_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self.max_unacked = max_unacked
        self.cursor = 0
        self.in_flight: dict[int, int] = {}   # mid -> seq
        self.early_pubacks: set[int] = set()  # PUBACKs that beat publish() returning its mid
        self.delivered: dict[int, float] = {}  # seq -> monotonic time of the PUBACK
        self.published = 0
        self.acked = 0

    def reset(self) -> None:
        """After a lost connection: everything not yet acked by head office goes again."""
        self.cursor = 0
        self.in_flight.clear()
        self.early_pubacks.clear()
        self.delivered.clear()

    def capacity(self) -> int:
        return min(self.window - len(self.in_flight), self.max_unacked - len(self.delivered))

    def pump(self) -> int:
        """Publish as many rows as the window allows. Returns how many were published."""
        sent = 0
        while (room := self.capacity()) > 0:
            rows = self.outbox.window(after_seq=self.cursor, limit=room)
            for row in rows:
                mid = self._publish(row.wire)
                self.cursor = row.seq
                if mid < 0:
                    return sent
                if mid in self.early_pubacks:
                    self.early_pubacks.discard(mid)
                    self.delivered[row.seq] = time.monotonic()
                else:
                    self.in_flight[mid] = row.seq
                sent += 1
            if len(rows) < room:
                break
        self.published += sent
        return sent

    def on_puback(self, mid: int, ok: bool) -> None:
        seq = self.in_flight.pop(mid, None)
        if seq is None:
            self.early_pubacks.add(mid)
            return
        if ok:
            self.delivered[seq] = time.monotonic()
        else:
            log.warning("broker refused event seq %d; it stays in the outbox", seq)

    def on_receiver_ack(self, seqs: list[int]) -> None:
        self.outbox.delete(seqs)
        for seq in seqs:
            self.delivered.pop(seq, None)
        self.acked += len(seqs)
        self.ack_timeout_s = self.base_ack_timeout_s

    def check_ack_timeouts(self, now: float | None = None) -> bool:
        """Rewind to the oldest row whose ack is overdue. Returns True if it rewound."""
        if not self.delivered:
            return False
        now = time.monotonic() if now is None else now
        overdue = [seq for seq, t in self.delivered.items() if now - t > self.ack_timeout_s]
        if not overdue:
            return False
        oldest = min(overdue)
        log.warning("no ack from head office for %d events after %.0fs; sending again from seq %d",
                    len(overdue), self.ack_timeout_s, oldest)
        self.cursor = min(self.cursor, oldest - 1)
        self.delivered = {s: t for s, t in self.delivered.items() if s < oldest}
        self.ack_timeout_s = min(self.ack_timeout_s * 2, MAX_ACK_TIMEOUT_S)
        return True
