"""One storage interface over two backends: SQLite (embedded default) and PostgreSQL (production).

Every query in ``central`` is written once, with ``?`` placeholders, in the SQL both dialects
share (``INSERT ... ON CONFLICT``, ``RETURNING``, ``INSERT ... SELECT ... WHERE true``). The few
places where they differ are the :class:`Dialect` attributes. A :class:`Database` is one
connection; each worker thread opens its own.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class Dialect:
    name: str
    serial_pk: str  # an auto-numbered primary key column
    greatest: str  # the two-argument maximum
    least: str


SQLITE = Dialect("sqlite", "INTEGER PRIMARY KEY AUTOINCREMENT", "max", "min")
POSTGRES = Dialect("postgres", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "greatest", "least")


@lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://")) or url.startswith("dbname=")


class Database:
    """A connection with ``?`` placeholders on both backends, explicit transactions and bulk loading."""

    def __init__(self, url: str | Path):
        self.url = str(url)
        self._lock = threading.RLock()
        self._depth = 0
        if is_postgres_url(self.url):
            import psycopg

            self.dialect = POSTGRES
            self._conn = psycopg.connect(self.url, autocommit=True)
        else:
            self.dialect = SQLITE
            path = self.url.removeprefix("sqlite:///")
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA secure_delete=ON")  # erased rows are zeroed, not left as free space
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=OFF")

    @property
    def postgres(self) -> bool:
        return self.dialect is POSTGRES

    def _sql(self, sql: str) -> str:
        return _pg_sql(sql) if self.postgres else sql

    def execute(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """Run one statement; returns its rows (empty for statements without a result)."""
        with self._lock:
            cur = self._conn.execute(self._sql(sql), tuple(params))
            if cur.description is None:
                return []
            return [tuple(r) for r in cur.fetchall()]

    def query_one(self, sql: str, params: Sequence = ()) -> tuple | None:
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence = ()) -> object:
        row = self.query_one(sql, params)
        return row[0] if row else None

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        rows = list(rows)
        if not rows:
            return
        with self._lock:
            if self.postgres:
                with self._conn.cursor() as cur:
                    cur.executemany(self._sql(sql), rows)
            else:
                self._conn.executemany(sql, rows)

    def stream(self, sql: str, params: Sequence = (), batch: int = 50_000) -> Iterator[tuple]:
        """Rows of a large result without holding them all (a server-side cursor on PostgreSQL)."""
        with self._lock:
            if self.postgres:
                with self._conn.transaction(), self._conn.cursor(name="central_stream") as cur:
                    cur.itersize = batch
                    cur.execute(self._sql(sql), tuple(params))
                    yield from cur
            else:
                cur = self._conn.execute(sql, tuple(params))
                while chunk := cur.fetchmany(batch):
                    yield from chunk

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
        """Bulk-load rows: COPY on PostgreSQL, executemany on SQLite."""
        cols = ", ".join(columns)
        with self._lock:
            if self.postgres:
                with self._conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                self._conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One transaction (nested calls join the outer one); rolled back on any exception."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._depth = 1
            try:
                if self.postgres:
                    with self._conn.transaction():
                        yield self
                else:
                    self._conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield self
                    except BaseException:
                        self._conn.execute("ROLLBACK")
                        raise
                    self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def checkpoint(self) -> bool:
        """SQLite: copy the WAL into the database file and truncate it, so that deleted rows (zeroed by
        ``secure_delete``) are gone from the WAL's old pages too. False when a reader held it back.
        PostgreSQL keeps dead rows until VACUUM, which is the operator's (docs/security.md): nothing here."""
        if self.postgres:
            return True
        with self._lock:
            return self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0

    def close(self) -> None:
        self._conn.close()


def open_database(url: str | Path) -> Database:
    """Open and migrate the central store at ``url`` (a SQLite path or a postgresql:// URL)."""
    from .schema import migrate

    db = Database(url)
    migrate(db)
    return db
