"""Writes from the point of sale: one basket's lines into ``sales`` and one "sale" event, together.

The rows feed "Trending in this store" (``decisions.trends``); the event takes the basket to head
office. Both are written in one transaction, so a basket is never counted here and lost there,
or the other way round.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .db import Cache
from .outbox import Outbox


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_lines(lines: Sequence[Mapping]) -> list[tuple[str, int, int]]:
    if isinstance(lines, str | bytes) or not isinstance(lines, Sequence) or not lines:
        raise ValueError("a sale needs at least one line")
    out = []
    for n, line in enumerate(lines, 1):
        if not isinstance(line, Mapping):
            raise ValueError(f"line {n}: not a mapping of sku, qty and amount_cents")
        for name in ("sku", "qty", "amount_cents"):
            if name not in line:
                raise ValueError(f"line {n}: {name} is missing")
        sku, qty, amount = line["sku"], line["qty"], line["amount_cents"]
        if not isinstance(sku, str) or not sku.strip():
            raise ValueError(f"line {n}: sku must be a non-empty string, got {sku!r}")
        if not _is_int(qty) or qty < 1:
            raise ValueError(f"line {n} ({sku}): qty must be an integer >= 1, got {qty!r}")
        if not _is_int(amount) or amount < 0:
            raise ValueError(f"line {n} ({sku}): amount_cents must be an integer >= 0, got {amount!r}")
        out.append((sku, qty, amount))
    return out


def record_sale(cache: Cache, outbox: Outbox, *, basket_id: str, lines: Sequence[Mapping], at: float,
                profile_id: str | None = None) -> str:
    """Record one basket: a ``sales`` row per line and one "sale" event, in one transaction.

    ``lines`` are ``{"sku", "qty", "amount_cents"}`` (``amount_cents`` is the line's total);
    ``at`` is the sale's time in unix seconds. Everything is checked before anything is written;
    a bad argument raises ValueError naming the line and field. Returns the event id.
    """
    if not isinstance(basket_id, str) or not basket_id:
        raise ValueError(f"basket_id must be a non-empty string, got {basket_id!r}")
    if not isinstance(at, int | float) or isinstance(at, bool) or not math.isfinite(at):
        raise ValueError(f"at must be unix seconds, got {at!r}")
    if profile_id is not None and (not isinstance(profile_id, str) or not profile_id):
        raise ValueError(f"profile_id must be a non-empty string or None, got {profile_id!r}")
    checked = _checked_lines(lines)
    payload = {"basket_id": basket_id, "at": at, "profile_id": profile_id,
               "lines": [{"sku": s, "qty": q, "amount_cents": a} for s, q, a in checked]}
    with cache.transaction() as conn:
        conn.executemany(
            "INSERT INTO sales (basket_id, sku, qty, amount_cents, at, profile_id) VALUES (?, ?, ?, ?, ?, ?)",
            [(basket_id, s, q, a, float(at), profile_id) for s, q, a in checked],
        )
        return outbox.append(conn, "sale", payload)
