"""The fleet filtered, counted and paged in SQL (central.fleet.find_devices), on SQLite and PostgreSQL: the
roster from stores.csv, kinds from the device ids, a store manager's stores, and the CLI's whole list."""

from __future__ import annotations

from central.content_files import Store
from central.fleet import FleetFilter, find_devices, fleet, format_fleet, record_presence, set_roster

NOW = 1_795_348_800.0
STORES = [Store("s001", "south", ("kiosk-1", "tablet-1", "signage-1")), Store("s002", "north", ("kiosk-2",)),
          Store("s003", "north", tuple(f"sign-{n:02d}" for n in range(1, 8)))]


def _seen(db, store: str, device: str, state: str, at: float) -> None:
    record_presence(db, store, device, {"state": "online", "boot_id": f"{device}-boot", "ts": at})
    if state == "offline":
        record_presence(db, store, device, {"state": "offline", "boot_id": f"{device}-boot", "ts": at, "clean": True})


def test_filters_counts_and_pages_in_sql(db):
    set_roster(db, STORES)
    _seen(db, "s001", "kiosk-1", "online", NOW - 10)
    _seen(db, "s001", "signage-1", "offline", NOW - 50)
    _seen(db, "s002", "kiosk-2", "online", NOW - 600)  # stale
    _seen(db, "s009", "kiosk-9", "online", NOW - 5)  # not on the roster: seen all the same

    def find(**kw):
        limit, offset = kw.pop("limit", None), kw.pop("offset", 0)
        return find_devices(db, now=NOW, stale_after_s=180, where=FleetFilter(**kw), limit=limit, offset=offset)

    every = find()
    assert every.total == 12 and every.counts == {"online": 2, "stale": 1, "offline": 1, "never seen": 8}
    assert [(r.device, r.kind, r.region) for r in every.rows[:4]] == [
        ("kiosk-1", "kiosk", "south"), ("signage-1", "signage", "south"), ("tablet-1", "tablet", "south"),
        ("kiosk-2", "kiosk", "north")]
    assert next(r for r in every.rows if r.device == "kiosk-9").region is None
    kiosks = find(kind="kiosk")
    assert [r.device for r in kiosks.rows] == ["kiosk-1", "kiosk-2", "kiosk-9"]
    assert kiosks.counts == {"online": 2, "stale": 1}
    assert [r.device for r in find(kind="kiosk", state="stale").rows] == ["kiosk-2"]
    assert find(kind="kiosk", state="stale").counts == {"stale": 1}
    signs = find(region="north", kind="signage", limit=3, offset=3)
    assert signs.total == 7 and [r.device for r in signs.rows] == ["sign-04", "sign-05", "sign-06"]
    assert [r.device for r in find(stores=("s001",), state="offline").rows] == ["signage-1"]
    assert find(stores=()).total == 0
    assert find(store="s404").total == 0

    set_roster(db, [Store("s001", "east", ("kiosk-1",)), Store("s002", "north", ("kiosk-2",))])
    left = {r.device: r for r in find().rows}  # unlisted and never seen: gone; seen: kept
    assert sorted(left) == ["kiosk-1", "kiosk-2", "kiosk-9", "signage-1"] and left["kiosk-1"].region == "east"
    text = format_fleet(fleet(db, now=NOW, stale_after_s=180), now=NOW)
    assert "4 device(s); 2 not online: s001/signage-1 (offline), s002/kiosk-2 (stale)" in text
