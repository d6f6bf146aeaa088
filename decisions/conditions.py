"""The playbook's condition language: ``all`` / ``any`` / ``not`` over leaves of one key each.

A condition is compiled once, when the playbook loads (errors name the offer and the path),
into a tree of small objects. Evaluating it is a boolean pass with per-decision memoisation of
leaves (many offers share ``{"daypart": "morning"}``); the plain-words reasons are produced only
for the offers that are finally shown.

Leaves (a list value matches any of its items):

| leaf | true when |
|---|---|
| ``{"segment": "coffee_lover"}`` | the profile has the segment (personal) |
| ``{"tier": "champions"}`` | the profile's RFM tier (personal) |
| ``{"customer": "new"}`` / ``"returning"`` | RFM tier ``new`` or no visit on record (personal) |
| ``{"days_since_visit": {"min": 30, "max": 90}}`` | days since the last visit, bounds inclusive (personal) |
| ``{"bought": {"sku": "COF-003", "min_times": 3, "within_days": 30}}`` | affinity (personal; or ``"category"``) |
| ``{"bought_category": "pastry"}`` | bought anything in the category within a year (personal) |
| ``{"identified": true}`` | a consenting profile is known |
| ``{"store": "s001"}``, ``{"region": "south"}`` | where the screen is |
| ``{"daypart": "morning"}``, ``{"weekday": ["sat", "sun"]}`` | store local time |
| ``{"temperature_band": "cold"}``, ``{"temperature_c": {"max": 8}}`` | current weather (unknown: false) |
| ``{"weather": "rain"}``, ``{"precipitation": true}`` | condition code, or any rain/snow now |
| ``{"basket_contains": "COF-003"}``, ``{"basket_category": "coffee"}`` | the staff tablet's basket |
| ``{"in_stock": "PAS-001"}``, ``{"stock_at_least": {"sku": "PAS-001", "units": 5}}`` | store stock |

Personal leaves are false for an anonymous shopper, and a shopper who did not consent to
personal offers is anonymous to the engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from .context import TEMPERATURE_BANDS, WEATHER_CODES, WEEKDAYS, Context
from .reasons import Listing, Reason, Term, in_stock, terms
from .shopper import Shopper


class PlaybookError(ValueError):
    """A playbook entry that cannot be used; the message names the offer and the field."""


class Facts:
    """Everything leaves look at, for one decision, with a memo of leaf results."""

    def __init__(self, ctx: Context, shopper: Shopper, *, stock: Callable[[str], int | None],
                 category_of: Mapping[str, str], name_of: Callable[[str], str]):
        self.ctx = ctx
        self.shopper = shopper
        self.now: datetime = ctx.now
        self.local = ctx.local
        self.daypart = ctx.daypart
        self.weekday = ctx.weekday
        self.weather = ctx.current_weather
        self.stock = stock
        self.category_of = category_of
        self.name_of = name_of
        self.basket = frozenset(ctx.basket)
        self.basket_categories = frozenset(category_of.get(s) for s in ctx.basket)
        self.memo: dict[str, bool] = {}


class Node:
    personal = False

    def test(self, f: Facts) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def residual(self, f: Facts) -> Node | bool:
        """Partial evaluation from context alone: what is left to ask of the shopper.

        True or False when the context settles it (False: nobody can see the offer now);
        otherwise the smaller tree of shopper leaves that remains. Offers left with the same
        residual (same ``key``) share one evaluation per decision.
        """
        raise NotImplementedError

    def reasons(self, f: Facts) -> list[str]:
        """Plain words for why this node holds (call only when test() is True)."""
        raise NotImplementedError


@dataclass
class All(Node):
    children: list[Node]

    def test(self, f: Facts) -> bool:
        return all(c.test(f) for c in self.children)

    def __post_init__(self) -> None:
        self.personal = any(c.personal for c in self.children)
        self.key = "all(" + ",".join(c.key for c in self.children) + ")"

    def residual(self, f: Facts) -> Node | bool:
        rest = []
        for c in self.children:
            r = c.residual(f)
            if r is False:
                return False
            if r is not True:
                rest.append(r)
        return True if not rest else rest[0] if len(rest) == 1 else All(rest)

    def reasons(self, f: Facts) -> list[str]:
        return [r for c in self.children for r in c.reasons(f)]


@dataclass
class Any(Node):
    children: list[Node]

    def test(self, f: Facts) -> bool:
        return any(c.test(f) for c in self.children)

    def __post_init__(self) -> None:
        self.personal = any(c.personal for c in self.children)
        self.key = "any(" + ",".join(c.key for c in self.children) + ")"

    def residual(self, f: Facts) -> Node | bool:
        rest = []
        for c in self.children:
            r = c.residual(f)
            if r is True:
                return True
            if r is not False:
                rest.append(r)
        return False if not rest else rest[0] if len(rest) == 1 else Any(rest)

    def reasons(self, f: Facts) -> list[str]:
        return next((c.reasons(f) for c in self.children if c.test(f)), [])


@dataclass
class Not(Node):
    child: Node

    def test(self, f: Facts) -> bool:
        return not self.child.test(f)

    def __post_init__(self) -> None:
        self.personal = self.child.personal
        self.key = "not(" + self.child.key + ")"

    def residual(self, f: Facts) -> Node | bool:
        r = self.child.residual(f)
        return (not r) if isinstance(r, bool) else Not(r)

    def reasons(self, f: Facts) -> list[str]:
        return []


@dataclass
class Leaf(Node):
    key: str
    check: Callable[[Facts], bool]
    explain: Callable[[Facts], str]
    personal: bool = False

    def test(self, f: Facts) -> bool:
        hit = f.memo.get(self.key)
        if hit is None:
            hit = f.memo[self.key] = bool(self.check(f))
        return hit

    def residual(self, f: Facts) -> Node | bool:
        return self if self.personal else self.test(f)

    def reasons(self, f: Facts) -> list[str]:
        return [self.explain(f)]


class Always(Node):
    key = "true"

    def test(self, f: Facts) -> bool:
        return True

    def residual(self, f: Facts) -> Node | bool:
        return True

    def reasons(self, f: Facts) -> list[str]:
        return []


ALWAYS = Always()


def compile_condition(cond: object, where: str, dayparts: Mapping[str, object]) -> Node:
    """Compile a condition tree; raise PlaybookError naming ``where`` (e.g. "offer X: conditions.all[1]")."""
    if cond is None:
        return ALWAYS
    if not isinstance(cond, dict) or len(cond) != 1:
        raise PlaybookError(f"{where}: a condition is an object with exactly one key")
    (kind, value), = cond.items()
    if kind in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise PlaybookError(f"{where}.{kind}: must be a non-empty list of conditions")
        children = [compile_condition(c, f"{where}.{kind}[{i}]", dayparts) for i, c in enumerate(value)]
        return All(children) if kind == "all" else Any(children)
    if kind == "not":
        return Not(compile_condition(value, f"{where}.not", dayparts))
    builder = LEAVES.get(kind)
    if builder is None:
        raise PlaybookError(f"{where}: unknown condition {kind!r}; known: all, any, not, {', '.join(sorted(LEAVES))}")
    key = kind + "=" + json.dumps(value, sort_keys=True)
    check, explain, personal = builder(value, f"{where}.{kind}", dayparts)
    return Leaf(key, check, explain, personal)


# --- leaf builders: (value, where, dayparts) -> (check, explain, personal) ---------------------

def _names(value: object, where: str, allowed: tuple[str, ...] | None = None) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
        raise PlaybookError(f"{where}: must be a name or a non-empty list of names")
    if allowed is not None:
        bad = [v for v in items if v not in allowed]
        if bad:
            raise PlaybookError(f"{where}: {bad[0]!r} is not one of {', '.join(allowed)}")
    return frozenset(items)


def _bounds(value: object, where: str, keys: tuple[str, ...] = ("min", "max")) -> tuple[float | None, ...]:
    if not isinstance(value, dict) or not value or set(value) - set(keys):
        raise PlaybookError(f"{where}: must be an object with {' and/or '.join(keys)}")
    out = []
    for k in keys:
        v = value.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise PlaybookError(f"{where}.{k}: must be a number")
        out.append(v)
    return tuple(out)


def _within(x: float | None, lo: float | None, hi: float | None) -> bool:
    return x is not None and (lo is None or x >= lo) and (hi is None or x <= hi)


def _profile(f: Facts) -> Mapping:
    return f.shopper.profile or {}


def _segment(value, where, dayparts):
    names = _names(value, where)
    return (lambda f: bool(names & set(_profile(f).get("segments") or ())),
            lambda f: Reason("in segment {segments}",
                             segments=terms(sorted(names & set(_profile(f).get("segments") or ())))), True)


def _tier(value, where, dayparts):
    names = _names(value, where)

    def tier(f: Facts) -> str | None:
        return (_profile(f).get("rfm") or {}).get("tier")

    return (lambda f: tier(f) in names, lambda f: Reason("RFM tier: {tier}", tier=Term(tier(f))), True)


def _customer(value, where, dayparts):
    if value not in ("new", "returning"):
        raise PlaybookError(f"{where}: must be 'new' or 'returning'")

    def is_new(f: Facts) -> bool:
        p = _profile(f)
        return (p.get("rfm") or {}).get("tier") == "new" or not p.get("last_visit")

    return (lambda f: f.shopper.personal and is_new(f) == (value == "new"),
            lambda f: Reason("new customer" if value == "new" else "returning customer"), True)


def _days_since_visit(value, where, dayparts):
    lo, hi = _bounds(value, where)

    def days(f: Facts) -> int | None:
        return f.shopper.days_since_visit(f.local.date())

    return (lambda f: _within(days(f), lo, hi),
            lambda f: Reason("last visit {n} day ago", plural="last visit {n} days ago", n=days(f)), True)


def _bought(value, where, dayparts):
    if not isinstance(value, dict) or ("sku" in value) == ("category" in value):
        raise PlaybookError(f"{where}: needs exactly one of 'sku' or 'category'")
    target = value.get("sku") or value.get("category")
    times, days = value.get("min_times", 1), value.get("within_days", 30)
    if not isinstance(target, str) or not isinstance(times, int) or not isinstance(days, int) or times < 1:
        raise PlaybookError(f"{where}: sku/category must be text, min_times and within_days whole numbers")
    by_sku = "sku" in value

    def count(f: Facts) -> int:
        if by_sku:
            return f.shopper.bought(f.now, days, sku=target)
        return f.shopper.bought(f.now, days, category=target, category_of=f.category_of)

    def explain(f: Facts) -> str:
        what = f.name_of(target) if by_sku else Term(target)
        return Reason("bought {what} once in {days} days", plural="bought {what} {n} times in {days} days",
                      n=count(f), what=what, days=days)

    return (lambda f: count(f) >= times, explain, True)


def _bought_category(value, where, dayparts):
    names = _names(value, where)

    def cats(f: Facts) -> set[str]:
        return {f.category_of.get(line["sku"]) for line in f.shopper.history} & names

    return (lambda f: bool(cats(f)),
            lambda f: Reason("has bought {categories}", categories=terms(sorted(cats(f)))), True)


def _identified(value, where, dayparts):
    if not isinstance(value, bool):
        raise PlaybookError(f"{where}: must be true or false")
    return (lambda f: f.shopper.personal == value,
            lambda f: Reason("identified shopper" if value else "anonymous shopper"), True)


def _place(attr: str, template: str):
    def build(value, where, dayparts):
        names = _names(value, where)
        return (lambda f: getattr(f.ctx, attr) in names, lambda f: Reason(template, name=getattr(f.ctx, attr)), False)
    return build


def _daypart(value, where, dayparts):
    names = _names(value, where, tuple(dayparts))
    return (lambda f: f.daypart in names,
            lambda f: Reason("{daypart} ({time})", daypart=Term(f.daypart), time=f"{f.local:%H:%M}"), False)


def _weekday(value, where, dayparts):
    names = _names(value, where, WEEKDAYS)
    return (lambda f: f.weekday in names, lambda f: Reason("on {weekday}", weekday=Term(f"{f.local:%A}")), False)


def _temperature_band(value, where, dayparts):
    names = _names(value, where, TEMPERATURE_BANDS)
    return (lambda f: f.weather is not None and f.weather.band in names,
            lambda f: Reason("{temperature:.0f} °C outside ({band})", temperature=f.weather.temperature_c,
                             band=Term(f.weather.band)), False)


def _temperature_c(value, where, dayparts):
    lo, hi = _bounds(value, where)
    return (lambda f: f.weather is not None and _within(f.weather.temperature_c, lo, hi),
            lambda f: Reason("{temperature:.0f} °C outside", temperature=f.weather.temperature_c), False)


def _weather(value, where, dayparts):
    names = _names(value, where, WEATHER_CODES)
    return (lambda f: f.weather is not None and f.weather.condition in names,
            lambda f: f.weather.describe(), False)


def _precipitation(value, where, dayparts):
    if not isinstance(value, bool):
        raise PlaybookError(f"{where}: must be true or false")
    return (lambda f: f.weather is not None and f.weather.wet == value,
            lambda f: f.weather.describe(), False)


def _basket_contains(value, where, dayparts):
    names = _names(value, where)
    return (lambda f: bool(names & f.basket),
            lambda f: Reason("{items} in the basket", items=Listing(f.name_of(s) for s in sorted(names & f.basket))),
            False)


def _basket_category(value, where, dayparts):
    names = _names(value, where)
    return (lambda f: bool(names & f.basket_categories),
            lambda f: Reason("{items} in the basket", items=terms(sorted(names & f.basket_categories))), False)


def _in_stock(value, where, dayparts):
    if not isinstance(value, str) or not value:
        raise PlaybookError(f"{where}: must be a sku")
    return (lambda f: (f.stock(value) or 0) > 0, lambda f: in_stock(f.name_of(value), f.stock(value)), False)


def _stock_at_least(value, where, dayparts):
    if not isinstance(value, dict) or not isinstance(value.get("sku"), str) or not isinstance(value.get("units"), int):
        raise PlaybookError(f"{where}: must be {{'sku': ..., 'units': n}}")
    sku, units = value["sku"], value["units"]
    return (lambda f: (f.stock(sku) or 0) >= units, lambda f: in_stock(f.name_of(sku), f.stock(sku)), False)


LEAVES: dict[str, Callable] = {
    "segment": _segment, "tier": _tier, "customer": _customer, "days_since_visit": _days_since_visit,
    "bought": _bought, "bought_category": _bought_category, "identified": _identified,
    "store": _place("store", "store {name}"), "region": _place("region", "region {name}"),
    "daypart": _daypart, "weekday": _weekday,
    "temperature_band": _temperature_band, "temperature_c": _temperature_c, "weather": _weather,
    "precipitation": _precipitation, "basket_contains": _basket_contains, "basket_category": _basket_category,
    "in_stock": _in_stock, "stock_at_least": _stock_at_least,
}
