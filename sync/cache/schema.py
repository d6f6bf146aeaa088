"""Schema and forward migrations. ``PRAGMA user_version`` holds the schema version.

Each migration runs in its own transaction together with the version bump, so a
failure leaves the previous version intact. Before migrating an existing cache, a
copy is taken with SQLite's online backup to ``<cache>.v<old>.bak``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from ..protocol.content import SECTIONS

# Profiles cached from a lookup answer sit below every bundle scope.
LOOKUP_SCOPE = "lookup"
# Columns copied out of the JSON body so that they can be indexed or read without parsing it.
EXTRA_COLUMNS = {"profiles": ("phone_hash",), "media": ("url", "size"), "basket_lines": ("profile_id",)}


def _section_table(db: sqlite_utils.Database, name: str) -> None:
    section = SECTIONS[name]
    columns: dict[str, type] = {k: str for k in section.key}
    columns.update({"scope": str, "rank": int, "body": str})
    extra: dict[str, type] = {c: int if c == "size" else str for c in EXTRA_COLUMNS.get(section.table, ())}
    if section.table == "profiles":
        extra["expires_at"] = float
    db[section.table].create({**columns, **extra}, pk=(*section.key, "scope"), not_null={"body"})


def _v1(db: sqlite_utils.Database) -> None:
    for name in ("products", "prices", "inventory", "offers", "menus", "content_items", "playlists",
                 "schedules", "media", "profiles", "co_purchase"):
        _section_table(db, name)
    db["profiles"].create_index(["phone_hash"])
    db["co_purchase"].create_index(["b"])
    db.execute(
        """CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            boot_id TEXT NOT NULL,
            wall_time REAL NOT NULL,
            mono_time REAL NOT NULL,
            payload TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE consents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            profile_id TEXT NOT NULL,
            purpose TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('granted', 'denied', 'withdrawn')),
            wording_version TEXT NOT NULL,
            channel TEXT NOT NULL,
            at TEXT NOT NULL
        )"""
    )
    db["consents"].create_index(["profile_id", "purpose"])
    db.execute(
        "CREATE TRIGGER consents_append_only BEFORE UPDATE ON consents "
        "BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END"
    )
    db["sync_state"].create(
        {"stream": str, "version": int, "sha256": str, "applied_at": str}, pk="stream"
    )


def _v2(db: sqlite_utils.Database) -> None:
    """The decision engine's inputs: staff, basket history, offer statistics; and device-local state."""
    for name in ("staff", "basket_lines", "offer_stats"):
        _section_table(db, name)
    db["basket_lines"].create_index(["profile_id"])
    # Offers shown on this device, for caps. Kept beyond the outbox, which empties on every ack.
    db.execute(
        """CREATE TABLE impressions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            offer_id TEXT NOT NULL,
            profile_id TEXT,
            arm TEXT,
            variant TEXT,
            at REAL NOT NULL
        )"""
    )
    db["impressions"].create_index(["profile_id", "at"])
    db["impressions"].create_index(["at"])
    db["pin_attempts"].create({"staff_id": str, "failures": int, "locked_until": float}, pk="staff_id")


def _v3(db: sqlite_utils.Database) -> None:
    """Context feeds and the point of sale: weather, the store's own sales, coupons and redemptions."""
    # The latest weather per store (retained message from head office, or the device's own fetch).
    db["weather"].create({"store": str, "body": str, "observed_at": float, "received_at": float}, pk="store")
    # Sales the till reported to this device: the trends' input, and head office's transactions.
    db.execute(
        """CREATE TABLE sales (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            basket_id TEXT NOT NULL,
            sku TEXT NOT NULL,
            qty INTEGER NOT NULL,
            amount_cents INTEGER NOT NULL,
            at REAL NOT NULL,
            profile_id TEXT
        )"""
    )
    db["sales"].create_index(["at"])
    db["sales"].create_index(["basket_id"])
    # Coupons this device issued ("send to my phone"), and every coupon redeemed here: single use.
    db["coupons"].create({"code": str, "offer_id": str, "arm": str, "variant": str, "profile_id": str,
                          "store": str, "expires_at": float, "issued_at": float}, pk="code")
    db["redemptions"].create({"code": str, "offer_id": str, "arm": str, "profile_id": str, "basket_id": str,
                              "discount_cents": int, "redeemed_at": float}, pk="code")
    db["redemptions"].create_index(["redeemed_at"])


