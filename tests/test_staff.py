"""The staff tablet's logic over the demo store's cache (no window): login, lookup, outcomes, KPIs."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from decisions.engine import Engine
from decisions.identity import qr
from demo.store import demo_cache
from kiosk.session import Store
from kiosk.staff import ASK_FIRST, CONSENT_WORDING, LOCKED, NOT_FOUND, WRONG_PIN, Kpis, NotLoggedIn, StaffService
from sync.cache.outbox import Outbox
from sync.cache.profiles import erase_profile
from sync.cache.read import CacheReader
from sync.clock import FixedClock
from sync.protocol import signing

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # Monday 08:30 in Sofia
PHONE_KEY = b"demo-chain-phone-key-2026"
STORE = Store("demo", "south", "s001", "tablet-1", "Europe/Sofia", "BG")
KEY = signing.generate_private_key()


@pytest.fixture
def store(tmp_path):
    cache = demo_cache(tmp_path / "cache.db", clock=FixedClock(NOW))
    engine = Engine.load(CacheReader(cache), now=NOW)
    yield cache, engine
    cache.close()


def service_for(cache, engine, clock) -> StaffService:
    return StaffService(cache, Outbox(cache, boot_id="b", device="tablet-1", store="s001", clock=clock), STORE,
                        phone_key=PHONE_KEY, qr_keys=signing.TrustedKeys([KEY.public_key()]),
                        engine=lambda: engine, clock=clock)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def staff(store, clock) -> StaffService:
    return service_for(*store, clock)


def events(service: StaffService) -> list[dict]:
    return [json.loads(r.wire) for r in service.outbox.window(after_seq=0, limit=1000)]


# --- login ------------------------------------------------------------------------------------------------------


def test_staff_list_and_login_with_the_right_pin(staff):
    assert [(m.id, m.name) for m in staff.staff_members()] == [
        ("st-01", "Ivana Petrova"), ("st-02", "Georgi Dimitrov"), ("st-03", "Olga Ivanova")]
    assert not any("scrypt" in repr(m) for m in staff.staff_members())
    result = staff.login("st-02", "1357")
    assert result.ok and staff.staff.name == "Georgi Dimitrov"
    staff.logout()
    assert staff.staff is None


def test_wrong_pin_counts_down_and_a_right_pin_resets(staff):
    first = staff.login("st-01", "1111")
    assert (first.ok, first.message, first.args) == (False, WRONG_PIN, {"tries": 4})
    assert first.text == "Wrong PIN. 4 tries left."
    assert staff.login("st-01", "2222").args == {"tries": 3}
    assert staff.login("st-01", "12").status == "invalid_pin"  # not a PIN: not counted
    assert staff.login("st-01", "3333").args == {"tries": 2}
    assert staff.login("st-01", "2468").ok
    assert staff.login("st-01", "1111").args == {"tries": 4}


def test_unknown_staff_member(staff):
    result = staff.login("st-99", "2468")
    assert not result.ok and result.status == "unknown_staff" and result.text == "Unknown staff member."
    assert staff.staff is None


def test_five_wrong_pins_lock_and_the_lockout_survives_a_restart(store, clock):
    staff = service_for(*store, clock)
    results = [staff.login("st-03", "0000") for _ in range(5)]
    assert [r.args.get("tries") for r in results[:4]] == [4, 3, 2, 1]
    assert (results[4].message, results[4].args) == (LOCKED, {"minutes": 5})
    assert results[4].text == "Locked. Try again in 5 min."
    assert staff.login("st-03", "8642").message == LOCKED  # even the right PIN, while locked
    assert staff.login("st-01", "2468").ok  # the lockout is per staff member

    restarted = service_for(*store, clock)  # a new service on the same cache: the app restarted
    clock.set(NOW + timedelta(minutes=4))
    again = restarted.login("st-03", "8642")
    assert (again.ok, again.message, again.args) == (False, LOCKED, {"minutes": 1})
    clock.set(NOW + timedelta(minutes=5, seconds=1))
    assert restarted.login("st-03", "8642").ok


# --- customer lookup -------------------------------------------------------------------------------------------


def test_lookup_is_refused_without_the_customers_agreement(staff):
    staff.login("st-01", "2468")
    result = staff.lookup_customer("0899100101", customer_agrees=False)
    assert (result.ok, result.message, result.customer) == (False, ASK_FIRST, None)
    assert staff.reader.consent_history("c-0001") == []
    assert events(staff) == []


def test_lookup_needs_a_logged_in_staff_member(staff):
    with pytest.raises(NotLoggedIn):
        staff.lookup_customer("0899100101", customer_agrees=True)


def test_lookup_with_agreement_records_consent_and_shows_recommendations_with_reasons(staff):
    staff.login("st-01", "2468")
    result = staff.lookup_customer("0899 100 101", customer_agrees=True)
    assert result.ok
    maria = result.customer
    assert (maria.profile_id, maria.first_name, maria.rfm_tier) == ("c-0001", "Мария", "champions")
    assert maria.segments == ("coffee_lover", "breakfast_regular", "commuter")
    assert len(maria.last_purchases) == 5
    assert all(p.name != p.sku for p in maria.last_purchases)  # product names from the catalogue
    dates = [p.at for p in maria.last_purchases]
    assert dates == sorted(dates, reverse=True)
    assert maria.recommendations and all(s.reasons for s in maria.recommendations)
    assert any("bought" in reason for s in maria.recommendations for reason in s.reasons), maria.recommendations

    ledger = staff.reader.consent_history("c-0001")
    assert [(r["purpose"], r["status"], r["wording_version"], r["channel"]) for r in ledger] == [
        ("personal_offers", "granted", CONSENT_WORDING, "tablet")]
    assert [(e["type"], e["payload"]["channel"]) for e in events(staff)] == [("consent_given", "tablet")]


def test_agreement_on_the_spot_overrides_an_earlier_no(staff):
    staff.login("st-01", "2468")
    result = staff.lookup_customer("0899100116", customer_agrees=True)  # c-0016 had denied personal offers
    assert result.ok and result.customer.first_name == "Владимир"
    assert staff.reader.consent_history("c-0016")[-1]["status"] == "granted"


def test_lookup_by_qr_code_and_bad_input(staff):
    staff.login("st-02", "1357")
    token = qr.issue_token(KEY, "c-0004", now=staff.clock.time(), ttl_s=600)
    assert staff.lookup_customer(token, customer_agrees=True).customer.first_name == "Елена"
    forged = qr.issue_token(signing.generate_private_key(), "c-0004", now=staff.clock.time(), ttl_s=600)
    assert not staff.lookup_customer(forged, customer_agrees=True).ok
    assert "short" in staff.lookup_customer("0899", customer_agrees=True).message
    nobody = staff.lookup_customer("0899100131", customer_agrees=True)
    assert (nobody.ok, nobody.message) == (False, NOT_FOUND)
    assert staff.customer is None


def test_lookup_falls_back_to_head_office(store, clock):
    cache, engine = store
    asked = []
    staff = service_for(cache, engine, clock)
    staff.lookup = lambda key, value: asked.append((key, value)) or {"profile_id": "c-9999", "first_name": "Ана"}
    staff.login("st-01", "2468")
    result = staff.lookup_customer("0899100131", customer_agrees=True)
    assert result.ok and result.customer.first_name == "Ана" and asked[0][0] == "phone_hash"
    token = qr.issue_token(KEY, "c-9999", now=clock.time(), ttl_s=600)
    assert staff.lookup_customer(token, customer_agrees=True).ok and asked[1] == ("qr_token", token)
    assert result.customer.recommendations  # no history here: what sells in the store now


def test_add_ons_for_a_basket(staff):
    staff.login("st-01", "2468")
    picks = staff.add_ons(["COF-003"])
    assert 1 <= len(picks) <= 3 and "COF-003" not in [p.sku for p in picks]
    assert all(p.name and p.reasons for p in picks)


# --- outcomes and KPIs -----------------------------------------------------------------------------------------


def test_outcomes_tapped_in_turn_for_one_customer_are_one_contact_who_bought(store, clock):
    """Seen on the tablet: Contacted, Purchased and Add-on sold for one customer counted 3 contacts, 67 %."""
    cache, engine = store
    staff = service_for(cache, engine, clock)
    staff.login("st-01", "2468")
    staff.lookup_customer("0899100101", customer_agrees=True)
    staff.record_outcome(True, False, 0)
    staff.record_outcome(True, True, 0, ["COF-003"])
    staff.record_outcome(True, True, 1, ["COF-003", "PAS-001"])
    assert staff.today() == Kpis(1, 1, 1.0, 1)
    staff.next_customer()
    staff.record_outcome(True, False, 0)  # the next customer only talked
    assert staff.today() == Kpis(2, 1, 0.5, 1)
    sales = [e["payload"] for e in events(staff) if e["type"] == "assisted_sale"]
    assert len({s["conversation_id"] for s in sales}) == 2 and len(sales) == 4
    assert sales[2]["profile_id"] == "c-0001" and sales[2]["outcome"]["add_ons"] == 1


def test_outcomes_make_todays_kpis_for_this_staff_member_only(store, clock):
    cache, engine = store
    staff = service_for(cache, engine, clock)
    staff.login("st-01", "2468")
    assert staff.today() == Kpis(0, 0, 0.0, 0)
    clock.set(datetime(2026, 11, 22, 21, 59, tzinfo=UTC))  # Sunday 23:59 in Sofia: yesterday
    staff.record_outcome(True, True, 2, ["COF-003"])
    staff.next_customer()
    clock.set(datetime(2026, 11, 22, 22, 1, tzinfo=UTC))  # Monday 00:01 in Sofia: today
    staff.lookup_customer("0899100101", customer_agrees=True)
    staff.record_outcome(True, True, 1, ["COF-003", "PAS-001"])
    staff.next_customer()
    staff.record_outcome(True, False, 0)
    staff.next_customer()
    clock.set(NOW)
    staff.record_outcome(True, True, 0, ["TEA-001"])
    staff.next_customer()
    staff.record_outcome(False, True, 0)  # a sale without a conversation: not a contact
    staff.next_customer()

    other = service_for(cache, engine, clock)
    other.login("st-02", "1357")
    other.record_outcome(True, True, 3)

    kpis = staff.today()
    assert (kpis.contacts, kpis.conversions, kpis.add_ons) == (3, 2, 1)
    assert kpis.conversion_rate == pytest.approx(2 / 3)
    assert other.today().add_ons == 3
    clock.set(NOW + timedelta(days=1))
    assert staff.today().contacts == 0

    sales = [e for e in events(staff) if e["type"] == "assisted_sale"]
    assert len(sales) == 6
    first = sales[1]["payload"]
    assert (first["staff_id"], first["profile_id"], first["outcome"]) == (
        "st-01", "c-0001", {"contacted": True, "purchased": True, "add_ons": 1})
    assert first["basket"] == ["COF-003", "PAS-001"] and first["channel"] == "tablet"
    assert sales[2]["payload"]["profile_id"] is None


def test_outcomes_need_a_login_and_sensible_counts(staff):
    with pytest.raises(NotLoggedIn):
        staff.record_outcome(True, True, 0)
    staff.login("st-01", "2468")
    with pytest.raises(ValueError):
        staff.record_outcome(True, False, 1)
    with pytest.raises(ValueError):
        staff.record_outcome(True, True, -1)
    staff.logout()
    with pytest.raises(NotLoggedIn):
        staff.today()


def test_erasure_anonymises_assisted_sales_and_keeps_the_kpis(staff):
    staff.login("st-01", "2468")
    staff.lookup_customer("0899100101", customer_agrees=True)
    staff.record_outcome(True, True, 1, ["COF-003"])
    before = staff.today()
    assert staff.cache.query("SELECT profile_id FROM assisted_sales") == [("c-0001",)]
    erase_profile(staff.cache, staff.outbox, "c-0001", ("phone_hash", "h"))
    assert staff.cache.query("SELECT profile_id, staff_id, add_ons FROM assisted_sales") == [(None, "st-01", 1)]
    assert staff.today() == before
    assert [e["type"] for e in events(staff)] == ["erasure"]  # the unsent events about her went with her


# --- python -m kiosk: the configuration it needs ----------------------------------------------------------------


def device_toml(tmp_path, kind: str, *, phone: bool = True, coupon: bool = True, extra: str = "") -> str:
    (tmp_path / "chain.pub").write_bytes(signing.public_key_pem(KEY.public_key()))
    (tmp_path / "phone.key").write_bytes(PHONE_KEY)
    (tmp_path / "coupon.key").write_bytes(b"c" * 32)
    path = tmp_path / "device.toml"
    path.write_text(f'[device]\nid = "{kind}-1"\nkind = "{kind}"\n'
                    f'[sync]\ntrusted_keys = ["chain.pub"]\n' + ('phone_key_file = "phone.key"\n' if phone else "")
                    + ('[pos]\ncoupon_key_file = "coupon.key"\n' if coupon else "") + extra)
    return str(path)


def test_the_device_kind_picks_the_app_and_its_keys(tmp_path):
    from kiosk.__main__ import prepare
    from sync import config

    tablet = prepare(config.load(device_toml(tmp_path, "tablet", coupon=False), env={}), tmp_path)
    assert (tablet.kind, tablet.phone_key, tablet.coupon_key) == ("tablet", PHONE_KEY, None)
    assert tablet.store == ("demo", "south", "s001", "tablet-1", "Europe/Sofia", "BG")
    kiosk = prepare(config.load(device_toml(tmp_path, "kiosk"), env={}), tmp_path)
    assert (kiosk.kind, kiosk.coupon_key) == ("kiosk", b"c" * 32)


@pytest.mark.parametrize(("kind", "phone", "coupon", "message"), [
    ("signage", True, True, "[device] kind: 'signage' is not run by python -m kiosk"),
    ("tablet", False, True, "[sync] phone_key_file: not set"),
    ("kiosk", True, False, "[pos] coupon_key_file: not set"),
])
def test_missing_configuration_stops_the_screen_with_a_clear_error(tmp_path, capsys, monkeypatch, kind, phone,
                                                                   coupon, message):
    from kiosk.__main__ import main

    for name in [n for n in os.environ if n.startswith("STORE_EDGE_")]:
        monkeypatch.delenv(name)
    path = device_toml(tmp_path, kind, phone=phone, coupon=coupon)
    assert main(["--config", path, "--base-dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_an_unreadable_phone_key_is_named(tmp_path):
    from kiosk.__main__ import prepare
    from sync import config

    toml = device_toml(tmp_path, "tablet", phone=False, coupon=False, extra='phone_key_file = "gone.key"\n')
    cfg = config.load(toml, env={})
    with pytest.raises(config.ConfigError, match=r"\[sync\] phone_key_file: cannot read .*gone.key"):
        prepare(cfg, tmp_path)
