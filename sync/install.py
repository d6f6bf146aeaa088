"""Lay out one device: ``/etc/store-edge/``, the cache and log folders, the units, the service user.

``store-edge install-device --device-id kiosk-7 --kind kiosk --store s014 --region north --chain acme
--broker-host mqtt.acme.internal --ca ca.pem --cert kiosk-7.pem --key kiosk-7.key --trusted-key chain.pub
--phone-key phone.key --coupon-key coupons-s014.key`` as root (``--root /``, the default), or into a
staging folder with ``--root DIR`` to build an image. The same inputs give byte-identical files with
the same modes: nothing random, no timestamps, everything written in one order.

What it writes under the root:

- ``etc/store-edge/device.toml`` (0640): the device's configuration, secrets only by path;
- ``etc/store-edge/secrets/broker-password`` (0600), ``etc/store-edge/tls/`` (client key 0600),
  ``etc/store-edge/keys/`` (head office's *public* keys 0644; the phone and coupon keys 0600);
- ``var/lib/store-edge/`` (cache and media), ``var/log/store-edge/``;
- ``etc/systemd/system/store-edge-*.service`` and the one for this kind enabled (a ``.wants`` link);
- ``usr/lib/sysusers.d/store-edge.conf`` (the ``store-edge`` system user) and
  ``usr/lib/tmpfiles.d/store-edge.conf`` (ownership), applied by ``systemd-sysusers`` and
  ``systemd-tmpfiles --create`` (run at boot; the README's steps run them once by hand);
- ``etc/pam.d/store-edge-display``: the session that gives the screen's compositor its seat.

A signing key never goes onto a device: a ``--trusted-key`` that holds a private key is refused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import config as config_mod
from .acl import NAME

SOURCE = Path(__file__).resolve().parent.parent / "systemd"
DEFAULT_PREFIX = "/opt/store-edge/venv"
UNITS = ("store-edge-agent.service", "store-edge-kiosk.service", "store-edge-signage.service")
ENABLED = {"kiosk": ("store-edge-kiosk.service", "graphical.target"),
           "tablet": ("store-edge-kiosk.service", "graphical.target"),
           "signage": ("store-edge-signage.service", "graphical.target")}
TLS_FILES = {"ca_file": "ca.pem", "cert_file": "device.pem", "key_file": "device.key"}
ETC = "/etc/store-edge"


class InstallError(ValueError):
    pass


@dataclass(frozen=True)
class Plan:
    device_id: str
    kind: str
    store: str
    region: str
    chain: str
    broker_host: str
    broker_port: int = 8883
    username: str = ""
    password_file: Path | None = None
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    trusted_keys: tuple[Path, ...] = ()
    phone_key: Path | None = None
    coupon_key: Path | None = None
    timezone: str = "Europe/Sofia"
    country: str = "BG"
    prefix: str = DEFAULT_PREFIX
    media_budget_bytes: int = 0

    def check(self) -> None:
        for name in ("device_id", "store", "region", "chain"):
            if not NAME.fullmatch(getattr(self, name)):
                raise InstallError(f"--{name.replace('_', '-')}: {getattr(self, name)!r} is not a plain name")
        if self.kind not in ENABLED:
            raise InstallError(f"--kind: {self.kind!r} is not one of {', '.join(ENABLED)}")
        if not self.ca:
            raise InstallError("--ca: the chain's CA certificate is needed; devices talk to the broker over TLS only")
        if bool(self.cert) != bool(self.key):
            raise InstallError("--cert, --key: give both (a client certificate) or neither")
        if not self.cert and not (self.username and self.password_file):
            raise InstallError("--cert/--key or --username/--password-file: the device needs an identity")
        if not self.trusted_keys:
            raise InstallError("--trusted-key: at least one of head office's public keys")
        for key in self.trusted_keys:
            if b"PRIVATE KEY" in _read(key, "--trusted-key"):
                raise InstallError(f"--trusted-key: {key} is a private key; only head office holds those, "
                                   "a device gets the .pub")
        if self.kind == "kiosk" and not self.coupon_key:
            raise InstallError("--coupon-key: a kiosk issues coupons with its store's key")


def install(plan: Plan, root: Path) -> list[Path]:
    """Write every file for ``plan`` under ``root``; returns them in the order written.

    Every input is read and the device.toml checked before the first write, so bad input writes nothing.
    """
    plan.check()
    files: list[tuple[str, bytes, int]] = []  # (path, contents, mode), in the order written
    broker_password = ""
    if plan.password_file:
        broker_password = f"{ETC}/secrets/broker-password"
        files.append((broker_password, _read(plan.password_file, "--password-file").strip() + b"\n", 0o600))
    tls = {}
    for (name, option), source, mode in zip((("ca_file", "--ca"), ("cert_file", "--cert"), ("key_file", "--key")),
                                            (plan.ca, plan.cert, plan.key), (0o644, 0o644, 0o600), strict=True):
        if source:
            tls[name] = f"{ETC}/tls/{TLS_FILES[name]}"
            files.append((tls[name], _read(source, option), mode))
    trusted = [f"{ETC}/keys/{key.name}" for key in plan.trusted_keys]
    files += [(path, _read(key, "--trusted-key"), 0o644) for path, key in zip(trusted, plan.trusted_keys, strict=True)]
    secrets = {}
    for setting, option, source, name in (
            ("phone_key_file", "--phone-key", plan.phone_key, "phone.key"),
            ("coupon_key_file", "--coupon-key", plan.coupon_key, f"coupons-{plan.store}.key")):
        if source:
            secrets[setting] = f"{ETC}/secrets/{name}"
            files.append((secrets[setting], _read(source, option), 0o600))
    device_toml = _device_toml(plan, tls, broker_password, trusted, secrets)
    _validate(device_toml)
    files.append((f"{ETC}/device.toml", device_toml.encode(), 0o640))
    files += [(f"/etc/systemd/system/{unit}", render_unit(unit, plan.prefix).encode(), 0o644) for unit in UNITS]
    files += [("/usr/lib/sysusers.d/store-edge.conf", (SOURCE / "store-edge.sysusers").read_bytes(), 0o644),
              ("/usr/lib/tmpfiles.d/store-edge.conf", (SOURCE / "store-edge.tmpfiles").read_bytes(), 0o644),
              ("/etc/pam.d/store-edge-display", (SOURCE / "pam-store-edge-display").read_bytes(), 0o644)]

    out = _Writer(root)
    for folder, mode in ((ETC, 0o750), (f"{ETC}/secrets", 0o700), (f"{ETC}/tls", 0o750), (f"{ETC}/keys", 0o750),
                         ("/var/lib/store-edge", 0o750), ("/var/lib/store-edge/media", 0o750),
                         ("/var/log/store-edge", 0o750)):
        out.folder(folder, mode)
    for path, data, mode in files:
        out.file(path, data, mode)
    unit, target = ENABLED[plan.kind]
    out.link(f"/etc/systemd/system/{target}.wants/{unit}", f"/etc/systemd/system/{unit}")
    return out.written


def render_unit(name: str, prefix: str = DEFAULT_PREFIX) -> str:
    """A unit file from systemd/ with its ExecStart pointing into the venv at ``prefix``."""
    return (SOURCE / name).read_text().replace(DEFAULT_PREFIX, prefix.rstrip("/"))


def _device_toml(plan: Plan, tls: dict[str, str], password_file: str, trusted: list[str],
                 secrets: dict[str, str]) -> str:
    q = json.dumps  # a JSON string is a valid TOML basic string
    lines = [f"# /etc/store-edge/device.toml for {plan.device_id}: written by `store-edge install-device`.",
             "# Check it with `store-edge config check`; environment variables STORE_EDGE_<SECTION>_<KEY> override it.",
             "", "[device]", f"id = {q(plan.device_id)}", f"kind = {q(plan.kind)}",
             f"chain = {q(plan.chain)}", f"region = {q(plan.region)}", f"store = {q(plan.store)}",
             f"timezone = {q(plan.timezone)}", f"country = {q(plan.country)}",
             "", "[cache]", 'path = "/var/lib/store-edge/cache.db"', 'media_dir = "/var/lib/store-edge/media"',
             f"media_budget_bytes = {plan.media_budget_bytes}",
             "", "[broker]", f"host = {q(plan.broker_host)}", f"port = {plan.broker_port}", "tls = true"]
    lines += [f"{name} = {q(path)}" for name, path in tls.items()]
    if plan.username:
        lines.append(f"username = {q(plan.username)}")
    if password_file:
        lines.append(f"password_file = {q(password_file)}")
    lines += ["", "[sync]", f"trusted_keys = [{', '.join(q(k) for k in trusted)}]"]
    if "phone_key_file" in secrets:
        lines.append(f"phone_key_file = {q(secrets['phone_key_file'])}")
    if "coupon_key_file" in secrets:
        lines += ["", "[pos]", f"coupon_key_file = {q(secrets['coupon_key_file'])}"]
    lines += ["", "[log]", "# JSON lines to stderr: journald keeps them (journalctl -u store-edge-*).",
              'format = "json"', 'level = "info"', ""]
    return "\n".join(lines)


def _validate(device_toml: str) -> None:
    """Load what would be written with the devices' own loader, before device.toml is written."""
    with tempfile.TemporaryDirectory(prefix="store-edge-install-") as scratch:
        path = Path(scratch) / "device.toml"
        path.write_text(device_toml)
        try:
            config_mod.load(path, env={})
        except config_mod.ConfigError as exc:
            raise InstallError(f"the device.toml this would write is invalid: {exc}") from None


