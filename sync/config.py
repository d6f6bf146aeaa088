"""Device configuration: built-in defaults, then one TOML file, then environment variables.

The file is ``--config``, else ``$STORE_EDGE_CONFIG``, else ``/etc/store-edge/device.toml`` when it
exists (an installed device); with none of them the defaults stand (a developer's checkout).
An environment variable ``STORE_EDGE_<SECTION>_<KEY>`` overrides ``[section] key``, for
example ``STORE_EDGE_BROKER_HOST=10.0.0.5``. Errors name the key that is wrong.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from decisions.identity.phone import store_region

from .acl import NAME

DEFAULT_PATH = Path("/etc/store-edge/device.toml")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class DeviceSection:
    id: str = "kiosk-1"
    kind: str = "kiosk"
    chain: str = "demo"
    region: str = "south"
    store: str = "s001"
    timezone: str = "Europe/Sofia"
    country: str = "BG"  # where numbers typed without a + are read; ISO 3166 alpha-2, "bg" is read as "BG"

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "country", store_region(self.country))
        except ValueError as exc:
            raise ConfigError(f"[device] country: {exc}") from None


@dataclass(frozen=True)
class CacheSection:
    path: str = "var/cache.db"
    media_dir: str = "var/media"
    max_bytes: int = 0  # the SQLite file's cap; 0: none
    media_budget_bytes: int = 0  # the media folder's cap, enforced by collecting least recently used files; 0: none


@dataclass(frozen=True)
class BrokerSection:
    host: str = "127.0.0.1"
    port: int = 1883
    keepalive_s: int = 15
    session_expiry_s: int = 7 * 24 * 3600
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    password_file: str = ""  # a 0600 file holding the password: what an installed device uses

    def secret(self) -> str | None:
        """The password: ``password`` itself, else the contents of ``password_file``; None without either."""
        if self.password:
            return self.password
        if self.password_file:
            return read_secret("[broker] password_file", self.password_file).decode().strip()
        return None


@dataclass(frozen=True)
class SyncSection:
    trusted_keys: tuple[str, ...] = ("config/keys/demo-chain.pub",)
    lookup_timeout_ms: int = 300
    lookup_ttl_s: int = 900
    inflight_window: int = 200
    batch_events: int = 50
    ack_timeout_s: float = 30.0
    health_interval_s: float = 60.0
    max_payload_bytes: int = 256 * 1024
    media_retries: int = 5
    phone_key_file: str = ""  # the chain's phone-hash key from head office (raw bytes): kiosk and tablet


WEATHER_PROVIDERS = ("open-meteo",)


@dataclass(frozen=True)
class WeatherSection:
    """Normally head office publishes the weather; ``direct`` makes the device fetch it itself."""

    direct: bool = False
    provider: str = "open-meteo"
    base_url: str = "https://api.open-meteo.com"
    lat: float = 0.0
    lon: float = 0.0
    interval_s: float = 900.0

    def __post_init__(self) -> None:
        if self.provider not in WEATHER_PROVIDERS:
            raise ConfigError(f"[weather] provider: unknown provider {self.provider!r} "
                              f"(known: {', '.join(WEATHER_PROVIDERS)})")
        if self.direct and (self.lat, self.lon) == (0.0, 0.0):
            raise ConfigError("[weather] direct = true needs the store's lat and lon")
        if self.interval_s <= 0:
            raise ConfigError("[weather] interval_s: must be positive")


@dataclass(frozen=True)
class PosSection:
    """The till's endpoint; enable it on exactly one device per store (single use is per device)."""

    enabled: bool = False
    bind: str = "127.0.0.1"
    port: int = 8765
    coupon_key_file: str = ""  # the store's coupon key from head office (32 raw bytes)
    till_keys_file: str = ""  # 0600 TOML, one line per till: till-1 = "its key" (docs/pos.md)
    backlog: int = 512  # connections the kernel holds before the endpoint accepts them
    workers: int = 16  # connections served at once; the rest wait their turn
    request_timeout_s: float = 10.0  # a request's head and body arrive within this of its first byte
    idle_timeout_s: float = 30.0  # a kept-alive connection with no new request is closed after this
    rate_per_s: float = 5.0  # each till's requests a second, once its burst is spent
    rate_burst: int = 20

    def __post_init__(self) -> None:
        if not 1 <= self.backlog <= 65535:
            raise ConfigError("[pos] backlog: from 1 to 65535")
        if not 1 <= self.workers <= 256:
            raise ConfigError("[pos] workers: from 1 to 256")
        for key in ("request_timeout_s", "idle_timeout_s", "rate_per_s"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"[pos] {key}: must be positive")
        if self.rate_burst < 1:
            raise ConfigError("[pos] rate_burst: at least 1")


LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "text")


@dataclass(frozen=True)
class LogSection:
    """Where the logs go: stderr (journald under systemd) unless ``file`` names one, rotated by size."""

    level: str = "info"
    format: str = "json"
    file: str = ""
    max_bytes: int = 5 * 1024 * 1024  # one file; the budget is max_bytes * (backups + 1)
    backups: int = 3

    def __post_init__(self) -> None:
        if self.level not in LOG_LEVELS:
            raise ConfigError(f"[log] level: {self.level!r} is not one of {', '.join(LOG_LEVELS)}")
        if self.format not in LOG_FORMATS:
            raise ConfigError(f"[log] format: {self.format!r} is not one of {', '.join(LOG_FORMATS)}")
        if self.max_bytes < 4096:
            raise ConfigError("[log] max_bytes: at least 4096")
        if not 0 <= self.backups <= 100:
            raise ConfigError("[log] backups: from 0 to 100")

    @property
    def budget_bytes(self) -> int:
        return self.max_bytes * (self.backups + 1)


@dataclass(frozen=True)
class KioskSection:
    """The shopper kiosk's screen (ignored on other kinds)."""

    camera: str = "0"  # an OpenCV camera index or device path; "none" for the phone keypad only
    camera_preview: bool = True  # show the live camera picture while scanning; false for privacy
    idle_timeout_s: float = 30.0  # a session with no touch for this long ends (countdown in the last 5 s)
    privacy_url: str = ""  # the full privacy notice, a QR code on the consent screen; empty: "ask at the counter"

    def __post_init__(self) -> None:
        if self.privacy_url and not self.privacy_url.startswith(("https://", "http://")):
            raise ConfigError(f"[kiosk] privacy_url: {self.privacy_url!r} is not an http(s) address")
        if self.idle_timeout_s < 10:
            raise ConfigError("[kiosk] idle_timeout_s: must be at least 10 (the countdown alone takes 5)")


@dataclass(frozen=True)
class SignageSection:
    """The signage player (``python -m signage``); see README, "Signage player"."""

    rotation: int = 0  # degrees clockwise the picture is turned: 0, 90, 180, 270
    layout: str = ""  # a layout id from the bundle; empty: the first one that fits the screen's orientation
    lang: str = "bg"
    brand_name: str = ""  # the fallback and waiting screens; empty: the store id
    brand_tagline: str = ""
    display_on: str = ""  # "HH:MM" the screen wakes; empty with display_off empty: always on
    display_off: str = ""  # "HH:MM" the screen blanks (DPMS where the X server has it)
    health_interval_s: float = 60.0
    screenshot_width: int = 480

    def __post_init__(self) -> None:
        if self.rotation not in (0, 90, 180, 270):
            raise ConfigError(f"[signage] rotation: must be 0, 90, 180 or 270, not {self.rotation}")
        for key in ("display_on", "display_off"):
            value = getattr(self, key)
            if value and not _is_hhmm(value):
                raise ConfigError(f"[signage] {key}: {value!r} is not HH:MM")
        if bool(self.display_on) != bool(self.display_off):
            raise ConfigError("[signage] display_on and display_off: set both or neither")


def _is_hhmm(text: str) -> bool:
    hours, _, minutes = text.partition(":")
    return hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and int(hours) < 24 and int(minutes) < 60


@dataclass(frozen=True)
class DeviceConfig:
    device: DeviceSection = DeviceSection()
    cache: CacheSection = CacheSection()
    broker: BrokerSection = BrokerSection()
    sync: SyncSection = SyncSection()
    weather: WeatherSection = WeatherSection()
    pos: PosSection = PosSection()
    kiosk: KioskSection = KioskSection()
    log: LogSection = LogSection()
    signage: SignageSection = SignageSection()


SECRET_KEYS = {("broker", "password")}


def load(path: str | Path | None = None, env: dict[str, str] | None = None) -> DeviceConfig:
    """Read ``path`` (optional) over the defaults, then apply ``STORE_EDGE_*`` variables."""
    env = dict(os.environ if env is None else env)
    raw: dict[str, dict[str, Any]] = {}
    path = path or env.get("STORE_EDGE_CONFIG") or (DEFAULT_PATH if DEFAULT_PATH.is_file() else None)
    if path:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except PermissionError:
            raise ConfigError(f"config file {path} is not readable by this user") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    sections = {}
    for f in fields(DeviceConfig):
        cls = f.type if isinstance(f.type, type) else globals()[f.type]
        sections[f.name] = _section(f.name, cls, raw.pop(f.name, {}), env)
    if raw:
        raise ConfigError(f"unknown section [{next(iter(raw))}]")
    return DeviceConfig(**sections)


