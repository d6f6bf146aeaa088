"""The events a reference head office received: central's store (SQLite), read back for tests and the demo."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from ..db import open_database
from ..ingest import store_events


class EventStore:
    """Events deduplicated by id in a central store at ``path`` (a temporary file by default)."""

    def __init__(self, path: str | Path | None = None):
        self._tmp = None
        if path is None or str(path) == ":memory:":
            # Not SQLite's :memory:: the worker writing and the tests reading use two connections.
            self._tmp = tempfile.mkdtemp(prefix="se-responder-")
            path = Path(self._tmp) / "central.db"
        self.path = Path(path)
        self.db = open_database(self.path)

    def add_many(self, events: list[dict], *, now: float) -> int:
        """Store events received at ``now``; duplicates (same id) are dropped. Returns how many were new."""
        return len(store_events(self.db, events, now=now).new)

    def count(self, type: str | None = None) -> int:
        if type:
            return int(self.db.scalar("SELECT count(*) FROM events WHERE type = ?", (type,)))
        return int(self.db.scalar("SELECT count(*) FROM events"))

    def ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM events")}

    def events(self, type: str | None = None) -> list[dict]:
        rows = self.db.execute("SELECT body FROM events WHERE ? IS NULL OR type = ? ORDER BY store, device, seq",
                               (type, type))
        return [json.loads(r[0]) for r in rows]

    def close(self) -> None:
        self.db.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
