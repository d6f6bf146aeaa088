"""The wire protocol: signed bundle manifests, content validation, event envelopes and UUIDv7 ids."""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import CHAIN, sample_content

from sync.protocol import bundle as wire
from sync.protocol import events, signing
from sync.protocol.content import ContentError, validate

SCOPE = "store/s001"
SHA_A = "a" * 64


@pytest.fixture(scope="module")
def key():
    return signing.generate_private_key()


@pytest.fixture(scope="module")
def trusted(key):
    return signing.TrustedKeys([key.public_key()])


def _built(key, *, scope: str = SCOPE, version: int = 7, content: dict | None = None, **kw) -> tuple[dict, bytes]:
    return wire.build_manifest(chain=CHAIN, scope=scope, version=version,
                               content=sample_content(3) if content is None else content, key=key, **kw)


def _raw(doc: object) -> bytes:
    return json.dumps(doc).encode()


def _reject(raw: bytes, *, scope: str = SCOPE, chain: str = CHAIN) -> wire.BundleRejected:
    with pytest.raises(wire.BundleRejected) as info:
        wire.parse_manifest(raw, chain=chain, scope=scope)
    return info.value


# --- round trip -------------------------------------------------------------------------------------------------


def test_inline_manifest_round_trip(key, trusted):
    content = sample_content(4)
    doc, data = _built(key, content=content, mode="delta")
    assert doc["kind"] == "store-edge/bundle" and doc["format"] == 1
    assert doc["sha256"] == hashlib.sha256(data).hexdigest() and doc["size"] == len(data)
    assert "url" not in doc

    manifest = wire.parse_manifest(_raw(doc), chain=CHAIN, scope=SCOPE)
    assert (manifest.chain, manifest.scope, manifest.version, manifest.mode) == (CHAIN, SCOPE, 7, "delta")
    assert manifest.key_id == signing.key_id(key.public_key())
    wire.verify_signature(manifest, trusted)
    body = wire.inline_content(manifest)
    assert body == data
    wire.verify_content(manifest, body)
    assert wire.decode_content(body) == content
    assert validate(wire.decode_content(body)) == content


def test_url_manifest_round_trip(key, trusted):
    doc, data = _built(key, url="https://cdn.example/b/7.json.gz")
    assert "content" not in doc and doc["url"] == "https://cdn.example/b/7.json.gz"
    manifest = wire.parse_manifest(_raw(doc), chain=CHAIN, scope=SCOPE)
    assert manifest.url == doc["url"] and manifest.content_b64 is None
    wire.verify_signature(manifest, trusted)
    wire.verify_content(manifest, data)


def test_mode_defaults_to_snapshot_when_absent(key, trusted):
    doc, _ = _built(key)
    del doc["mode"]
    manifest = wire.parse_manifest(_raw(doc), chain=CHAIN, scope=SCOPE)
    assert manifest.mode == "snapshot"
    wire.verify_signature(manifest, trusted)  # it was signed as a snapshot


def test_encoding_is_canonical_whatever_the_key_order():
    a = {"prices": [{"sku": "X", "price_cents": 1, "currency": "EUR"}], "products": []}
    b = {"products": [], "prices": [{"currency": "EUR", "price_cents": 1, "sku": "X"}]}
    assert wire.encode_content(a) == wire.encode_content(b)
    assert wire.encode_content(a) != wire.encode_content({**a, "products": [{"sku": "Y"}]})


def test_inline_content_above_the_limit_must_go_by_url(key):
    big = {"products": [{"sku": f"S{i}", "name": {"en": os.urandom(64).hex()}, "category": "c"} for i in range(6000)]}
    with pytest.raises(ValueError, match="must go by URL"):
        _built(key, content=big)
    doc, data = _built(key, content=big, url="http://cdn.local/big")
    assert len(data) > wire.MAX_INLINE_BYTES and "content" not in doc


# --- rejections -------------------------------------------------------------------------------------------------


