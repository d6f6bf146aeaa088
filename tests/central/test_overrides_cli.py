"""Emergency overrides from the command line, on SQLite and PostgreSQL with a real Mosquitto: every target and
expiry checked against stores.csv before anything is published, times in the stores' own zones, ``override list``,
ending by id (an unknown id is an error), the audit log, and the screens' count from their override_shown events."""

from __future__ import annotations

import getpass
import json
import uuid
from pathlib import Path

import pytest
from support import CHAIN, retained

from central import audit, overrides
from central.__main__ import main
from central.content_files import load_stores
from central.db import open_database
from central.ingest import store_events
from sync.protocol import topics

STORES = ("store,region,devices,timezone\n"
          "s001,south,kiosk-1|sign-1|sign-2,Europe/Sofia\n"
          "s002,north,kiosk-2|sign-3,Europe/London\n")


@pytest.fixture
def cli(tmp_path, broker, headoffice, central_config, clock, capsys):
    (headoffice / "stores.csv").write_text(STORES)
    c = central_config.central
    config = tmp_path / "central.toml"
    config.write_text(f'[central]\nchain = "{c.chain}"\ndsn = "{c.dsn}"\nkeys_dir = "{c.keys_dir}"\n'
                      f'content_dir = "{c.content_dir}"\n[broker]\nport = {broker.port}\n')

    def run(*argv: str) -> tuple[int, str, str]:
        status = main(["--config", str(config), *argv], clock=clock)
        out = capsys.readouterr()
        return status, out.out, out.err
    return run


def _published(db) -> int:
    return db.scalar("SELECT count(*) FROM overrides")


def test_bad_targets_styles_and_expiries_are_refused_with_what_would_do(cli, central_config):
    db = open_database(central_config.central.dsn)
    cases = [
        (["--region", "east", "--title", "x", "--expires-in", "2h"], "no region 'east'; regions: north, south"),
        (["--store", "s999", "--title", "x", "--expires-in", "2h"], "no store 's999'; stores: s001, s002"),
        (["--device", "sign-9", "--title", "x", "--expires-in", "2h"],
         "no device 'sign-9'; screens: sign-1, sign-2, sign-3"),
        (["--device", "kiosk-1", "--title", "x", "--expires-in", "2h"],
         "kiosk-1 is a kiosk, which does not show overrides; screens: sign-1, sign-2, sign-3"),
        (["--all", "--title", "x", "--style", "loud", "--expires-in", "2h"], "no style 'loud'; styles: alert, notice"),
        (["--all", "--title", "x", "--expires-in", "0"],
         "an override needs an expiry after now: give at least 1 minute"),
        (["--all", "--title", "x", "--expires-in=-5m"], "an override needs an expiry after now"),
        (["--all", "--title", "x", "--expires-in", "8d"],
         "expiry 8d is not within 7 days: an override lasts at most 7d"),
        (["--all", "--title", "x", "--expires-in", "2 weeks"], "is not a duration like 30m, 2h or 1d (a bare number is"
                                                               " minutes)"),
        (["--all", "--expires-in", "2h"], "a message override needs a title"),
        (["--all", "--title", "x" * 41, "--expires-in", "2h"], "the title has at most 40 characters"),
    ]
    for argv, message in cases:
        status, out, err = cli("override", "start", *argv)
        assert status == 1, argv
        assert message in err, (argv, err)
        assert "Traceback" not in err and out == ""
    assert _published(db) == 0
    db.close()


