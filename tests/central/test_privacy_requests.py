"""Shoppers' privacy requests: due dates by jurisdiction (152-FZ's working days across a weekend), open and overdue
by the test's clock, answered by an export or by every store's confirmation of an erasure; the erasure's receipt."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from central import privacy_requests as requests
from central.config import load
from central.erasure import erase_profile, subject_hash
from central.merge import merge_profiles
from central.profiles import upsert_profile
from sync.clock import FixedClock
from sync.config import ConfigError

FRIDAY = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(("received", "jurisdiction", "due"), [
    (date(2026, 11, 23), "gdpr", date(2026, 12, 23)),  # 30 calendar days
    (date(2026, 12, 15), "gdpr", date(2027, 1, 14)),  # across the year's end
    (date(2026, 11, 27), "152-fz", date(2026, 12, 11)),  # a Friday: two weekends skipped
    (date(2026, 11, 28), "152-fz", date(2026, 12, 11)),  # a Saturday: the weekend is not counted either
    (date(2026, 11, 25), "152-fz", date(2026, 12, 9)),  # a Wednesday: 10 working days over one weekend
])
def test_due_date_by_jurisdiction(received, jurisdiction, due):
    assert requests.due_on(received, jurisdiction) == due


def test_the_jurisdiction_is_a_checked_setting(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[privacy]\njurisdiction = "152-fz"\n')
    assert load(good, env={}).privacy.jurisdiction == "152-fz"
    bad = tmp_path / "bad.toml"
    bad.write_text('[privacy]\njurisdiction = "ccpa"\n')
    with pytest.raises(ConfigError, match=r"\[privacy\] jurisdiction: 'ccpa' is not one of gdpr, 152-fz"):
        load(bad, env={})


def test_a_152fz_request_received_on_a_friday_is_overdue_after_the_second_friday(db):
    clock = FixedClock(FRIDAY)
    upsert_profile(db, {"profile_id": "P-ANA", "first_name": "Ana"}, now=clock.time())
    received = requests.parse_day("2026-11-27", now=clock.time())
    asked = requests.record(db, "access", "P-ANA", received_on=received, jurisdiction="152-fz", recorded_by="pia",
                            now=clock.time())
    assert asked.due_on == date(2026, 12, 11)
    clock.set(datetime(2026, 12, 11, 23, 59, tzinfo=UTC))  # the due day itself: still in time
    assert [r.id for r in requests.open_requests(db)] == [asked.id]
    assert not requests.get(db, asked.id).overdue(requests.today(clock.time()))
    clock.set(datetime(2026, 12, 12, 0, 1, tzinfo=UTC))  # the Saturday after
    assert requests.get(db, asked.id).overdue(requests.today(clock.time()))

    assert requests.answer_access(db, "P-ANA", jurisdiction="152-fz", by="pia", now=clock.time()) == [asked.id]
    answered = requests.get(db, asked.id)
    assert answered.closed_at == clock.time() and answered.answer == "export given by pia"
    assert requests.open_requests(db) == []
    assert answered.overdue(date(2027, 6, 1))  # answered late stays late, whenever it is read


def test_an_export_without_a_request_is_recorded_as_one_answered_at_once(db):
    clock = FixedClock(FRIDAY)
    upsert_profile(db, {"profile_id": "P-BO"}, now=clock.time())
    [rid] = requests.answer_access(db, "P-BO", jurisdiction="gdpr", by="pia", now=clock.time())
    r = requests.get(db, rid)
    assert (r.kind, r.received_on, r.due_on, r.closed_at) == ("access", date(2026, 11, 27), date(2026, 12, 27),
                                                              clock.time())
    assert not r.overdue(date(2027, 1, 1))


def test_a_request_received_after_today_or_not_a_date_is_refused():
    now = FRIDAY.timestamp()
    with pytest.raises(requests.RequestError, match="after today"):
        requests.parse_day("2026-11-28", now=now)
    with pytest.raises(requests.RequestError, match="not a date like"):
        requests.parse_day("27/11/2026", now=now)


def test_an_erasure_request_closes_when_every_notified_store_has_confirmed(db):
    clock = FixedClock(FRIDAY)
    upsert_profile(db, {"profile_id": "P-OLD", "first_name": "Eva"}, now=clock.time() - 100)
    upsert_profile(db, {"profile_id": "P-NEW"}, now=clock.time())
    merge_profiles(db, "P-OLD", "P-NEW", now=clock.time())
    # A merge's delta deleted P-NEW at s001 earlier: that device's confirmation is not this erasure's.
    requests.confirm(db, "s001", "kiosk-1", [subject_hash("P-NEW")], now=clock.time())
    [rid] = requests.open_erasure(db, "P-OLD", jurisdiction="gdpr", by="pia", now=clock.time())
    clock.advance(60)
    erasure = erase_profile(db, "P-OLD", requested_by="console pia", now=clock.time(), told=["s001", "s002"])
    requests.erasure_done(db, [rid], erasure.erasure_id, now=clock.time())
    assert requests.get(db, rid).profile_id is None  # the request no longer names her
    receipt = requests.receipt(db, erasure.erasure_id)
    assert [(s.store, s.confirmed_at) for s in receipt.stores] == [("s001", None), ("s002", None)]
    assert not receipt.confirmed and requests.get(db, rid).closed_at is None

    clock.advance(5)
    requests.confirm(db, "s001", "kiosk-1", [subject_hash("P-OLD"), subject_hash("P-NEW")], now=clock.time())
    requests.confirm(db, "s009", "kiosk-9", [subject_hash("P-OLD")], now=clock.time())  # a store never told
    assert requests.get(db, rid).closed_at is None  # s002 has not confirmed
    clock.advance(5)
    requests.confirm(db, "s002", "signage-2", [subject_hash("P-NEW")], now=clock.time())
    receipt = requests.receipt(db, erasure.erasure_id)
    assert [(s.store, s.confirmed_at, s.devices) for s in receipt.stores] == [
        ("s001", clock.time() - 5, (("kiosk-1", clock.time() - 5),)),
        ("s002", clock.time(), (("signage-2", clock.time()),))]
    closed = requests.get(db, rid)
    assert closed.closed_at == clock.time() and closed.answer == "erased; every store confirmed"


def test_an_erasure_of_someone_no_store_held_is_answered_at_once(db):
    clock = FixedClock(FRIDAY)
    upsert_profile(db, {"profile_id": "P-SOLO"}, now=clock.time())
    ids = requests.open_erasure(db, "P-SOLO", jurisdiction="gdpr", by="pia", now=clock.time())
    erasure = erase_profile(db, "P-SOLO", requested_by="console pia", now=clock.time())
    requests.erasure_done(db, ids, erasure.erasure_id, now=clock.time())
    assert requests.receipt(db, erasure.erasure_id).stores == ()
    assert requests.get(db, ids[0]).closed_at == clock.time()
