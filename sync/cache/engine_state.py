"""Device-local state the decision engine needs remembered: offers shown (for caps) and PIN attempts."""

from __future__ import annotations

from dataclasses import dataclass

from .db import Cache
from .outbox import Outbox

IMPRESSION_RETENTION_S = 8 * 24 * 3600  # caps look back at most a week


@dataclass(frozen=True)
class Shown:
    offer_id: str
    profile_id: str | None
    arm: str | None
    variant: str | None
    reasons: list[str]
    context: str | None = None  # "daypart|weather band", the cell adaptive offers learn in


def record_offers_shown(cache: Cache, outbox: Outbox, shown: list[Shown], *, channel: str,
                        held_out: list[str] = (), profile_id: str | None = None, at: float,
                        global_holdout: bool = False) -> None:
    """Remember what a screen showed at ``at`` (unix seconds; for caps) and tell head office, in one transaction.

    ``held_out``: offers this shopper would have seen but for an experiment's holdout; head office
    counts them as the control group's exposures. ``global_holdout``: the shopper is in the chain's global holdout
    (what they were shown is what anyone is shown); each ``offer_shown`` says so, and head office measures the
    programme's lift against them.
    """
    with cache.transaction() as conn:
        for offer_id in held_out:
            outbox.append(conn, "offer_held_out", {"offer": offer_id, "profile_id": profile_id, "arm": "holdout",
                                                   "channel": channel})
        for s in shown:
            conn.execute("INSERT INTO impressions (offer_id, profile_id, arm, variant, at) VALUES (?, ?, ?, ?, ?)",
                         (s.offer_id, s.profile_id, s.arm, s.variant, at))
            outbox.append(conn, "offer_shown", {"offer": s.offer_id, "profile_id": s.profile_id, "arm": s.arm,
                                                "variant": s.variant, "channel": channel, "reasons": s.reasons,
                                                "context": s.context, **({"global_holdout": True} if global_holdout
                                                                         else {})})
        conn.execute("DELETE FROM impressions WHERE at < ?", (at - IMPRESSION_RETENTION_S,))


def impressions_since(cache: Cache, since: float, profile_id: str | None = None) -> dict[str, int]:
    """Offers shown since ``since`` (unix time): to one profile, or on this device when profile_id is None."""
    if profile_id is None:
        rows = cache.query("SELECT offer_id, count(*) FROM impressions WHERE at >= ? GROUP BY offer_id", (since,))
    else:
        rows = cache.query(
            "SELECT offer_id, count(*) FROM impressions WHERE profile_id = ? AND at >= ? GROUP BY offer_id",
            (profile_id, since),
        )
    return dict(rows)


def pin_state(cache: Cache, staff_id: str) -> tuple[int, float]:
    """(failed attempts in a row, locked until unix time) for one staff member."""
    rows = cache.query("SELECT failures, locked_until FROM pin_attempts WHERE staff_id = ?", (staff_id,))
    return (rows[0][0], rows[0][1]) if rows else (0, 0.0)


def save_pin_state(cache: Cache, staff_id: str, failures: int, locked_until: float) -> None:
    with cache.transaction() as conn:
        conn.execute("INSERT OR REPLACE INTO pin_attempts (staff_id, failures, locked_until) VALUES (?, ?, ?)",
                     (staff_id, failures, locked_until))
