"""Head office's configuration: defaults, one TOML file, then ``STORE_EDGE_<SECTION>_<KEY>`` variables.

The same loader as the devices' (``sync.config``): ``STORE_EDGE_CENTRAL_DSN=postgresql://...``
switches the store to PostgreSQL, ``STORE_EDGE_BROKER_HOST`` names the broker. See
``config/central.example.toml`` for every key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.config import BrokerSection, ConfigError, _section

from .privacy_requests import JURISDICTIONS


@dataclass(frozen=True)
class CentralSection:
    chain: str = "demo"
    dsn: str = "var/central/central.db"  # a SQLite path, or postgresql://user@host/db
    # chain-<key id>.key files (0600) and the 'active' file naming one; outside the checkout, beside the console's key
    keys_dir: str = "/var/lib/store-edge-central/keys"
    content_dir: str = "headoffice"  # head office's YAML/CSV files, one folder per scope
    http_dir: str = "var/central/http"  # bundle bodies and media served over HTTP
    http_host: str = "127.0.0.1"
    http_port: int = 8088
    http_base_url: str = ""  # how devices reach http_dir (a CDN, say); default http://http_host:http_port
    workers: int = 2
    max_inline_bytes: int = 256 * 1024  # above this (or the broker's message limit) a bundle goes by URL
    stale_after_s: float = 180.0  # a device silent this long is stale in the fleet view
    select_days: int = 30  # a store caches the customers seen there in this many days...
    select_top: int = 200  # ...plus this many more, by likelihood of visit
    lookup_ttl_s: int = 900
    lookup_rate_per_s: float = 0.5  # per device, sustained: a shopper identifying every 2 s is already a lot
    lookup_burst: int = 20  # per device, at once
    jobs_every_s: float = 3600.0
    timezone: str = "UTC"  # the stores' local time (IANA name): a report's days start at their midnight
    events_months_ahead: int = 3  # PostgreSQL: month partitions made ahead of the current one
    events_retention_months: int = 0  # raw events kept this many months, this one included; 0 keeps all


@dataclass(frozen=True)
class ConsoleSection:
    enabled: bool = False  # 'serve' runs the console too
    host: str = "127.0.0.1"  # behind a TLS reverse proxy (docs/console.md); never bare on a public address
    port: int = 8089
    # The key that encrypts the session cookies: 32 random bytes, 0600, made on first start; outside the checkout.
    secret_file: str = "/var/lib/store-edge-central/console-session.key"
    session_max_age_s: int = 3600  # a session unused this long is over
    max_failures: int = 5  # wrong passwords in a row before the account is locked...
    lockout_s: int = 900  # ...for this long
    max_upload_bytes: int = 200_000_000  # the media library's largest upload (a minute of 1080p video is ~60 MB)


@dataclass(frozen=True)
class PrivacySection:
    jurisdiction: str = "gdpr"  # the due date of shoppers' requests: gdpr (30 days) or 152-fz (10 working days)
    phone_key_file: str = ""  # the chain's phone-hash key (the devices' [sync] phone_key_file): find by phone
    country: str = ""  # numbers typed without + are of this country (ISO code, e.g. BG), as at the stores


@dataclass(frozen=True)
class PublishingSection:
    approval: bool = False  # four-eyes: a second person approves each publication before it goes out
    pilot_stores: tuple[str, ...] = ()  # stores that get each publication first (``publish --pilot`` overrides)
    watch_s: float = 900.0  # how long the pilot stores are watched before a publication can be promoted


@dataclass(frozen=True)
class CentralConfig:
    central: CentralSection = CentralSection()
    broker: BrokerSection = BrokerSection()
    console: ConsoleSection = ConsoleSection()
    privacy: PrivacySection = PrivacySection()
    publishing: PublishingSection = PublishingSection()

    @property
    def base_url(self) -> str:
        return self.central.http_base_url or f"http://{self.central.http_host}:{self.central.http_port}"


def load(path: str | Path | None = None, env: dict[str, str] | None = None) -> CentralConfig:
    env = dict(os.environ if env is None else env)
    path = path or env.get("STORE_EDGE_CENTRAL_CONFIG")
    raw: dict[str, Any] = {}
    if path:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    central = _section("central", CentralSection, raw.pop("central", {}), env)
    broker = _section("broker", BrokerSection, raw.pop("broker", {}), env)
    console = _section("console", ConsoleSection, raw.pop("console", {}), env)
    privacy = _section("privacy", PrivacySection, raw.pop("privacy", {}), env)
    publishing = _section("publishing", PublishingSection, raw.pop("publishing", {}), env)
    if raw:
        raise ConfigError(f"unknown section [{next(iter(raw))}]")
    try:
        ZoneInfo(central.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[central] timezone: {central.timezone!r} is not a time zone name"
                          " (write one like 'Europe/Sofia' or 'UTC')") from None
    if privacy.jurisdiction not in JURISDICTIONS:
        raise ConfigError(f"[privacy] jurisdiction: {privacy.jurisdiction!r} is not one of {', '.join(JURISDICTIONS)}")
    return CentralConfig(central, broker, console, privacy, publishing)
