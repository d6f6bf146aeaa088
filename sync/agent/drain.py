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

from ..cache.outbox import Outbox, OutboxRow
from ..protocol.events import batch

log = logging.getLogger("store_edge.sync.drain")
MAX_ACK_TIMEOUT_S = 600.0


class OutboxDrain:
    def __init__(self, outbox: Outbox, publish: Callable[[bytes], int], *, window: int,
                 ack_timeout_s: float, max_unacked: int = 50_000, batch_events: int = 50,
                 max_payload_bytes: int = 256 * 1024):
        self.outbox = outbox
        self._publish = publish
        self.window = window
        self.base_ack_timeout_s = ack_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self.max_unacked = max_unacked
        self.batch_events = batch_events
        self.max_payload_bytes = max_payload_bytes
        self.cursor = 0
        self.in_flight: dict[int, list[int]] = {}  # mid -> the seqs that message carries
        self.early_pubacks: set[int] = set()  # PUBACKs that beat publish() returning its mid
        self.delivered: dict[int, float] = {}  # seq -> monotonic time of the PUBACK
        self.published = 0
        self.acked = 0
        self.more_waiting = True  # the last read filled the window, so the outbox may hold more

    def reset(self) -> None:
        """After a lost connection: everything not yet acked by head office goes again."""
        self.cursor = 0
        self.more_waiting = True
        self.in_flight.clear()
        self.early_pubacks.clear()
        self.delivered.clear()

    def capacity(self) -> int:
        """How many more events may go out now: free message slots times the batch size."""
        return min((self.window - len(self.in_flight)) * self.batch_events, self.max_unacked - len(self.delivered))

    def pump(self) -> int:
        """Publish as many rows as the window allows. Returns how many were published."""
        sent = 0
        while (room := self.capacity()) > 0:
            rows = self.outbox.window(after_seq=self.cursor, limit=room)
            for message in self._batches(rows):
                mid = self._publish(batch([r.wire for r in message]))
                if mid < 0:
                    self.published += sent
                    return sent
                seqs = [r.seq for r in message]
                self.cursor = seqs[-1]
                if mid in self.early_pubacks:
                    self.early_pubacks.discard(mid)
                    self._mark_delivered(seqs)
                else:
                    self.in_flight[mid] = seqs
                sent += len(seqs)
            if len(rows) < room:
                self.more_waiting = False
                break
        else:
            self.more_waiting = True
        self.published += sent
        return sent

    def _batches(self, rows: list[OutboxRow]) -> list[list[OutboxRow]]:
        batches: list[list[OutboxRow]] = []
        size = 0
        for row in rows:
            if not batches or len(batches[-1]) >= self.batch_events or size + len(row.wire) > self.max_payload_bytes:
                batches.append([])
                size = 0
            batches[-1].append(row)
            size += len(row.wire) + 1
        return batches

    def _mark_delivered(self, seqs: list[int]) -> None:
        now = time.monotonic()
        for seq in seqs:
            self.delivered[seq] = now

    def on_puback(self, mid: int, ok: bool) -> None:
        seqs = self.in_flight.pop(mid, None)
        if seqs is None:
            self.early_pubacks.add(mid)
            return
        if ok:
            self._mark_delivered(seqs)
        else:
            log.warning("broker refused events seq %d-%d; they stay in the outbox", seqs[0], seqs[-1])

    def on_receiver_ack(self, seqs: list[int]) -> None:
        self.outbox.delete(seqs)
        for seq in seqs:
            self.delivered.pop(seq, None)
        self.acked += len(seqs)
        self.ack_timeout_s = self.base_ack_timeout_s

    def check_ack_timeouts(self, now: float) -> bool:
        """Rewind to the oldest row whose ack is overdue at ``now`` (``time.monotonic()``, like the PUBACK times).
        Returns True if it rewound."""
        if not self.delivered:
            return False
        overdue = [seq for seq, t in self.delivered.items() if now - t > self.ack_timeout_s]
        if not overdue:
            return False
        oldest = min(overdue)
        log.warning("no ack from head office for %d events after %.0fs; sending again from seq %d",
                    len(overdue), self.ack_timeout_s, oldest)
        self.cursor = min(self.cursor, oldest - 1)
        self.more_waiting = True
        self.delivered = {s: t for s, t in self.delivered.items() if s < oldest}
        self.ack_timeout_s = min(self.ack_timeout_s * 2, MAX_ACK_TIMEOUT_S)
        return True
