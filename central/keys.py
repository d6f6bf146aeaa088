"""The chain's signing keys at head office, by key id, with rotation.

``keys_dir`` holds ``chain-<key id>.key`` (private, PEM) and ``.pub`` files, and a file ``active``
naming the key id that signs from now on. Rotating is two steps so that no card or bundle is
ever signed with a key the devices do not trust yet: ``keys new`` makes a key (ship its ``.pub``
to every device's ``[sync] trusted_keys``), ``keys activate <id>`` starts signing with it. Older
keys stay in the folder: QR cards and bundles they signed still verify wherever their public key
is trusted, because every signature names its key id.

``keys_dir`` defaults to ``/var/lib/store-edge-central/keys``, outside any checkout, beside the console's
session key. A private key file is 0600 (written so from the start); a key file that group or others may read
is refused with the ``chmod`` that fixes it, never used.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.protocol import signing


@dataclass(frozen=True)
class DeviceTrust:
    store: str
    device: str
    trusted: tuple[str, ...] | None  # None: its health reports no keys yet (an older release, or never seen)

    def trusts(self, kid: str | None) -> bool | None:
        return None if self.trusted is None or kid is None else kid in self.trusted


def device_trust(devices: Iterable) -> list[DeviceTrust]:
    """Which key ids each device accepts, from its last health report (``central.fleet.DeviceRow``)."""
    out = []
    for d in devices:
        keys = d.health.get("trusted_keys")
        ok = isinstance(keys, list) and all(isinstance(k, str) for k in keys)
        out.append(DeviceTrust(d.store, d.device, tuple(keys) if ok else None))
    return out


class NoSigningKey(LookupError):
    """No usable signing key; the message says what to run."""


class UnsafeKeyFile(NoSigningKey):
    """A private key file others may read: refused, with the command that fixes it."""


def check_private(path: Path) -> None:
    """Raises UnsafeKeyFile when group or others may read or write ``path``."""
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise UnsafeKeyFile(f"{path}: group or others may read this private key; run 'chmod 600 {path}' (and"
                            " make a new key if it may have been copied)")


class Keyring:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.keys: dict[str, Ed25519PrivateKey] = {}
        for path in sorted(self.folder.glob("chain-*.key")):
            check_private(path)
            key = signing.load_private_key(path)
            self.keys[signing.key_id(key.public_key())] = key

    @classmethod
    def holding(cls, key: Ed25519PrivateKey) -> Keyring:
        """A keyring of one key held in memory (the reference responder's and the tests')."""
        ring = cls.__new__(cls)
        ring.folder = None
        ring.keys = {signing.key_id(key.public_key()): key}
        return ring

    @property
    def active_id(self) -> str:
        marker = self.folder / "active" if self.folder else None
        if marker and marker.exists():
            kid = marker.read_text().strip()
            if kid not in self.keys:
                raise NoSigningKey(f"{marker} names key {kid}, which is not in {self.folder}")
            return kid
        if len(self.keys) == 1:
            return next(iter(self.keys))
        if not self.keys:
            raise NoSigningKey(f"no signing key in {self.folder}: run 'store-edge-central keys new --activate'")
        raise NoSigningKey(f"several keys in {self.folder} and no 'active' file: run 'keys activate <id>'")

    @property
    def active(self) -> Ed25519PrivateKey:
        return self.keys[self.active_id]

    def status(self) -> tuple[str | None, str]:
        """(the active key id, or None and why there is none) for the rotation view."""
        try:
            return self.active_id, ""
        except NoSigningKey as exc:
            return None, str(exc)

    def trusted(self) -> signing.TrustedKeys:
        """Every key's public half: what verifies anything this head office ever signed."""
        return signing.TrustedKeys([k.public_key() for k in self.keys.values()])

    def new_key(self) -> str:
        """Make a key (not active yet); returns its id. Its .pub goes to the devices first."""
        key = signing.generate_private_key()
        kid = signing.key_id(key.public_key())
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        private = self.folder / f"chain-{kid}.key"
        with os.fdopen(os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(signing.private_key_pem(key))
        (self.folder / f"chain-{kid}.pub").write_bytes(signing.public_key_pem(key.public_key()))
        self.keys[kid] = key
        return kid

    def activate(self, kid: str) -> None:
        if kid not in self.keys:
            raise NoSigningKey(f"no key {kid} in {self.folder} (have: {', '.join(sorted(self.keys)) or 'none'})")
        (self.folder / "active").write_text(kid + "\n")
