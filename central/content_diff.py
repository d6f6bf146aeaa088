"""What new content changes against what is live, per section, in words a marketer reads: the items (by their key)
added, changed (field by field: ``priority 10 → 12``, ``copy (bg) "Кафе" → "Кафе и кифла"``) and removed. A list
whose entries name themselves (a playlist's items, a layout's zones) changes entry by entry, with its order."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sync.protocol.content import PROGRAMME_ID, SECTIONS

# A field as the console's forms name it; a field not here keeps its own name.
FIELD_WORDS = {"title": "copy", "sku": "product", "conditions": "condition", "price_cents": "price (cents)",
               "was_cents": "was price (cents)", "on_hand": "on hand", "duration_s": "seconds on screen",
               "max_per_hour": "plays per hour at most", "adaptive": "adaptive order", "share_pct": "share (%)",
               "x": "left", "y": "top", "w": "width", "h": "height"}  # a layout zone's place, as screen fractions
LANGUAGE_FIELDS = ("title", "name", "text", "category_name", "body")  # {language: text}: one change per language
# A list field whose entries name themselves (by this field; a bare string is the name), and an entry in words: each
# entry's own change.
NAMED_ENTRIES = {"items": ("item", "item"), "zones": ("id", "zone")}
LONGEST = 60  # characters of a value shown before it is cut with "…"


@dataclass(frozen=True)
class ItemChange:
    key: str
    fields: tuple[str, ...]  # one per field, in words

    @property
    def text(self) -> str:
        return f"{self.key} ({'; '.join(self.fields)})"


@dataclass(frozen=True)
class Change:
    section: str
    added: tuple[str, ...]
    changed: tuple[ItemChange, ...]
    removed: tuple[str, ...]

    @property
    def text(self) -> str:
        parts = [(w, items) for w, items in (("added", self.added), ("changed", [c.text for c in self.changed]),
                                             ("removed", self.removed)) if items]
        return f"{self.section}: " + "; ".join(f"{w} {', '.join(items)}" for w, items in parts)


def changes(live: Mapping[str, list], new: Mapping[str, list]) -> list[Change]:
    """Per section, the items (by their key) ``new`` adds, changes and removes against ``live``."""
    out = []
    for name in sorted(set(live) | set(new)):
        old, now = _by_key(name, live.get(name, [])), _by_key(name, new.get(name, []))
        diff = Change(name, tuple(sorted(now.keys() - old.keys())),
                      tuple(ItemChange(k, tuple(field_changes(old[k], now[k])))
                            for k in sorted(now.keys() & old.keys()) if now[k] != old[k]),
                      tuple(sorted(old.keys() - now.keys())))
        if diff.added or diff.changed or diff.removed:
            out.append(diff)
    return out


def field_changes(old: Mapping, new: Mapping) -> list[str]:
    """Each field that differs, in words."""
    out = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        word = FIELD_WORDS.get(name, name.replace("_", " "))
        if name in LANGUAGE_FIELDS and isinstance(a, dict) and isinstance(b, dict):
            out += [_change(f"{word} ({lang})", a.get(lang), b.get(lang)) for lang in sorted(set(a) | set(b))
                    if a.get(lang) != b.get(lang)]
        elif name in NAMED_ENTRIES and None not in (entries := (_named_entries(a, NAMED_ENTRIES[name][0]),
                                                                _named_entries(b, NAMED_ENTRIES[name][0]))):
            out += _entry_changes(NAMED_ENTRIES[name][1], *entries)
        elif isinstance(a, dict) and isinstance(b, dict):  # caps, discount, schedule: the part that changed
            out += [f"{word}: {change}" for change in field_changes(a, b)]
        else:
            out.append(_change(word, a, b))
    return out


def _named_entries(value: object, key: str) -> dict[str, dict] | None:
    """A list's entries by name (the second of a name is "name (2)"), the name left out of each; None when it is not
    such a list."""
    if not isinstance(value, list):
        return None
    out: dict[str, dict] = {}
    for entry in value:
        if isinstance(entry, str):
            name, rest = entry, {}
        elif isinstance(entry, dict) and isinstance(entry.get(key), str):
            name, rest = entry[key], {k: v for k, v in entry.items() if k != key}
        else:
            return None
        seen = sum(1 for n in out if n == name or n.startswith(f"{name} ("))
        out[f"{name} ({seen + 1})" if seen else name] = rest
    return out


def _entry_changes(word: str, old: dict[str, dict], new: dict[str, dict]) -> list[str]:
    """A named list's entries added (with their settings), changed, taken out, and a new order of those it keeps."""
    out = []
    for name, rest in new.items():
        if name not in old:
            settings = ", ".join(f"{FIELD_WORDS.get(k, k.replace('_', ' '))} {_words(v)}" for k, v in rest.items())
            out.append(f"{word}: {name} added" + (f" ({settings})" if settings else ""))
        elif rest != old[name]:
            out += [f"{word}: {name}: {change}" for change in field_changes(old[name], rest)]
    out += [f"{word}: {name} taken out" for name in old if name not in new]
    kept_before, kept_now = [n for n in old if n in new], [n for n in new if n in old]
    if kept_before != kept_now:
        out.append(f"{word} order {', '.join(kept_before)} → {', '.join(kept_now)}")
    return out


def _change(word: str, a: object, b: object) -> str:
    if a is None:
        return f"{word} set to {_words(b)}"
    if b is None:
        return f"{word} taken out (was {_words(a)})"
    return f"{word} {_words(a)} → {_words(b)}"


def _words(value: object) -> str:
    if isinstance(value, str):
        text = f'"{value}"'
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list) and all(isinstance(v, str | int | float) or _span(v) for v in value):
        text = ", ".join(_span(v) or str(v) for v in value) or "none"
    elif _span(value):
        text = _span(value)
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= LONGEST else text[:LONGEST - 1] + "…"


def _span(value: object) -> str:
    """A daypart or a date range ({"from", "to"}) as "07:00–11:00"; "" for anything else."""
    if isinstance(value, dict) and set(value) == {"from", "to"}:
        return f"{value['from']}–{value['to']}"
    return ""


def _by_key(section: str, items: list[dict]) -> dict[str, dict]:
    return {_named("/".join(str(i.get(k)) for k in SECTIONS[section].key)): i for i in items}


def _named(key: str) -> str:
    return "the chain's settings" if key == PROGRAMME_ID else key
