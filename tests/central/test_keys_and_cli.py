"""Signing keys with rotation and QR cards; the command line against a real broker and store."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from support import wait_for

from central.__main__ import main
from central.db import open_database
from central.keys import Keyring, NoSigningKey
from central.profiles import resolve, upsert_profile
from central.qr_cards import check_card, issue_card, token_id
from central.reports import REPORTS
from decisions.identity.qr import verify_token
from sync.protocol import signing


def test_key_rotation_keeps_old_cards_valid(db, tmp_path, clock):
    keys = Keyring(tmp_path / "keys")
    with pytest.raises(NoSigningKey, match="keys new --activate"):
        keys.active_id  # noqa: B018 - the property is what refuses
    first = keys.new_key()
    now = clock.time()
    upsert_profile(db, {"profile_id": "P1"}, now=now)
    old_card = issue_card(db, keys, "P1", now=now)
    second = keys.new_key()  # made, shipped to the devices, not signing yet
    with pytest.raises(NoSigningKey, match="no 'active' file"):
        Keyring(keys.folder).active_id  # noqa: B018
    keys.activate(second)
    reloaded = Keyring(keys.folder)
    assert reloaded.active_id == second
    new_card = issue_card(db, reloaded, "P1", now=now)

    assert check_card(reloaded, old_card, now=now).profile_id == "P1"  # signed with the retired key: still good
    assert check_card(reloaded, new_card, now=now).profile_id == "P1"
    device_with_old_key_only = signing.TrustedKeys([reloaded.keys[first].public_key()])
    assert verify_token(new_card, device_with_old_key_only, now=now).reason == "unknown_key"
    assert verify_token(old_card, device_with_old_key_only, now=now).ok
    assert resolve(db, "qr_token", token_id(new_card)) == "P1"  # a card identifies the customer at head office
    assert {r[0] for r in db.execute("SELECT key_id FROM qr_tokens")} == {first, second}


def test_cli_publish_override_erase_and_reports(tmp_path, broker, headoffice, central_config, capsys, start_agent,
                                                clock):
    c = central_config.central
    config = tmp_path / "central.toml"
    config.write_text(f'[central]\nchain = "{c.chain}"\ndsn = "{c.dsn}"\nkeys_dir = "{c.keys_dir}"\n'
                      f'content_dir = "{c.content_dir}"\nhttp_dir = "{c.http_dir}"\n'
                      f'http_base_url = "{c.http_base_url}"\n[broker]\nport = {broker.port}\n')

    def cli(*argv: str) -> int:
        return main(["--config", str(config), *argv], clock=clock)

    assert cli("publish") == 0
    assert "3 bundle(s) published" in capsys.readouterr().out
    agent = start_agent()
    wait_for(lambda: len(agent.reader.products()) == 2, what="published by the CLI, applied by the device")

    assert cli("override", "start", "--region", "south", "--title", "Closed", "--expires-in", "2h", "--id", "ov-1") == 0
    assert "override ov-1 start on region/south" in capsys.readouterr().out
    assert cli("override", "end", "--region", "south", "--id", "ov-1") == 0
    assert cli("override", "start", "--all", "--title", "x", "--expires-in", "9d") == 1
    assert "within 7 days" in capsys.readouterr().err

    profiles = tmp_path / "profiles.json"
    profiles.write_text(json.dumps([{"profile_id": "P9", "first_name": "Ivo", "consents": {"marketing": "denied"}}]))
    assert cli("profiles", "import", str(profiles)) == 0
    assert cli("qr", "issue", "P9") == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("SE1.")
    assert cli("consents", "P9") == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "denied"
    db = open_database(c.dsn)
    db.execute("INSERT INTO profile_stores (profile_id, store, first_seen, last_seen, visits)"
               " VALUES ('P9', 's001', ?, ?, 1)", (clock.time() - 60, clock.time() - 60))
    db.close()
    assert cli("publish", "--scope", "store/s001") == 0  # v2: P9 is one of the store's customers now
    capsys.readouterr()
    assert cli("erase", "P9") == 0
    assert capsys.readouterr().out.splitlines()[-3:] == [
        "erased 1 profile(s); 0 event(s) anonymised; erase sent to 1 store(s)",
        f"republished se/v1/{c.chain}/bundle/store/s001 v3 without them",
        "1 retained bundle(s) republished, 0 bundle file(s) removed"]
    assert cli("export", "P9") == 1
    assert cli("report", "all", "--out", str(tmp_path / "rep")) == 0
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {f"{n}.{x}" for n in REPORTS for x in ("csv", "png")}
    assert cli("fleet") == 0
    out = capsys.readouterr().out
    assert "kiosk-2" in out and "never seen" in out
    assert cli("jobs", "--force") == 0
    assert "jobs: ran" in capsys.readouterr().out


def test_serve_runs_workers_and_stops_on_sigterm(tmp_path, broker, central_config, start_agent, office, clock):
    c = central_config.central
    upsert_profile(office.db, {"profile_id": "P-SRV", "phone_hash": "d1" * 32, "first_name": "Sam"}, now=clock.time())
    config = tmp_path / "serve.toml"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        console_port = s.getsockname()[1]
    config.write_text(f'[central]\nchain = "{c.chain}"\ndsn = "{c.dsn}"\nkeys_dir = "{c.keys_dir}"\n'
                      f'jobs_every_s = 0.5\n[broker]\nport = {broker.port}\n'
                      f'[console]\nenabled = true\nport = {console_port}\nsecret_file = "{tmp_path / "console.key"}"\n')
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # plays systemd's notify socket
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(20)
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "1000000"}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "central", "--config", str(config), "serve", "--workers", "2",
                             "--no-http"], cwd=Path(__file__).resolve().parents[2], stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        assert notify.recv(256).startswith(b"READY=1")  # Type=notify: systemd waits for this
        assert notify.recv(256) == b"WATCHDOG=1"  # and for a ping every WatchdogSec/2
        assert "Sign in" in requests.get(f"http://127.0.0.1:{console_port}/login", timeout=5).text  # [console] enabled
        agent = start_agent()
        wait_for(lambda: agent.lookup("phone_hash", "d1" * 32, timeout_s=1).status == "found", timeout=20,
                 what="a worker of 'serve' answers")
        agent.outbox.record("identified", {"profile_id": "P-SRV", "method": "phone"})
        wait_for(lambda: agent.outbox.stats().rows == 0, what="'serve' stored and acked the event")
        # The scheduled jobs send the store its profile deltas: the visit made it a customer of s001.
        wait_for(lambda: office.db.scalar("SELECT count(*) FROM store_cache WHERE profile_id = 'P-SRV'"
                                          " AND sent_at > 0"), what="scheduled jobs ran and sent deltas")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    messages = []
    notify.settimeout(0.5)
    with contextlib.suppress(TimeoutError):
        while True:
            messages.append(notify.recv(256))
    notify.close()
    assert messages[-1] == b"STOPPING=1"
    logged = [json.loads(line)["msg"] for line in proc.stderr.read().splitlines()]  # one JSON record a line
    assert any(m.startswith("central serving chain") and m.endswith(": 2 worker(s)") for m in logged), logged
    assert f"console on 127.0.0.1:{console_port}" in logged
