"""Reasons the engine gives, in English and ready to be said in the shopper's language.

A ``Reason`` *is* its English sentence (a ``str``: logs, events and tests read it as before) and
also carries its template and values, so a screen can look the template up in its catalog and fill
in the values. ``Term`` marks a value from a fixed vocabulary (a daypart, a weekday, a weather
band, an RFM tier, a category) that is translated as a whole; product names arrive already in the
screen's language. The engine itself never translates: it has no catalog and does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


class Term(str):
    """A word from a fixed vocabulary, translated as a whole (``"morning"``, ``"Monday"``, ``"rain"``)."""


class Reason(str):
    template: str
    plural: str | None
    params: dict[str, object]

    def __new__(cls, template: str, *, plural: str | None = None, n: int | None = None, **params: object) -> Reason:
        if plural is not None:
            params["n"] = n
        text = (plural if plural is not None and n != 1 else template).format(**params)
        obj = super().__new__(cls, text)
        obj.template, obj.plural, obj.params = template, plural, params
        return obj


def terms(words: Iterable[str]) -> Listing:
    """A list of vocabulary words as one value, each still translatable."""
    return Listing(Term(w) for w in words)


class Listing(str):
    """Values shown as a comma-separated list; each is said on its own."""

    items: tuple[str, ...]

    def __new__(cls, items: Iterable[str]) -> Listing:
        items = tuple(items)
        obj = super().__new__(cls, ", ".join(items))
        obj.items = items
        return obj


def say(text: str, gettext: Callable[[str], str], ngettext: Callable[[str, str, int], str]) -> str:
    """``text`` in the catalog's language: a Reason's template translated and filled in, a Term looked
    up, a Listing said item by item; any other text (a playbook's own words) as it is."""
    if isinstance(text, Reason):
        values = {k: say(v, gettext, ngettext) if isinstance(v, str) else v for k, v in text.params.items()}
        template = ngettext(text.template, text.plural, text.params["n"]) if text.plural is not None \
            else gettext(text.template)
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):  # a broken translation must not hide the reason
            return str(text)
    if isinstance(text, Listing):
        return ", ".join(say(item, gettext, ngettext) for item in text.items)
    if isinstance(text, Term):
        return gettext(text)
    return text


def in_stock(item: str, units: int | None) -> Reason:
    return Reason("in stock: {item} ({units})", item=item, units=units)