def _malformed_cases(doc: dict) -> dict[str, tuple[bytes, str]]:
    """name -> (raw manifest, topic scope): each must be rejected by parse_manifest."""

    def edit(**changes) -> bytes:
        new = dict(doc)
        for k, v in changes.items():
            if v is _DROP:
                new.pop(k, None)
            else:
                new[k] = v
        return _raw(new)

    return {
        "not json": (b"{not json", SCOPE),
        "not utf-8": (b"\xff\xfe\xfa{", SCOPE),
        "not an object": (_raw([doc]), SCOPE),
        "wrong kind": (edit(kind="other/bundle"), SCOPE),
        "wrong format": (edit(format=2), SCOPE),
        "version is a string": (edit(version="7"), SCOPE),
        "version is bool": (edit(version=True), SCOPE),
        "version is negative": (edit(version=-3), SCOPE),
        "version is zero": (edit(version=0), SCOPE),
        "version is a float": (edit(version=7.0), SCOPE),
        "version missing": (edit(version=_DROP), SCOPE),
        "wrong chain": (edit(chain="other-chain"), SCOPE),
        "wrong scope": (_raw(doc), "store/s002"),
        "invalid scope on both": (edit(scope="store/a/b"), "store/a/b"),
        "unknown mode": (edit(mode="patch"), SCOPE),
        "sha uppercase": (edit(sha256=doc["sha256"].upper()), SCOPE),
        "sha short": (edit(sha256=doc["sha256"][:-1]), SCOPE),
        "sha not a string": (edit(sha256=123), SCOPE),
        "size negative": (edit(size=-1), SCOPE),
        "size bool": (edit(size=True), SCOPE),
        "no signature": (edit(signature=_DROP), SCOPE),
        "empty signature": (edit(signature=""), SCOPE),
        "no key id": (edit(key_id=_DROP), SCOPE),
        "both content and url": (edit(url="http://cdn.local/x"), SCOPE),
        "neither content nor url": (edit(content=_DROP), SCOPE),
        "content not text": (edit(content=[1, 2]), SCOPE),
        "url ftp": (edit(content=_DROP, url="ftp://cdn.local/x"), SCOPE),
        "url file": (edit(content=_DROP, url="file:///etc/passwd"), SCOPE),
        "url not text": (edit(content=_DROP, url=42), SCOPE),
    } | {"well formed (control)": (_raw(doc), SCOPE)}


_DROP = object()


def test_each_malformed_manifest_is_rejected_with_its_own_reason(key):
    doc, _ = _built(key)
    cases = _malformed_cases(doc)
    control = cases.pop("well formed (control)")
    assert wire.parse_manifest(control[0], chain=CHAIN, scope=control[1]).version == 7

    reasons = {}
    for name, (raw, scope) in cases.items():
        with pytest.raises(wire.BundleRejected) as info:
            wire.parse_manifest(raw, chain=CHAIN, scope=scope)
        reasons[name] = info.value.reason
    # Variants of the same fault share a reason; different faults never do.
    groups = {
        "json": ["not json", "not utf-8"],
        "object": ["not an object"],
        "kind": ["wrong kind", "wrong format"],
        "version": ["version is a string", "version is bool", "version is negative", "version is zero",
                    "version is a float", "version missing"],
        "chain": ["wrong chain"],
        "scope": ["wrong scope"],
        "mode": ["unknown mode"],
        "sha": ["sha uppercase", "sha short", "sha not a string"],
        "size": ["size negative", "size bool"],
        "unsigned": ["no signature", "empty signature", "no key id"],
        "exactly one": ["both content and url", "neither content nor url"],
        "content text": ["content not text"],
        "url": ["url ftp", "url file", "url not text"],
    }
    assert sorted(n for g in groups.values() for n in g) == sorted(set(reasons) - {"invalid scope on both"})
    per_group = {g: {reasons[n] for n in names} for g, names in groups.items()}
    for g, rs in per_group.items():
        assert len(rs) == 1, f"{g}: {rs}"
    assert len({next(iter(rs)) for rs in per_group.values()}) == len(groups)

    assert reasons["not json"] == "manifest is not JSON"
    assert reasons["wrong chain"] == "manifest is for chain 'other-chain'"
    assert reasons["wrong scope"] == "manifest names scope 'store/s001' on this topic"
    assert reasons["invalid scope on both"].startswith("manifest names scope")
    assert reasons["unknown mode"] == "unknown mode 'patch'"
    assert reasons["no signature"] == "unsigned"


