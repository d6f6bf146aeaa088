"""Applying a verified bundle to the cache in one transaction, versions moving only forward."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from ..protocol.content import SECTIONS
from .db import Cache
from .profiles import purge_profile

SCOPE_RANKS = {"chain": 0, "region": 1, "store": 2, "device": 3}


def scope_rank(scope: str) -> int:
    return SCOPE_RANKS[scope.partition("/")[0]]


@dataclass(frozen=True)
class Applied:
    stream: str
    version: int
    counts: dict[str, int]


class StaleVersion(Exception):
    """The bundle's version is not newer than the one applied; it is ignored."""

    def __init__(self, stream: str, version: int, applied: int):
        super().__init__(f"{stream}: version {version} ignored, version {applied} is already applied")
        self.applied = applied


def applied_version(cache: Cache, stream: str) -> int:
    rows = cache.query("SELECT version FROM sync_state WHERE stream = ?", (stream,))
    return rows[0][0] if rows else 0


def apply_bundle(
    cache: Cache, *, stream: str, scope: str, version: int, sha256: str, mode: str, content: dict
) -> Applied:
    """Apply validated ``content`` for ``scope``; all or nothing.

    ``stream`` names the version sequence (a bundle topic's scope, or ``profiles:store/x``).
    A snapshot replaces, for this scope, every section it names. A delta upserts items
    and deletes the keys under ``"delete"``.
    """
    rank = scope_rank(scope)
    counts: dict[str, int] = {}
    with cache.transaction() as conn:
        current = conn.execute("SELECT version FROM sync_state WHERE stream = ?", (stream,)).fetchone()
        if current and version <= current[0]:
            raise StaleVersion(stream, version, current[0])
        for name, items in content.items():
            if name == "delete":
                continue
            section = SECTIONS[name]
            if mode == "snapshot":
                conn.execute(f"DELETE FROM {section.table} WHERE scope = ?", (scope,))
            cache.db[section.table].insert_all(
                (_row(name, item, scope, rank) for item in items), replace=True, batch_size=500
            )
            counts[name] = len(items)
        for name, keys in (content.get("delete") or {}).items():
            section = SECTIONS[name]
            if name == "profiles":
                # An erasure from head office: gone from every scope, with consents and unsent events.
                for profile_id in keys:
                    purge_profile(conn, profile_id)
                counts["erased profiles"] = len(keys)
                continue
            conn.executemany(
                f"DELETE FROM {section.table} WHERE {section.key[0]} = ? AND scope = ?",
                [(k, scope) for k in keys],
            )
            counts[f"deleted {name}"] = len(keys)
        conn.execute(
            "INSERT OR REPLACE INTO sync_state (stream, version, sha256, applied_at) VALUES (?, ?, ?, ?)",
            (stream, version, sha256, datetime.now(UTC).isoformat(timespec="seconds")),
        )
    return Applied(stream, version, counts)


def _row(name: str, item: dict, scope: str, rank: int) -> dict:
    section = SECTIONS[name]
    row = {k: item[k] for k in section.key}
    row.update(scope=scope, rank=rank, body=json.dumps(item, ensure_ascii=False, separators=(",", ":")))
    if name == "profiles":
        row.update(phone_hash=item.get("phone_hash"), expires_at=None)
    elif name == "media":
        row.update(url=item["url"], size=item["size"])
    return row
