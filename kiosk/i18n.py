"""Translations for the kiosk, the staff tablet and the signage screen's own words, with no Kivy import.

Catalogs are the gettext ``.po`` files in ``kiosk/locale/<lang>/LC_MESSAGES/kiosk.po``. They are
read at run time with Babel (``read_po``), compiled to ``.mo`` in memory (``write_mo``) and served
by ``babel.support.Translations``. There is no build step and no ``.mo`` file in the tree.

msgids are the English UI text. An msgid missing from a catalog, or left untranslated, shows in
English. Placeholders stay in the translated text and the caller fills them in::

    tr = Translator("bg")
    tr.gettext("Hello, {name}!").format(name="Мария")          # 'Здравейте, Мария!'
    tr.ngettext("{n} offer", "{n} offers", 5).format(n=5)       # '5 оферти'

Kivy (2.3.1) pattern, after kivy-gettext-example: kv re-evaluates a rule when a property it reads
changes, so every translated rule also reads an App property that changes with the language.
``Translator.version`` goes up by one on each change of language; copy it into the App::

    class KioskApp(App):
        lang_version = NumericProperty(0)

        def build(self):
            self.translator = Translator("bg")
            self.translator.bind(lambda _lang: setattr(self, "lang_version", self.translator.version))
            ...

        def tr(self, msgid, _version=None):
            return self.translator.gettext(msgid)

        def ntr(self, singular, plural, n, _version=None):
            return self.translator.ngettext(singular, plural, n)

and in kv::

    text: app.tr('Scan your code', app.lang_version)
    text: app.tr('Hello, {name}!', app.lang_version).format(name=root.name)
    text: app.ntr('{n} offer', '{n} offers', root.count, app.lang_version).format(n=root.count)

``set_language`` calls the listeners synchronously, so call it on the UI thread (from a touch
handler, or through ``Clock.schedule_once`` from any other thread). Font sizes given as strings
('20sp') follow ``Metrics.fontscale`` for large text, and Roboto covers Cyrillic.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, get_currency_precision
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "kiosk"

Listener = Callable[[str], object]


def catalog_path(lang: str, locale_dir: Path | str = LOCALE_DIR) -> Path:
    return Path(locale_dir) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_translations(lang: str, locale_dir: Path | str = LOCALE_DIR) -> Translations:
    """Parse one ``.po`` catalog and compile it in memory. Fuzzy entries are left out, as msgfmt does."""
    with catalog_path(lang, locale_dir).open("rb") as fp:
        catalog = read_po(fp, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)


class Translator:
    """The current UI language, its catalog, and whoever needs to know when it changes."""

    languages: tuple[str, ...] = ("en", "bg", "ru")

    def __init__(self, language: str = "bg", locale_dir: Path | str = LOCALE_DIR) -> None:
        self._check(language)
        # Load every catalog up front: a broken or missing .po fails at start-up, not mid-session.
        self._catalogs = {lang: load_translations(lang, locale_dir) for lang in self.languages}
        self._language = language
        self._version = 0
        self._listeners: list[Listener] = []

    @property
    def language(self) -> str:
        return self._language

    @property
    def version(self) -> int:
        """Goes up by one on each change of language; bind kv rules to it (see the module docstring)."""
        return self._version

    def _check(self, code: str) -> None:
        if code not in self.languages:
            raise ValueError(f"unknown language {code!r}; known languages: {', '.join(self.languages)}")

    def set_language(self, code: str) -> None:
        """Switch language and notify listeners. Setting the current language again changes nothing."""
        self._check(code)
        if code == self._language:
            return
        self._language = code
        self._version += 1
        for callback in list(self._listeners):
            callback(code)

    def bind(self, callback: Listener) -> Listener:
        """Call ``callback(language)`` after each change of language. Returns the callback."""
        self._listeners.append(callback)
        return callback

    def unbind(self, callback: Listener) -> None:
        self._listeners.remove(callback)

    def gettext(self, msgid: str) -> str:
        return self._catalogs[self._language].gettext(msgid)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of the message for ``n`` under the current language's plural rule."""
        return self._catalogs[self._language].ngettext(singular, plural, n)


def format_price(cents: int, currency: str, lang: str) -> str:
    """A price in minor units (cents, stotinki) as the language writes it: bg '3,90 €', en '€3.90'.

    Babel separates amount and symbol with a no-break space (U+00A0), so the two never wrap apart.
    """
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError(f"cents must be an int in minor units, not {type(cents).__name__}")
    amount = Decimal(cents).scaleb(-get_currency_precision(currency))
    return format_currency(amount, currency, locale=lang)
