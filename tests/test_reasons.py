"""The engine's reasons are English text that a screen can say in the shopper's language."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from decisions.context import Context
from decisions.engine import Engine
from decisions.reasons import Reason, Term, say, terms
from decisions.shopper import Shopper
from demo.store import demo_cache
from kiosk.i18n import Translator
from sync.cache.read import CacheReader
from sync.clock import FixedClock


def said(text: str, lang: str) -> str:
    tr = Translator(lang)
    return say(text, tr.gettext, tr.ngettext)


def test_a_reason_is_its_english_sentence_everywhere_a_string_goes():
    r = Reason("in stock: {item} ({units})", item="Espresso", units=42)
    assert r == "in stock: Espresso (42)" and r.startswith("in stock")
    assert orjson.loads(orjson.dumps([r])) == ["in stock: Espresso (42)"]  # events carry the English


def test_plural_forms_follow_each_language():
    def visits(n):
        return Reason("last visit {n} day ago", plural="last visit {n} days ago", n=n)

    assert visits(1) == "last visit 1 day ago" and visits(3) == "last visit 3 days ago"
    assert said(visits(21), "ru") == "последний визит 21 день назад"
    assert said(visits(3), "ru") == "последний визит 3 дня назад"
    assert said(visits(11), "ru") == "последний визит 11 дней назад"
    assert said(visits(2), "bg") == "последно посещение преди 2 дни"


def test_words_and_nested_reasons_are_said_in_the_language_too():
    weather = Reason("{sky} and {temperature:.0f} °C", sky=Term("rainy"), temperature=6.4)
    r = Reason("suits the weather: {weather}", weather=weather)
    assert r == "suits the weather: rainy and 6 °C"
    assert said(r, "bg") == "подходящо за времето: дъждовно и 6 °C"
    assert said(Reason("in segment {segments}", segments=terms(["coffee_lover", "student"])), "en") == \
        "in segment coffee lover, student"


def test_text_from_a_playbook_is_shown_as_written_and_a_broken_translation_falls_back_to_english():
    assert said("Fresh today", "bg") == "Fresh today"
    r = Reason("on the {menu} menu", menu="Закуска")
    assert say(r, lambda msgid: "меню {missing}", lambda s, p, n: s) == "on the Закуска menu"


def test_the_engines_offer_reasons_are_bulgarian_on_a_bulgarian_screen(tmp_path):
    now = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # Monday 08:30 in Sofia
    cache = demo_cache(tmp_path / "cache.db", clock=FixedClock(now))
    engine = Engine.load(CacheReader(cache), now=now)
    ctx = Context(now=now, store="s001", region="south", device="kiosk-1", channel="kiosk", timezone="Europe/Sofia")
    decision = engine.offers(ctx, Shopper.anonymous(), k=6, seed=1, lang="bg")
    reasons = [r for o in decision.offers for r in o.reasons]
    assert reasons and all(isinstance(r, Reason) for r in reasons)
    for r in reasons:
        bg = said(r, "bg")
        assert bg != r and any("\u0400" <= ch <= "\u04ff" for ch in bg), (r, bg)
    cache.close()
