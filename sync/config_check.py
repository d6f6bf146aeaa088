"""``store-edge config check``: the effective configuration, validated beyond its types.

Loading checks keys and types; this also opens every file the configuration names (TLS files, the
trusted keys, secret files) the way the programs will, so a device that passes will start. Every
problem names its key; no secret value or key file's contents is ever part of a message.
"""

from __future__ import annotations

from pathlib import Path

from .config import ConfigError, DeviceConfig, read_key_file, read_secret, read_till_keys
from .protocol.signing import load_public_key

KINDS = ("kiosk", "tablet", "signage")


def problems(cfg: DeviceConfig, base_dir: Path = Path(".")) -> list[str]:
    """Every problem found, one line each; an empty list means the configuration is good to run."""
    found: list[str] = []

    def path(name: str) -> Path:
        return base_dir / name

    def attempt(check) -> None:
        try:
            check()
        except ConfigError as exc:
            found.append(str(exc))

    if cfg.device.kind not in KINDS:
        found.append(f"[device] kind: {cfg.device.kind!r} is not one of {', '.join(KINDS)}")
    b = cfg.broker
    if b.password and b.password_file:
        found.append("[broker] password, password_file: set one of them, not both")
    if b.password_file:
        attempt(lambda: read_secret("[broker] password_file", path(b.password_file)))
    if b.tls:
        if not b.ca_file:
            found.append("[broker] ca_file: needed with tls = true (the chain's CA)")
        if bool(b.cert_file) != bool(b.key_file):
            found.append("[broker] cert_file, key_file: set both (a client certificate) or neither")
        for key in ("ca_file", "cert_file", "key_file"):
            if getattr(b, key):
                attempt(lambda key=key: read_secret(f"[broker] {key}", path(getattr(b, key))))
    elif b.password or b.password_file:
        found.append("[broker] tls: a password must not travel in clear text; set tls = true")
    if not cfg.sync.trusted_keys:
        found.append("[sync] trusted_keys: empty; no bundle could be checked")
    for name in cfg.sync.trusted_keys:
        found.extend(_public_key_problem(path(name)))
    if cfg.sync.phone_key_file:
        attempt(lambda: read_key_file("[sync] phone_key_file", path(cfg.sync.phone_key_file), needed_for=""))
    if cfg.pos.coupon_key_file:
        attempt(lambda: read_key_file("[pos] coupon_key_file", path(cfg.pos.coupon_key_file), needed_for=""))
    if cfg.pos.till_keys_file:
        attempt(lambda: read_till_keys("[pos] till_keys_file", path(cfg.pos.till_keys_file)))
    elif cfg.pos.enabled:
        found.append("[pos] till_keys_file: not set; the till endpoint admits only tills with a key")
    if cfg.cache.max_bytes < 0 or cfg.cache.media_budget_bytes < 0:
        found.append("[cache] max_bytes, media_budget_bytes: 0 (no cap) or a positive number of bytes")
    return found


def _public_key_problem(file: Path) -> list[str]:
    try:
        head = file.read_bytes()[:64]
    except OSError as exc:
        return [f"[sync] trusted_keys: cannot read {file} ({exc.strerror})"]
    if b"PRIVATE KEY" in head:
        return [f"[sync] trusted_keys: {file} is a private key; a device holds public keys only"]
    try:
        load_public_key(file)
    except ValueError:
        return [f"[sync] trusted_keys: {file} is not an Ed25519 public key"]
    return []
