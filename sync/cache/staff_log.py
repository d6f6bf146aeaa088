"""The staff tablet's assisted sales: one row per customer a staff member served, and its event.

A conversation with one customer has one outcome. Tapping another outcome for the same customer (Contacted,
then Purchased, then Add-on sold) amends the conversation's row and sends the event again with the same
``conversation_id``; head office keeps the latest event of each conversation (``central.reports``).

The outbox empties on every ack, so the staff member's own KPIs ("Today": contacts, conversion,
add-ons) are read from the device-local ``assisted_sales`` table (schema v4) instead. The row and
the ``assisted_sale`` event are written in one transaction. Erasure (``profiles.purge_profile``)
keeps the rows for the KPIs but drops the profile id from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .db import Cache
from .outbox import Outbox

RETENTION_S = 35 * 24 * 3600  # KPIs look back a day; keep a month for a staff member's weekly view at most


@dataclass(frozen=True)
class Recorded:
    event_id: str
    row_id: int  # the conversation's row: pass it as ``amends`` to change its outcome


@dataclass(frozen=True)
class AssistedSale:
    staff_id: str
    profile_id: str | None
    contacted: bool
    purchased: bool
    add_ons: int
    at: float


def record_assisted_sale(cache: Cache, outbox: Outbox, *, staff_id: str, profile_id: str | None, contacted: bool,
                         purchased: bool, add_ons: int, basket: Sequence[str] = (), at: float,
                         conversation_id: str, amends: int | None = None) -> Recorded:
    """Remember the outcome of one conversation, made at ``at`` (unix seconds), on this device and tell head
    office, in one transaction. ``amends``: the row of this conversation's earlier outcome, replaced.

    ``basket`` (skus) goes to head office only; the local row keeps the counts.
    """
    if isinstance(add_ons, bool) or not isinstance(add_ons, int) or add_ons < 0:
        raise ValueError(f"add_ons must be a whole number of at least 0, not {add_ons!r}")
    values = (staff_id, profile_id, int(contacted), int(purchased), add_ons, at)
    with cache.transaction() as conn:
        if amends is None:
            row_id = conn.execute(
                "INSERT INTO assisted_sales (staff_id, profile_id, contacted, purchased, add_ons, at)"
                " VALUES (?, ?, ?, ?, ?, ?)", values).lastrowid
        else:
            row_id = amends
            changed = conn.execute(
                "UPDATE assisted_sales SET staff_id = ?, profile_id = ?, contacted = ?, purchased = ?, add_ons = ?,"
                " at = ? WHERE id = ?", (*values, amends)).rowcount
            if changed != 1:
                raise ValueError(f"no assisted sale {amends} to amend")
        event_id = outbox.append(conn, "assisted_sale", {
            "staff_id": staff_id, "profile_id": profile_id, "channel": "tablet", "conversation_id": conversation_id,
            "outcome": {"contacted": bool(contacted), "purchased": bool(purchased), "add_ons": add_ons},
            "basket": list(basket), "at": at,
        })
        conn.execute("DELETE FROM assisted_sales WHERE at < ?", (at - RETENTION_S,))
    return Recorded(event_id, row_id)


def assisted_sales_since(cache: Cache, staff_id: str, since: float, until: float | None = None) -> list[AssistedSale]:
    """One staff member's assisted sales at or after ``since`` (and before ``until``), oldest first."""
    rows = cache.query(
        "SELECT staff_id, profile_id, contacted, purchased, add_ons, at FROM assisted_sales"
        " WHERE staff_id = ? AND at >= ? AND at < ? ORDER BY at, id",
        (staff_id, since, float("inf") if until is None else until),
    )
    return [AssistedSale(s, p, bool(c), bool(b), a, at) for s, p, c, b, a, at in rows]
