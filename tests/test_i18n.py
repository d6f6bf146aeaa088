"""The kiosk's catalogs (en, bg, ru), the Translator and format_price. No Kivy needed."""

from __future__ import annotations

import ast
import calendar
import json
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from decisions.context import DEFAULT_DAYPARTS, SKY_WORDS, TEMPERATURE_BANDS
from decisions.identity import phone, qr
from decisions.identity.staff_roles import STAFF_ROLES
from decisions.rfm import TIERS
from kiosk.i18n import LOCALE_DIR, Translator, catalog_path, format_price

ROOT = Path(__file__).resolve().parent.parent

MSGIDS = [
    "Today at the counter",  # signage's offers board
    "was {price}",
    "Tap to see your personal offers",
    "Scan your app's code or enter your phone number to get your personal offers, an e-receipt and free Wi-Fi.",
    "Just browse",
    "Scan your code",
    "Hold your phone's code up to the camera",
    "Enter your phone number",
    "Type the number you gave us at the till or in our app.",
    "Continue",
    "Delete",
    "Back",
    "Done",
    "The camera stopped working. Please enter your phone number.",
    "Looking you up…",
    "Your choices",
    "Personal offers picked for you",
    "E-receipts to your phone",
    "Offers by SMS and e-mail",
    "We use your purchase history only for what you allow. You can change this at any time.",
    "No thanks",
    "Save my choices",
    "On",
    "Off",
    "We use what you buy here to pick offers for you and greet you by name.",
    "Your receipt comes to your phone instead of on paper.",
    "News and offers by SMS and e-mail. You can stop them at any time.",
    "Privacy notice",
    "Scan to read how we use your data and your rights.",
    "Ask at the counter for our full privacy notice.",
    "Hello, {name}!",
    "Hello!",
    "Offers for you",
    "Today's offers",
    "Menu",
    "Send to my phone",
    "Scan this code with your phone to keep the coupon",
    "Code: {code}",
    "Ending in {seconds} s",
    "Thank you, see you soon!",
    "Your details have been cleared from this screen.",
    "Offline: offers from this store's copy",
    "Large text",
    "Buttons lower",
    "Language",
    "Staff login",
    "Enter your PIN",
    "Wrong PIN. {tries} tries left.",
    "Locked. Try again in {minutes} min.",
    "Customer lookup",
    "Ask the customer for permission before you look them up.",
    "The customer agrees",
    "Segment",
    "RFM tier",
    "Last purchases",
    "Recommendations",
    "Add-ons for this basket",
    "Contacted",
    "Purchased",
    "Add-on sold",
    "Today",
    "Contacts",
    "Conversion rate",
    "Add-ons",
    "Log out",
    "weather unknown",
    "Unknown staff member.",
    "A PIN is 4 to 8 digits.",
    "This PIN can't be checked on this device. Please ask head office to reset it.",
    "No customer found for this number or code.",
    "The customer's consent could not be saved. Nothing was looked up.",
    "Or scan the app code",
    "Next customer",
    "No recommendations for this customer yet. Ask what they like today.",
    *STAFF_ROLES.values(),
    "Look up",
    "Look up a customer to see their profile and recommendations.",
    "Products",
    "Basket",
    "Clear",
    "Outcome saved.",
    "Locking in {seconds} s",
    "Tap your name first.",
    "Customer",
    "Menu: {name}",
    "Because you often pick up {item}",
    "A good start to your morning",
    "Just right for lunch",
    "A treat for the afternoon",
    "Something for your evening",
    "Something warm for a cold day",
    "Something cool for a hot day",
    "A warm-up for a grey day",
    "Popular in this store today",
    "A thank-you for being a regular",
]
PLURAL = ("{n} offer", "{n} offers")


def engine_reasons() -> tuple[set[str], set[tuple[str, str]]]:
    """Every template the engine can give a Reason (decisions/*.py, read as source): (singular, plural pairs)."""
    singular, plural = set(), set()

    def texts(node: ast.AST) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.IfExp):
            return texts(node.body) + texts(node.orelse)
        return []

    for path in (ROOT / "decisions").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            if node.func.id == "Reason" and node.args:
                kw = {k.arg: k.value for k in node.keywords}
                if "plural" in kw:
                    plural.add((texts(node.args[0])[0], texts(kw["plural"])[0]))
                else:
                    singular.update(texts(node.args[0]))
            elif node.func.id == "_place":
                singular.update(texts(node.args[1]))
    return singular, plural


