"""One storage interface over two backends: SQLite (embedded default) and PostgreSQL (production).

Every query in ``central`` is written once, with ``?`` placeholders, in the SQL both dialects
share (``INSERT ... ON CONFLICT``, ``RETURNING``, ``INSERT ... SELECT ... WHERE true``). The few
places where they differ are the :class:`Dialect` attributes. A :class:`Database` is one
connection; each worker thread opens its own.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
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
        self._stages: dict[str, list[str]] = {}  # temporary table: its columns
        self._staged: set[str] = set()  # temporary tables loaded in this transaction
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

    def any_of(self, values: Iterable[str]) -> tuple[str, object]:
        """``(condition, parameter)`` for "a column is one of ``values``", one parameter however many: a JSON
        array, unpacked by ``json_array_elements_text`` on PostgreSQL and ``json_each`` on SQLite. An ``IN``
        list's text changes with its length, so the driver parses each one again and neither backend can
        keep its plan; and psycopg adapts a Python list to an array six times slower than one JSON string
        (5.8 against 0.9 ms for 1,000 ids)."""
        if self.postgres:
            return "IN (SELECT json_array_elements_text(?::json))", json.dumps(list(values))
        return "IN (SELECT value FROM json_each(?))", json.dumps(list(values))

    def stage(self, name: str, definition: str, rows: Iterable[Sequence] = ()) -> str:
        """Load ``rows`` into the temporary table ``name``, for set-wise work in the caller's transaction, and
        return its name. ``definition`` is ``"(column TYPE, ...)"`` or ``"AS SELECT ..."`` (made on first use
        in this connection). PostgreSQL empties it at commit (``ON COMMIT DELETE ROWS``): autovacuum never
        visits temporary tables, so the dead rows of a ``DELETE`` each batch would pile up in a long-lived
        worker's connection (136 MB after 200 batches of 2,000 events, each ``DELETE`` slower than the last)."""
        if self.postgres and not self._depth:
            raise RuntimeError(f"stage {name}: its rows would be gone at the end of the statement; open a transaction")
        if name not in self._stages:  # forgotten when a transaction rolls back, as the table may be
            create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {name}"
            on_commit = " ON COMMIT DELETE ROWS" if self.postgres else ""
            if definition.startswith("AS "):
                self.execute(f"{create}{on_commit} {definition}")
            else:
                self.execute(f"{create} {definition}{on_commit}")
            self._stages[name] = self._columns(name)
        if name in self._staged or not self.postgres:  # PostgreSQL empties it at commit, SQLite does not
            self.execute(f"DELETE FROM {name}")
        self._staged.add(name)
        self.copy_rows(name, self._stages[name], rows)
        return name

    def _columns(self, temp_table: str) -> list[str]:
        if self.postgres:
            return [r[0] for r in self.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped"
                " ORDER BY attnum", (f"pg_temp.{temp_table}",))]
        return [r[1] for r in self.execute(f"PRAGMA temp.table_info({temp_table})")]

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence], conflict: str = "") -> None:
        """``INSERT INTO table (columns) ... conflict`` for many rows as one statement over a staged copy of
        them (COPY on PostgreSQL): a row-by-row ``executemany`` costs a round trip per row. ``conflict`` is
        the ``ON CONFLICT`` clause; rows must not repeat a key, as one statement can't change a row twice."""
        if not rows:
            return
        cols = ", ".join(columns)
        tag = zlib.crc32(cols.encode()) & 0xFFFF
        with self.transaction():
            stage = self.stage(f"{table}_stage_{tag:04x}", f"AS SELECT {cols} FROM {table} WHERE 1 = 0", rows)
            self.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} WHERE true {conflict}")

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
            except BaseException:
                self._stages.clear()
                raise
            finally:
                self._depth = 0
                self._staged.clear()

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
