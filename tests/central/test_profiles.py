"""Golden profiles, merge, consent ledger, erasure and export: on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest

from central.consents import current_consents, history, record_consent
from central.db import Database, open_database
from central.erasure import erase_profile, export_profile, subject_hash
from central.ingest import store_events
from central.merge import MergeError, merge_profiles
from central.profiles import AliasTaken, link, lookup, resolve, upsert_profile
from central.schema import MIGRATIONS, SchemaTooNew

PHONE_A, PHONE_B = "a" * 64, "b" * 64
NOW = 3_000.0  # head office's clock: after every profile and event time below


def sale(eid: str, profile: str | None, *, store: str = "s001", at: float = 1_000.0, seq: int = 1,
         sku: str = "COF-001") -> dict:
    return {"id": eid, "seq": seq, "type": "sale", "store": store, "device": "kiosk-1", "wall_time": at,
            "payload": {"basket_id": f"B-{eid}", "at": at, "profile_id": profile,
                        "lines": [{"sku": sku, "qty": 1, "amount_cents": 250}]}}


def two_people(db: Database) -> None:
    upsert_profile(db, {"profile_id": "OLD", "phone_hash": PHONE_A, "first_name": "Ana", "segments": ["coffee"],
                        "attributes": {"city": "Sofia", "lang": "bg"}, "created_at": 100,
                        "consents": {"personal_offers": "granted", "marketing": "granted"}}, now=100)
    upsert_profile(db, {"profile_id": "NEW", "loyalty_id": "L-77", "first_name": "Anna",
                        "segments": ["bakery", "coffee"], "attributes": {"city": "Plovdiv", "pet": "cat"},
                        "rfm": {"r": 5, "f": 1, "m": 1, "tier": "new"}, "created_at": 500,
                        "consents": {"personal_offers": "withdrawn", "e_receipt": "granted"}}, now=500)


def test_profiles_head_office_creates_get_random_ids_not_a_sequence(db):
    ids = [upsert_profile(db, {"phone_hash": f"{n:064x}", "first_name": "X"}, now=NOW) for n in range(20)]
    assert len(set(ids)) == 20 and all(re.fullmatch(r"c-[0-9a-f]{32}", pid) for pid in ids)
    assert sorted(ids) != ids or sorted(ids, reverse=True) != ids  # no order to walk along
    # The same customer again (by phone hash) is the same profile, not a new one.
    assert upsert_profile(db, {"phone_hash": f"{3:064x}", "first_name": "Y"}, now=NOW) == ids[3]
    assert lookup(db, "profile_id", ids[3])["first_name"] == "Y"


def test_lookup_by_every_identifier_and_not_found(db):
    two_people(db)
    assert lookup(db, "phone_hash", PHONE_A)["first_name"] == "Ana"
    assert lookup(db, "profile_id", "NEW")["first_name"] == "Anna"
    assert resolve(db, "loyalty_id", "L-77") == "NEW"
    assert lookup(db, "phone_hash", PHONE_B) is None
    with pytest.raises(AliasTaken, match="OLD"):
        link(db, "NEW", "phone_hash", PHONE_A)


def test_merge_oldest_wins_strictest_consent_and_nothing_is_lost(db):
    two_people(db)
    store_events(db, [sale("e1", "NEW", at=2000.0), sale("e2", "OLD", at=1500.0, seq=2)], now=NOW)
    merged = merge_profiles(db, "NEW", "OLD", now=900)
    assert (merged.winner, merged.loser) == ("OLD", "NEW")

    profile = lookup(db, "loyalty_id", "L-77")  # the loser's identifier now finds the winner
    assert profile["profile_id"] == "OLD" and profile["first_name"] == "Ana"  # winner's field kept
    assert profile["segments"] == ["coffee", "bakery"]  # union, winner's first
    assert profile["rfm"]["tier"] == "new"  # winner had none: the loser's
    assert profile["consents"] == {"personal_offers": "withdrawn", "marketing": "granted", "e_receipt": "granted"}
    assert lookup(db, "profile_id", "NEW")["profile_id"] == "OLD"
    assert lookup(db, "phone_hash", PHONE_A)["profile_id"] == "OLD"

    export = export_profile(db, "NEW")
    assert export["profile_id"] == "OLD"
    tomb = next(p for p in export["profiles"] if p["profile_id"] == "NEW")
    assert tomb["merged_into"] == "OLD"
    assert tomb["merged_snapshot"]["first_name"] == "Anna"
    assert tomb["merged_snapshot"]["attributes"]["city"] == "Plovdiv"
    winner = next(p for p in export["profiles"] if p["profile_id"] == "OLD")
    assert winner["attributes"] == {"city": "Sofia", "lang": "bg", "pet": "cat"}
    assert winner["last_visit"] == 2000.0
    assert {e["id"] for e in export["events"]} == {"e1", "e2"}
    assert len(export["purchases"]) == 2
    assert {(i["kind"], i["value"]) for i in export["identifiers"]} >= {
        ("profile_id", "OLD"), ("profile_id", "NEW"), ("phone_hash", PHONE_A), ("loyalty_id", "L-77")}
    # Both ledgers are in the export, and the merge row says where the stricter status came from.
    sources = [(c["profile_id"], c["purpose"], c["status"], c["source"]) for c in export["consents"]]
    assert ("NEW", "personal_offers", "withdrawn", "head_office") in sources
    assert ("OLD", "personal_offers", "withdrawn", "merge:NEW") in sources
    with pytest.raises(MergeError):
        merge_profiles(db, "OLD", "NEW", now=NOW)


def test_merge_is_deterministic_whichever_order(tmp_path):
    winners = []
    for n, (a, b) in enumerate((("NEW", "OLD"), ("OLD", "NEW"))):
        database = open_database(tmp_path / f"{n}.db")
        two_people(database)
        merge_profiles(database, a, b, now=900)
        winners.append(export_profile(database, "OLD")["profiles"][0])
        database.close()
    assert winners[0] == winners[1]


def test_consent_ledger_is_append_only_with_current_state(db):
    upsert_profile(db, {"profile_id": "P1"}, now=1)
    record_consent(db, "P1", "personal_offers", "granted", at=10, wording_version="v3", channel="kiosk",
                   store="s001", source="device")
    record_consent(db, "P1", "personal_offers", "withdrawn", at=20, wording_version="v3", channel="app",
                   store=None, source="head_office")
    record_consent(db, "P1", "marketing", "denied", at=30, wording_version="v4", channel="tablet", store="s002",
                   source="device")
    assert current_consents(db, "P1") == {"personal_offers": "withdrawn", "marketing": "denied"}
    rows = history(db, "P1")
    assert [(r["purpose"], r["status"], r["at"], r["wording_version"], r["channel"], r["store"]) for r in rows] == [
        ("personal_offers", "granted", 10, "v3", "kiosk", "s001"),
        ("personal_offers", "withdrawn", 20, "v3", "app", None),
        ("marketing", "denied", 30, "v4", "tablet", "s002")]
    with pytest.raises(ValueError, match="purpose"):
        record_consent(db, "P1", "telepathy", "granted", at=1, wording_version=None, channel=None, store=None,
                       source="device")


def test_consent_events_from_devices_append_to_the_ledger(db):
    upsert_profile(db, {"profile_id": "P1"}, now=1)
    event = {"id": "c1", "seq": 1, "type": "consent_given", "store": "s003", "device": "kiosk-2", "wall_time": 50.0,
             "payload": {"profile_id": "P1", "purpose": "e_receipt", "status": "granted", "wording_version": "v9",
                         "channel": "kiosk", "at": "2026-01-01T00:00:00.000+00:00"}}
    store_events(db, [event, event], now=NOW)
    assert [(r["status"], r["wording_version"], r["store"], r["source"]) for r in history(db, "P1")] == [
        ("granted", "v9", "s003", "device")]


def test_erasure_removes_the_person_keeps_anonymous_numbers_and_late_events(db):
    two_people(db)
    store_events(db, [sale("e1", "NEW"), sale("e2", "OLD", store="s002", seq=2)], now=NOW)
    merge_profiles(db, "NEW", "OLD", now=NOW)
    db.execute("INSERT INTO store_cache (store, profile_id, digest, sent_at) VALUES ('s009', 'OLD', 'x', 0)")
    erasure = erase_profile(db, "NEW", requested_by="test", now=NOW)
    assert set(erasure.profile_ids) == {"OLD", "NEW"}
    assert erasure.stores == ("s001", "s002", "s009") and erasure.events_anonymised == 2
    for kind, value in (("profile_id", "OLD"), ("profile_id", "NEW"), ("phone_hash", PHONE_A), ("loyalty_id", "L-77")):
        assert resolve(db, kind, value) is None
    assert export_profile(db, "OLD") is None
    # Nothing personal is left in any table.
    for table in ("profiles", "aliases", "consents", "profile_stores", "store_cache", "qr_tokens"):
        assert db.scalar(f"SELECT count(*) FROM {table}") == 0, table
    dump = json.dumps(db.execute("SELECT * FROM events") + db.execute("SELECT * FROM basket_lines")
                      + db.execute("SELECT * FROM erasures"))
    assert "OLD" not in dump and "NEW" not in dump and "Ana" not in dump
    assert db.scalar("SELECT count(*) FROM basket_lines") == 2  # the sales still count, anonymously
    assert db.execute("SELECT profiles, events_anonymised, stores_notified, requested_by FROM erasures") == [
        (2, 2, 3, "test")]
    # A device that was offline sends an event about the erased customer later: stored without them.
    store_events(db, [sale("late", "NEW", seq=3)], now=NOW + 600)
    body = json.loads(db.scalar("SELECT body FROM events WHERE id = 'late'"))
    assert body["payload"]["profile_id"] is None
    assert db.scalar("SELECT profile_id FROM events WHERE id = 'late'") is None
    assert db.scalar("SELECT count(*) FROM erased_subjects WHERE subject_hash = ?", (subject_hash("NEW"),)) == 1
    assert erase_profile(db, "NEW", requested_by="test", now=NOW + 600) is None


def test_ingest_dedupes_duplicates_reordering_and_late_arrival(db):
    upsert_profile(db, {"profile_id": "P1"}, now=1)
    events = [sale(f"e{i}", "P1", at=1000.0 + i, seq=i) for i in range(20)]
    # Reordered, with duplicates in the batch:
    first = store_events(db, list(reversed(events[:10])) + events[3:5], now=NOW)
    assert len(first.new) == 10 and first.duplicates == 2
    again = store_events(db, events, now=NOW + 60)  # resent after a lost ack, plus ten new
    assert len(again.new) == 10 and again.duplicates == 10
    # An old event from a device that was offline:
    late = store_events(db, [sale("old", "P1", at=10.0, seq=99)], now=NOW + 120)
    assert len(late.new) == 1
    assert db.scalar("SELECT count(*) FROM events") == 21
    assert db.scalar("SELECT count(*) FROM basket_lines") == 21
    assert db.execute("SELECT visits, first_seen, last_seen FROM profile_stores") == [(21, 10.0, 1019.0)]
    assert lookup(db, "profile_id", "P1")["last_visit"].startswith("1970-01-01T00:16:59")


def test_health_and_proof_of_play_feed_the_fleet_and_reports(db):
    store_events(db, [
        {"id": "h1", "seq": 1, "type": "health", "store": "s001", "device": "sign-1", "wall_time": 100.0,
         "payload": {"outbox_rows": 4, "sync_state": {"chain": 7}, "last_error": "media abc: HTTP 404"}},
        {"id": "p1", "seq": 2, "type": "proof_of_play", "store": "s001", "device": "sign-1", "wall_time": 90.0,
         "payload": {"item": "promo-latte", "duration_s": 10}},
    ], now=NOW)
    assert db.execute("SELECT last_seen, last_error FROM devices") == [(100.0, "media abc: HTTP 404")]
    assert db.execute("SELECT item, started_at, plays, seconds FROM play_hours") == [("promo-latte", 90.0, 1, 10.0)]


def test_migrations_run_once_and_a_newer_schema_is_refused(db_url):
    first = open_database(db_url)
    second = open_database(db_url)  # a second worker starting: nothing to do
    assert second.scalar("SELECT max(version) FROM schema_version") == len(MIGRATIONS)
    assert second.scalar("SELECT count(*) FROM schema_version") == len(MIGRATIONS)
    second.execute("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS) + 1,))
    with pytest.raises(SchemaTooNew):
        open_database(db_url)
    first.close()
    second.close()