def engine_vocabulary() -> set[str]:
    """The words a Reason carries as Terms: dayparts, weekdays, weather, RFM tiers, the demo's categories and
    segments."""
    products = json.loads((ROOT / "assets/demo/products.json").read_text())
    profiles = json.loads((ROOT / "assets/demo/profiles.json").read_text())
    return (set(DEFAULT_DAYPARTS) | {"this time"} | set(calendar.day_name) | set(SKY_WORDS.values())
            | set(TEMPERATURE_BANDS) | set(TIERS) | {p["category"] for p in products}
            | {s for p in profiles for s in p.get("segments", [])})


REASONS, REASON_PLURALS = engine_reasons()
# Every refusal identification can give a shopper: the screens show it translated (issue 16: none were)
IDENTITY_REFUSALS = ({qr.MESSAGES[r] for r in qr.REASONS} | {phone.MESSAGES[r] for r in phone.REASONS}
                     | {phone.INVALID_IN})
VOCABULARY = engine_vocabulary()
TRANSLATED = ("bg", "ru")
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\{[^{}]*\}", text))


def load(lang: str):
    with catalog_path(lang).open("rb") as fp:
        return read_po(fp, locale=lang, domain="kiosk")


@pytest.fixture
def tr() -> Translator:
    return Translator("en")


# --- catalogs -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", Translator.languages)
def test_catalog_parses_with_exactly_the_kiosk_messages(lang):
    catalog = load(lang)
    ids = {m.id for m in catalog if m.id}
    assert ids == set(MSGIDS) | {PLURAL} | REASONS | REASON_PLURALS | VOCABULARY | IDENTITY_REFUSALS
    assert not [m.id for m in catalog if m.id and m.fuzzy], "fuzzy entries are dropped at run time"
    assert str(catalog.locale) == lang


@pytest.mark.parametrize("lang", Translator.languages)
def test_plural_forms_header_matches_the_language(lang):
    catalog = load(lang)
    assert catalog.num_plurals == get_plural(lang).num_plurals
    assert catalog.num_plurals == {"en": 2, "bg": 2, "ru": 3}[lang]


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("msgid", MSGIDS)
def test_every_message_is_translated_into_cyrillic_with_its_placeholders(lang, msgid):
    message = load(lang).get(msgid)
    assert message is not None
    text = message.string
    assert text.strip(), f"{lang}: {msgid!r} is untranslated"
    assert CYRILLIC.search(text), f"{lang}: {text!r} has no Cyrillic"
    assert placeholders(text) == placeholders(msgid)
    assert Translator(lang).gettext(msgid) == text


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("msgid", sorted(IDENTITY_REFUSALS))
def test_every_identification_refusal_is_translated(lang, msgid):
    text = Translator(lang).gettext(msgid)
    assert text != msgid and CYRILLIC.search(text), f"{lang}: {msgid!r} is untranslated"
    assert placeholders(text) == placeholders(msgid)


@pytest.mark.parametrize("typed", ["", "abc", "12", "0899", "0888 12", "0899 100 101 000 000", "+1 999 555 0123",
                                   "+999 123 456", "+359 899 100 101 ext. 5", "0" * 70])
def test_a_phone_refusal_is_always_one_of_the_translated_messages(typed):
    result = phone.normalise(typed, "BG")
    assert not result.ok
    if result.region:
        assert result.message == phone.INVALID_IN.format(country=phone.country_name(result.region))
        assert Translator("bg").gettext(phone.INVALID_IN).format(
            country=phone.country_name(result.region, "bg")) in ("Този номер не е валиден в България.",
                                                                   "Този номер не е валиден в Съединени щати.")
    else:
        assert result.message in IDENTITY_REFUSALS


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("msgid", sorted(REASONS | VOCABULARY))
def test_every_engine_reason_and_word_is_translated(lang, msgid):
    text = load(lang).get(msgid).string
    assert text.strip(), f"{lang}: {msgid!r} is untranslated"
    assert placeholders(text) == placeholders(msgid)
    if re.sub(r"\{[^{}]*\}", "", msgid).strip(" ()"):  # words, not only placeholders
        assert CYRILLIC.search(text), f"{lang}: {text!r} has no Cyrillic"


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("pair", sorted(REASON_PLURALS))
def test_every_engine_reason_with_a_count_has_each_plural_form(lang, pair):
    forms = load(lang).get(pair).string
    assert len(forms) == {"bg": 2, "ru": 3}[lang]
    for form in forms:
        assert CYRILLIC.search(form)
        assert set(placeholders(form)) <= set(placeholders(pair[1]))


@pytest.mark.parametrize("lang", TRANSLATED)
def test_plural_message_is_translated_in_every_form(lang):
    message = load(lang).get(PLURAL[0])
    forms = message.string
    assert len(forms) == {"bg": 2, "ru": 3}[lang]
    for form in forms:
        assert CYRILLIC.search(form)
        assert placeholders(form) == ["{n}"]


