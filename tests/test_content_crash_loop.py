"""Issue 13: content never takes a device down. The kiosk, the staff tablet and the signage player, each a real
process under Xvfb with its own agent, start on a cache whose content does not load (written by an older release)
and stay up; then every kind of bad content a marketer can publish arrives, and each is refused whole with a
``content_rejected`` event while the screen stays up on the same boot; a good bundle after that is taken in."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from bad_content import BAD, bad_content
from support import CHAIN, sample_content, wait_for

from central.fleet import DeviceRow, fleet
from kiosk.display import start_xvfb
from sync.cache import Cache
from sync.cache.bundles import apply_bundle
from sync.protocol import topics

ROOT = Path(__file__).resolve().parent.parent
UNLOADABLE = "content in the cache does not load"


@pytest.fixture(scope="module")
def display() -> str:
    saved = os.environ.get("DISPLAY")
    xvfb = start_xvfb()
    shown = os.environ["DISPLAY"]
    if saved is None:
        os.environ.pop("DISPLAY")
    else:
        os.environ["DISPLAY"] = saved
    yield shown
    xvfb.terminate()
    xvfb.wait(10)


def row(responder, device: str) -> DeviceRow:
    return next(r for r in fleet(responder.events.db, now=0, stale_after_s=1e12) if r.device == device)


def unloadable_chain() -> dict:
    """What an older release let into the cache: an offer the engine cannot compile, shown on a signage board."""
    content = sample_content(3)
    content["offers"][0]["channels"] = ["kiosk", "kisok", "signage"]
    content.update(content_items=[{"id": "offers-board", "kind": "offers", "duration_s": 5}],
                   playlists=[{"id": "pl-house", "items": ["offers-board"]}],
                   schedules=[{"id": "sch-house", "playlist": "pl-house", "default": True}])
    return content


def write_config(tmp: Path, kind: str, device: str, port: int, chain_pub: Path) -> Path:
    (tmp / "phone.key").write_bytes(b"p" * 32)
    (tmp / "coupon.key").write_bytes(b"c" * 32)
    config = tmp / f"{device}.toml"
    config.write_text(f"""\
[device]
id = "{device}"
kind = "{kind}"
chain = "{CHAIN}"
store = "s001"
[cache]
path = "{tmp / device / 'cache.db'}"
media_dir = "{tmp / device / 'media'}"
[broker]
port = {port}
keepalive_s = 5
[sync]
trusted_keys = ["{chain_pub}"]
phone_key_file = "{tmp / 'phone.key'}"
[pos]
coupon_key_file = "{tmp / 'coupon.key'}"
[kiosk]
camera = "none"
[signage]
health_interval_s = 1.0
""")
    return config


@pytest.mark.parametrize("kind, device", [("kiosk", "kiosk-1"), ("tablet", "tablet-1"), ("signage", "sign-1")])
def test_no_content_takes_a_screen_down(kind, device, display, tmp_path, broker, responder, device_config):
    chain_pub = Path(device_config().sync.trusted_keys[0])
    config = write_config(tmp_path, kind, device, broker.port, chain_pub)
    (tmp_path / device).mkdir()
    cache = Cache(str(tmp_path / device / "cache.db"))
    apply_bundle(cache, stream="chain", scope="chain", version=1, sha256="0" * 64, mode="snapshot",
                 content=unloadable_chain(), at=0)
    cache.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORE_EDGE_")}
    env.update(DISPLAY=display, KIVY_NO_ARGS="1", KIVY_HOME=str(tmp_path / "kivy"), PYTHONIOENCODING="utf-8")
    module, extra = ("signage", ["--windowed"]) if kind == "signage" else ("kiosk", ["--windowed", "--lang", "en"])
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", module, "--config", str(config), *extra], cwd=ROOT, env=env,
                                stdout=out, stderr=err, start_new_session=True)

    def output() -> str:
        return out_path.read_text() + err_path.read_text()

    def running(predicate, what: str, timeout: float = 60.0):
        return wait_for(lambda: proc.poll() is not None or predicate(), timeout=timeout, what=what)

    try:
        key = f"s001/{device}"
        running(lambda: responder.presence.get(key, {}).get("state") == "online", "the screen online")
        running(lambda: UNLOADABLE in output(), "the screen to say its cache's content does not load")
        assert proc.poll() is None, output()[-3000:]
        boot = responder.presence[key]["boot_id"]
        running(lambda: "PlaybookError: offer OFF1" in (row(responder, device).last_error or ""),
                "the fleet view to say why the screen shows less than its cache holds")

        for version, what in enumerate(BAD, start=2):
            responder.publish_manifest(topics.bundle_topic(CHAIN, "chain"),
                                       responder.sign("chain", bad_content(what), version=version), retain=True)
            running(lambda v=version: any(e["payload"]["version"] == v for e in responder.events.events(
                "content_rejected") if e["device"] == device), f"{what} refused by {device}")
            assert proc.poll() is None, (what, output()[-3000:])

        before = output().count(UNLOADABLE)
        responder.publish_bundle("store/s001", {"inventory": [{"sku": "SKU00000", "on_hand": 5}]})
        if kind == "signage":
            running(lambda: "'store/s001': 1" in output(), "the player to take in the store bundle")
        else:
            running(lambda: output().count(UNLOADABLE) > before, "the screen to reload its engine")
        assert proc.poll() is None, output()[-3000:]
        assert responder.presence[key] == {"state": "online", "boot_id": boot}  # never restarted
        rejected = {e["payload"]["version"] for e in responder.events.events("content_rejected")
                    if e["device"] == device}
        assert rejected == set(range(2, 2 + len(BAD)))
        assert "Traceback" not in output()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
