"""The install script into temporary roots, and `systemd-analyze verify` on every unit it installs."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from sync import config as config_mod
from sync.install import UNITS, render_unit
from sync.protocol import signing

VENV = Path(sys.executable).parent.parent
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def inputs(tmp_path: Path, chain_key) -> dict[str, Path]:
    folder = tmp_path / "from-head-office"
    folder.mkdir()
    files = {"pub": folder / "chain.pub", "priv": folder / "chain.key", "phone": folder / "phone.key",
             "coupon": folder / "coupons.key", "password": folder / "pw", "ca": folder / "ca.pem"}
    files["pub"].write_bytes(signing.public_key_pem(chain_key.public_key()))
    files["priv"].write_bytes(signing.private_key_pem(chain_key))
    files["phone"].write_bytes(b"p" * 32)
    files["coupon"].write_bytes(b"c" * 32)
    files["password"].write_text("correct-horse-battery\n")
    files["ca"].write_text("-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n")
    return files


def install(root: Path, inputs: dict[str, Path], *extra: str, trusted: str = "pub") -> subprocess.CompletedProcess:
    """The shipped script, as an operator runs it (with this checkout's Python)."""
    args = ["--root", str(root), "--device-id", "kiosk-7", "--kind", "kiosk", "--store", "s014",
            "--region", "north", "--chain", "acme", "--broker-host", "mqtt.acme.internal",
            "--username", "kiosk-7", "--password-file", str(inputs["password"]), "--ca", str(inputs["ca"]),
            "--trusted-key", str(inputs[trusted]), "--phone-key", str(inputs["phone"]),
            "--coupon-key", str(inputs["coupon"]), "--prefix", str(VENV), *extra]
    return subprocess.run([str(ROOT / "scripts" / "install-device.sh"), *args], capture_output=True, text=True,
                          env={"STORE_EDGE_PYTHON": sys.executable, "PATH": "/usr/bin:/bin"}, timeout=60)


def tree(root: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(root)): ("link" if p.is_symlink() else "dir" if p.is_dir() else "file",
                                       p.lstat().st_mode & 0o7777) for p in sorted(root.rglob("*"))}


def test_same_inputs_give_byte_identical_installs(tmp_path, inputs):
    first, second = tmp_path / "first", tmp_path / "second"
    assert install(first, inputs).returncode == 0
    assert install(second, inputs).returncode == 0
    assert tree(first) == tree(second)
    files = [p for p, (kind, _) in tree(first).items() if kind == "file"]
    match, mismatch, errors = filecmp.cmpfiles(first, second, files, shallow=False)
    assert (mismatch, errors) == ([], []) and len(match) == len(files) >= 10
    assert install(first, inputs).returncode == 0  # installing again over it changes nothing
    assert tree(first) == tree(second)
    assert filecmp.cmpfiles(first, second, files, shallow=False)[1:] == ([], [])


def test_layout_modes_and_secrets_by_path(tmp_path, inputs):
    root = tmp_path / "root"
    result = install(root, inputs)
    assert result.returncode == 0, result.stderr
    t = tree(root)
    assert t["etc/store-edge/device.toml"] == ("file", 0o640)
    for secret in ("secrets/broker-password", "secrets/phone.key", "secrets/coupons-s014.key"):
        assert t[f"etc/store-edge/{secret}"] == ("file", 0o600)
    assert t["etc/store-edge/secrets"] == ("dir", 0o700)
    assert t["var/lib/store-edge"][0] == t["var/lib/store-edge/media"][0] == t["var/log/store-edge"][0] == "dir"
    link = root / "etc/systemd/system/graphical.target.wants/store-edge-kiosk.service"
    assert str(link.readlink()) == "/etc/systemd/system/store-edge-kiosk.service"
    assert "u store-edge" in (root / "usr/lib/sysusers.d/store-edge.conf").read_text()
    cfg = config_mod.load(root / "etc/store-edge/device.toml", env={})
    d = cfg.device
    assert (d.id, d.store, d.region, d.chain) == ("kiosk-7", "s014", "north", "acme")
    assert cfg.broker.tls and cfg.broker.password == "" and cfg.broker.password_file.endswith("broker-password")
    # The password is only in its 0600 file, never in device.toml.
    assert "correct-horse" not in (root / "etc/store-edge/device.toml").read_text()
    assert (root / "etc/store-edge/secrets/broker-password").read_text() == "correct-horse-battery\n"


def test_no_signing_key_ever_lands_on_a_device(tmp_path, inputs):
    refused = install(tmp_path / "bad", inputs, trusted="priv")
    assert refused.returncode == 2
    assert "is a private key" in refused.stderr and "--trusted-key" in refused.stderr
    assert not (tmp_path / "bad" / "etc/store-edge/device.toml").exists()
    root = tmp_path / "good"
    assert install(root, inputs).returncode == 0
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"PRIVATE KEY" not in data, path
            with pytest.raises(ValueError):
                serialization.load_pem_private_key(data, password=None)
    signing.load_public_key(root / "etc/store-edge/keys/chain.pub")


def test_bad_input_names_the_option_and_writes_nothing(tmp_path, inputs):
    result = install(tmp_path / "root", inputs, "--store", "s 014")
    assert result.returncode == 2 and "--store" in result.stderr
    assert not (tmp_path / "root").exists()
    result = install(tmp_path / "root", {**inputs, "phone": tmp_path / "missing.key"})
    assert result.returncode == 2 and "--phone-key: cannot read" in result.stderr
    assert not (tmp_path / "root").exists()  # not even the secrets read before it were written


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_passes_on_every_unit(tmp_path, inputs):
    """The installed units (ExecStart pointing at this venv) and the central unit, with no warning at all:
    verify exits 0 even on an unknown key, so its output must be empty too."""
    root = tmp_path / "root"
    assert install(root, inputs).returncode == 0
    units = [root / "etc/systemd/system" / name for name in UNITS]
    central = tmp_path / "store-edge-central.service"
    central.write_text(render_unit("store-edge-central.service", str(VENV)))
    result = subprocess.run(["systemd-analyze", "verify", *map(str, units), str(central)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr
    # verify really checks: a misspelt setting is reported.
    broken = tmp_path / "store-edge-agent.service"
    broken.write_text(units[0].read_text().replace("WatchdogSec=", "WatchdogSecs="))
    result = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "Unknown key 'WatchdogSecs'" in result.stderr


def test_units_carry_the_operations_settings():
    for name in (*UNITS, "store-edge-central.service"):
        text = (ROOT / "systemd" / name).read_text()
        for line in ("Type=notify", "Restart=always", "WatchdogSec=60", "NoNewPrivileges=yes", "ProtectSystem=strict",
                     "PrivateTmp=yes", "User=store-edge", "ReadWritePaths=/var/lib/store-edge /var/log/store-edge",
                     "Wants=network-online.target", "StartLimitBurst=", "RestartSec="):
            assert line in text, (name, line)
        assert "Requires=network" not in text
