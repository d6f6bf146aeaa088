"""The offer playbook that head office writes: validated and compiled once per load.

Every error names the offer and the field, e.g.
``offer OFF-RAIN: conditions.any[0].weather: 'drizzle' is not one of clear, cloudy, rain, snow, storm``.

Offer fields beyond the bundle schema (``sync/protocol/content.py``):

- ``schedule``: ``{"from": "2026-11-01", "to": "2027-03-31", "weekdays": [...], "hours": [{"from", "to"}]}``,
  dates inclusive in the store's local date;
- ``caps``: ``per_customer_per_day``, ``per_customer_per_week`` (calendar day / ISO week in the store's
  time zone) and ``per_device_per_hour`` (rolling hour);
- ``variants``: ``[{"id": "price", "title": {...}, "audience": <condition>}]``: copy by audience, first
  match wins, the offer's own ``title`` otherwise;
- ``experiment``: ``{"salt": "exp-42", "holdout_pct": 10, "arms": {"price": 45, "novelty": 45}}``:
  arms name variants; shoppers in the holdout never see the offer;
- ``adaptive: true``: variants chosen by Thompson sampling (see ``bandit.py``);
- ``benefit.skus``: every product a combo needs, all of which must be in stock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from .conditions import ALWAYS, Node, PlaybookError, compile_condition
from .context import CHANNELS, WEEKDAYS, in_window, parse_hhmm

CAP_KEYS = ("per_customer_per_day", "per_customer_per_week", "per_device_per_hour")


@dataclass(frozen=True)
class Variant:
    id: str
    title: Mapping[str, str]
    audience: Node = ALWAYS


@dataclass(frozen=True)
class Experiment:
    salt: str
    holdout_pct: float
    arms: tuple[tuple[str, float], ...]  # (variant id, percent)


@dataclass
class Offer:
    id: str
    priority: int
    channels: frozenset[str]
    title: Mapping[str, str]
    raw: Mapping
    sku: str | None = None
    products: tuple[str, ...] = ()
    condition: Node = ALWAYS
    date_from: date | None = None
    date_to: date | None = None
    weekdays: frozenset[str] | None = None
    hours: tuple[tuple[str, str], ...] = ()
    caps: Mapping[str, int] = field(default_factory=dict)
    variants: tuple[Variant, ...] = ()
    experiment: Experiment | None = None
    adaptive: bool = False

    @property
    def tier(self) -> int:
        """Priority tier: priorities 90-99 are one tier, 80-89 the next, and so on."""
        return self.priority // 10

    def scheduled(self, local: datetime) -> bool:
        today = local.date()
        if self.date_from and today < self.date_from or self.date_to and today > self.date_to:
            return False
        if self.weekdays is not None and WEEKDAYS[local.weekday()] not in self.weekdays:
            return False
        return not self.hours or any(in_window(local, a, b) for a, b in self.hours)


@dataclass(frozen=True)
class Playbook:
    offers: tuple[Offer, ...]
    by_channel: Mapping[str, tuple[Offer, ...]]
    has_hours: bool = False  # some offer is limited to hours of the day

    @classmethod
    def load(cls, raw_offers: list[Mapping], dayparts: Mapping[str, object]) -> Playbook:
        """Validate and compile every offer; the first error raises PlaybookError naming offer and field."""
        offers = tuple(compile_offer(o, dayparts) for o in raw_offers)
        by_channel = {c: tuple(o for o in offers if c in o.channels) for c in CHANNELS}
        return cls(offers, by_channel, any(o.hours for o in offers))


def compile_offer(raw: Mapping, dayparts: Mapping[str, object]) -> Offer:
    oid = raw.get("id")
    if not isinstance(oid, str) or not oid:
        raise PlaybookError("offer without an id")
    where = f"offer {oid}"

    def fail(field_name: str, message: str) -> PlaybookError:
        return PlaybookError(f"{where}: {field_name}: {message}")

    priority = raw.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 999:
        raise fail("priority", "must be a whole number from 0 to 999")
    channels = raw.get("channels")
    if not isinstance(channels, list) or not channels:
        raise fail("channels", f"must be a non-empty list of {', '.join(CHANNELS)}")
    for c in channels:
        if c not in CHANNELS:
            raise fail("channels", f"{c!r} is not one of {', '.join(CHANNELS)}")
    title = raw.get("title")
    if not is_text_map(title):
        raise fail("title", "must map language codes to text")
    sku = raw.get("sku")
    if sku is not None and not isinstance(sku, str):
        raise fail("sku", "must be a product sku")
    benefit = raw.get("benefit") or {}
    combo = benefit.get("skus", []) if isinstance(benefit, dict) else None
    if combo is None or not isinstance(combo, list) or not all(isinstance(s, str) for s in combo):
        raise fail("benefit.skus", "must be a list of skus")
    products = tuple(dict.fromkeys(([sku] if sku else []) + combo))
    _price_terms(raw.get("discount"), benefit, fail)

    offer = Offer(oid, priority, frozenset(channels), title, raw, sku=sku, products=products,
                  condition=compile_condition(raw.get("conditions"), f"{where}: conditions", dayparts))
    _schedule(offer, raw.get("schedule"), fail)
    caps = raw.get("caps") or {}
    if not isinstance(caps, dict):
        raise fail("caps", "must be an object")
    for key, value in caps.items():
        if key not in CAP_KEYS:
            raise fail(f"caps.{key}", f"unknown cap; known: {', '.join(CAP_KEYS)}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise fail(f"caps.{key}", "must be a whole number of at least 1")
    offer.caps = dict(caps)
    offer.variants = tuple(_variants(raw.get("variants") or [], where, dayparts, fail))
    offer.experiment = _experiment(raw.get("experiment"), offer.variants, fail)
    adaptive = raw.get("adaptive", False)
    if not isinstance(adaptive, bool):
        raise fail("adaptive", "must be true or false")
    if adaptive and len(offer.variants) < 2:
        raise fail("adaptive", "needs at least two variants to choose between")
    offer.adaptive = adaptive
    return offer


def _price_terms(discount: object, benefit: Mapping, fail) -> None:
    """A price the shopper would see must be a price: a percentage off from 0 to 100, whole cents."""
    if discount is not None:
        percent = discount.get("percent") if isinstance(discount, dict) else None
        if not isinstance(discount, dict) or not _is_number(percent) or not 0 <= percent <= 100:
            raise fail("discount.percent", f"{percent!r} is not a percentage from 0 to 100")
    cents = benefit.get("price_cents")
    if cents is not None and (not isinstance(cents, int) or isinstance(cents, bool) or cents < 0):
        raise fail("benefit.price_cents", f"{cents!r} is not a whole number of cents")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_text_map(value: object) -> bool:
    """A text in one or more languages: ``{"en": "...", "bg": "..."}``."""
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _schedule(offer: Offer, schedule: object, fail) -> None:
    if schedule is None:
        return
    if not isinstance(schedule, dict):
        raise fail("schedule", "must be an object")
    for key in ("from", "to"):
        if key in schedule:
            try:
                setattr(offer, f"date_{key}", date.fromisoformat(schedule[key]))
            except (TypeError, ValueError):
                raise fail(f"schedule.{key}", "must be a date like 2026-11-22") from None
    if offer.date_from and offer.date_to and offer.date_from > offer.date_to:
        raise fail("schedule", "'from' is after 'to'")
    if "weekdays" in schedule:
        days = schedule["weekdays"]
        if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
            raise fail("schedule.weekdays", f"must be a list of {', '.join(WEEKDAYS)}")
        offer.weekdays = frozenset(days)
    hours = []
    for i, window in enumerate(schedule.get("hours") or []):
        try:
            parse_hhmm(window["from"]), parse_hhmm(window["to"])
        except (TypeError, KeyError, ValueError):
            raise fail(f"schedule.hours[{i}]", "must be {'from': 'HH:MM', 'to': 'HH:MM'}") from None
        hours.append((window["from"], window["to"]))
    offer.hours = tuple(hours)


def _variants(raw: list, where: str, dayparts, fail) -> list[Variant]:
    if not isinstance(raw, list):
        raise fail("variants", "must be a list")
    out, seen = [], set()
    for i, v in enumerate(raw):
        if not isinstance(v, dict) or not isinstance(v.get("id"), str) or v["id"] in seen:
            raise fail(f"variants[{i}].id", "each variant needs a unique text id")
        if not is_text_map(v.get("title")):
            raise fail(f"variants[{i}].title", "must map language codes to text")
        seen.add(v["id"])
        out.append(Variant(v["id"], v["title"],
                           compile_condition(v.get("audience"), f"{where}: variants[{i}].audience", dayparts)))
    return out


def _experiment(raw: object, variants: tuple[Variant, ...], fail) -> Experiment | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("salt"), str) or not raw["salt"]:
        raise fail("experiment.salt", "must be a non-empty text")
    holdout = raw.get("holdout_pct", 0)
    arms = raw.get("arms") or {}
    if not isinstance(holdout, int | float) or isinstance(holdout, bool) or not 0 <= holdout < 100:
        raise fail("experiment.holdout_pct", "must be a percentage from 0 to below 100")
    if not isinstance(arms, dict) or not arms:
        raise fail("experiment.arms", "must map variant ids to percentages")
    known = {v.id for v in variants} | {"default"}
    for arm, pct in arms.items():
        if arm not in known:
            raise fail(f"experiment.arms.{arm}", "names no variant of this offer ('default' is the offer's title)")
        if not isinstance(pct, int | float) or isinstance(pct, bool) or pct <= 0:
            raise fail(f"experiment.arms.{arm}", "must be a positive percentage")
    if abs(holdout + sum(arms.values()) - 100) > 1e-9:
        raise fail("experiment", "holdout_pct and the arms must add up to 100")
    return Experiment(raw["salt"], float(holdout), tuple((a, float(p)) for a, p in arms.items()))
