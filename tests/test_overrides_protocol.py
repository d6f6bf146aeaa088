"""Override messages: signed like bundles, checked field by field."""

import orjson
import pytest

from sync.protocol import signing
from sync.protocol.overrides import Override, OverrideRejected, parse_override, sign_override

KEY = signing.generate_private_key()
OTHER = signing.generate_private_key()
TRUSTED = signing.TrustedKeys([KEY.public_key()])


def _override(**kw) -> Override:
    base = dict(chain="demo", scope="store/s001", override_id="ov-1", issued_at=1000.0, expires_at=1600.0,
                action="start", message={"title": "Store closes at 18:00", "body": "Storm warning"})
    base.update(kw)
    return Override(**base)


def test_round_trip_and_active_window():
    o = parse_override(sign_override(_override(), KEY), chain="demo", scope="store/s001", keys=TRUSTED)
    assert o == _override()
    assert not o.active_at(999) and o.active_at(1000) and o.active_at(1599.9) and not o.active_at(1600)


def test_end_needs_no_body_and_is_never_active():
    end = _override(action="end", message=None)
    o = parse_override(sign_override(end, KEY), chain="demo", scope="store/s001", keys=TRUSTED)
    assert o.action == "end" and not o.active_at(1200)


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (lambda d: d.update(expires_at=d["expires_at"] + 3600), "bad signature"),
        (lambda d: d.update(scope="chain"), "bad signature"),
        (lambda d: d.pop("signature"), "unsigned"),
    ],
)
def test_tampered_payload_is_rejected(tamper, reason):
    doc = orjson.loads(sign_override(_override(), KEY))
    tamper(doc)
    with pytest.raises(OverrideRejected, match=reason):
        parse_override(orjson.dumps(doc), chain="demo", scope="store/s001", keys=TRUSTED)


def test_unknown_key_and_wrong_topic_are_rejected():
    with pytest.raises(OverrideRejected, match="unknown key"):
        parse_override(sign_override(_override(), OTHER), chain="demo", scope="store/s001", keys=TRUSTED)
    with pytest.raises(OverrideRejected, match="names chain"):
        parse_override(sign_override(_override(), KEY), chain="demo", scope="store/s002", keys=TRUSTED)


@pytest.mark.parametrize(
    "kw, reason",
    [
        (dict(message=None), "exactly one of message and playlist"),
        (dict(playlist=[{"type": "image"}]), "exactly one of message and playlist"),
        (dict(expires_at=900.0), "expires_at"),
        (dict(expires_at=1000.0 + 8 * 86400), "within 7 days"),
        (dict(action="pause"), "action"),
        (dict(scope="store/"), "invalid scope"),
    ],
)
def test_malformed_override_cannot_be_signed(kw, reason):
    with pytest.raises(OverrideRejected, match=reason):
        sign_override(_override(**kw), KEY)


def test_garbage_is_rejected_with_a_clear_line():
    with pytest.raises(OverrideRejected, match="not JSON"):
        parse_override(b"\xff{", chain="demo", scope="chain", keys=TRUSTED)