def test_rejection_names_scope_and_version(key):
    doc, _ = _built(key, version=12)
    err = _reject(_raw({**doc, "mode": "patch"}))
    assert (err.scope, err.version) == (SCOPE, 12)
    assert str(err) == "bundle rejected: scope=store/s001 version=12 reason=unknown mode 'patch'"
    assert isinstance(err, ValueError)


def test_format_must_be_the_integer_one(key):
    doc, _ = _built(key)
    _reject(_raw({**doc, "format": True}))


def test_deeply_nested_json_is_rejected_not_raised():
    err = _reject(b"[" * 200_000)
    assert err.reason == "manifest is not JSON"


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=200),
    st.dictionaries(st.sampled_from(["kind", "format", "chain", "scope", "version", "mode", "sha256", "size",
                                     "key_id", "signature", "content", "url"]),
                    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                                 lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c,
                                                                                      max_size=3),
                                 max_leaves=8)).map(_raw),
))
def test_garbage_only_ever_raises_bundle_rejected(raw):
    try:
        wire.parse_manifest(raw, chain=CHAIN, scope=SCOPE)
    except wire.BundleRejected:
        pass


def test_unknown_key_id_is_rejected(key):
    other = signing.generate_private_key()
    doc, _ = _built(other)
    manifest = wire.parse_manifest(_raw(doc), chain=CHAIN, scope=SCOPE)
    with pytest.raises(wire.BundleRejected) as info:
        wire.verify_signature(manifest, signing.TrustedKeys([key.public_key()]))
    assert info.value.reason == f"signed with unknown key {signing.key_id(other.public_key())}"


def test_bad_signatures_are_rejected(key, trusted):
    doc, _ = _built(key)
    forger = signing.generate_private_key()
    forged_sig, _ = _built(forger)
    cases = {
        # a trusted key id with someone else's signature over the same fields
        "forged": {**doc, "signature": forged_sig["signature"]},
        "not base64": {**doc, "signature": "%%%not-base64%%%"},
        "truncated": {**doc, "signature": doc["signature"][:20]},
        "non-ascii": {**doc, "signature": "ключ"},
        "version changed": {**doc, "version": 8},
        "size changed": {**doc, "size": doc["size"] + 1},
        "sha changed": {**doc, "sha256": "0" * 64},
        "mode changed": {**doc, "mode": "delta"},
    }
    for name, bad in cases.items():
        manifest = wire.parse_manifest(_raw(bad), chain=CHAIN, scope=SCOPE)
        with pytest.raises(wire.BundleRejected) as info:
            wire.verify_signature(manifest, trusted)
        assert info.value.reason == "bad signature", name


def test_manifest_cannot_be_replayed_to_another_scope(key, trusted):
    doc, _ = _built(key, scope="store/s001")
    # As published: the topic of another store does not match the scope it names.
    assert _reject(_raw(doc), scope="store/s002").reason.startswith("manifest names scope")
    # Rewritten to name the other store: it parses, but the signature covers the scope.
    replayed = wire.parse_manifest(_raw({**doc, "scope": "store/s002"}), chain=CHAIN, scope="store/s002")
    with pytest.raises(wire.BundleRejected, match="bad signature"):
        wire.verify_signature(replayed, trusted)
    # And onto the chain scope, which every store follows.
    replayed = wire.parse_manifest(_raw({**doc, "scope": "chain"}), chain=CHAIN, scope="chain")
    with pytest.raises(wire.BundleRejected, match="bad signature"):
        wire.verify_signature(replayed, trusted)


