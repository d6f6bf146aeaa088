"""Opening the cache: WAL, busy timeout, migrations, explicit transactions, clear disk-full errors."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .schema import migrate


class CacheError(RuntimeError):
    """The cache could not be written; the transaction was rolled back and nothing changed."""


class CacheFull(CacheError):
    """The disk (or the cache's size cap) is full; the transaction was rolled back."""


class Cache:
    """One connection to the device cache. Use one Cache per thread."""

    def __init__(self, path: str | Path, *, max_bytes: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
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
