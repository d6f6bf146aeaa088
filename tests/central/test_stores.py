"""Stores and staff in head office's files (``central.stores``): what a marketer's typo gets (words, nothing
written), what a change keeps of the file, PINs hashed with the tablet's scheme and never in clear, switched-off
staff kept off the devices; then a staff change and the store's name reaching a real device's cache through a
signed store bundle. Also the signing keys' file rules and the rotation view's input."""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from support import wait_for

from central import stores
from central.config import CentralSection
from central.content_files import ContentProblem, load_stores, load_tree
from central.keys import Keyring, UnsafeKeyFile, device_trust
from central.stores import StoreEditError
from decisions.identity.pins import check_pin
from sync.protocol.acceptance import check_content

OLD = "store,region,devices\ns001,south,kiosk-1|tablet-1\ns002,north,kiosk-2\n"
SOFIA = {"store": "s001", "region": "south", "devices": "kiosk-1 tablet-1", "name": "Sofia · Vitosha Blvd",
         "timezone": "Europe/Sofia", "country": "BG", "lat": "42.6935", "lon": "23.3205"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "stores.csv").write_text(OLD, encoding="utf-8")
    return tmp_path


def test_a_stores_csv_from_before_the_new_columns_loads_as_it_did(root):
    s001, s002 = load_stores(root)
    assert (s001.store, s001.region, s001.devices, s001.name) == ("s001", "south", ("kiosk-1", "tablet-1"), "")
    assert s001.display_name == "s001" and s001.identity() is None  # nothing new for its devices
    assert s002.devices == ("kiosk-2",)


def test_editing_a_store_adds_the_columns_and_keeps_every_other_byte(root):
    text = ('store,region,devices,note\n'
            '"s001",south,kiosk-1|tablet-1,"keep, this"\n'
            '\n'
            's002,north,kiosk-2,"two\nlines"\n')
    (root / "stores.csv").write_text(text, encoding="utf-8")
    store = stores.save_store(root, SOFIA, new=False)
    assert store.identity() == {"id": "s001", "name": "Sofia · Vitosha Blvd", "region": "south",
                                "timezone": "Europe/Sofia", "country": "BG", "lat": 42.6935, "lon": 23.3205}
    assert (root / "stores.csv").read_text(encoding="utf-8") == (
        "store,region,devices,note,name,timezone,country,lat,lon\n"
        "s001,south,kiosk-1|tablet-1,\"keep, this\",Sofia · Vitosha Blvd,Europe/Sofia,BG,42.6935,23.3205\n"
        "\n"
        's002,north,kiosk-2,"two\nlines"\n')
    added = stores.save_store(root, {"store": "s003", "region": "north", "devices": "kiosk-3, sign-3",
                                     "name": "Plovdiv · Main Street"}, new=True)
    assert added.devices == ("kiosk-3", "sign-3")
    assert (root / "stores.csv").read_text(encoding="utf-8").endswith(
        's002,north,kiosk-2,"two\nlines"\ns003,north,kiosk-3|sign-3,,Plovdiv · Main Street,,,,\n')
    assert [s.store for s in load_stores(root)] == ["s001", "s002", "s003"]


@pytest.mark.parametrize(("change", "message"), [
    ({"timezone": "Europe/Sofa"}, "field 'timezone': 'Europe/Sofa' is not a time zone (write it like Europe/Sofia)"),
    ({"timezone": "../../etc/passwd"}, "field 'timezone': '../../etc/passwd' is not a time zone"),
    ({"lat": "426.935"}, "field 'lat': 426.935 is not between -90 and 90"),
    ({"lon": "-190"}, "field 'lon': -190.0 is not between -180 and 180"),
    ({"lat": "42,69"}, "field 'lat': '42,69' is not a number (degrees, like 42.6977)"),
    ({"lat": "nan"}, "field 'lat': nan is not between -90 and 90"),
    ({"lon": ""}, "fields 'lat' and 'lon': give both or neither"),
    ({"country": "Bulgaria"}, "field 'country': 'Bulgaria' is not a two-letter country code like BG"),
    ({"name": "Sofia · Vitosha Boulevard, opposite the NDK"}, "field 'name': 43 characters; at most 40 fit"),
    ({"name": "   "}, None),  # blank: the store's id stands in, as for files without names
    ({"region": ""}, "field 'store' and 'region' are required"),
    ({"region": "south/east"}, "field 'region': 'south/east' cannot name a scope"),
    ({"devices": "kiosk-1 kiosk-2"}, "device 'kiosk-2' is already in store s002"),
    ({"devices": "kiosk#1"}, "field 'devices': 'kiosk#1' cannot name a scope"),
])
def test_a_typo_in_a_store_is_refused_in_words_and_nothing_is_written(root, change, message):
    before = (root / "stores.csv").read_bytes()
    if message is None:
        assert stores.save_store(root, {**SOFIA, **change}, new=False).display_name == "s001"
        return
    with pytest.raises(StoreEditError) as info:
        stores.save_store(root, {**SOFIA, **change}, new=False)
    assert message in str(info.value)
    assert "Traceback" not in str(info.value) and (root / "stores.csv").read_bytes() == before