def test_english_catalog_shows_the_msgids(tr):
    for msgid in MSGIDS:
        assert tr.gettext(msgid) == msgid
    assert tr.ngettext(*PLURAL, 1).format(n=1) == "1 offer"
    assert tr.ngettext(*PLURAL, 0).format(n=0) == "0 offers"
    assert tr.ngettext(*PLURAL, 2).format(n=2) == "2 offers"


# --- Translator -----------------------------------------------------------------------------------------------------


def test_switching_language_notifies_listeners_and_bumps_version(tr):
    seen = []
    tr.bind(seen.append)
    assert (tr.language, tr.version) == ("en", 0)
    assert tr.gettext("Scan your code") == "Scan your code"

    tr.set_language("bg")
    assert (tr.language, tr.version, seen) == ("bg", 1, ["bg"])
    assert tr.gettext("Scan your code") == "Сканирайте кода си"

    tr.set_language("ru")
    assert (tr.language, tr.version, seen) == ("ru", 2, ["bg", "ru"])
    assert tr.gettext("Hello, {name}!").format(name="Анна") == "Здравствуйте, Анна!"


def test_setting_the_current_language_again_is_not_a_change(tr):
    seen = []
    tr.bind(seen.append)
    tr.set_language("en")
    assert (tr.version, seen) == (0, [])


def test_unbound_listener_is_not_called(tr):
    seen = []
    tr.bind(seen.append)
    tr.unbind(seen.append)
    tr.set_language("bg")
    assert seen == []
    assert tr.version == 1


def test_unknown_language_raises_naming_the_known_ones(tr):
    with pytest.raises(ValueError, match=r"'de'.*en, bg, ru"):
        tr.set_language("de")
    assert (tr.language, tr.version) == ("en", 0)
    with pytest.raises(ValueError, match="en, bg, ru"):
        Translator("bg_BG")


def test_bulgarian_has_two_plural_forms():
    tr = Translator("bg")
    got = {n: tr.ngettext(*PLURAL, n).format(n=n) for n in (0, 1, 2, 5, 11, 21)}
    assert got == {0: "0 оферти", 1: "1 оферта", 2: "2 оферти", 5: "5 оферти", 11: "11 оферти", 21: "21 оферти"}


def test_russian_has_three_plural_forms():
    tr = Translator("ru")

    def offers(n: int) -> str:
        return tr.ngettext(*PLURAL, n).format(n=n)

    assert offers(1) == "1 предложение"
    assert offers(2) == "2 предложения"
    assert offers(5) == "5 предложений"
    assert [offers(n) for n in (0, 4, 11, 12, 14, 21, 22, 25, 101, 111, 112)] == [
        "0 предложений",
        "4 предложения",
        "11 предложений",
        "12 предложений",
        "14 предложений",
        "21 предложение",
        "22 предложения",
        "25 предложений",
        "101 предложение",
        "111 предложений",
        "112 предложений",
    ]


@pytest.mark.parametrize("lang", Translator.languages)
def test_unknown_msgid_falls_back_to_english(lang):
    tr = Translator(lang)
    assert tr.gettext("A message nobody translated") == "A message nobody translated"
    assert tr.ngettext("{n} new thing", "{n} new things", 1) == "{n} new thing"
    assert tr.ngettext("{n} new thing", "{n} new things", 3) == "{n} new things"


def test_untranslated_entry_falls_back_to_english(tmp_path):
    shutil.copytree(LOCALE_DIR, tmp_path, dirs_exist_ok=True)
    path = catalog_path("bg", tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('msgstr "Меню"', 'msgstr ""'), encoding="utf-8")
    tr = Translator("bg", locale_dir=tmp_path)
    assert tr.gettext("Menu") == "Menu"
    assert tr.gettext("Back") == "Назад"


def test_missing_catalog_fails_at_start(tmp_path):
    shutil.copytree(LOCALE_DIR, tmp_path, dirs_exist_ok=True)
    catalog_path("ru", tmp_path).unlink()
    with pytest.raises(FileNotFoundError):
        Translator("bg", locale_dir=tmp_path)


# --- prices ---------------------------------------------------------------------------------------------------------

NBSP = "\u00a0"  # Babel keeps amount and symbol together with a no-break space


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("bg", f"3,90{NBSP}€"), ("en", "€3.90"), ("ru", f"3,90{NBSP}€")],
)
def test_format_price(lang, expected):
    assert format_price(390, "EUR", lang) == expected


def test_format_price_thousands_and_negative():
    assert format_price(123456, "EUR", "en") == "€1,234.56"
    assert format_price(1234567, "EUR", "bg") == f"12{NBSP}345,67{NBSP}€"
    assert format_price(-50, "EUR", "en") == "-€0.50"


def test_format_price_wants_integer_cents():
    with pytest.raises(TypeError):
        format_price(3.9, "EUR", "en")  # type: ignore[arg-type]
