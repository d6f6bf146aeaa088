"""Events received from stores, deduplicated by event id."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path


class EventStore:
    def __init__(self, path: str | Path = ":memory:"):
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, store TEXT, device TEXT, seq INTEGER,"
            " type TEXT, wall_time REAL, received_at REAL, body TEXT)"
        )
        self.lock = threading.Lock()
        self.duplicates = 0

    def add_many(self, events: list[dict]) -> int:
        """Store events; duplicates (same id) are dropped. Returns how many were new."""
        now = time.time()
        with self.lock:
            before = self.conn.total_changes
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(e["id"], e.get("store"), e.get("device"), e["seq"], e["type"], e.get("wall_time"), now,
                  json.dumps(e)) for e in events],
            )
            self.conn.execute("COMMIT")
            new = self.conn.total_changes - before
            self.duplicates += len(events) - new
            return new

    def count(self, type: str | None = None) -> int:
        with self.lock:
            if type:
                return self.conn.execute("SELECT count(*) FROM events WHERE type = ?", (type,)).fetchone()[0]
            return self.conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def ids(self) -> set[str]:
        with self.lock:
            return {r[0] for r in self.conn.execute("SELECT id FROM events")}

    def events(self, type: str | None = None) -> list[dict]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT body FROM events WHERE ?1 IS NULL OR type = ?1 ORDER BY store, device, seq", (type,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]
