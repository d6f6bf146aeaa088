"""Frequency caps: per customer per calendar day and ISO week in the store's time zone, per
device per rolling hour.

The engine does not count; the caller asks the cache how many times each offer was shown since
the window starts that ``windows()`` gives, and passes the counts in ``CapCounts``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .playbook import Offer


@dataclass(frozen=True)
class CapWindows:
    day_start: float   # unix time of local midnight today
    week_start: float  # unix time of local midnight on this week's Monday
    hour_start: float  # one hour ago


def windows(now: datetime, timezone: str) -> CapWindows:
    local = now.astimezone(ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    monday = midnight - timedelta(days=local.weekday())
    # Rebuild the Monday from its date so a DST change during the week lands on the right midnight.
    monday = datetime(monday.year, monday.month, monday.day, tzinfo=local.tzinfo)
    return CapWindows(midnight.timestamp(), monday.timestamp(), (now - timedelta(hours=1)).timestamp())


@dataclass(frozen=True)
class CapCounts:
    customer_day: Mapping[str, int] = field(default_factory=dict)
    customer_week: Mapping[str, int] = field(default_factory=dict)
    device_hour: Mapping[str, int] = field(default_factory=dict)


def count(window: CapWindows, shown_since: Callable[[float, str | None], Mapping[str, int]],
          profile_id: str | None) -> CapCounts:
    """Ask ``shown_since(since, profile_id)`` (the cache's impressions, e.g.
    ``lambda s, p: impressions_since(cache, s, p)``) for every window a cap looks at."""
    if profile_id is None:
        return CapCounts(device_hour=shown_since(window.hour_start, None))
    return CapCounts(shown_since(window.day_start, profile_id), shown_since(window.week_start, profile_id),
                     shown_since(window.hour_start, None))


def capped(offer: Offer, counts: CapCounts, personal: bool) -> str | None:
    """The cap this offer has reached, or None. Customer caps count only for a known shopper."""
    caps = offer.caps
    if "per_device_per_hour" in caps and counts.device_hour.get(offer.id, 0) >= caps["per_device_per_hour"]:
        return "per_device_per_hour"
    if personal:
        if "per_customer_per_day" in caps and counts.customer_day.get(offer.id, 0) >= caps["per_customer_per_day"]:
            return "per_customer_per_day"
        if ("per_customer_per_week" in caps
                and counts.customer_week.get(offer.id, 0) >= caps["per_customer_per_week"]):
            return "per_customer_per_week"
    return None
