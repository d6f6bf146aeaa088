"""The signage player's device-local state (schema v5): emergency overrides and proof of play.

Overrides: the newest per scope by ``issued_at`` is kept; an ``end`` replaces the ``start`` it ends.
Proof of play: one raw row per play; ``summarise_hours`` sums every finished hour into one
``proof_of_play`` outbox event in the same transaction, and ``prune_acked`` deletes the raw rows of
events that have left the outbox (head office acked them), so nothing is lost before the ack.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

import orjson

from ..protocol.overrides import Override
from .bundles import scope_rank
from .db import Cache
from .outbox import Outbox

HOUR_S = 3600


def save_override(cache: Cache, override: Override, *, source: str, received_at: float) -> bool:
    """Keep ``override`` unless its scope already holds a newer one. True if it was stored."""
    body = orjson.dumps(override.to_doc()).decode()
    with cache.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO overrides (scope, override_id, action, issued_at, expires_at, body, source, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(scope) DO UPDATE SET override_id = excluded.override_id,"
            " action = excluded.action, issued_at = excluded.issued_at, expires_at = excluded.expires_at,"
            " body = excluded.body, source = excluded.source, received_at = excluded.received_at"
            " WHERE excluded.issued_at > overrides.issued_at"
            " OR (excluded.action = 'end' AND excluded.override_id = overrides.override_id)",
            (override.scope, override.override_id, override.action, override.issued_at, override.expires_at, body,
             source, received_at),
        )
        return cur.rowcount > 0


def active_overrides(cache: Cache, now: float) -> list[Override]:
    """Overrides showing at ``now``, the most specific scope first."""
    rows = cache.query("SELECT body FROM overrides WHERE action = 'start' AND issued_at <= ? AND expires_at > ?",
                       (now, now))
    found = [_override(json.loads(r[0])) for r in rows]
    return sorted(found, key=lambda o: (-scope_rank(o.scope), -o.issued_at))


def _override(doc: dict) -> Override:
    return Override(chain=doc["chain"], scope=doc["scope"], override_id=doc["override_id"],
                    issued_at=doc["issued_at"], expires_at=doc["expires_at"], action=doc["action"],
                    message=doc.get("message"), playlist=doc.get("playlist"))


@dataclass(frozen=True)
class Play:
    item_id: str
    zone: str
    started_at: float  # unix seconds
    duration_s: float
    full: bool


def record_plays(cache: Cache, plays: list[Play]) -> None:
    if not plays:
        return
    with cache.transaction() as conn:
        conn.executemany(
            "INSERT INTO proof_of_play (item_id, zone, started_at, duration_s, full) VALUES (?, ?, ?, ?, ?)",
            [(p.item_id, p.zone, p.started_at, p.duration_s, int(p.full)) for p in plays],
        )


def summarise_hours(cache: Cache, outbox: Outbox, now: float) -> int:
    """One ``proof_of_play`` event per finished hour not yet summed. Returns the number of events written."""
    before = now - now % HOUR_S
    with cache.transaction() as conn:
        rows = conn.execute(
            "SELECT id, item_id, zone, started_at, duration_s, full FROM proof_of_play"
            " WHERE event_id IS NULL AND started_at < ? ORDER BY started_at", (before,)).fetchall()
        hours: dict[float, dict[tuple[str, str], list]] = defaultdict(dict)
        ids: dict[float, list[int]] = defaultdict(list)
        for row_id, item, zone, started, duration, full in rows:
            hour = started - started % HOUR_S
            agg = hours[hour].setdefault((item, zone), [0, 0, 0.0])
            agg[0] += 1
            agg[1] += full
            agg[2] += duration
            ids[hour].append(row_id)
        for hour, items in sorted(hours.items()):
            event_id = outbox.append(conn, "proof_of_play", {
                "hour_start": hour,
                "items": [{"item": item, "zone": zone, "plays": n, "full_plays": full, "seconds": round(secs, 3)}
                          for (item, zone), (n, full, secs) in sorted(items.items())],
            })
            conn.executemany("UPDATE proof_of_play SET event_id = ? WHERE id = ?",
                             [(event_id, i) for i in ids[hour]])
        return len(hours)


def prune_acked(cache: Cache) -> int:
    """Delete raw rows whose hourly event head office has acked (it is no longer in the outbox)."""
    with cache.transaction() as conn:
        return conn.execute("DELETE FROM proof_of_play WHERE event_id IS NOT NULL"
                            " AND event_id NOT IN (SELECT id FROM outbox)").rowcount


def raw_play_count(cache: Cache) -> int:
    return cache.query("SELECT count(*) FROM proof_of_play")[0][0]
