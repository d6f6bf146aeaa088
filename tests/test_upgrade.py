"""Upgrades: migrations forward on start, a backup first, and a failed migration that changes nothing."""

from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils

from sync.cache import Cache, schema
from sync.cache.read import CacheReader


def old_cache(path, version: int) -> None:
    """A cache as release ``version`` left it, with a product in it."""
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    for migration in schema.MIGRATIONS[:version]:
        migration(db)
    db.execute(f"PRAGMA user_version={version}")
    db.execute("""INSERT INTO products (sku, scope, rank, body) VALUES ('SKU1', 'chain', 0, '{"sku": "SKU1"}')""")
    db.conn.close()


def test_a_migration_failing_midway_leaves_the_cache_at_its_old_version_and_usable(tmp_path):
    path = tmp_path / "cache.db"
    old_cache(path, 2)

    def broken(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE half_done (x INTEGER)")
        db.execute("ALTER TABLE products ADD COLUMN colour TEXT")
        raise sqlite3.OperationalError("disk I/O error")

    upgraded = [*schema.MIGRATIONS, broken]  # the next release: every migration we have, then a failing one
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    with pytest.raises(schema.MigrationFailed) as failure:
        schema.migrate(db, path, upgraded)
    db.conn.close()
    assert str(failure.value) == (f"cache migration to v{len(upgraded)} failed (disk I/O error); the cache is "
                                  f"unchanged at v2; a copy taken before it is {tmp_path}/cache.db.v2.bak")
    # Not even the migrations before the broken one stuck: the file is exactly at v2 ...
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "half_done" not in tables and "weather" not in tables  # weather came with v3
    assert [c[1] for c in conn.execute("PRAGMA table_info(products)")].count("colour") == 0
    conn.close()
    # ... the backup taken before it holds the data ...
    backup = sqlite3.connect(tmp_path / "cache.db.v2.bak")
    assert backup.execute("SELECT sku FROM products").fetchall() == [("SKU1",)]
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 2
    backup.close()
    # ... and the release running today opens it, migrates it and reads the data.
    cache = Cache(path)
    try:
        assert cache.query("PRAGMA user_version")[0][0] == schema.LATEST
        assert CacheReader(cache).product("SKU1") == {"sku": "SKU1"}
    finally:
        cache.close()


def test_a_cache_from_newer_software_is_refused_untouched(tmp_path):
    path = tmp_path / "cache.db"
    old_cache(path, schema.LATEST)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={schema.LATEST + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this software"):
        Cache(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST + 1
    assert conn.execute("SELECT sku FROM products").fetchall() == [("SKU1",)]
    conn.close()
    assert not list(tmp_path.glob("*.bak"))
