"""decisions.identity: shopper QR tokens, phone numbers and staff PINs."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from decisions.identity import phone, pins, qr
from decisions.identity.phone import format_as_you_type, normalise, phone_hash
from decisions.identity.pins import check_pin, hash_pin, validate_pin
from decisions.identity.qr import REASONS, issue_token, verify_token
from sync.cache import engine_state, open_cache
from sync.cache.bundles import apply_bundle
from sync.cache.read import CacheReader
from sync.protocol import content as content_mod
from sync.protocol.signing import TrustedKeys, generate_private_key, key_id

NOW = 1_750_000_000
TTL = 24 * 3600
KEY = generate_private_key()
OLD_KEY = generate_private_key()
STRANGER = generate_private_key()
KEYS = TrustedKeys([KEY.public_key()])
KID = key_id(KEY.public_key())
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def token(profile_id: str = "c-0001", *, key=KEY, now: float = NOW, ttl_s: int = TTL) -> str:
    return issue_token(key, profile_id, now=now, ttl_s=ttl_s)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def signed(payload: object, *, key=KEY, tag: str = "SE1") -> str:
    """A correctly signed token around any payload, to test the payload checks behind the signature."""
    body = f"{tag}.{b64url(json.dumps(payload).encode())}"
    return f"{body}.{b64url(key.sign(body.encode()))}"


# --- QR tokens ----------------------------------------------------------------------------------------------------


def test_round_trip():
    result = verify_token(token("c-0042"), KEYS, now=NOW + 10)
    assert result == qr.QrResult(ok=True, profile_id="c-0042", reason="ok", message=qr.MESSAGES["ok"])


def test_token_is_short_ascii_with_the_documented_payload():
    t = token("c-0001")
    assert t.isascii() and t.startswith("SE1.") and len(t) <= 200
    tag, payload, signature = t.split(".")
    text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert json.loads(text) == {"v": 1, "pid": "c-0001", "iat": NOW, "exp": NOW + TTL, "kid": KID}
    assert " " not in text  # compact JSON
    assert len(base64.urlsafe_b64decode(signature + "==")) == 64
    assert "=" not in t


def test_token_accepts_bytes_and_a_scanner_newline():
    assert verify_token(token().encode() + b"\r\n", KEYS, now=NOW).profile_id == "c-0001"


def test_unicode_profile_id_round_trips():
    assert verify_token(token("Пешо-7"), KEYS, now=NOW).profile_id == "Пешо-7"


@pytest.mark.parametrize("scanned", [
    "https://example.com/x",
    "5901234123457",  # an EAN-13 product barcode
    "",
    "   ",
    "SEPTEMBER-SALE",
    b"\xff\xfe\x00garbage\x80",
    None,
    12345,
])
def test_not_ours(scanned):
    result = verify_token(scanned, KEYS, now=NOW)
    assert (result.ok, result.reason, result.profile_id) == (False, "not_ours", None)
    assert result.message == "That isn't one of our codes. Please scan the code in our app."


@pytest.mark.parametrize("scanned", ["SE9." + token()[4:], "SE2", "SE10.abc.def"])
def test_unsupported_version(scanned):
    assert verify_token(scanned, KEYS, now=NOW).reason == "unsupported_version"


def _forge_payload(text: str) -> str:
    return "SE1." + b64url(text.encode()) + "." + b64url(b"\0" * 64)


@pytest.mark.parametrize("scanned", [
    token() + ".extra",  # four parts
    "SE1.a.b.c",
    "SE1.***." + b64url(b"\0" * 64),  # not base64url
    "SE1.eyJ2IjoxfQ==." + b64url(b"\0" * 64),  # padding is not part of the format
    "SE1.." + b64url(b"\0" * 64),  # empty payload
    _forge_payload("not json"),
    _forge_payload("[1, 2]"),
    _forge_payload('{"v": 1}'),  # missing fields
    token() + "AA",  # signature too long
    b"SE1.\xff\xfe." + b64url(b"\0" * 64).encode(),
])
def test_malformed(scanned):
    assert verify_token(scanned, KEYS, now=NOW).reason == "malformed"


@pytest.mark.parametrize("payload", [
    {"v": 1, "pid": "p", "iat": NOW, "exp": NOW + 60},  # no kid
    {"v": 1, "pid": 7, "iat": NOW, "exp": NOW + 60, "kid": "x"},  # pid not a string
    {"v": 1, "pid": "", "iat": NOW, "exp": NOW + 60, "kid": "x"},  # empty pid
    {"v": 1, "pid": "p", "iat": float(NOW), "exp": NOW + 60, "kid": "x"},  # float time
    {"v": True, "pid": "p", "iat": NOW, "exp": NOW + 60, "kid": "x"},  # bool is not the version
    {"v": 2, "pid": "p", "iat": NOW, "exp": NOW + 60, "kid": "x"},  # payload version disagrees with the tag
    {"v": 1, "pid": "p", "iat": NOW, "exp": NOW, "kid": "x"},  # expires when issued
])
def test_wrong_typed_fields_are_malformed_even_when_signed(payload):
    if "kid" in payload:
        payload["kid"] = KID
    assert verify_token(signed(payload), KEYS, now=NOW).reason == "malformed"


@pytest.mark.parametrize("cut", [3, 4, 5, 20, -87, -86, -85, -60, -2, -1])
def test_truncated_at_several_cut_points(cut):
    t = token()
    assert verify_token(t[:cut], KEYS, now=NOW).reason == "truncated", t[:cut]


def test_every_cut_from_the_tag_on_is_truncated():
    t = token()
    assert {verify_token(t[:i], KEYS, now=NOW).reason for i in range(3, len(t))} == {"truncated"}
    assert verify_token(t[:2], KEYS, now=NOW).reason == "not_ours"  # "SE" alone cannot be told from other text


def test_flipped_signature_bit_is_forged():
    tag, payload, signature = token().split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[10] ^= 0x01
    result = verify_token(f"{tag}.{payload}.{b64url(bytes(raw))}", KEYS, now=NOW)
    assert (result.ok, result.reason, result.profile_id) == (False, "forged", None)


def test_changed_profile_id_is_forged():
    tag, payload, signature = token("c-0001").split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["pid"] = "c-0002"
    forged = f"{tag}.{b64url(json.dumps(body, separators=(',', ':')).encode())}.{signature}"
    assert verify_token(forged, KEYS, now=NOW).reason == "forged"


def test_unknown_key():
    result = verify_token(token(key=STRANGER), KEYS, now=NOW)
    assert (result.ok, result.reason) == (False, "unknown_key")


def test_a_stranger_cannot_sign_under_our_key_id():
    payload = {"v": 1, "pid": "c-0001", "iat": NOW, "exp": NOW + 60, "kid": KID}
    assert verify_token(signed(payload, key=STRANGER), KEYS, now=NOW).reason == "forged"


def test_expiry_with_leeway():
    t = token(ttl_s=300)
    exp = NOW + 300
    assert verify_token(t, KEYS, now=exp).ok
    assert verify_token(t, KEYS, now=exp + 60).ok  # inside the default leeway
    result = verify_token(t, KEYS, now=exp + 61)  # 1 s beyond it
    assert (result.ok, result.reason) == (False, "expired")
    assert result.message == "This code has expired. Open the app to get a fresh one."
    assert verify_token(t, KEYS, now=exp + 1, leeway_s=0).reason == "expired"


def test_issued_in_the_future():
    t = token(now=NOW + 3600)
    assert verify_token(t, KEYS, now=NOW).reason == "not_yet_valid"
    assert verify_token(token(now=NOW + 60), KEYS, now=NOW).ok  # within the leeway
    assert verify_token(token(now=NOW + 61), KEYS, now=NOW).reason == "not_yet_valid"


def test_key_rotation_trusts_old_and_new():
    both = TrustedKeys([OLD_KEY.public_key(), KEY.public_key()])
    assert verify_token(token("a", key=OLD_KEY), both, now=NOW).profile_id == "a"
    assert verify_token(token("b", key=KEY), both, now=NOW).profile_id == "b"
    assert verify_token(token("a", key=OLD_KEY), KEYS, now=NOW).reason == "unknown_key"  # once the old key is gone


def test_every_reason_has_a_distinct_plain_message():
    assert REASONS == {"not_ours", "unsupported_version", "malformed", "truncated", "unknown_key", "forged",
                       "expired", "not_yet_valid"}
    messages = [qr.MESSAGES[r] for r in REASONS]
    assert len(set(messages)) == len(messages)
    assert all(m.endswith(".") and m[0].isupper() for m in messages)


def test_overlong_token_is_refused_even_if_signed():
    long = token("p" * 2000)
    assert len(long) > qr.MAX_TOKEN_CHARS
    assert verify_token(long, KEYS, now=NOW).reason == "malformed"


def test_issue_refuses_nonsense():
    with pytest.raises(ValueError):
        issue_token(KEY, "", now=NOW, ttl_s=60)
    with pytest.raises(ValueError):
        issue_token(KEY, "p", now=NOW, ttl_s=0)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.binary(), st.text().map(lambda s: "SE1." + s), st.binary().map(lambda b: b"SE1." + b),
                 st.lists(st.text(alphabet="AZaz09-_.=", max_size=100), max_size=4).map(lambda p: ".".join(
                     ["SE1", *p]))))
def test_arbitrary_input_never_raises_and_is_refused_with_a_known_reason(scanned):
    result = verify_token(scanned, KEYS, now=NOW)
    assert not result.ok and result.profile_id is None
    assert result.reason in REASONS and result.message == qr.MESSAGES[result.reason]


ANY_JSON = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(NOW - 10**5, NOW + 10**5), st.floats(),
                    st.text(), st.lists(st.integers(), max_size=3))


@settings(max_examples=500, deadline=None)
@given(st.one_of(ANY_JSON, st.fixed_dictionaries({}, optional={
    "v": st.one_of(st.just(1), ANY_JSON), "pid": ANY_JSON, "iat": ANY_JSON, "exp": ANY_JSON,
    "kid": st.one_of(st.just(KID), ANY_JSON), "extra": ANY_JSON})))
def test_any_signed_payload_never_raises(payload):
    """Behind a good signature (a head office bug, not an attacker): still no exception."""
    result = verify_token(signed(payload), KEYS, now=NOW)
    assert result.reason in REASONS | {"ok"}
    if result.ok:
        assert isinstance(result.profile_id, str) and result.profile_id


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8), st.data())
def test_any_single_character_change_is_refused(profile_id, data):
    t = token(profile_id)
    i = data.draw(st.integers(0, len(t) - 1), label="position")
    replacement = data.draw(st.one_of(st.sampled_from(B64URL + ".=+/ \n"), st.characters()), label="replacement")
    assume(replacement != t[i])
    changed = t[:i] + replacement + t[i + 1:]
    result = verify_token(changed, KEYS, now=NOW)
    assert not result.ok and result.reason in REASONS


def test_last_signature_character_has_no_spare_spelling():
    """The last base64url character of 64 bytes carries 2 bits; the other 4 must not give a second spelling."""
    t = token()
    for c in B64URL:
        if c != t[-1]:
            assert not verify_token(t[:-1] + c, KEYS, now=NOW).ok, c


# --- phone numbers ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["0888 123 456", "+359 88 812 3456", "00359888123456", "0888-123-456",
                                   " (0888) 123456 "])
def test_bulgarian_spellings_normalise_alike(typed):
    result = normalise(typed, "BG")
    assert (result.ok, result.e164, result.reason) == (True, "+359888123456", "ok")
    assert result.formatted == "088 812 3456"


def test_uk_number_with_region_gb():
    result = normalise("07400 123456", "GB")
    assert (result.ok, result.e164, result.formatted) == (True, "+447400123456", "07400 123456")


def test_foreign_number_is_shown_in_international_format():
    result = normalise("+44 7400 123456", "BG")
    assert (result.e164, result.formatted) == ("+447400123456", "+44 7400 123456")


@pytest.mark.parametrize(("typed", "reason", "message"), [
    ("0888", "too_short", "That number looks too short."),
    ("12", "too_short", "That number looks too short."),
    ("0888 123 456 789 012", "too_long", "That number looks too long."),
    ("0888 ABC 456", "not_a_number", "That doesn't look like a phone number."),
    ("hello", "not_a_number", "That doesn't look like a phone number."),
    ("+", "not_a_number", "That doesn't look like a phone number."),
    ("", "empty", "Please enter your phone number."),
    ("+999 123 4567", "invalid_country_code", "That country code isn't right. Check the digits after the +."),
    ("0888 12", "invalid", "That number isn't valid in Bulgaria."),
    ("+1 999 555 0123", "invalid", "That number isn't valid in the United States."),
    ("0888 123 456 #12", "has_extension", "Please enter just the phone number, without an extension."),
])
def test_phone_refusals_in_plain_words(typed, reason, message):
    result = normalise(typed, "BG")
    assert (result.ok, result.e164, result.formatted) == (False, None, None)
    assert (result.reason, result.message) == (reason, message)


@pytest.mark.parametrize("typed", [None, 359888123456, b"0888123456"])
def test_non_text_is_not_a_number(typed):
    assert normalise(typed, "BG").reason == "not_a_number"


def test_phone_result_repr_hides_the_number():
    assert "888" not in repr(normalise("0888 123 456", "BG"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["BG", "GB", "US", "DE", "bg"]))
def test_normalise_never_raises(typed, region):
    result = normalise(typed, region)
    assert result.reason in phone.REASONS | {"ok"}
    assert result.ok == (result.e164 is not None)


@pytest.mark.parametrize("region", ["XX", "", "ZZ", "Bulgaria"])
def test_a_store_country_phone_numbers_are_not_known_for_is_an_error_not_a_shoppers_mistake(region):
    # Before, every number typed without a + was refused with "Check the digits after the +".
    with pytest.raises(ValueError, match="not an ISO 3166 alpha-2 country code"):
        normalise("0888 123 456", region)
    with pytest.raises(ValueError, match="not an ISO 3166 alpha-2 country code"):
        format_as_you_type("0888", region)


def test_a_lower_case_store_country_reads_as_upper_case():
    assert normalise("0888 123 456", "bg").e164 == "+359888123456"
    assert format_as_you_type("0888123", "bg") == "088 812 3"


def test_format_as_you_type():
    assert format_as_you_type("0888123", "BG") == "088 812 3"
    assert format_as_you_type("0888123456", "BG") == "088 812 3456"
    assert format_as_you_type("+359888123456", "BG") == "+359 88 812 3456"
    assert format_as_you_type("07400123456", "GB") == "07400 123456"
    assert format_as_you_type("", "BG") == ""


def test_phone_hash_is_stable_keyed_and_hides_the_digits():
    e164 = normalise("0888 123 456", "BG").e164
    h = phone_hash(e164, b"chain-key")
    assert h == phone_hash("+359888123456", b"chain-key")
    assert len(h) == 64 and int(h, 16) >= 0
    assert phone_hash(e164, b"other-key") != h
    assert phone_hash("+359888123457", b"chain-key") != h
    for digits in (e164, e164[1:], "888123456", "0888123456"):
        assert h != digits and digits not in h


def test_phone_hash_only_takes_e164():
    with pytest.raises(ValueError):
        phone_hash("0888 123 456", b"k")
    with pytest.raises(ValueError):
        phone_hash("+359888123456", b"")


# --- staff PINs ---------------------------------------------------------------------------------------------------

FAST = {"n": 2**4}  # the cost is read back from the hash; the default cost has its own test
PIN_HASH = hash_pin("4821", **FAST)


def attempt(pin: str, failures: int = 0, locked_until: float = 0.0, now: float = NOW, stored: str = PIN_HASH):
    return check_pin(stored, pin, failures=failures, locked_until=locked_until, now=now)


def test_hash_format_and_default_cost():
    stored = hash_pin("4821", salt=b"0123456789abcdef")
    name, n, r, p, salt, digest = stored.split("$")
    assert (name, n, r, p) == ("scrypt", "16384", "8", "1")
    assert base64.b64decode(salt) == b"0123456789abcdef" and len(base64.b64decode(digest)) == 32
    assert stored == hash_pin("4821", salt=b"0123456789abcdef")
    assert hash_pin("4821") != hash_pin("4821")  # a fresh salt each time
    assert attempt("4821", stored=stored).ok and not attempt("4822", stored=stored).ok


def test_right_pin():
    result = attempt("4821", failures=3)
    assert (result.ok, result.status, result.failures, result.locked_until) == (True, "ok", 0, 0.0)


def test_wrong_pin_counts():
    result = attempt("1234", failures=1)
    assert (result.ok, result.status, result.failures, result.locked_until) == (False, "wrong", 2, 0.0)
    assert result.message == "That PIN isn't right. 3 more tries, then PIN entry is locked for 5 minutes."


def test_five_wrong_lock_for_five_minutes():
    failures, locked_until = 0, 0.0
    statuses = []
    for i in range(5):
        result = attempt("0000", failures, locked_until, now=NOW + i)
        statuses.append(result.status)
        failures, locked_until = result.failures, result.locked_until
    assert statuses == ["wrong"] * 4 + ["locked"]
    assert (failures, locked_until) == (5, NOW + 4 + 300)
    assert result.message == "Too many wrong PINs. Try again in 5 minutes."


def test_right_pin_while_locked_is_refused_without_hashing():
    result = attempt("4821", failures=5, locked_until=NOW + 300, now=NOW + 299)
    assert (result.ok, result.status, result.failures, result.locked_until) == (False, "locked", 5, NOW + 300)
    assert result.retry_after_s == 1 and result.message == "Too many wrong PINs. Try again in 1 minute."
    # An unreadable hash would say bad_hash if it were looked at; locked means it was not.
    assert attempt("4821", 5, NOW + 300, now=NOW, stored="not-a-hash").status == "locked"
    huge = f"scrypt${2**20}$32$16${base64.b64encode(b'salt').decode()}${base64.b64encode(bytes(32)).decode()}"
    started = time.perf_counter()
    assert attempt("4821", 5, NOW + 300, now=NOW, stored=huge).status == "locked"
    assert time.perf_counter() - started < 0.05


def test_after_the_lockout_the_right_pin_works_and_resets():
    result = attempt("4821", failures=5, locked_until=NOW + 300, now=NOW + 300)
    assert (result.ok, result.failures, result.locked_until) == (True, 0, 0.0)


def test_repeated_lockouts_double():
    after_first = attempt("0000", failures=9, locked_until=NOW, now=NOW + 1)
    assert (after_first.status, after_first.failures, after_first.locked_until) == ("locked", 10, NOW + 1 + 600)
    after_second = attempt("0000", failures=14, locked_until=NOW, now=NOW + 1)
    assert after_second.locked_until == NOW + 1 + 1200
    capped = attempt("0000", failures=999, locked_until=NOW, now=NOW + 1)
    assert capped.locked_until == NOW + 1 + 86400


@pytest.mark.parametrize("typed", ["12a4", "123", "123456789", "", " 1234", "١٢٣٤", "12.5"])
def test_malformed_pins(typed):
    assert validate_pin(typed) == "A PIN is 4 to 8 digits."
    result = attempt(typed, failures=2)
    assert (result.ok, result.status, result.failures, result.message) == (False, "invalid_pin", 2,
                                                                             "A PIN is 4 to 8 digits.")
    with pytest.raises(ValueError, match="4 to 8 digits"):
        hash_pin(typed)


@pytest.mark.parametrize("stored", ["", "plain1234", "scrypt$16$8$1$!!$!!", "scrypt$15$8$1$c2FsdA==$" + "A" * 44,
                                    "bcrypt$16$8$1$c2FsdA==$" + base64.b64encode(bytes(32)).decode(),
                                    f"scrypt${2**24}$8$1$c2FsdA==$" + base64.b64encode(bytes(32)).decode()])
def test_unreadable_stored_hash_is_not_counted(stored):
    result = attempt("4821", failures=1, stored=stored)
    assert (result.ok, result.status, result.failures) == (False, "bad_hash", 1)


def test_pin_attempts_through_the_cache(tmp_path: Path):
    """The composition pins.py documents: the screen reads, the engine decides, the screen saves."""
    content = content_mod.validate({"staff": [
        {"id": "st-1", "name": "Ana", "pin_hash": hash_pin("4821", **FAST), "role": "manager"},
        {"id": "st-2", "name": "Boris", "pin_hash": hash_pin("7777", **FAST), "role": "cashier"},
    ]})
    cache = open_cache(tmp_path / "cache.db")
    try:
        apply_bundle(cache, stream="store/s001", scope="store/s001", version=1, sha256="0" * 64, mode="snapshot",
                     content=content, at=NOW)
        reader = CacheReader(cache)

        def enter(staff_id: str, pin: str, now: float) -> pins.PinCheck:
            staff = reader.staff(staff_id)
            assert staff is not None
            failures, locked_until = engine_state.pin_state(cache, staff_id)
            result = check_pin(staff["pin_hash"], pin, failures=failures, locked_until=locked_until, now=now)
            if (result.failures, result.locked_until) != (failures, locked_until):
                engine_state.save_pin_state(cache, staff_id, result.failures, result.locked_until)
            return result

        assert reader.staff("nobody") is None
        assert [enter("st-1", "0000", NOW + i).status for i in range(5)] == ["wrong"] * 4 + ["locked"]
        assert engine_state.pin_state(cache, "st-1") == (5, NOW + 4 + 300)
        assert enter("st-1", "4821", NOW + 100).status == "locked"
        assert enter("st-2", "7777", NOW + 100).ok  # one member's lockout is not another's
        assert engine_state.pin_state(cache, "st-2") == (0, 0.0)
    finally:
        cache.close()

    reopened = open_cache(tmp_path / "cache.db")  # the lockout survives a restart
    try:
        reader = CacheReader(reopened)
        failures, locked_until = engine_state.pin_state(reopened, "st-1")
        still = check_pin(reader.staff("st-1")["pin_hash"], "4821", failures=failures, locked_until=locked_until,
                          now=NOW + 200)
        assert still.status == "locked"
        later = check_pin(reader.staff("st-1")["pin_hash"], "4821", failures=failures, locked_until=locked_until,
                          now=NOW + 305)
        assert later.ok
        engine_state.save_pin_state(reopened, "st-1", later.failures, later.locked_until)
        assert engine_state.pin_state(reopened, "st-1") == (0, 0.0)
    finally:
        reopened.close()