class _Writer:
    def __init__(self, root: Path):
        self.root = root
        self.written: list[Path] = []

    def _target(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def folder(self, path: str, mode: int) -> None:
        target = self._target(path)
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(mode)

    def file(self, path: str, data: bytes, mode: int) -> None:
        target = self._target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        # Created with its final mode, so a secret is never readable by others, even for a moment.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(partial, mode)
        os.replace(partial, target)
        self.written.append(target)

    def link(self, path: str, points_to: str) -> None:
        target = self._target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.symlink_to(points_to)
        self.written.append(target)


def _read(path: Path, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InstallError(f"{option}: cannot read {path} ({exc.strerror})") from None


def add_command(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("install-device", help="lay out one device's configuration, folders and units",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="/", help="install under this folder (a staging root); default /")
    p.add_argument("--device-id", required=True)
    p.add_argument("--kind", required=True, choices=sorted(ENABLED))
    p.add_argument("--store", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--chain", required=True)
    p.add_argument("--broker-host", required=True)
    p.add_argument("--broker-port", type=int, default=8883)
    p.add_argument("--username", default="", help="broker user (with --password-file); else the certificate's CN")
    p.add_argument("--password-file", type=Path, help="a file holding the broker password (never on the command line)")
    p.add_argument("--ca", type=Path, help="the chain's CA certificate (PEM)")
    p.add_argument("--cert", type=Path, help="this device's client certificate (PEM, CN = device id)")
    p.add_argument("--key", type=Path, help="this device's client key (PEM)")
    p.add_argument("--trusted-key", type=Path, action="append", default=[], help="head office's public key (repeat)")
    p.add_argument("--phone-key", type=Path, help="the chain's phone-hash key (kiosk, tablet)")
    p.add_argument("--coupon-key", type=Path, help="the store's coupon key (kiosk)")
    p.add_argument("--timezone", default="Europe/Sofia")
    p.add_argument("--country", default="BG")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help="where the software's venv is (the units' ExecStart)")
    p.add_argument("--media-budget-bytes", type=int, default=0)
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    plan = Plan(device_id=args.device_id, kind=args.kind, store=args.store, region=args.region, chain=args.chain,
                broker_host=args.broker_host, broker_port=args.broker_port, username=args.username,
                password_file=args.password_file, ca=args.ca, cert=args.cert, key=args.key,
                trusted_keys=tuple(args.trusted_key), phone_key=args.phone_key, coupon_key=args.coupon_key,
                timezone=args.timezone, country=args.country, prefix=args.prefix,
                media_budget_bytes=args.media_budget_bytes)
    root = Path(args.root)
    try:
        written = install(plan, root)
    except InstallError as exc:
        print(f"store-edge install-device: {exc}", file=sys.stderr)
        return 2
    print(f"installed {len(written)} files for {plan.device_id} under {root}")
    if root == Path("/"):
        print("next: systemd-sysusers && systemd-tmpfiles --create && systemctl daemon-reload && "
              f"store-edge config check && systemctl start {ENABLED[plan.kind][0]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="store-edge")
    add_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["install-device", *(sys.argv[1:] if argv is None else argv)])
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
