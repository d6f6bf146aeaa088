"""Opening the cache: WAL, busy timeout, migrations, explicit transactions, clear disk-full errors."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .schema import migrate

log = logging.getLogger("store_edge.cache")
BUSY_TIMEOUT_MS = 10_000


class CacheError(RuntimeError):
    """The cache could not be written; the transaction was rolled back and nothing changed."""


class CacheFull(CacheError):
    """The disk (or the cache's size cap) is full; the transaction was rolled back."""


class Cache:
    """One connection to the device cache. Use one Cache per thread."""

    def __init__(self, path: str | Path, *, max_bytes: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        # Deleted rows are overwritten with zeros, not left in free space: Debian builds do it by default,
        # other builds of SQLite do not, and an erased customer must not stay readable in the file.
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        migrate(self.db, self.path)
        if max_bytes:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count={max(1, max_bytes // page_size)}")

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error. Disk-full becomes CacheFull."""
        with self._lock:
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _translate(exc) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise _translate(exc) from exc
                raise

    def checkpoint(self, *, wait_s: float = 2.0) -> bool:
        """Copy the WAL into the database file and truncate the WAL to nothing.

        Until then the WAL keeps the pages as they were before a delete, personal data included.
        A reader still open after ``wait_s`` holds the checkpoint back: False, and the agent's next
        purge (every 5 minutes) tries again.
        """
        with self._lock:
            self.conn.execute(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
            try:
                busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            finally:
                self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if busy:
            log.warning("WAL checkpoint held back by an open reader: deleted rows may stay in %s until the next"
                        " purge", self.path.name)
        return not busy

    def query(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row | tuple]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self.conn.close()


def _translate(exc: sqlite3.OperationalError) -> CacheError:
    msg = str(exc)
    if "full" in msg:
        return CacheFull(f"cache is full ({msg}); nothing was written")
    return CacheError(f"cache write failed ({msg}); nothing was written")


def open_cache(path: str | Path, *, max_bytes: int | None = None) -> Cache:
    return Cache(path, max_bytes=max_bytes)