def test_content_must_match_the_signed_sha(key):
    doc, data = _built(key)
    manifest = wire.parse_manifest(_raw(doc), chain=CHAIN, scope=SCOPE)
    for bad in (data[:-1], data[: len(data) // 2], b"", data + b"\0", bytes([data[0] ^ 1]) + data[1:]):
        with pytest.raises(wire.BundleRejected) as info:
            wire.verify_content(manifest, bad)
        assert info.value.reason == "sha256 mismatch"
    wire.verify_content(manifest, data)


def test_undecodable_inline_content_is_rejected(key):
    doc, _ = _built(key)
    manifest = wire.parse_manifest(_raw({**doc, "content": "***"}), chain=CHAIN, scope=SCOPE)
    with pytest.raises(wire.BundleRejected, match="not base64"):
        wire.inline_content(manifest)
    for data in (b"plain text", wire.encode_content({})[:-4]):
        with pytest.raises(wire.BundleRejected, match="not gzip JSON"):
            wire.decode_content(data)


def test_key_rotation_accepts_both_key_ids():
    old, new = signing.generate_private_key(), signing.generate_private_key()
    both = signing.TrustedKeys([old.public_key(), new.public_key()])
    old_id, new_id = signing.key_id(old.public_key()), signing.key_id(new.public_key())
    assert old_id != new_id and len(old_id) == 16 and int(old_id, 16) >= 0
    assert old_id in both and new_id in both
    for k in (old, new):
        doc, _ = _built(k)
        wire.verify_signature(wire.parse_manifest(_raw(doc), chain=CHAIN, scope=SCOPE), both)
    # Once the old key is retired, its bundles are refused.
    doc, _ = _built(old)
    with pytest.raises(wire.BundleRejected, match="unknown key"):
        wire.verify_signature(wire.parse_manifest(_raw(doc), chain=CHAIN, scope=SCOPE),
                              signing.TrustedKeys([new.public_key()]))


def test_keys_load_from_pem_files(tmp_path, key):
    (tmp_path / "k.pub").write_bytes(signing.public_key_pem(key.public_key()))
    (tmp_path / "k.pem").write_bytes(signing.private_key_pem(key))
    loaded = signing.load_private_key(tmp_path / "k.pem")
    assert signing.key_id(loaded.public_key()) == signing.key_id(key.public_key())
    keys = signing.TrustedKeys.from_files([tmp_path / "k.pub"])
    assert keys.verify(signing.key_id(key.public_key()), signing.sign(loaded, b"hello"), b"hello")
    assert not keys.verify(signing.key_id(key.public_key()), signing.sign(loaded, b"hello"), b"hellO")
    with pytest.raises(ValueError):
        signing.load_public_key(tmp_path / "k.pem")


# --- UUIDv7 -----------------------------------------------------------------------------------------------------


def test_uuid7_layout():
    ms = 1_700_000_000_123
    for _ in range(200):
        made = events.uuid7(ms)
        u = uuid.UUID(made)
        assert str(u) == made  # the canonical text, hyphens and all
        assert u.version == 7
        assert u.variant == uuid.RFC_4122
        assert u.int >> 80 == ms
        assert (u.int >> 76) & 0xF == 7
        assert (u.int >> 62) & 0b11 == 0b10
    text = events.uuid7(ms)
    assert text == text.lower() and len(text) == 36 and text[14] == "7" and text[19] in "89ab"


def test_uuid7_sorts_by_time_and_is_unique():
    times = [1_600_000_000_000 + i * 7 for i in range(300)]
    ids = [events.uuid7(ms) for ms in times]
    assert sorted(ids) == ids
    assert sorted(ids, key=lambda s: uuid.UUID(s).int) == ids
    same_ms = {events.uuid7(1_700_000_000_000) for _ in range(2000)}
    assert len(same_ms) == 2000


# --- event envelope ---------------------------------------------------------------------------------------------


def _envelope(seq: int, payload: str = "{}", type: str = "health") -> tuple[str, bytes]:
    eid = events.uuid7(1_700_000_000_250)
    return eid, events.envelope(event_id=eid, seq=seq, type=type, boot_id="boot-1", device="kiosk-1",
                                store="s001", wall_time=1700000000.25, mono_time=12.5, payload=payload)


def test_envelope_round_trip_embeds_payload_json():
    payload = json.dumps({"profile_id": "P1", "items": [1, 2.5, None], "name": "Иван", "ok": True},
                         ensure_ascii=False, separators=(",", ":"))
    eid, raw = _envelope(42, payload, "identified")
    assert isinstance(raw, bytes)
    [doc] = events.parse_batch(raw)  # a single envelope is accepted as a batch of one
    assert doc == {"id": eid, "seq": 42, "type": "identified", "boot_id": "boot-1", "device": "kiosk-1",
                   "store": "s001", "wall_time": 1700000000.25, "mono_time": 12.5,
                   "payload": {"profile_id": "P1", "items": [1, 2.5, None], "name": "Иван", "ok": True}}
    # the payload is embedded as JSON, not as a JSON string
    assert b'"payload":{"profile_id":"P1"' in raw
    assert "Иван".encode() in raw


def test_batch_round_trip_keeps_order():
    made = [_envelope(seq, json.dumps({"n": seq})) for seq in (3, 4, 7)]
    docs = events.parse_batch(events.batch([raw for _, raw in made]))
    assert [(d["id"], d["seq"], d["payload"]) for d in docs] == [(eid, s, {"n": s}) for (eid, _), s in
                                                                  zip(made, (3, 4, 7), strict=True)]
    assert events.parse_batch(events.batch([])) == []
    assert events.parse_batch(_envelope(1)[1])[0]["payload"] == {}


@pytest.mark.parametrize("raw, message", [
    (b"[1]", "not an event envelope"),
    (b'"text"', "not an event envelope"),
    (b'{"seq": 1, "type": "health"}', "not an event envelope"),
    (b'{"id": "x", "seq": "1", "type": "health"}', "not an event envelope"),
    (b'{"id": "x", "seq": 1, "type": "party"}', "unknown event type 'party'"),
    (b'{"id": "x", "seq": 1}', "unknown event type None"),
    (b"nope", "Expecting value"),
])
def test_parse_batch_rejects_what_is_not_an_envelope(raw, message):
    with pytest.raises(ValueError, match=message):
        events.parse_batch(raw)


def test_one_bad_envelope_fails_the_whole_batch():
    good = _envelope(1)[1]
    with pytest.raises(ValueError, match="unknown event type 'party'"):
        events.parse_batch(events.batch([good, _envelope(2, type="party")[1]]))


def test_parse_batch_deep_nesting_is_a_value_error():
    with pytest.raises(ValueError):
        events.parse_batch(b"[" * 200_000)


# --- content validation -----------------------------------------------------------------------------------------


def _content_error(content: object, *, delta: bool = False) -> str:
    with pytest.raises(ContentError) as info:
        validate(content, delta=delta)
    return str(info.value)


def test_valid_content_is_returned():
    content = sample_content(5) | {
        "co_purchase": [{"a": "A", "b": "B", "score": 0.5}, {"a": "A", "b": "C", "score": 2, "count": 3}],
        "media": [{"sha256": SHA_A, "url": "http://cdn/x", "size": 10}],
        "content_items": [{"id": "c1", "kind": "image", "media": SHA_A, "duration_s": 7}],
    }
    assert validate(content) is content


def test_a_products_category_name_is_text_per_language():
    """The kiosk's menu chips read it (decisions.catalog.Catalog.category_name)."""
    content = sample_content(1)
    content["products"][0]["category_name"] = {"en": "Tea", "bg": "Чай"}
    assert validate(content) is content
    content["products"][0]["category_name"] = "Tea"
    assert "field 'category_name' must be dict" in _content_error(content)


def test_missing_field_names_section_index_id_and_field():
    content = sample_content(3)
    del content["products"][2]["name"]
    assert _content_error(content) == "products[2] (SKU00002): missing field 'name'"
    content["products"][2]["name"] = None  # null counts as missing
    assert _content_error(content) == "products[2] (SKU00002): missing field 'name'"
    assert _content_error({"prices": [{"price_cents": 1, "currency": "EUR"}]}) == "prices[0]: missing field 'sku'"


def test_wrong_type_names_field_and_types():
    content = sample_content(3)
    content["prices"][1]["price_cents"] = "200"
    assert _content_error(content) == "prices[1] (SKU00001): field 'price_cents' must be int, got str"
    assert _content_error({"co_purchase": [{"a": "A", "b": "B", "score": "high"}]}) == (
        "co_purchase[0] (A): field 'score' must be int/float, got str")
    assert _content_error({"prices": [{"sku": 5, "price_cents": 1, "currency": "EUR"}]}) == (
        "prices[0]: field 'sku' must be str, got int")
    assert _content_error({"offers": [{"id": "O", "priority": 1, "channels": "kiosk", "title": {}}]}) == (
        "offers[0] (O): field 'channels' must be list, got str")


def test_bool_is_not_an_int():
    assert _content_error({"inventory": [{"sku": "S1", "on_hand": True}]}) == (
        "inventory[0] (S1): field 'on_hand' must be int, got bool")
    assert _content_error({"co_purchase": [{"a": "A", "b": "B", "score": False}]}) == (
        "co_purchase[0] (A): field 'score' must be int/float, got bool")
    assert _content_error({"prices": [{"sku": "S", "price_cents": 1.0, "currency": "EUR"}]}) == (
        "prices[0] (S): field 'price_cents' must be int, got float")


def test_sha256_fields_must_be_lowercase_hex():
    for bad in ("A" * 64, "a" * 63, "g" * 64, "a" * 65):
        assert _content_error({"media": [{"sha256": bad, "url": "http://x", "size": 1}]}) == (
            f"media[0] ({bad}): field 'sha256' is not a lowercase hex sha256")
    assert _content_error({"content_items": [{"id": "c9", "kind": "video", "media": "x.mp4"}]}) == (
        "content_items[0] (c9): field 'media' is not a lowercase hex sha256")
    assert _content_error({"products": [{"sku": "S", "name": {}, "category": "c", "image": "img.png"}]}) == (
        "products[0] (S): field 'image' is not a lowercase hex sha256")


def test_duplicate_keys_are_named():
    content = sample_content(3)
    content["prices"].append(dict(content["prices"][1]))
    assert _content_error(content) == "prices[3]: duplicate key 'SKU00001'"
    pairs = [{"a": "A", "b": "B", "score": 1}, {"a": "A", "b": "C", "score": 1}, {"a": "A", "b": "B", "score": 2}]
    assert _content_error({"co_purchase": pairs}) == "co_purchase[2]: duplicate key 'A/B'"


def test_structure_errors():
    assert _content_error([]) == "content is not a JSON object"
    assert _content_error({"widgets": []}) == "unknown section 'widgets'"
    assert _content_error({"products": {}}) == "section 'products' is not a list"
    assert _content_error({"products": ["SKU1"]}) == "products[0]: not a JSON object"


def test_delete_section_only_in_delta_mode():
    deletes = {"delete": {"prices": ["SKU00001"], "profiles": ["P1"]}}
    assert _content_error(deletes) == "unknown section 'delete'"
    assert validate(deletes, delta=True) is deletes
    assert validate(sample_content(2) | deletes, delta=True)["prices"][0]["sku"] == "SKU00000"
    assert _content_error({"delete": ["SKU1"]}, delta=True) == "'delete' is not an object of section -> keys"
    assert _content_error({"delete": {"widgets": ["x"]}}, delta=True) == "delete: unknown section 'widgets'"
    assert _content_error({"delete": {"prices": "SKU1"}}, delta=True) == "delete.prices: must be a list of sku strings"
    assert _content_error({"delete": {"prices": [1]}}, delta=True) == "delete.prices: must be a list of sku strings"
    # a two-part key cannot be deleted by a single string
    assert _content_error({"delete": {"co_purchase": ["A"]}}, delta=True) == (
        "delete.co_purchase: must be a list of a strings")

