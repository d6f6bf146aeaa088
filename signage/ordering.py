"""The order a playlist's items play in: one small class per rule, all with ``next() -> Slot``.

``sequential`` plays the list round and round; ``shuffle`` plays every item once per round in a new
random order (never the same item twice across a round's seam when there are two or more);
``weighted`` draws each next item with probability proportional to its weight, again avoiding an
immediate repeat. The random ones take a seed, so tests and replays are exact.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """One place in a playlist: which item, for how long (None: the item's own duration), how often."""

    item: str
    duration_s: float | None = None
    weight: float = 1.0

    @classmethod
    def from_doc(cls, value: object) -> Slot:
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping) and isinstance(value.get("item"), str):
            weight = float(value.get("weight", 1.0))
            if weight < 0:
                raise ValueError(f"playlist slot {value['item']!r}: weight must not be negative")
            duration = value.get("duration_s")
            return cls(value["item"], float(duration) if duration is not None else None, weight)
        raise ValueError(f"playlist slot {value!r} is neither an item id nor {{'item': id, ...}}")


class Sequential:
    def __init__(self, slots: Sequence[Slot], seed: int = 0):
        self.slots = list(slots)
        self._i = 0

    def next(self) -> Slot:
        slot = self.slots[self._i % len(self.slots)]
        self._i += 1
        return slot


class Shuffled:
    def __init__(self, slots: Sequence[Slot], seed: int = 0):
        self.slots = list(slots)
        self._rng = random.Random(seed)
        self._round: list[Slot] = []
        self._last: Slot | None = None

    def next(self) -> Slot:
        if not self._round:
            self._round = self.slots[:]
            self._rng.shuffle(self._round)
            if len(self._round) > 1 and self._round[-1] == self._last:
                self._round[0], self._round[-1] = self._round[-1], self._round[0]
        self._last = self._round.pop()
        return self._last


class Weighted:
    def __init__(self, slots: Sequence[Slot], seed: int = 0):
        self.slots = [s for s in slots if s.weight > 0] or list(slots)
        self._rng = random.Random(seed)
        self._last: Slot | None = None

    def next(self) -> Slot:
        pool = [s for s in self.slots if s != self._last] if len(self.slots) > 1 else self.slots
        self._last = self._rng.choices(pool, weights=[s.weight or 1.0 for s in pool])[0]
        return self._last


ORDERS = {"sequential": Sequential, "in_order": Sequential, "shuffle": Shuffled, "shuffled": Shuffled,
          "weighted": Weighted}


def orderer(order: str | None, slots: Sequence[Slot], seed: int = 0) -> Sequential | Shuffled | Weighted:
    """The orderer for a playlist's ``order`` (default sequential); ValueError names an unknown one."""
    if not slots:
        raise ValueError("a playlist needs at least one item")
    cls = ORDERS.get(order or "sequential")
    if cls is None:
        raise ValueError(f"order {order!r} is not one of {', '.join(sorted(ORDERS))}")
    return cls(slots, seed)
