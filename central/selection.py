"""Which customers each store caches: those seen there lately, plus the likeliest to come.

A store gets every customer seen in it in the last ``days`` days, plus the ``top`` others of its
past customers by likelihood of visit: their visits there per 30 days of acquaintance, halved for
every 30 days since the last one (a regular who stopped coming fades; one who came twice a
year ago is not worth a slot). Ties go to the smaller profile id, so the choice is deterministic.
"""

from __future__ import annotations

from .db import Database

DAY = 86_400.0


def visit_likelihood(first_seen: float, last_seen: float, visits: int, now: float) -> float:
    span_days = max(30.0, (now - first_seen) / DAY)
    return visits * 30.0 / span_days * 0.5 ** (max(0.0, now - last_seen) / DAY / 30.0)


def choose_customers(db: Database, store: str, *, now: float, days: int, top: int) -> list[str]:
    since = now - days * DAY
    recent = [r[0] for r in db.execute(
        "SELECT profile_id FROM profile_stores WHERE store = ? AND last_seen >= ? ORDER BY profile_id", (store, since))]
    others = db.execute("SELECT profile_id, first_seen, last_seen, visits FROM profile_stores"
                        " WHERE store = ? AND last_seen < ?", (store, since))
    ranked = sorted(others, key=lambda r: (-visit_likelihood(r[1], r[2], r[3], now), r[0]))
    return recent + [r[0] for r in ranked[:top]]
