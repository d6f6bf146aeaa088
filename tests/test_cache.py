"""The SQLite cache: schema, bundles and scope precedence, the outbox, customer writes and a full disk."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import cache_snapshot, sample_content

from sync.cache import Cache, CacheError, CacheFull, schema
from sync.cache.bundles import StaleVersion, applied_version, apply_bundle
from sync.cache.outbox import Outbox
from sync.cache.profiles import erase_profile, forget_lookups, record_consent, remember_lookup
from sync.cache.read import CacheReader
from sync.clock import FixedClock
from sync.protocol import events

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC).timestamp()


def apply(cache: Cache, scope: str, version: int, content: dict, *, mode: str = "snapshot", stream: str | None = None):
    return apply_bundle(cache, stream=stream or scope, scope=scope, version=version, sha256=f"{version:064x}",
                        mode=mode, content=content, at=NOW)


def price(sku: str, cents: int) -> dict:
    return {"sku": sku, "price_cents": cents, "currency": "EUR"}


def product(sku: str, label: str, category: str = "coffee") -> dict:
    return {"sku": sku, "name": {"en": label}, "category": category}


def offer(oid: str, title: str, channels: list[str], priority: int = 1) -> dict:
    return {"id": oid, "priority": priority, "channels": channels, "title": {"en": title}}


def rows(cache: Cache, table: str, *cols: str) -> list[tuple]:
    return sorted(cache.query(f"SELECT {', '.join(cols)} FROM {table}"))


# --- schema -----------------------------------------------------------------------------------------------------


def test_new_cache_is_wal_at_latest_schema(cache: Cache):
    assert cache.query("PRAGMA journal_mode")[0][0] == "wal"
    assert cache.query("PRAGMA user_version")[0][0] == schema.LATEST >= 1
    tables = {r[0] for r in cache.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"products", "prices", "offers", "profiles", "outbox", "consents", "sync_state"} <= tables
    # another connection sees WAL too: it is a property of the file, not of our connection
    other = sqlite3.connect(cache.path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


def test_reopening_does_not_rerun_migrations(tmp_path: Path):
    path = tmp_path / "cache.db"
    first = Cache(path)
    apply(first, "chain", 1, sample_content(2))
    before = cache_snapshot(path)
    first.close()

    again = Cache(path)
    try:
        assert schema.migrate(again.db, again.path) == schema.LATEST  # already current: nothing to do
        assert again.query("PRAGMA user_version")[0][0] == schema.LATEST
        assert cache_snapshot(path) == before
        assert not list(tmp_path.glob("*.bak"))  # no pre-migration backup was taken
    finally:
        again.close()


def test_newer_schema_is_refused_and_left_alone(tmp_path: Path):
    path = tmp_path / "cache.db"
    Cache(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={schema.LATEST + 1}")
    conn.close()
    with pytest.raises(RuntimeError) as info:
        Cache(path)
    assert str(info.value) == (f"cache schema v{schema.LATEST + 1} is newer than this software "
                               f"(v{schema.LATEST}); refusing to run")
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST + 1
    finally:
        conn.close()


# --- bundles ----------------------------------------------------------------------------------------------------


def test_snapshot_replaces_only_its_scope_and_named_sections(cache: Cache):
    apply(cache, "chain", 1, sample_content(3, price=100))
    apply(cache, "store/s001", 1, {"prices": [price("SKU00001", 77)], "products": [product("SKU00001", "Store")]})

    applied = apply(cache, "chain", 2, {"prices": [price("SKU00000", 5)]})
    assert applied.counts == {"prices": 1} and applied.version == 2

    assert rows(cache, "prices", "scope", "sku", "json_extract(body, '$.price_cents')") == [
        ("chain", "SKU00000", 5),        # chain prices: replaced by the new snapshot
        ("store/s001", "SKU00001", 77),  # another scope's prices: untouched
    ]
    # sections the snapshot does not name are untouched, in every scope
    assert rows(cache, "products", "scope", "sku") == [
        ("chain", "SKU00000"), ("chain", "SKU00001"), ("chain", "SKU00002"), ("store/s001", "SKU00001")]
    assert rows(cache, "offers", "scope", "id") == [("chain", "OFF1")]

    reader = CacheReader(cache)
    assert reader.price("SKU00001")["price_cents"] == 77
    assert reader.price("SKU00002") is None
    assert reader.sync_state()["chain"] == {"version": 2, "sha256": f"{2:064x}",
                                            "applied_at": "2026-11-23T06:30:00+00:00"}  # the bundle's at
    assert applied_version(cache, "chain") == 2 and applied_version(cache, "region/x") == 0


def test_empty_section_in_a_snapshot_clears_it_for_that_scope(cache: Cache):
    apply(cache, "chain", 1, sample_content(2))
    apply(cache, "store/s001", 1, {"offers": [offer("OFF2", "Store offer", ["kiosk"])]})
    apply(cache, "chain", 2, {"offers": []})
    assert [o["id"] for o in CacheReader(cache).offers()] == ["OFF2"]


def test_scope_precedence_device_store_region_chain(cache: Cache):
    # Applied most specific first so that insertion order cannot be what decides.
    apply(cache, "device/kiosk-1", 1, {
        "prices": [price("A", 4)],
        "products": [product("A", "device A")],
        "offers": [offer("O1", "device O1", ["tablet"])],
    })
    apply(cache, "store/s001", 1, {
        "prices": [price("A", 3), price("B", 3)],
        "products": [product("A", "store A"), product("B", "store B", "bakery")],
        "offers": [offer("O1", "store O1", ["kiosk"]), offer("O2", "store O2", ["kiosk"])],
    })
    apply(cache, "region/south", 1, {
        "prices": [price("A", 2), price("B", 2), price("C", 2)],
        "products": [product("C", "region C")],
        "offers": [offer("O3", "region O3", ["kiosk", "signage"])],
    })
    apply(cache, "chain", 1, {
        "prices": [price("A", 1), price("B", 1), price("C", 1), price("D", 1)],
        "products": [product(s, f"chain {s}") for s in "ABCD"],
        "offers": [offer(o, f"chain {o}", ["kiosk"]) for o in ("O1", "O2", "O3", "O4")],
    })
    reader = CacheReader(cache)
    assert {s: reader.price(s)["price_cents"] for s in "ABCD"} == {"A": 4, "B": 3, "C": 2, "D": 1}
    assert reader.price("E") is None
    assert reader.product("A")["name"]["en"] == "device A"
    assert [p["name"]["en"] for p in reader.products()] == ["device A", "store B", "region C", "chain D"]
    assert [p["sku"] for p in reader.products("bakery")] == ["B"]  # the store's category, not the chain's
    assert [(o["id"], o["title"]["en"]) for o in reader.offers()] == [
        ("O1", "device O1"), ("O2", "store O2"), ("O3", "region O3"), ("O4", "chain O4")]
    # the device's O1 is for the tablet only: the chain's kiosk O1 must not leak through for the kiosk
    assert [o["id"] for o in reader.offers("kiosk")] == ["O2", "O3", "O4"]
    assert [o["id"] for o in reader.offers("tablet")] == ["O1"]
    assert [o["id"] for o in reader.offers("signage")] == ["O3"]


@pytest.mark.parametrize("version", [3, 2])
def test_stale_version_is_refused_and_cache_unchanged(cache: Cache, version: int):
    apply(cache, "chain", 3, sample_content(3, price=300))
    before = cache_snapshot(cache.path)
    cache_size = cache.query("PRAGMA cache_size")
    with pytest.raises(StaleVersion) as info:
        apply(cache, "chain", version, sample_content(1, price=1))
    assert info.value.applied == 3
    assert str(info.value) == f"chain: version {version} ignored, version 3 is already applied"
    assert cache_snapshot(cache.path) == before
    # a stale delta is refused too
    with pytest.raises(StaleVersion):
        apply(cache, "chain", version, {"delete": {"prices": ["SKU00000"]}}, mode="delta")
    assert cache_snapshot(cache.path) == before
    assert cache.query("PRAGMA cache_size") == cache_size  # the apply's temporary page cache is undone
    # versions are per stream: another scope starts from nothing
    assert apply(cache, "store/s001", 1, {"prices": [price("SKU00000", 9)]}).version == 1


def test_delta_upserts_and_deletes_in_its_own_scope(cache: Cache):
    apply(cache, "chain", 1, sample_content(3, price=100))
    apply(cache, "store/s001", 1, {"prices": [price("SKU00001", 77), price("SKU00002", 88)]})
    applied = apply(cache, "chain", 2, mode="delta", content={
        "prices": [price("SKU00000", 50), price("SKU00009", 9)],
        "delete": {"prices": ["SKU00001", "SKU00002", "NOSUCH"], "offers": ["OFF1"]},
    })
    assert applied.counts == {"prices": 2, "deleted prices": 3, "deleted offers": 1}
    assert rows(cache, "prices", "scope", "sku", "json_extract(body, '$.price_cents')") == [
        ("chain", "SKU00000", 50),
        ("chain", "SKU00009", 9),
        ("store/s001", "SKU00001", 77),  # a chain delta does not delete another scope's rows
        ("store/s001", "SKU00002", 88),
    ]
    assert rows(cache, "products", "sku") == [("SKU00000",), ("SKU00001",), ("SKU00002",)]  # not named: kept
    assert CacheReader(cache).offers() == []
    assert applied_version(cache, "chain") == 2


def test_delta_erasing_a_profile_purges_every_trace(cache: Cache, outbox: Outbox):
    p1 = {"profile_id": "P1", "phone_hash": "h1", "first_name": "Chain"}
    p2 = {"profile_id": "P2", "phone_hash": "h2", "first_name": "Other"}
    apply(cache, "chain", 1, {"profiles": [p1, p2]})
    apply(cache, "store/s001", 1, {"profiles": [dict(p1, first_name="Store")]}, stream="profiles:store/s001")
    remember_lookup(cache, dict(p1, first_name="Lookup"), ttl_s=900, now=NOW)
    for pid in ("P1", "P2"):
        record_consent(cache, outbox, profile_id=pid, purpose="marketing", status="granted",
                       wording_version="v1", channel="kiosk", at=NOW)
        outbox.record("identified", {"profile_id": pid})
    outbox.record("health", {"cpu": 0.5})
    assert len(rows(cache, "profiles", "profile_id", "scope")) == 4

    applied = apply(cache, "store/s001", 2, {"delete": {"profiles": ["P1"]}}, mode="delta",
                    stream="profiles:store/s001")
    assert applied.counts == {"erased profiles": 1}

    reader = CacheReader(cache)
    assert rows(cache, "profiles", "profile_id", "scope") == [("P2", "chain")]  # P1 gone from every scope
    assert reader.profile("P1", NOW) is None and reader.profile_by_phone_hash("h1", NOW) is None
    assert reader.consent_history("P1") == []
    assert [c["purpose"] for c in reader.consent_history("P2")] == ["marketing"]
    payloads = [json.loads(p) for (p,) in cache.query("SELECT payload FROM outbox ORDER BY seq")]
    assert [p.get("profile_id") for p in payloads] == ["P2", "P2", None]
    assert reader.profile("P2", NOW)["first_name"] == "Other"


def test_erase_profile_on_device_reports_the_erasure(cache: Cache, outbox: Outbox):
    apply(cache, "chain", 1, {"profiles": [{"profile_id": "P1"}]})
    outbox.record("identified", {"profile_id": "P1"})
    erase_profile(cache, outbox, "P1", ("phone_hash", "h1"))
    assert CacheReader(cache).profile("P1", NOW) is None
    assert [(t, json.loads(p)) for t, p in cache.query("SELECT type, payload FROM outbox")] == [
        ("erasure", {"profile_id": "P1", "phone_hash": "h1"})]  # the shopper's proof: head office checks it
    with pytest.raises(ValueError, match="phone_hash or qr_token"):
        erase_profile(cache, outbox, "P2")  # a device's word alone is not enough


def test_failed_snapshot_changes_nothing(tmp_path: Path):
    """A snapshot too big for the cache is rolled back whole: the old rows of its scope survive."""
    cache = Cache(tmp_path / "cache.db", max_bytes=512 * 1024)
    try:
        apply(cache, "chain", 1, sample_content(5, price=100))
        before = cache_snapshot(cache.path)
        huge = {"products": [product(f"S{i:05d}", os.urandom(200).hex()) for i in range(2000)],
                "prices": [price("SKU00000", 1)]}
        with pytest.raises(CacheFull):
            apply(cache, "chain", 2, huge)
        assert cache_snapshot(cache.path) == before
        assert applied_version(cache, "chain") == 1
        assert CacheReader(cache).price("SKU00000")["price_cents"] == 100
    finally:
        cache.close()


# --- outbox -----------------------------------------------------------------------------------------------------


def test_outbox_window_delete_and_stats(cache: Cache, outbox: Outbox, clock: FixedClock):
    empty = outbox.stats()
    assert (empty.rows, empty.bytes, empty.oldest_wall_time) == (0, 0, None)
    assert outbox.window(after_seq=0, limit=10) == []

    ids = [outbox.record("offer_shown", {"offer": f"O{i}", "n": i}) for i in range(5)]
    window = outbox.window(after_seq=0, limit=3)
    assert [r.seq for r in window] == [1, 2, 3]
    [doc] = events.parse_batch(window[0].wire)
    assert (doc["id"], doc["seq"], doc["type"], doc["boot_id"], doc["device"], doc["store"]) == (
        ids[0], 1, "offer_shown", "boot-1", "kiosk-1", "s001")
    assert doc["payload"] == {"offer": "O0", "n": 0}
    assert doc["wall_time"] == clock.time() and uuid.UUID(doc["id"]).int >> 80 == int(clock.time() * 1000)
    assert [r.seq for r in outbox.window(after_seq=3, limit=10)] == [4, 5]
    assert outbox.window(after_seq=5, limit=10) == []

    stats = outbox.stats()
    payloads = cache.query("SELECT payload, wall_time FROM outbox")
    assert stats.rows == 5
    assert stats.bytes == sum(len(p) for p, _ in payloads) + 5 * 200
    assert stats.oldest_wall_time == min(w for _, w in payloads)

    outbox.delete([2, 4])
    outbox.delete([])
    assert [r.seq for r in outbox.window(after_seq=0, limit=10)] == [1, 3, 5]
    assert outbox.stats().rows == 3
    assert outbox.file_bytes() >= os.path.getsize(cache.path) > 0


def test_outbox_seq_is_never_reused(tmp_path: Path):
    path = tmp_path / "cache.db"
    cache = Cache(path)
    ob = Outbox(cache, boot_id="b", device="d", store="s", clock=FixedClock(NOW))
    for _ in range(3):
        ob.record("health", {})
    ob.delete([1, 2, 3])
    assert ob.stats().rows == 0
    cache.close()
    cache = Cache(path)  # and not after a restart either
    try:
        ob = Outbox(cache, boot_id="b2", device="d", store="s", clock=FixedClock(NOW))
        ob.record("health", {})
        assert [r.seq for r in ob.window(after_seq=0, limit=10)] == [4]
    finally:
        cache.close()


def test_outbox_refuses_unknown_event_types(cache: Cache, outbox: Outbox):
    with pytest.raises(ValueError, match="unknown event type 'party'"):
        outbox.record("party", {})
    assert outbox.stats().rows == 0


# --- customers --------------------------------------------------------------------------------------------------


def test_record_consent_writes_ledger_and_outbox_together(cache: Cache, outbox: Outbox):
    record_consent(cache, outbox, profile_id="P1", purpose="e_receipt", status="granted",
                   wording_version="2024-05", channel="kiosk", at=NOW)
    record_consent(cache, outbox, profile_id="P1", purpose="e_receipt", status="withdrawn",
                   wording_version="2024-05", channel="tablet", at=NOW + 60)
    history = CacheReader(cache).consent_history("P1")
    assert [(h["purpose"], h["status"], h["channel"]) for h in history] == [
        ("e_receipt", "granted", "kiosk"), ("e_receipt", "withdrawn", "tablet")]
    sent = [events.parse_batch(r.wire)[0] for r in outbox.window(after_seq=0, limit=10)]
    assert [e["type"] for e in sent] == ["consent_given", "consent_withdrawn"]
    assert sent[1]["payload"] == {"profile_id": "P1", "purpose": "e_receipt", "status": "withdrawn",
                                  "wording_version": "2024-05", "channel": "tablet", "at": history[1]["at"]}
    assert [h["at"] for h in history] == ["2026-11-23T06:30:00.000+00:00", "2026-11-23T06:31:00.000+00:00"]


def test_record_consent_is_one_transaction(cache: Cache, outbox: Outbox):
    # Make the outbox insert fail: the ledger row written just before it must be rolled back with it.
    cache.conn.execute("CREATE TRIGGER outbox_broken BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'boom'); END")
    with pytest.raises(sqlite3.IntegrityError, match="boom"):
        record_consent(cache, outbox, profile_id="P1", purpose="marketing", status="granted",
                       wording_version="v1", channel="kiosk", at=NOW)
    assert cache.query("SELECT count(*) FROM consents")[0][0] == 0
    assert not cache.conn.in_transaction
    cache.conn.execute("DROP TRIGGER outbox_broken")
    record_consent(cache, outbox, profile_id="P1", purpose="marketing", status="granted",
                   wording_version="v1", channel="kiosk", at=NOW)
    assert cache.query("SELECT count(*) FROM consents")[0][0] == 1


def test_record_consent_validates_before_writing(cache: Cache, outbox: Outbox):
    with pytest.raises(ValueError, match="unknown consent purpose 'spam'"):
        record_consent(cache, outbox, profile_id="P1", purpose="spam", status="granted",
                       wording_version="v1", channel="kiosk", at=NOW)
    with pytest.raises(ValueError, match="unknown consent status 'maybe'"):
        record_consent(cache, outbox, profile_id="P1", purpose="marketing", status="maybe",
                       wording_version="v1", channel="kiosk", at=NOW)
    assert cache.query("SELECT count(*) FROM consents")[0][0] == 0 and outbox.stats().rows == 0


def test_consent_ledger_is_append_only(cache: Cache, outbox: Outbox):
    record_consent(cache, outbox, profile_id="P1", purpose="marketing", status="granted",
                   wording_version="v1", channel="kiosk", at=NOW)
    before = cache.query("SELECT * FROM consents")
    with pytest.raises(sqlite3.IntegrityError, match="the consent ledger is append-only"):
        with cache.transaction() as conn:
            conn.execute("UPDATE consents SET status = 'denied'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        cache.conn.execute("UPDATE consents SET at = '1970-01-01'")
    assert cache.query("SELECT * FROM consents") == before


def test_lookup_profile_expires_and_sits_below_bundle_scopes(cache: Cache):
    now = 1_000_000.0
    remember_lookup(cache, {"profile_id": "P1", "phone_hash": "h1", "first_name": "Lookup"}, ttl_s=60, now=now)
    reader = CacheReader(cache)
    assert reader.profile("P1", now=now + 59)["first_name"] == "Lookup"
    assert reader.profile_by_phone_hash("h1", now=now + 59)["first_name"] == "Lookup"
    assert reader.profile("P1", now=now + 61) is None
    assert reader.profile_by_phone_hash("h1", now=now + 61) is None

    apply(cache, "chain", 1, {"profiles": [{"profile_id": "P1", "phone_hash": "h1", "first_name": "Chain"}]})
    remember_lookup(cache, {"profile_id": "P1", "phone_hash": "h1", "first_name": "Fresh lookup"}, ttl_s=60, now=now)
    assert reader.profile("P1", now=now)["first_name"] == "Chain"
    assert reader.profile_by_phone_hash("h1", now=now)["first_name"] == "Chain"
    # bundle profiles never expire
    assert reader.profile("P1", now=now + 10**9)["first_name"] == "Chain"

    assert forget_lookups(cache) == 1
    assert rows(cache, "profiles", "profile_id", "scope") == [("P1", "chain")]


# --- a full disk ------------------------------------------------------------------------------------------------


def _fill(outbox: Outbox, pad: int, limit: int = 100_000) -> tuple[list[str], CacheFull]:
    written = []
    for i in range(limit):
        try:
            written.append(outbox.record("health", {"i": i, "pad": os.urandom(pad // 2).hex()}))
        except CacheFull as exc:
            return written, exc
    raise AssertionError(f"cache never filled up after {limit} events")


def _check_intact(cache: Cache, written: list[str]) -> None:
    assert cache.query("PRAGMA integrity_check") == [("ok",)]
    ids = [r[0] for r in cache.query("SELECT id FROM outbox ORDER BY seq")]
    assert ids == written
    payloads = [json.loads(r[0]) for r in cache.query("SELECT payload FROM outbox ORDER BY seq")]
    assert [p["i"] for p in payloads] == list(range(len(written)))


def test_size_cap_raises_cache_full_and_keeps_what_was_written(tmp_path: Path):
    path = tmp_path / "cache.db"
    cache = Cache(path, max_bytes=512 * 1024)
    try:
        ob = Outbox(cache, boot_id="b", device="d", store="s", clock=FixedClock(NOW))
        written, exc = _fill(ob, pad=600)
        assert len(written) > 50
        assert isinstance(exc, CacheError)
        assert str(exc) == "cache is full (database or disk is full); nothing was written"
        assert not cache.conn.in_transaction
        _check_intact(cache, written)
        assert [r.seq for r in ob.window(after_seq=0, limit=10**6)] == list(range(1, len(written) + 1))
        with pytest.raises(CacheFull):  # still full: the failed write left nothing behind to fix
            ob.record("health", {"pad": "x" * 2000})

        ob.delete(list(range(1, len(written) // 2 + 1)))
        more = [ob.record("health", {"i": i, "pad": "y" * 600}) for i in range(10)]
        assert [r[0] for r in cache.query("SELECT id FROM outbox ORDER BY seq")][-10:] == more
        assert cache.query("PRAGMA integrity_check") == [("ok",)]
    finally:
        cache.close()
    # and a fresh connection (a restart) sees the same, consistent file
    again = Cache(path, max_bytes=512 * 1024)
    try:
        assert again.query("PRAGMA integrity_check") == [("ok",)]
        assert again.query("SELECT count(*) FROM outbox")[0][0] == len(written) - len(written) // 2 + 10
    finally:
        again.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
@pytest.mark.skipif(shutil.which("mount") is None, reason="no mount(8)")
def test_real_full_disk_on_tmpfs(tmp_path: Path):
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    cache = None
    try:
        # Ballast stands for whatever else filled the disk; freeing it later makes room again.
        ballast = mnt / "ballast"
        ballast.write_bytes(b"\0" * (512 * 1024))
        cache = Cache(mnt / "cache.db")
        ob = Outbox(cache, boot_id="b", device="d", store="s", clock=FixedClock(NOW))
        written, exc = _fill(ob, pad=1000)
        assert len(written) > 20
        assert str(exc) == "cache is full (database or disk is full); nothing was written"
        assert shutil.disk_usage(mnt).free < 64 * 1024
        _check_intact(cache, written)

        ballast.unlink()
        extra = ob.record("health", {"i": len(written), "pad": "after"})
        _check_intact(cache, written + [extra])
        cache.close()
        cache = Cache(mnt / "cache.db")
        _check_intact(cache, written + [extra])
    finally:
        if cache is not None:
            cache.close()
        subprocess.run(["umount", str(mnt)], check=True)


def test_v1_cache_migrates_to_latest_with_a_backup(tmp_path):
    import sqlite_utils

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    schema.MIGRATIONS[0](db)
    db.execute("PRAGMA user_version=1")
    db.execute("INSERT INTO products (sku, scope, rank, body) VALUES ('A', 'chain', 0, '{}')")
    db.conn.close()
    cache = Cache(path)
    assert cache.query("PRAGMA user_version")[0][0] == schema.LATEST
    assert cache.query("SELECT sku FROM products") == [("A",)]
    assert {"impressions", "pin_attempts", "staff", "basket_lines"} <= set(cache.db.table_names())
    backup = sqlite3.connect(tmp_path / "old.db.v1.bak")
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 1
    assert backup.execute("SELECT sku FROM products").fetchall() == [("A",)]


def test_erasure_reaches_history_impressions_sales_coupons_and_redemptions(tmp_path):
    from sync.cache.engine_state import Shown, record_offers_shown
    from sync.cache.profiles import erase_profile
    from sync.cache.redemption import Issued, record_coupon_issued, record_redemption
    from sync.cache.sales import record_sale

    cache = Cache(tmp_path / "c.db")
    ob = Outbox(cache, boot_id="b", device="d", store="s", clock=FixedClock(NOW))
    line = {"line_id": "L1", "basket_id": "B1", "profile_id": "P9", "sku": "A", "qty": 1, "amount_cents": 100,
            "at": "2026-11-01T08:00:00Z"}
    apply_bundle(cache, stream="store/s", scope="store/s", version=1, sha256="x", mode="snapshot",
                 content={"profiles": [{"profile_id": "P9"}], "basket_lines": [line]}, at=NOW)
    record_offers_shown(cache, ob, [Shown("O1", "P9", None, None, [])], channel="kiosk", at=NOW)
    record_sale(cache, ob, basket_id="T1", lines=[{"sku": "A", "qty": 1, "amount_cents": 100}], at=1.0,
                profile_id="P9")
    record_coupon_issued(cache, ob, Issued("CODE", "O1", None, None, "P9", "s", 9e9, 1.0), channel="kiosk",
                         context="morning|cold")
    assert record_redemption(cache, ob, code="CODE", offer_id="O1", arm=None, basket_id="T1", basket=[],
                             discount_cents=10, at=2.0)
    erase_profile(cache, ob, "P9", ("phone_hash", "h9"))
    for table in ("profiles", "basket_lines", "impressions", "sales", "coupons", "redemptions", "consents"):
        assert cache.query(f"SELECT count(*) FROM {table} WHERE profile_id = 'P9'")[0][0] == 0, table
    assert cache.query("SELECT count(*) FROM redemptions")[0][0] == 1  # single use survives, anonymous
    payloads = [json.loads(r[0]) for r in cache.query("SELECT payload FROM outbox")]
    assert payloads == [{"profile_id": "P9", "phone_hash": "h9"}]  # only the erasure itself, to tell head office
