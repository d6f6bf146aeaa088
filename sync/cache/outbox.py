"""The durable outbox: events written in the same transaction as the change they record.

Rows are deleted only when head office confirms it stored them (see docs/protocol.md,
"Why events wait for the receiver's ack"), so a broker crash between PUBACK and
delivery cannot lose an event.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass

from ..clock import Clock
from ..protocol.events import EVENT_TYPES, envelope, uuid7
from .db import Cache


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    wire: bytes


@dataclass(frozen=True)
class OutboxStats:
    rows: int
    bytes: int
    oldest_wall_time: float | None


class Outbox:
    """Appends events; hands the agent windows of rows; deletes confirmed rows.

    ``clock`` stamps each event's ``wall_time`` and its UUIDv7; ``mono_time`` is the process's monotonic clock.
    """

    def __init__(self, cache: Cache, *, boot_id: str, device: str, store: str, clock: Clock):
        self.cache = cache
        self.boot_id = boot_id
        self.device = device
        self.store = store
        self.clock = clock

    def append(self, conn: sqlite3.Connection, type: str, payload: dict) -> str:
        """Add one event inside the caller's open transaction. Returns the event id."""
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type!r}")
        wall_time = self.clock.time()
        event_id = uuid7(int(wall_time * 1000))
        conn.execute(
            "INSERT INTO outbox (id, type, boot_id, wall_time, mono_time, payload) VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, type, self.boot_id, wall_time, time.monotonic(),
             json.dumps(payload, ensure_ascii=False, separators=(",", ":"))),
        )
        return event_id

    def record(self, type: str, payload: dict) -> str:
        """Add one event in a transaction of its own (for events that change no other state)."""
        with self.cache.transaction() as conn:
            return self.append(conn, type, payload)

    def window(self, *, after_seq: int, limit: int) -> list[OutboxRow]:
        """The next ``limit`` rows with seq > after_seq, encoded for the wire."""
        rows = self.cache.query(
            "SELECT seq, id, type, boot_id, wall_time, mono_time, payload FROM outbox "
            "WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [
            OutboxRow(seq, envelope(event_id=eid, seq=seq, type=typ, boot_id=boot, device=self.device,
                                    store=self.store, wall_time=wall, mono_time=mono, payload=payload))
            for seq, eid, typ, boot, wall, mono, payload in rows
        ]

    def delete(self, seqs: list[int]) -> None:
        if not seqs:
            return
        with self.cache.transaction() as conn:
            conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    def stats(self) -> OutboxStats:
        rows, size, oldest = self.cache.query(
            "SELECT count(*), coalesce(sum(length(payload)) + count(*) * 200, 0), min(wall_time) FROM outbox"
        )[0]
        return OutboxStats(rows, size, oldest)

    def file_bytes(self) -> int:
        """Disk use of the cache files that hold the outbox (db + WAL)."""
        base = str(self.cache.path)
        return sum(os.path.getsize(p) for p in (base, base + "-wal") if os.path.exists(p))