def _v4(db: sqlite_utils.Database) -> None:
    """The staff tablet's assisted sales, for each staff member's own KPIs. Kept beyond the outbox,
    which empties on every ack; ``sync.cache.staff_log`` writes and reads them."""
    db.execute(
        """CREATE TABLE assisted_sales (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            staff_id TEXT NOT NULL,
            profile_id TEXT,
            contacted INTEGER NOT NULL,
            purchased INTEGER NOT NULL,
            add_ons INTEGER NOT NULL,
            at REAL NOT NULL
        )"""
    )
    db["assisted_sales"].create_index(["staff_id", "at"])


def _v5(db: sqlite_utils.Database) -> None:
    """Signage: layouts and text templates; emergency overrides; proof-of-play raw rows.

    ``sync.cache.signage`` writes and reads the last two."""
    for name in ("layouts", "text_templates"):
        _section_table(db, name)
    # The newest override per scope (by issued_at), as received and verified.
    db["overrides"].create({"scope": str, "override_id": str, "action": str, "issued_at": float,
                            "expires_at": float, "body": str, "source": str, "received_at": float}, pk="scope")
    # One row per play. event_id is set when the row is summed into an hourly outbox event, and the row is
    # deleted once that event has left the outbox (head office acked it).
    db.execute(
        """CREATE TABLE proof_of_play (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            item_id TEXT NOT NULL,
            zone TEXT NOT NULL,
            started_at REAL NOT NULL,
            duration_s REAL NOT NULL,
            full INTEGER NOT NULL,
            event_id TEXT
        )"""
    )
    db["proof_of_play"].create_index(["event_id", "started_at"])


def _v6(db: sqlite_utils.Database) -> None:
    """The basket each redemption was for, so that a till's retry of the same basket gets the same answer.

    A digest, not the lines (those went to head office in the ``redeemed`` event); NULL for redemptions
    made before, which a retry cannot match."""
    db["redemptions"].add_column("basket_sha256", str)


def _v7(db: sqlite_utils.Database) -> None:
    """The store itself (its display name, zone and place), from the store bundle's ``stores`` section."""
    _section_table(db, "stores")


def _v8(db: sqlite_utils.Database) -> None:
    """The chain's brand (colours, logo, typeface), from the ``brand`` section: a table like every section's."""
    _section_table(db, "brand")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8]
LATEST = len(MIGRATIONS)


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


class MigrationFailed(RuntimeError):
    """A migration failed; the cache is unchanged at its old version and the old software still runs on it."""


def migrate(db: sqlite_utils.Database, path: Path | None = None,
            migrations: list[Callable[[sqlite_utils.Database], None]] | None = None) -> int:
    """Bring the cache to the latest schema. Returns the version it started from.

    Every pending migration runs in one transaction with the version bump: if any of them fails, the
    file stays at the version it had, so the previous release (which refuses only newer schemas) still
    runs on it after a rollback of the software.
    """
    migrations = MIGRATIONS if migrations is None else migrations
    latest = len(migrations)
    start = schema_version(db)
    if start > latest:
        raise RuntimeError(f"cache schema v{start} is newer than this software (v{latest}); refusing to run")
    backup_path = path.with_name(f"{path.name}.v{start}.bak") if path is not None else None
    if 0 < start < latest and backup_path is not None:
        backup = sqlite3.connect(backup_path)
        with backup:
            db.conn.backup(backup)
        backup.close()
    if start == latest:
        return start
    db.execute("BEGIN IMMEDIATE")
    version = start
    try:
        for version in range(start, latest):
            migrations[version](db)
        db.execute(f"PRAGMA user_version={latest}")
        db.execute("COMMIT")
    except Exception as exc:
        db.execute("ROLLBACK")
        where = f"; a copy taken before it is {backup_path}" if start and backup_path else ""
        raise MigrationFailed(f"cache migration to v{version + 1} failed ({exc}); the cache is unchanged "
                              f"at v{start}{where}") from exc
    return start
