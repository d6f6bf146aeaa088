"""Proof of play as the players report it: a player's hourly summary (``hour_start``, ``items``: item, zone,
plays, full plays, seconds), or the older one-play event (``item``, ``duration_s``, ``started_at``). Ingest
stores the plays (``play_hours``) and the daily rollups count them, from this one reading."""

from __future__ import annotations


def _non_negative(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else None


def plays_of(payload: dict, at: float) -> list[tuple[str, str, float, int, int, float]]:
    """(item, zone, started_at, plays, full plays, seconds) from a player's hourly summary (``hour_start``,
    ``items``), or from one play (``item``, ``duration_s``, ``started_at``); a malformed entry is left out."""
    if isinstance(payload.get("items"), list):
        start = _non_negative(payload.get("hour_start"))
        out = []
        for entry in payload["items"] if start is not None else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("item"), str) or not entry["item"]:
                continue
            n, full, secs = (_non_negative(entry.get(k)) for k in ("plays", "full_plays", "seconds"))
            if n is not None:
                out.append((entry["item"][:200], str(entry.get("zone") or "")[:100], start, int(n),
                            int(full if full is not None else n), secs or 0.0))
        return out
    item = payload.get("item") or payload.get("content_item") or payload.get("id")
    if not isinstance(item, str | int) or isinstance(item, bool) or not str(item):
        return []
    started = _non_negative(payload.get("started_at")) or _non_negative(payload.get("at")) or at
    return [(str(item)[:200], "", started, 1, 1, _non_negative(payload.get("duration_s")) or 0.0)]
