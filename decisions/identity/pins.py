"""Staff PINs: scrypt hashes made by head office, checked on the device with a lockout.

Head office runs :func:`hash_pin` and ships the result as ``pin_hash`` in the ``staff`` bundle section;
the device never sees a PIN except while one is typed. The format is
``scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>`` so the cost can be raised later without breaking
hashes already shipped.

A 4-8 digit PIN has at most 10^8 values, so the hash slows down, but cannot stop, somebody who has
copied the staff bundle off a device. What protects a PIN on a working device is the lockout:
after ``max_failures`` wrong PINs in a row the staff member is locked out for ``lockout_s``, doubling
for each further lockout until a right PIN is entered (capped at ``max_lockout_s``).

:func:`check_pin` is pure: the attempt state comes in and the new state goes out. The engine does not
write to the cache; the screen that asks for the PIN does, with the time from the clock it was handed
(``sync.clock.Clock``), like this::

    from sync.cache import engine_state

    staff = reader.staff(staff_id)                     # CacheReader: {"id", "name", "pin_hash", "role"}
    if staff is None:
        ...                                            # unknown staff member: show so, nothing to record
    failures, locked_until = engine_state.pin_state(cache, staff_id)
    result = check_pin(staff["pin_hash"], typed, failures=failures, locked_until=locked_until, now=clock.time())
    if (result.failures, result.locked_until) != (failures, locked_until):
        engine_state.save_pin_state(cache, staff_id, result.failures, result.locked_until)
    show(result.message)                               # result.ok opens the staff screens
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import os
import re
from dataclasses import dataclass

PIN_RE = re.compile(r"[0-9]{4,8}")
PIN_RULE = "A PIN is 4 to 8 digits."
SALT_BYTES = 16
HASH_BYTES = 32
# Bounds on the cost read from a stored hash, so one bad bundle row cannot make a device hash for minutes.
MAX_N, MAX_R, MAX_P = 2**20, 32, 16

STATUSES = ("ok", "wrong", "locked", "invalid_pin", "bad_hash")


@dataclass(frozen=True)
class PinCheck:
    """The outcome of one PIN attempt and the attempt state to remember for this staff member.

    ``status``: ``ok``; ``wrong``; ``locked`` (refused unchecked, or this wrong PIN started a lockout);
    ``invalid_pin`` (not 4-8 digits: not checked, not counted); ``bad_hash`` (the stored hash is not
    one this code can read: not counted; head office must reset the PIN).
    """

    ok: bool
    status: str
    failures: int
    locked_until: float
    message: str
    retry_after_s: float = 0.0


def validate_pin(pin: object) -> str | None:
    """None for a well-formed PIN (4-8 digits 0-9), else the message to show."""
    return None if isinstance(pin, str) and PIN_RE.fullmatch(pin) else PIN_RULE


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(secret: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES, maxmem=256 * r * (n + p) + 2**20)


def hash_pin(pin: str, *, salt: bytes | None = None, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    """``scrypt$n$r$p$<salt b64>$<hash b64>`` for ``pin``. Head office runs this; raises ValueError on a bad PIN."""
    problem = validate_pin(pin)
    if problem:
        raise ValueError(problem)
    return hash_secret(pin.encode("ascii"), salt=salt, n=n, r=r, p=p)


def hash_secret(secret: bytes, *, salt: bytes | None = None, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    """The same scrypt format for any secret (head office's console passwords use it too)."""
    if not (1 < n <= MAX_N and n & (n - 1) == 0 and 1 <= r <= MAX_R and 1 <= p <= MAX_P):
        raise ValueError(f"scrypt cost out of range: n must be a power of 2 up to {MAX_N}, r 1-{MAX_R}, p 1-{MAX_P}")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    if not salt:
        raise ValueError("salt must not be empty")
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_scrypt(secret, salt, n, r, p))}"


def secret_matches(stored: str, secret: bytes) -> bool | None:
    """Whether ``secret`` hashes to ``stored``; None when ``stored`` is not a hash this code can read."""
    parsed = _parse(stored)
    if parsed is None:
        return None
    n, r, p, salt, digest = parsed
    return hmac.compare_digest(_scrypt(secret, salt, n, r, p), digest)


def _parse(stored: object) -> tuple[int, int, int, bytes, bytes] | None:
    if not isinstance(stored, str):
        return None
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(x.isascii() and x.isdigit() for x in parts[1:4]):
        return None
    n, r, p = (int(x) for x in parts[1:4])
    if not (1 < n <= MAX_N and n & (n - 1) == 0 and 1 <= r <= MAX_R and 1 <= p <= MAX_P):
        return None
    try:
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (binascii.Error, ValueError):
        return None
    if not salt or len(digest) != HASH_BYTES:
        return None
    return n, r, p, salt, digest


def _minutes(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def lockout_duration(failures: int, *, max_failures: int = 5, lockout_s: float = 300,
                     max_lockout_s: float = 86400) -> float:
    """How long the lockout that ``failures`` wrong PINs in a row start lasts: doubling each time, capped."""
    lockouts_before = max(0, failures // max_failures - 1)
    return min(lockout_s * 2 ** min(lockouts_before, 32), max_lockout_s)


def check_pin(stored_hash: str, pin: str, *, failures: int, locked_until: float, now: float,
              max_failures: int = 5, lockout_s: float = 300, max_lockout_s: float = 86400) -> PinCheck:
    """Check one attempt. ``failures``/``locked_until`` are this staff member's remembered state
    (``sync.cache.engine_state.pin_state``); the answer carries the state to remember next.

    While locked, every attempt is refused without hashing anything. A wrong PIN counts; the
    ``max_failures``-th in a row locks for ``lockout_s``, and every further ``max_failures`` wrong PINs
    (after the lockout ends, with no right PIN between) lock for twice as long as the previous time.
    A right PIN resets the count.
    """
    if now < locked_until:
        wait = locked_until - now
        return PinCheck(False, "locked", failures, locked_until,
                        f"Too many wrong PINs. Try again in {_minutes(wait)}.", wait)
    problem = validate_pin(pin)
    if problem:
        return PinCheck(False, "invalid_pin", failures, locked_until, problem)
    matches = secret_matches(stored_hash, pin.encode("ascii"))
    if matches is None:
        return PinCheck(False, "bad_hash", failures, locked_until,
                        "This PIN can't be checked on this device. Please ask head office to reset it.")
    if matches:
        return PinCheck(True, "ok", 0, 0.0, "")
    failures += 1
    if failures % max_failures == 0:
        wait = lockout_duration(failures, max_failures=max_failures, lockout_s=lockout_s,
                                max_lockout_s=max_lockout_s)
        return PinCheck(False, "locked", failures, now + wait,
                        f"Too many wrong PINs. Try again in {_minutes(wait)}.", wait)
    left = max_failures - failures % max_failures
    next_lock = lockout_duration(failures + left, max_failures=max_failures, lockout_s=lockout_s,
                                 max_lockout_s=max_lockout_s)
    tries = "1 more try" if left == 1 else f"{left} more tries"
    return PinCheck(False, "wrong", failures, locked_until,
                    f"That PIN isn't right. {tries}, then PIN entry is locked for {_minutes(next_lock)}.")
