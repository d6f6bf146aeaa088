"""The latest weather per store (schema v3's ``weather`` table).

Head office's retained message and the device's own fetch (``[weather] direct``) both land here.
An observation older than the one stored is not written, so a retained message the broker sends
again on reconnect never replaces a fresher one.
"""

from __future__ import annotations

from ..weather.provider import Observation
from .db import Cache


def save_weather(cache: Cache, store: str, observation: Observation, received_at: float) -> bool:
    """Store ``observation`` as the store's weather unless a newer one is there. True if written."""
    with cache.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO weather (store, body, observed_at, received_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(store) DO UPDATE SET body = excluded.body, observed_at = excluded.observed_at,"
            " received_at = excluded.received_at WHERE excluded.observed_at >= weather.observed_at",
            (store, observation.to_json().decode(), observation.observed_at, received_at),
        )
        return cur.rowcount > 0


def latest_weather(cache: Cache, store: str) -> Observation | None:
    rows = cache.query("SELECT body FROM weather WHERE store = ?", (store,))
    return Observation.from_json(rows[0][0]) if rows else None