def test_start_list_end_in_store_time_with_the_audit_log(cli, central_config, broker, clock):
    status, out, err = cli("override", "start", "--store", "s001", "--title", "Closed: flooding", "--expires-in", "2",
                           "--id", "ov-flood")
    assert status == 0, err
    # A bare number is minutes; 06:30 UTC is 08:30 in Sofia, and the override ends two minutes later.
    assert out.strip() == ("override ov-flood start on store/s001 until Mon 23 Nov 2026 08:32 EET (Europe/Sofia);"
                           " 2 screen(s) reached")
    status, out, _ = cli("override", "start", "--all", "--title", "Fire drill at 11", "--style", "notice",
                         "--expires-in", "1.5h")
    assert status == 0
    chain_id = out.split()[1]
    assert "until Mon 23 Nov 2026 08:00 UTC (08:00 Europe/London, 10:00 Europe/Sofia); 3 screen(s) reached" in out
    got = retained(broker.port, {topics.override_topic(CHAIN, "store/s001"), topics.override_topic(CHAIN, "chain")})
    assert json.loads(got[topics.override_topic(CHAIN, "store/s001")])["expires_at"] == clock.time() + 120

    status, out, _ = cli("override", "list")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["ov-flood", "store/s001", "alert", "until"]
    assert "Mon 23 Nov 2026 08:32 EET (Europe/Sofia)" in lines[0] and "'Closed: flooding'" in lines[0]
    assert lines[1].split()[:3] == [chain_id, "chain", "notice"]
    assert "(08:00 Europe/London, 10:00 Europe/Sofia)" in lines[1]
    assert lines[-1] == "2 override(s) on now"

    status, _, err = cli("override", "start", "--all", "--title", "again", "--expires-in", "5m", "--id", "ov-flood")
    assert status == 1 and "an override ov-flood was sent before; give another id" in err
    status, _, err = cli("override", "end", "--id", "ov-nope")
    assert status == 1 and f"no override 'ov-nope'; on now: {chain_id}, ov-flood" in err
    status, _, err = cli("override", "end", "--region", "north", "--id", "ov-flood")
    assert status == 1 and "override ov-flood is on store/s001, not region/north" in err
    status, out, _ = cli("override", "end", "--id", "ov-flood")
    assert status == 0
    assert out.strip() == "override ov-flood ended on store/s001 at Mon 23 Nov 2026 08:30 EET (Europe/Sofia)"
    end = json.loads(retained(broker.port, {topics.override_topic(CHAIN, "store/s001")})[
        topics.override_topic(CHAIN, "store/s001")])
    assert end["action"] == "end" and end["override_id"] == "ov-flood"
    status, _, err = cli("override", "end", "--id", "ov-flood")
    assert status == 1 and "override ov-flood has already been ended" in err
    assert cli("override", "list")[1].splitlines()[-1] == "1 override(s) on now"
    clock.advance(2 * 3600)
    status, _, err = cli("override", "end", "--id", chain_id)
    assert status == 1 and f"override {chain_id} is already over: it expired" in err
    assert cli("override", "list")[1].strip() == "0 override(s) on now"

    db = open_database(central_config.central.dsn)
    entries = [(e.actor, e.action, e.scope, e.detail) for e in audit.entries(db, limit=10)]
    db.close()
    me = f"cli:{getpass.getuser()}"
    assert entries == [(me, "override.end", "store/s001", "ov-flood"),
                       (me, "override.start", "chain", f"{chain_id}: 'Fire drill at 11' for 90 minutes"),
                       (me, "override.start", "store/s001", "ov-flood: 'Closed: flooding' for 2 minutes")]


def _shown(store: str, device: str, override_id: str, on: bool, at: float, seq: int) -> dict:
    return {"id": str(uuid.uuid4()), "seq": seq, "type": "override_shown", "store": store, "device": device,
            "wall_time": at, "payload": {"override_id": override_id, "scope": "region/south", "on_screen": on}}


def test_screens_are_counted_from_their_override_shown_events(cli, central_config, clock):
    assert cli("override", "start", "--region", "south", "--title", "Closing at 18:00", "--expires-in", "2h",
               "--id", "ov-south")[0] == 0
    db = open_database(central_config.central.dsn)
    stores = load_stores(Path(central_config.central.content_dir))
    sent = overrides.find(db, "ov-south")
    assert str(overrides.screen_count(db, stores, sent)) == "0 of 2 screens"
    now = clock.time()
    store_events(db, [_shown("s001", "sign-1", "ov-south", True, now, 5)], now=now)
    assert str(overrides.screen_count(db, stores, sent)) == "1 of 2 screens"
    # Off then on again in the same second: the later event (by seq) wins; a duplicate is counted once.
    on_again = _shown("s001", "sign-2", "ov-south", True, now, 8)
    store_events(db, [on_again, _shown("s001", "sign-2", "ov-south", False, now, 7), on_again], now=now)
    assert overrides.screen_count(db, stores, sent).showing == (("s001", "sign-1"), ("s001", "sign-2"))
    # An older report that arrives late changes nothing; a screen in another region does not count here;
    # malformed payloads are ignored.
    store_events(db, [_shown("s001", "sign-1", "ov-south", False, now - 30, 4),
                      _shown("s002", "sign-3", "ov-south", True, now, 9),
                      {**_shown("s001", "sign-2", "ov-south", False, now + 1, 10),
                       "payload": {"override_id": "ov-south", "on_screen": "no"}},
                      {**_shown("s001", "sign-2", "x" * 101, True, now + 1, 11)}], now=now)
    assert str(overrides.screen_count(db, stores, sent)) == "2 of 2 screens"
    # A screen that went offline does not show it any more.
    db.execute("UPDATE devices SET state = 'offline' WHERE store = 's001' AND device = 'sign-2'")
    assert str(overrides.screen_count(db, stores, sent)) == "1 of 2 screens"
    db.close()