def test_a_new_store_needs_a_new_id_and_an_edit_an_existing_one(root):
    for form, message in (({"store": "s002", "region": "north"}, "there is already a store s002"),
                          ({"store": "S 9", "region": "north"}, "store id 'S 9': use 1-32 lowercase letters"),
                          ({"store": "", "region": "north"}, "store id '': use"),
                          ({"store": "s00/1", "region": "north"}, "store id 's00/1'")):
        with pytest.raises(StoreEditError, match=message):
            stores.save_store(root, form, new=True)
    with pytest.raises(StoreEditError, match="there is no store s404"):
        stores.save_store(root, {"store": "s404", "region": "north"}, new=False)
    assert (root / "stores.csv").read_text() == OLD


def test_a_duplicate_store_or_a_folder_escape_written_by_hand_is_named_by_line(root):
    (root / "stores.csv").write_text(OLD + "s001,north,kiosk-9\n..,north,kiosk-8\n")
    with pytest.raises(ContentProblem) as info:
        load_stores(root)
    assert info.value.problems == [f"{root}/stores.csv:4: store 's001' is listed twice (first on line 2)",
                                   f"{root}/stores.csv:5: field 'store': '..' cannot start with '.'"]


def test_staff_are_added_with_a_hashed_pin_changed_and_switched_off(root):
    first = stores.add_staff(root, "s001", "  Ivana   Petrova ", "manager", "4821")
    second = stores.add_staff(root, "s001", "Georgi Dimitrov", "barista", "13572468")
    assert (first.id, first.name, second.id) == ("st-01", "Ivana Petrova", "st-02")
    text = (root / "store" / "s001" / "staff.csv").read_text()
    assert "4821" not in text and "13572468" not in text
    assert stat.S_IMODE((root / "store" / "s001" / "staff.csv").stat().st_mode) & 0o007 == 0
    hashes = {line.split(",")[0]: line.split(",")[3] for line in text.splitlines()[1:]}
    assert check_pin(hashes["st-01"], "4821", failures=0, locked_until=0, now=0).ok  # the tablet's own check
    stores.change_staff(root, "s001", "st-01", pin="9090", role="technician")
    stores.change_staff(root, "s001", "st-02", active=False)
    members = {m.id: m for m in stores.list_staff(root, "s001")}
    assert members["st-01"].role == "technician" and members["st-01"].active
    assert not members["st-02"].active and members["st-02"].has_pin
    new_hash = next(line for line in (root / "store" / "s001" / "staff.csv").read_text().splitlines()
                    if line.startswith("st-01,")).split(",")[3]
    assert check_pin(new_hash, "9090", failures=0, locked_until=0, now=0).ok
    assert not check_pin(new_hash, "4821", failures=0, locked_until=0, now=0).ok
    stores.change_staff(root, "s001", "st-02", active=True)
    assert all(m.active for m in stores.list_staff(root, "s001"))


@pytest.mark.parametrize(("name", "role", "pin", "message"), [
    ("Ana", "sales", "", "A PIN is 4 to 8 digits"),
    ("Ana", "sales", "123", "A PIN is 4 to 8 digits"),
    ("Ana", "sales", "123456789", "A PIN is 4 to 8 digits"),
    ("Ana", "sales", "12a4", "A PIN is 4 to 8 digits"),
    ("Ana", "sales", "١٢٣٤", "A PIN is 4 to 8 digits"),  # digits, but not 0-9: the tablet's keypad has none
    ("", "sales", "1234", "a staff member needs a name"),
    ("A" * 61, "sales", "1234", "a name has at most 60 characters"),
    ("Ana", "boss", "1234", "role 'boss' is not one of manager, technician, sales, barista, cashier"),
])
def test_bad_staff_input_is_refused_and_the_pin_is_never_in_the_message(root, name, role, pin, message):
    with pytest.raises(StoreEditError) as info:
        stores.add_staff(root, "s001", name, role, pin)
    assert str(info.value) == message
    assert not (root / "store" / "s001" / "staff.csv").exists()


