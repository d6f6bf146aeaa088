"""Finding a customer for the privacy desk by what they bring: a phone number, a QR card, a loyalty id or a
profile id.

A phone number is normalised and hashed here exactly as the kiosk does it (``decisions.identity.phone``,
the store's country for numbers typed without +, the chain's phone key), then only the hash is looked up.
The number is never stored, logged or returned.
"""

from __future__ import annotations

import re

from decisions.identity import phone as phones
from sync.config import ConfigError, read_key_file

from .config import PrivacySection
from .db import Database
from .profiles import resolve
from .qr_cards import token_id

KINDS = {"phone": "Phone number", "qr": "QR card", "loyalty_id": "Loyalty id", "profile_id": "Profile id"}
MAX_CHARS = 1000  # a QR token is a few hundred characters; nothing anyone types is longer
_TOKEN_ID = re.compile(r"[0-9a-f]{32}")


class FindError(ValueError):
    """What was typed cannot be looked up; the message says why, in words, without repeating it."""


def find(db: Database, kind: str, text: str, privacy: PrivacySection) -> str | None:
    """The golden profile id that ``text`` (of ``kind``) names, or None when nobody by it."""
    text = (text or "").strip()
    if kind not in KINDS:
        raise FindError(f"search by one of: {', '.join(KINDS.values()).lower()}")
    if not text:
        raise FindError(f"type the {KINDS[kind].lower()}")
    if len(text) > MAX_CHARS:
        raise FindError(f"that is longer than any {KINDS[kind].lower()}")
    if kind == "phone":
        return resolve(db, "phone_hash", _phone_hash(text, privacy))
    if kind == "qr":
        # The card's id as head office lists it (32 hex digits), or the whole token as scanned from the card.
        return resolve(db, "qr_token", text if _TOKEN_ID.fullmatch(text) else token_id(text))
    return resolve(db, kind, text)


def _phone_hash(text: str, privacy: PrivacySection) -> str:
    try:
        key = read_key_file("[privacy] phone_key_file", privacy.phone_key_file,
                            needed_for="finding a person by phone number needs the chain's phone key")
        region = phones.store_region(privacy.country)
    except ConfigError as exc:
        raise FindError(f"finding by phone number is not set up: {exc}") from None
    except ValueError:
        raise FindError("finding by phone number is not set up: [privacy] country must be the stores' country code"
                        " (e.g. BG)") from None
    number = phones.normalise(text, region)
    if not number.ok:
        raise FindError(number.message.rstrip("."))
    return phones.phone_hash(number.e164, key)
