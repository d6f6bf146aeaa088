"""Filling a text slide from its template: the words a signage slide and the kiosk's attract screen
show. Pure, no Kivy: the kiosk's session uses it too."""

from __future__ import annotations

import string
from collections.abc import Mapping


def localised(value: object, lang: str) -> str:
    if isinstance(value, Mapping):
        return str(value.get(lang) or value.get("en") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def fill(text: str, variables: Mapping[str, str], slide_text: str) -> str:
    names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    missing = names - set(variables) - {"text"}
    if missing:
        raise KeyError(f"no value for {{{sorted(missing)[0]}}}")
    return text.format(**variables, text=slide_text)


def fill_text_item(doc: Mapping, template: Mapping | None, lang: str) -> tuple[str, str]:
    """(headline, body) of a text item in ``lang``: its template's title and body filled from the item's
    ``vars`` and text, or the item's text alone without a template that has a title. Raises KeyError,
    ValueError or IndexError for a template the item cannot fill."""
    text = localised(doc.get("text"), lang)
    if not template or "title" not in template:
        return text, ""
    variables = {k: localised(v, lang) for k, v in (doc.get("vars") or {}).items()}
    return fill(localised(template["title"], lang), variables, text), fill(localised(template.get("body"), lang),
                                                                             variables, text)
