"""Device configuration: defaults, one TOML file, STORE_EDGE_* variables; errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.config import ConfigError, DeviceConfig, load, redacted


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "device.toml"
    path.write_text(text)
    return path


def error(path: Path | None = None, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(path, env=env or {})
    return str(info.value)


def test_defaults_load():
    config = load(env={})
    assert config == DeviceConfig()
    assert (config.broker.host, config.broker.port, config.broker.tls) == ("127.0.0.1", 1883, False)
    assert config.device.id == "kiosk-1" and config.device.chain == "demo"
    assert config.sync.trusted_keys == ("config/keys/demo-chain.pub",)
    assert config.cache.max_bytes == 0


def test_file_overrides_defaults(tmp_path: Path):
    path = write(tmp_path, """
[device]
id = "tablet-3"
kind = "tablet"

[broker]
host = "10.0.0.5"
port = 8883
tls = true

[sync]
trusted_keys = ["keys/a.pub", "keys/b.pub"]
ack_timeout_s = 5
""")
    config = load(path, env={})
    assert (config.device.id, config.device.kind, config.device.store) == ("tablet-3", "tablet", "s001")
    assert (config.broker.host, config.broker.port, config.broker.tls) == ("10.0.0.5", 8883, True)
    assert config.broker.keepalive_s == 15  # not in the file: default
    assert config.sync.trusted_keys == ("keys/a.pub", "keys/b.pub")
    assert config.sync.ack_timeout_s == 5.0 and isinstance(config.sync.ack_timeout_s, float)


def test_config_path_from_environment(tmp_path: Path):
    path = write(tmp_path, '[broker]\nhost = "broker.local"\n')
    assert load(env={"STORE_EDGE_CONFIG": str(path)}).broker.host == "broker.local"


def test_env_overrides_file(tmp_path: Path):
    path = write(tmp_path, '[broker]\nport = 8883\nhost = "from-file"\n')
    config = load(path, env={"STORE_EDGE_BROKER_PORT": "1884", "STORE_EDGE_SYNC_TRUSTED_KEYS": "x.pub,,y.pub",
                             "STORE_EDGE_SYNC_ACK_TIMEOUT_S": "2.5"})
    assert config.broker.port == 1884 and isinstance(config.broker.port, int)
    assert config.broker.host == "from-file"
    assert config.sync.trusted_keys == ("x.pub", "y.pub")
    assert config.sync.ack_timeout_s == 2.5
    assert load(env={"STORE_EDGE_BROKER_PORT": "1999"}).broker.port == 1999  # and defaults


@pytest.mark.parametrize("text, value", [
    ("1", True), ("true", True), ("TRUE", True), ("yes", True), ("Yes", True),
    ("0", False), ("false", False), ("False", False), ("no", False),
])
def test_env_bool_parsing(text: str, value: bool):
    assert load(env={"STORE_EDGE_BROKER_TLS": text}).broker.tls is value


@pytest.mark.parametrize("name, text, message", [
    ("STORE_EDGE_BROKER_TLS", "maybe", "STORE_EDGE_BROKER_TLS: 'maybe' is not a valid bool"),
    ("STORE_EDGE_BROKER_TLS", "", "STORE_EDGE_BROKER_TLS: '' is not a valid bool"),
    ("STORE_EDGE_BROKER_PORT", "abc", "STORE_EDGE_BROKER_PORT: 'abc' is not a valid int"),
    ("STORE_EDGE_BROKER_PORT", "18.5", "STORE_EDGE_BROKER_PORT: '18.5' is not a valid int"),
    ("STORE_EDGE_SYNC_ACK_TIMEOUT_S", "soon", "STORE_EDGE_SYNC_ACK_TIMEOUT_S: 'soon' is not a valid float"),
])
def test_bad_env_values_name_the_variable(name: str, text: str, message: str):
    assert error(env={name: text}) == message


@pytest.mark.parametrize("toml, message", [
    ('[broker]\nport = "1883"\n', "[broker] port: expected int, got str"),
    ("[broker]\nport = true\n", "[broker] port: expected int, got bool"),
    ("[broker]\nport = 1883.0\n", "[broker] port: expected int, got float"),
    ("[broker]\ntls = 1\n", "[broker] tls: expected bool, got int"),
    ("[sync]\nack_timeout_s = true\n", "[sync] ack_timeout_s: expected float, got bool"),
    ('[sync]\ntrusted_keys = "one.pub"\n', "[sync] trusted_keys: expected tuple, got str"),
    ("[device]\nid = 7\n", "[device] id: expected str, got int"),
])
def test_bad_types_name_the_key(tmp_path: Path, toml: str, message: str):
    assert error(write(tmp_path, toml)) == message


def test_list_items_must_be_strings(tmp_path: Path):
    message = "[sync] trusted_keys: expected a list of strings"
    assert error(write(tmp_path, "[sync]\ntrusted_keys = [1, 2]\n")) == message
    assert error(write(tmp_path, '[sync]\ntrusted_keys = ["a.pub", ["b.pub"]]\n')) == message
    assert load(write(tmp_path, "[sync]\ntrusted_keys = []\n"), env={}).sync.trusted_keys == ()


def test_unknown_key_and_section(tmp_path: Path):
    assert error(write(tmp_path, "[broker]\nprot = 1883\n")) == "[broker] prot: unknown key"
    assert error(write(tmp_path, '[brokers]\nhost = "x"\n')) == "unknown section [brokers]"
    assert error(write(tmp_path, "broker = 5\n")) == "[broker] must be a table"


def test_missing_or_broken_file(tmp_path: Path):
    assert error(tmp_path / "nope.toml") == f"config file {tmp_path / 'nope.toml'} does not exist"
    path = write(tmp_path, "[broker\nport = 1\n")
    assert error(path).startswith(f"{path}: not valid TOML (")


def test_redacted_hides_the_password_only(tmp_path: Path):
    path = write(tmp_path, '[broker]\nusername = "kiosk"\npassword = "s3cret-pw"\nport = 8883\n')
    config = load(path, env={})
    assert config.broker.password == "s3cret-pw"
    shown = redacted(config)
    assert shown["broker"]["password"] == "***"
    assert shown["broker"]["username"] == "kiosk"
    assert shown["broker"]["port"] == 8883
    assert shown["device"]["id"] == "kiosk-1"
    assert shown["sync"]["trusted_keys"] == ("config/keys/demo-chain.pub",)
    assert set(shown) == {"device", "cache", "broker", "sync", "weather", "pos", "kiosk", "log", "signage"}
    assert "s3cret-pw" not in repr(shown)
    assert "s3cret-pw" not in repr(config)  # the dataclass repr leaves it out too
    # the password from the environment is hidden the same way
    assert redacted(load(env={"STORE_EDGE_BROKER_PASSWORD": "env-pw"}))["broker"]["password"] == "***"
    # an unset password is shown as unset
    assert redacted(load(env={}))["broker"]["password"] == ""


def test_kiosk_section_reads_and_checks_its_keys(tmp_path):
    path = tmp_path / "device.toml"
    path.write_text('[kiosk]\ncamera = "none"\ncamera_preview = false\nidle_timeout_s = 45\n')
    cfg = load(path, env={})
    assert (cfg.kiosk.camera, cfg.kiosk.camera_preview, cfg.kiosk.idle_timeout_s) == ("none", False, 45.0)
    path.write_text("[kiosk]\nidle_timeout_s = 3\n")
    with pytest.raises(ConfigError, match=r"\[kiosk\] idle_timeout_s"):
        load(path, env={})
    assert cfg.kiosk.privacy_url == ""  # no notice configured: the consent screen says to ask at the counter
    path.write_text('[kiosk]\nprivacy_url = "https://acme.example/privacy"\n')
    assert load(path, env={}).kiosk.privacy_url == "https://acme.example/privacy"
    path.write_text('[kiosk]\nprivacy_url = "acme.example/privacy"\n')
    with pytest.raises(ConfigError, match=r"\[kiosk\] privacy_url"):
        load(path, env={})
def test_signage_section_checks_rotation_and_display_times(tmp_path: Path):
    config = load(write(tmp_path, '[signage]\nrotation = 90\ndisplay_on = "06:30"\ndisplay_off = "23:00"\n'), env={})
    assert (config.signage.rotation, config.signage.display_on, config.signage.display_off) == (90, "06:30", "23:00")
    with pytest.raises(ConfigError, match=r"\[signage\] rotation: must be 0, 90, 180 or 270, not 45"):
        load(write(tmp_path, "[signage]\nrotation = 45\n"), env={})
    with pytest.raises(ConfigError, match=r"\[signage\] display_off: '25:00' is not HH:MM"):
        load(write(tmp_path, '[signage]\ndisplay_on = "06:00"\ndisplay_off = "25:00"\n'), env={})
    with pytest.raises(ConfigError, match="set both or neither"):
        load(write(tmp_path, '[signage]\ndisplay_on = "06:00"\n'), env={})


@pytest.mark.parametrize("country", ["XX", "", "Bulgaria", "001", "B G"])
def test_the_country_must_be_a_code_phone_numbers_can_be_read_in(tmp_path: Path, country: str):
    message = (f"[device] country: {country!r} is not an ISO 3166 alpha-2 country code that phone numbers are known"
               " for (e.g. BG, GB, DE)")
    assert error(write(tmp_path, f'[device]\ncountry = "{country}"\n')) == message
    assert error(env={"STORE_EDGE_DEVICE_COUNTRY": country}) == message


def test_a_lower_case_country_is_read_upper_case(tmp_path: Path):
    assert load(write(tmp_path, '[device]\ncountry = "bg"\n'), env={}).device.country == "BG"
    assert load(env={"STORE_EDGE_DEVICE_COUNTRY": "gb"}).device.country == "GB"
