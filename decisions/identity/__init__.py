"""Who is at the screen: shopper QR tokens, shopper phone numbers and staff PINs.

Pure like the rest of the engine: the clock is an argument, and nothing here writes to the cache or
talks to the network. Results carry a stable ``reason``/``status`` code for logs and tests and a
``message`` in plain words for the screen.

* :mod:`.qr` - ``verify_token`` for the Ed25519-signed tokens in the shopper app's QR code
  (``issue_token`` is for head office).
* :mod:`.phone` - ``normalise`` what a shopper types to E.164, ``format_as_you_type`` for the keypad,
  ``phone_hash`` (the only form of a number that is looked up, stored or sent).
* :mod:`.pins` - ``check_pin`` for staff PINs with a lockout (``hash_pin`` is for head office); its
  docstring shows how a screen combines it with the cache.
"""

from .phone import PhoneResult, format_as_you_type, normalise, phone_hash
from .pins import PinCheck, check_pin, hash_pin, validate_pin
from .qr import QrResult, issue_token, verify_token

__all__ = [
    "PhoneResult", "PinCheck", "QrResult", "check_pin", "format_as_you_type", "hash_pin", "issue_token",
    "normalise", "phone_hash", "validate_pin", "verify_token",
]
