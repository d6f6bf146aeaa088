"""Who is in front of the screen, as far as the engine may know."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from .consent import may_personalise


@dataclass(frozen=True)
class Shopper:
    """A profile is present only when the shopper identified *and* consented to personal offers.

    ``Shopper.for_decision`` enforces that: without consent the engine sees the same anonymous
    shopper it would see had nobody identified, so no personal data can shape the decision.
    """

    profile: Mapping | None = None
    history: Sequence[Mapping] = ()  # the shopper's basket lines from the cache

    @classmethod
    def anonymous(cls) -> Shopper:
        return cls()

    @classmethod
    def for_decision(cls, profile: Mapping | None, consents: Mapping[str, str],
                     history: Sequence[Mapping] = ()) -> Shopper:
        if profile is None or not may_personalise(consents):
            return cls()
        return cls(profile=profile, history=tuple(history))

    @property
    def personal(self) -> bool:
        return self.profile is not None

    @property
    def profile_id(self) -> str | None:
        return self.profile["profile_id"] if self.profile else None

    def days_since_visit(self, today: date) -> int | None:
        last = (self.profile or {}).get("last_visit")
        if not last:
            return None
        return (today - date.fromisoformat(last[:10])).days

    def bought(self, now: datetime, within_days: int, sku: str | None = None,
               category: str | None = None, category_of: Mapping[str, str] | None = None) -> int:
        """How many times the shopper bought a sku (or anything in a category) in the window."""
        count = 0
        for line in self.history:
            at = datetime.fromisoformat(line["at"].replace("Z", "+00:00"))
            if (now - at).days > within_days:
                continue
            if sku is not None and line["sku"] == sku:
                count += line.get("qty", 1)
            elif category is not None and category_of and category_of.get(line["sku"]) == category:
                count += line.get("qty", 1)
        return count