def test_staff_of_an_unknown_store_or_member_or_kept_elsewhere(root):
    with pytest.raises(StoreEditError, match="there is no store s404"):
        stores.add_staff(root, "s404", "Ana", "sales", "1234")
    with pytest.raises(StoreEditError, match="store s001 has no staff member st-09"):
        stores.change_staff(root, "s001", "st-09", pin="1234")
    (root / "store" / "s002").mkdir(parents=True)
    (root / "store" / "s002" / "staff.yaml").write_text("- {id: x, name: X, pin_hash: h}\n")
    with pytest.raises(StoreEditError, match="store/s002/staff.yaml holds this store's staff; the console edits"
                                             " staff.csv only"):
        stores.add_staff(root, "s002", "Ana", "sales", "1234")


def test_a_switched_off_member_goes_to_no_device(root):
    stores.add_staff(root, "s001", "Ivana Petrova", "manager", "4821")
    stores.add_staff(root, "s001", "Georgi Dimitrov", "barista", "2468")
    stores.change_staff(root, "s001", "st-02", active=False)
    tree = load_tree(root, "http://cdn.example", load_stores(root))
    (member,) = tree["store/s001"].content["staff"]
    assert member["id"] == "st-01" and "active" not in member  # head office's column stays at head office


def test_the_device_runs_the_same_store_checks():
    problems = check_content({"stores": [{"id": "s001", "name": "x" * 41, "timezone": "Mars/Olympus",
                                          "lat": 91.0, "lon": 0.0, "country": "bg"}]})
    assert [str(p) for p in problems] == [
        "store s001: field 'name': 41 characters; at most 40 fit the screens' header",
        "store s001: field 'timezone': 'Mars/Olympus' is not a time zone (write it like Europe/Sofia)",
        "store s001: field 'lat': 91.0 is not between -90 and 90",
        "store s001: field 'country': 'bg' is not a two-letter country code like BG"]


def test_private_keys_are_0600_outside_the_checkout_and_a_readable_one_is_refused(tmp_path):
    assert Path(CentralSection().keys_dir).is_absolute()  # not under whatever checkout the tool runs from
    ring = Keyring(tmp_path / "keys")
    kid = ring.new_key()
    private = tmp_path / "keys" / f"chain-{kid}.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) & 0o077 == 0
    private.chmod(0o640)
    with pytest.raises(UnsafeKeyFile, match=f"chain-{kid}.key: group or others may read this private key; run"
                                            f" 'chmod 600 {private}'"):
        Keyring(tmp_path / "keys")


def test_which_keys_each_device_trusts_comes_from_its_health():
    rows = [SimpleNamespace(store="s001", device="kiosk-1", health={"trusted_keys": ["a", "b"]}),
            SimpleNamespace(store="s001", device="tablet-1", health={}),
            SimpleNamespace(store="s002", device="kiosk-2", health={"trusted_keys": [{"evil": 1}]})]
    trust = device_trust(rows)
    assert [t.trusts("b") for t in trust] == [True, None, None]
    assert trust[0].trusts("c") is False


def test_a_staff_change_reaches_the_device_cache_through_a_signed_bundle(office, headoffice, start_agent,
                                                                         central_config, clock):
    root = Path(central_config.central.content_dir)
    stores.save_store(root, {"store": "s001", "region": "south", "devices": "kiosk-1 sign-1",
                             "name": "Sofia · Vitosha Blvd", "timezone": "Europe/Sofia"}, new=False)
    stores.add_staff(root, "s001", "Ivana Petrova", "manager", "4821")
    result = stores.publish_store(central_config, office.db, clock, "s001")
    assert result.sent and result.message.startswith("Sent to the store's devices (store/s001 v")
    agent = start_agent()
    wait_for(lambda: agent.reader.staff("st-01") is not None, what="store bundle with the staff applied")
    assert agent.reader.store("s001")["name"] == "Sofia · Vitosha Blvd"
    assert agent.health()["trusted_keys"] == [office.keys.active_id]  # what the console's Keys page shows
    assert check_pin(agent.reader.staff("st-01")["pin_hash"], "4821", failures=0, locked_until=0, now=0).ok

    stores.change_staff(root, "s001", "st-01", pin="7531")
    assert stores.publish_store(central_config, office.db, clock, "s001").sent
    wait_for(lambda: check_pin(agent.reader.staff("st-01")["pin_hash"], "7531", failures=0, locked_until=0,
                               now=0).ok, what="new PIN applied")
    stores.change_staff(root, "s001", "st-01", active=False)
    stores.publish_store(central_config, office.db, clock, "s001")
    wait_for(lambda: agent.reader.staff("st-01") is None, what="switched-off member gone from the device")
    assert stores.publish_store(central_config, office.db, clock, "s001").message == "The devices already have it."


def test_a_change_saved_while_the_broker_is_down_says_so(central_config, headoffice, db, clock, broker):
    broker.stop()
    result = stores.publish_store(central_config, db, clock, "s001")
    assert not result.sent
    assert result.message == (f"Saved; the devices get it at the next publish (the broker at 127.0.0.1:{broker.port}"
                              " cannot be reached now).")
