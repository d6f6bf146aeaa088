"""Shopper phone numbers: normalising what is typed, formatting it as it is typed, and hashing it.

A phone number is personal data. It lives only on the screen while the shopper types it and in the
:class:`PhoneResult` that :func:`normalise` returns (whose repr hides it, so it does not end up in logs).
Everything else - the cache, lookups sent to head office, events - uses only :func:`phone_hash`,
a keyed HMAC-SHA256 of the E.164 form. Only the hash is looked up, stored or sent.

Parsing and validation are done by ``phonenumbers`` (Google's libphonenumber), which knows every
country's numbering plan.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field

import phonenumbers
from babel import Locale
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

MAX_INPUT_CHARS = 64

MESSAGES = {
    "ok": "",
    "empty": "Please enter your phone number.",
    "not_a_number": "That doesn't look like a phone number.",
    "has_extension": "Please enter just the phone number, without an extension.",
    "too_short": "That number looks too short.",
    "too_long": "That number looks too long.",
    "invalid_length": "That number doesn't have the right number of digits.",
    "invalid_country_code": "That country code isn't right. Check the digits after the +.",
    "invalid": "That number isn't valid.",  # with a country when one is known: INVALID_IN
}
REASONS = frozenset(MESSAGES) - {"ok"}
INVALID_IN = "That number isn't valid in {country}."
"""``invalid`` with the country the number was read in; a screen names it in its own language (:func:`country_name`)."""

_E164_RE = re.compile(r"\+[1-9][0-9]{1,14}")
_KEYPAD = frozenset("0123456789+")

_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
    NumberParseException.TOO_SHORT_NSN: "too_short",
    NumberParseException.TOO_LONG: "too_long",
}
_NOT_POSSIBLE = {
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too_short",  # a local number without its area code
    ValidationResult.TOO_SHORT: "too_short",
    ValidationResult.TOO_LONG: "too_long",
    ValidationResult.INVALID_LENGTH: "invalid_length",
    ValidationResult.INVALID_COUNTRY_CODE: "invalid_country_code",
}


@dataclass(frozen=True)
class PhoneResult:
    ok: bool
    e164: str | None = field(repr=False)
    formatted: str | None = field(repr=False)
    reason: str
    message: str  # in English; the msgid of the screens' catalogues (with INVALID_IN, ``region`` fills it in)
    region: str | None = None  # the country an ``invalid`` number was read in, when known


def _refused(reason: str, region: str | None = None) -> PhoneResult:
    message = INVALID_IN.format(country=country_name(region)) if region else MESSAGES[reason]
    return PhoneResult(ok=False, e164=None, formatted=None, reason=reason, message=message, region=region)


def store_region(code: str) -> str:
    """The store's country as libphonenumber reads it (``"bg"`` -> ``"BG"``).

    ValueError when it knows no numbers there: read with such a region, every number typed without a +
    would be refused as if the shopper had typed a wrong country code."""
    region = code.upper() if isinstance(code, str) else ""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{code!r} is not an ISO 3166 alpha-2 country code that phone numbers are known for"
                         " (e.g. BG, GB, DE)")
    return region


def normalise(raw: str, default_region: str) -> PhoneResult:
    """The E.164 form of what the shopper typed, or a reason and a message why it is not a number.

    ``default_region`` (ISO 3166 code such as ``"BG"``) is the store's country: numbers typed without
    ``+`` or an international prefix are read as numbers of that country; a region libphonenumber does not
    know is a configuration error (ValueError, see :func:`store_region`), never a message to the shopper.
    ``formatted`` is for the screen: national format for a number of that country, international format for
    a foreign one.
    """
    default_region = store_region(default_region)
    if not isinstance(raw, str):
        return _refused("not_a_number")
    text = raw.strip()
    if not text:
        return _refused("empty")
    if len(text) > MAX_INPUT_CHARS:
        return _refused("too_long")
    if any(c.isalpha() for c in text):
        # phonenumbers reads letters as a vanity number (1-800-FLOWERS); at a kiosk they are a typo.
        return _refused("not_a_number")
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        return _refused(_PARSE_ERRORS.get(exc.error_type, "not_a_number"))
    if number.extension:
        return _refused("has_extension")
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        return _refused(_NOT_POSSIBLE.get(possible, "invalid"))
    if not phonenumbers.is_valid_number(number):
        return _refused("invalid", _region(number.country_code, default_region))
    home = phonenumbers.country_code_for_region(default_region)
    style = PhoneNumberFormat.NATIONAL if number.country_code == home else PhoneNumberFormat.INTERNATIONAL
    return PhoneResult(ok=True, e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
                       formatted=phonenumbers.format_number(number, style), reason="ok", message=MESSAGES["ok"])


def _region(country_code: int, default_region: str) -> str | None:
    """The region a calling code belongs to (the store's own for its own code), None when unknown."""
    region = default_region if phonenumbers.country_code_for_region(default_region) == country_code else (
        phonenumbers.region_code_for_country_code(country_code))
    return region if region and region != "ZZ" and region in Locale("en").territories else None


def country_name(region: str, lang: str = "en") -> str:
    """A region's name in ``lang`` for :data:`INVALID_IN` ("the Netherlands", "България", "Болгария")."""
    # Babel's CLDR names, not phonenumbers.geocoder: the geocoder's import alone costs a kiosk 100 MB.
    name = Locale(lang).territories.get(region, region)
    if lang != "en":
        return name
    return f"the {name}" if name.startswith("United ") or name.endswith(_THE_ENDINGS) or name in _THE else name


_THE = frozenset({"Bahamas", "Gambia", "Maldives", "Comoros", "Netherlands", "Philippines", "Seychelles"})
_THE_ENDINGS = ("Islands", "Republic", "Emirates")


def format_as_you_type(digits: str, region: str) -> str:
    """What the keypad's display shows for the keys pressed so far, e.g. ``"0888123"`` -> ``"088 812 3"``.

    Only digits and ``+`` are keys; anything else is ignored.
    """
    formatter = phonenumbers.AsYouTypeFormatter(store_region(region))
    shown = ""
    for key in digits[:MAX_INPUT_CHARS]:
        if key in _KEYPAD:
            shown = formatter.input_digit(key)
    return shown


def phone_hash(e164: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of an E.164 number under the chain's phone key: what is looked up, stored and sent.

    Only E.164 is accepted (the output of :func:`normalise`), so every spelling of a number hashes alike.
    """
    if not isinstance(e164, str) or not _E164_RE.fullmatch(e164):
        raise ValueError("phone_hash takes a number in E.164 form, as normalise() returns it")
    if not key:
        raise ValueError("phone_hash needs the chain's phone key")
    return hmac.new(key, e164.encode("ascii"), hashlib.sha256).hexdigest()
