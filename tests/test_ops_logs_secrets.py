"""Structured logs with a size budget, `store-edge config check`, and secrets that never show."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from support import make_pki, write_device_toml

from sync.broker import Mosquitto
from sync.config import LogSection
from sync.logs import setup_logging

PASSWORD = "Tr0ub4dor-and-3-horses"
KEY_BYTES = b"chain-phone-key-material-0123456789abcdef"


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for h in root.handlers[:]:
        root.removeHandler(h)
        h.close()
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def test_json_lines_with_extra_fields_and_masked_secrets(tmp_path, restore_logging):
    log_file = tmp_path / "logs" / "agent.log"
    setup_logging(LogSection(file=str(log_file)), device="kiosk-7", secrets=[PASSWORD])
    log = logging.getLogger("store_edge.test")
    log.info("bundle applied", extra={"scope": "store/s001", "version": 7})
    log.warning("a careless line with %s in it", PASSWORD)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed")
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [(d["level"], d["logger"], d["device"]) for d in lines] == [
        ("info", "store_edge.test", "kiosk-7"), ("warning", "store_edge.test", "kiosk-7"),
        ("error", "store_edge.test", "kiosk-7")]
    assert lines[0]["msg"] == "bundle applied" and (lines[0]["scope"], lines[0]["version"]) == ("store/s001", 7)
    assert lines[0]["ts"].endswith("+00:00")
    assert lines[1]["msg"] == "a careless line with *** in it"
    assert "ValueError: boom" in lines[2]["exc"]
    assert PASSWORD not in log_file.read_text()


def test_log_files_stay_within_their_budget(tmp_path, restore_logging):
    section = LogSection(file=str(tmp_path / "agent.log"), max_bytes=8192, backups=2)
    setup_logging(section, device="kiosk-7")
    log = logging.getLogger("store_edge.test")
    for i in range(2000):
        log.info("offline for a while, line %d", i)
    files = sorted(tmp_path.glob("agent.log*"))
    assert [f.name for f in files] == ["agent.log", "agent.log.1", "agent.log.2"]
    assert sum(f.stat().st_size for f in files) <= section.budget_bytes
    assert "line 1999" in (tmp_path / "agent.log").read_text()  # the newest lines are kept


def config_check(config: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sync.cli", "config", "check", "--config", str(config)],
                          capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin", **(env or {})})


def write_device(tmp_path: Path, chain_key, broker_lines: str, sync_lines: str = "") -> Path:
    (tmp_path / "phone.key").write_bytes(KEY_BYTES)
    return write_device_toml(tmp_path, chain_key, device="kiosk-7", broker=broker_lines,
                             sync=f'phone_key_file = "{tmp_path}/phone.key"\n{sync_lines}')


def test_config_check_prints_the_effective_config_with_secrets_hidden(tmp_path, chain_key):
    pki = make_pki(tmp_path / "pki")
    config = write_device(tmp_path, chain_key, f'tls = true\nca_file = "{pki["ca"]}"\nusername = "kiosk-7"\n'
                                               f'password = "{PASSWORD}"\nport = 8883')
    result = config_check(config, {"STORE_EDGE_BROKER_HOST": "10.1.2.3"})
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["broker"]["host"] == "10.1.2.3"  # the environment over the file over the defaults
    assert shown["broker"]["port"] == 8883 and shown["broker"]["password"] == "***"
    assert shown["device"]["id"] == "kiosk-7" and shown["cache"]["max_bytes"] == 0
    out = result.stdout + result.stderr
    assert PASSWORD not in out and KEY_BYTES.decode() not in out


def test_config_check_errors_name_the_key_and_exit_non_zero(tmp_path, chain_key):
    (tmp_path / "short.key").write_bytes(b"tiny-secret")
    config = write_device(tmp_path, chain_key, f'tls = false\npassword = "{PASSWORD}"\nport = 8883',
                          f'[pos]\ncoupon_key_file = "{tmp_path}/short.key"\n')
    result = config_check(config)
    assert result.returncode == 2
    errors = result.stderr.splitlines()
    assert "store-edge: config error: [broker] tls: a password must not travel in clear text; set tls = true" in errors
    assert any(e.startswith("store-edge: config error: [pos] coupon_key_file:") and "holds 11 bytes" in e
               for e in errors)
    assert PASSWORD not in result.stdout + result.stderr and "tiny-secret" not in result.stdout + result.stderr

    bad_type = tmp_path / "bad.toml"
    bad_type.write_text('[broker]\nport = "8883"\n')
    result = config_check(bad_type)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == "store-edge: config error: [broker] port: expected int, got str"
    result = config_check(config, {"STORE_EDGE_LOG_LEVEL": "loud"})
    assert result.returncode == 2 and "[log] level: 'loud' is not one of" in result.stderr


@pytest.mark.parametrize("country", ["bg", "XX", "", "Bulgaria"])
def test_config_check_reads_the_country_as_an_iso_code(tmp_path, chain_key, country):
    config = write_device(tmp_path, chain_key, "port = 1883")
    result = config_check(config, {"STORE_EDGE_DEVICE_COUNTRY": country})
    if country == "bg":
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["device"]["country"] == "BG"
    else:
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith(f"store-edge: config error: [device] country: {country!r} is not an ISO 3166")


def test_a_private_key_among_the_trusted_keys_is_an_error(tmp_path, chain_key):
    from sync.protocol import signing

    (tmp_path / "leaked.key").write_bytes(signing.private_key_pem(chain_key))
    config = write_device(tmp_path, chain_key, "port = 1883")
    config.write_text(config.read_text().replace(f'"{tmp_path}/chain.pub"', f'"{tmp_path}/leaked.key"'))
    result = config_check(config)
    assert result.returncode == 2
    assert "[sync] trusted_keys:" in result.stderr and "is a private key" in result.stderr
    assert "PRIVATE KEY" not in result.stdout + result.stderr


def run_agent(config: Path, until: str, timeout: float = 20) -> str:
    """Run the real agent until its log shows ``until``; returns its whole stderr (JSON lines)."""
    proc = subprocess.Popen([sys.executable, "-m", "sync.agent", "--config", str(config)], stderr=subprocess.PIPE,
                            text=True)
    lines: list[str] = []
    try:
        for line in proc.stderr:
            lines.append(line)
            if until in line:
                break
    finally:
        proc.terminate()
        rest = proc.communicate(timeout=timeout)[1]
    return "".join(lines) + rest


def test_no_secret_in_the_logs_on_an_auth_failure_or_a_tls_failure(tmp_path, chain_key):
    pki = make_pki(tmp_path / "pki")
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "kiosk-7", "the-right-one-0000"], check=True,
                   capture_output=True)
    options = (f"cafile {pki['ca']}\ncertfile {pki['server_cert']}\nkeyfile {pki['server_key']}\n"
               f"password_file {passwd}\nallow_anonymous false")
    with Mosquitto(data_dir=tmp_path / "broker", listener_options=options) as broker:
        (tmp_path / "password").write_text(PASSWORD + "\n")
        tls = f'tls = true\nca_file = "{pki["ca"]}"\nport = {broker.port}\nusername = "kiosk-7"\n'
        config = write_device(tmp_path, chain_key, tls + f'password_file = "{tmp_path}/password"')
        log = run_agent(config, "broker refused the connection")
        assert "Not authorized" in log and PASSWORD not in log and KEY_BYTES.decode() not in log
        assert all(json.loads(line)["device"] == "kiosk-7" for line in log.splitlines() if line.startswith("{"))

        # A client key file that is not a key (here: the secret phone key by mistake): a clear line, no contents.
        config = write_device(tmp_path, chain_key, tls + f'password_file = "{tmp_path}/password"\n'
                                                         f'cert_file = "{pki["device_cert"]}"\n'
                                                         f'key_file = "{tmp_path}/phone.key"')
        log = run_agent(config, "cannot set up the connection")
        assert "check [broker] TLS files" in log
        assert KEY_BYTES.decode() not in log and PASSWORD not in log


KIVY_AFTER_LOGGING = """
import logging, sys
from sync.logs import setup_logging
setup_logging(device="kiosk-7")
import kivy.logger  # Kivy puts its own stream in sys.stderr: each line written there becomes a log record
assert type(sys.stderr).__name__ == "ProcessingStream"
logging.getLogger("store_edge.test").warning("camera stopped")
"""


def test_json_lines_reach_stderr_in_a_process_where_kivy_replaced_sys_stderr(tmp_path):
    # A program's order: logging first, then Kivy. The handler once wrote to the replaced sys.stderr,
    # which logged the line again, without end.
    result = subprocess.run([sys.executable, "-c", KIVY_AFTER_LOGGING], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parent.parent,
                            env={"PATH": "/usr/bin:/bin", "KIVY_HOME": str(tmp_path), "KIVY_NO_ARGS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [(d["msg"], d["device"]) for d in lines if d["logger"] == "store_edge.test"] == [("camera stopped",
                                                                                             "kiosk-7")]


def test_config_check_reads_the_tills_keys_file(tmp_path, chain_key):
    keys = tmp_path / "tills.toml"
    first, second = "a1" * 20, "b2" * 20
    keys.write_text(f'till-1 = "{first}"\ntill-2 = "{first}"\n')
    keys.chmod(0o644)
    coupon_key = tmp_path / "coupons.key"
    coupon_key.write_bytes(KEY_BYTES)
    pos = f'[pos]\nenabled = true\ncoupon_key_file = "{coupon_key}"\ntill_keys_file = "{keys}"\n'
    config = write_device(tmp_path, chain_key, "port = 1883", pos)
    result = config_check(config)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"store-edge: config error: [pos] till_keys_file: {keys} is open to other users (mode 0644); chmod 600 it")
    keys.chmod(0o600)
    result = config_check(config)
    assert result.returncode == 2 and "[pos] till_keys_file: till till-2 has the same key as another till" in \
        result.stderr and first not in result.stderr
    keys.write_text(f'till-1 = "{first}"\n"till 2" = "{second}"\n')
    assert "till 'till 2' is not a plain name" in config_check(config).stderr
    keys.write_text(f'till-1 = "{first}"\ntill-2 = "short"\n')
    assert "till till-2: the key must be text of at least 32" in config_check(config).stderr
    keys.write_text(f'till-1 = "{first}"\ntill-2 = "{second}"\n')
    result = config_check(config)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["pos"]["till_keys_file"] == str(keys) and first not in result.stdout
    unkeyed = write_device(tmp_path, chain_key, "port = 1883", "[pos]\nenabled = true\n")
    assert "[pos] till_keys_file: not set" in config_check(unkeyed).stderr