def _section(name: str, cls: type, values: dict[str, Any], env: dict[str, str]) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] must be a table")
    known = {f.name: f for f in fields(cls)}
    for key in values:
        if key not in known:
            raise ConfigError(f"[{name}] {key}: unknown key")
    out = {}
    for key, _f in known.items():
        default = getattr(cls(), key)
        env_name = f"STORE_EDGE_{name}_{key}".upper()
        if env_name in env:
            out[key] = _from_env(f"{env_name}", env[env_name], default)
        elif key in values:
            out[key] = _check(f"[{name}] {key}", values[key], default)
    return cls(**out)


def _from_env(name: str, text: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError
            return text.lower() in ("1", "true", "yes")
        if isinstance(default, tuple):
            return tuple(p for p in text.split(",") if p)
        return type(default)(text)
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a valid {type(default).__name__}") from None


def _check(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, tuple) and isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name}: expected a list of strings")
        return tuple(value)
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if type(value) is not type(default):
        raise ConfigError(f"{name}: expected {type(default).__name__}, got {type(value).__name__}")
    return value


def redacted(config: DeviceConfig) -> dict[str, dict[str, Any]]:
    """The configuration as a dict with secrets replaced, fit for logs and `config check`."""
    out: dict[str, dict[str, Any]] = {}
    for f in fields(config):
        section = getattr(config, f.name)
        out[f.name] = {}
        for k in fields(section):
            value = getattr(section, k.name)
            out[f.name][k.name] = "***" if (f.name, k.name) in SECRET_KEYS and value else value
    return out


def secret_values(config: DeviceConfig) -> list[str]:
    """The secret values themselves, for the log formatter to mask should one ever reach a log line."""
    try:
        password = config.broker.secret()
    except ConfigError:
        password = None  # unreadable: the agent reports that, naming the setting
    return [password] if password else []


def read_secret(setting: str, path: str | Path) -> bytes:
    """A secret file's bytes; an error names the setting and the path, never the contents."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path} ({exc.strerror})") from None


MIN_TILL_KEY_CHARS = 32


def read_till_keys(setting: str, path: str | Path) -> dict[str, bytes]:
    """The tills' keys from a TOML file only its owner may read (``till-1 = "key"``): till id -> key.

    A till id is a plain name, as in the chain's device list (``kind = till``); a key is printable ASCII
    without spaces, at least 32 characters (``openssl rand -hex 32``), and no two tills share one."""
    if not str(path):
        raise ConfigError(f"{setting}: not set; the till endpoint admits only tills with a key")
    try:
        mode = Path(path).stat().st_mode & 0o777
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path} ({exc.strerror})") from None
    if mode & 0o077:
        raise ConfigError(f"{setting}: {path} is open to other users (mode {mode:04o}); chmod 600 it")
    try:
        table = tomllib.loads(read_secret(setting, path).decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{setting}: {path} is not valid TOML ({exc})") from None
    if not table:
        raise ConfigError(f"{setting}: {path} names no till")
    keys: dict[str, bytes] = {}
    for till, key in table.items():
        if not NAME.fullmatch(till):
            raise ConfigError(f"{setting}: till {till!r} is not a plain name (letters, digits, '-', '_', '.')")
        if not isinstance(key, str) or len(key) < MIN_TILL_KEY_CHARS or not key.isascii() \
                or not key.isprintable() or " " in key:
            raise ConfigError(f"{setting}: till {till}: the key must be text of at least {MIN_TILL_KEY_CHARS}"
                              " printable characters without spaces")
        if key.encode() in keys.values():
            raise ConfigError(f"{setting}: till {till} has the same key as another till")
        keys[till] = key.encode()
    return keys


def read_key_file(setting: str, path: str | Path, *, needed_for: str) -> bytes:
    """A secret key file named by ``setting`` (e.g. ``[pos] coupon_key_file``): its exact bytes."""
    if not str(path):
        raise ConfigError(f"{setting}: not set; {needed_for}")
    key = read_secret(setting, path)
    if len(key) < 16:
        raise ConfigError(f"{setting}: {path} holds {len(key)} bytes; a key has at least 16")
    return key
