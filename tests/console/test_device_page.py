"""The device page in a real browser against a real Mosquitto, head office's real worker (presence, events,
health), a real sync agent (kiosk-1) and a real signage player (signage-1, its own process on Xvfb) answering the
buttons: per role, the health chart, the recent events, each command's answer (a failure with the device's reason,
a timeout), and the fleet page following a device going stale, offline and back."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from console_support import MAX_AGE_S, PASSWORD, PEOPLE, SCREENS, decoded_width, free_port
from playwright.sync_api import Page, expect
from support import CHAIN, chain_keyring, wait_for

from central import audit, users
from central.config import CentralConfig, CentralSection, ConsoleSection
from central.db import Database, open_database
from central.ingest import store_events
from central.keys import Keyring
from central.worker import Worker
from console.server import Background
from kiosk.display import start_xvfb
from sync import config as config_mod
from sync.agent import SyncAgent
from sync.broker import Mosquitto
from sync.clock import SYSTEM, FixedClock
from sync.protocol import signing

STORES = "store,region,devices\ns001,south,kiosk-1|tablet-1|signage-1\ns002,north,kiosk-2\n"
HOUR = 3600.0
ROOT = Path(__file__).resolve().parents[2]
SIGNAGE_TOML = """[device]
id = "signage-1"
kind = "signage"
chain = "{chain}"
store = "s001"
region = "south"
[cache]
path = "{folder}/cache.db"
media_dir = "{folder}/media"
[broker]
port = {port}
[sync]
trusted_keys = ["{key}"]
"""


@dataclass
class Rig:
    url: str
    db: Database
    clock: FixedClock
    config: config_mod.DeviceConfig
    agents: list[SyncAgent]

    def start_agent(self) -> SyncAgent:
        agent = SyncAgent(self.config, clock=self.clock).start()
        self.agents.append(agent)
        wait_for(agent.connected.is_set, what="agent connected")
        return agent


def _signage_player(root: Path, port: int) -> tuple[subprocess.Popen, subprocess.Popen]:
    """``python -m signage`` as a store runs it, on its own Xvfb screen: (Xvfb, the player)."""
    folder = root / "signage-1"
    folder.mkdir()
    (folder / "device.toml").write_text(SIGNAGE_TOML.format(chain=CHAIN, folder=folder, port=port,
                                                            key=root / "chain.pub"))
    ours = os.environ.get("DISPLAY")
    xvfb = start_xvfb()  # it points this process's DISPLAY at the new screen: only the player's is meant to
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_HOME": str(folder / "kivy")}
    if ours is None:
        os.environ.pop("DISPLAY")
    else:
        os.environ["DISPLAY"] = ours
    player = subprocess.Popen([sys.executable, "-m", "signage", "--config", str(folder / "device.toml"),
                               "--windowed"], cwd=ROOT, env=env, stdout=(folder / "player.log").open("w"),
                              stderr=subprocess.STDOUT)
    return xvfb, player


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Iterator[Rig]:
    root = tmp_path_factory.mktemp("device-page")
    (root / "headoffice").mkdir()
    (root / "headoffice" / "stores.csv").write_text(STORES)
    key = signing.generate_private_key()
    chain_keyring(root / "keys", key)
    (root / "chain.pub").write_bytes(signing.public_key_pem(key.public_key()))
    # The signage player is its own process on the system's clock, which checks each command's expiry: head
    # office's clock starts at the same time (and moves only when the test says: test_buttons_... sets it again).
    clock = FixedClock(SYSTEM.time())
    broker = Mosquitto(data_dir=root / "broker")
    broker.start()
    dsn = str(root / "central.db")
    db = open_database(dsn)
    for role, name in PEOPLE.items():
        users.add_user(db, name, role, PASSWORD, stores=("s001",) if role == "store_manager" else (), now=clock.time())
    central = CentralConfig(CentralSection(chain=CHAIN, dsn=dsn, keys_dir=str(root / "keys"),
                                           content_dir=str(root / "headoffice")),
                            config_mod.BrokerSection(port=broker.port, keepalive_s=5),
                            ConsoleSection(secret_file=str(root / "secret" / "console.key"),
                                           session_max_age_s=MAX_AGE_S))
    worker = Worker(central, 1, clock=clock, keys=Keyring(root / "keys")).start()
    port = free_port()
    console = Background(central, db, clock, port=port).start()
    base = config_mod.load(env={})
    device = dataclasses.replace(
        base, device=dataclasses.replace(base.device, id="kiosk-1", store="s001", chain=CHAIN),
        cache=dataclasses.replace(base.cache, path=str(root / "kiosk-1" / "cache.db"),
                                  media_dir=str(root / "kiosk-1" / "media")),
        broker=dataclasses.replace(base.broker, port=broker.port, keepalive_s=5),
        sync=dataclasses.replace(base.sync, trusted_keys=(str(root / "chain.pub"),)))
    rig = Rig(f"http://localhost:{port}", db, clock, device, [])
    _health_history(db, clock.time())
    rig.start_agent()
    xvfb, player = _signage_player(root, broker.port)
    for name in ("kiosk-1", "signage-1"):
        wait_for(lambda name=name: db.scalar("SELECT state FROM devices WHERE device = ?", (name,)) == "online",
                 timeout=60, what=f"{name}'s presence at head office")
    yield rig
    player.terminate()
    player.wait(20)
    xvfb.terminate()
    for agent in rig.agents:
        agent.stop()
    console.stop()
    worker.stop()
    db.close()
    broker.stop()


def _health_history(db: Database, now: float) -> None:
    """A day of kiosk-1's health reports through ingest, as the worker stores them: the outbox backs up in the
    afternoon (the store's link was down) and drains; memory creeps up."""
    events = []
    for n in range(48):
        at = now - 24 * HOUR + n * HOUR / 2
        backlog = max(0, 400 - abs(n - 30) * 60)
        events.append({"id": f"h-{n}", "seq": 1000 + n, "type": "health", "store": "s001", "device": "kiosk-1",
                       "wall_time": at, "payload": {"outbox_rows": backlog, "rss_bytes": 180_000_000 + n * 1_500_000,
                                                    "cache_file_bytes": 40_000_000, "media_bytes": 200_000_000 + n}})
    events.append({"id": "old", "seq": 999, "type": "health", "store": "s001", "device": "kiosk-1",
                   "wall_time": now - 9 * 86_400, "payload": {"outbox_rows": 1}})  # before the window: pruned
    store_events(db, events, now=now)


def shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def sign_in(page: Page, rig: Rig, name: str) -> None:
    page.goto(f"{rig.url}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


def press(page: Page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()


@pytest.mark.parametrize("role", ["admin", "technician", "store_manager"])
def test_device_page_per_role(page: Page, rig: Rig, role: str):
    sign_in(page, rig, PEOPLE[role])
    page.goto(f"{rig.url}/fleet")
    page.locator("tr[data-device='s001/kiosk-1']").get_by_role("link", name="kiosk-1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("kiosk-1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("kiosk in s001, south")
    expect(page.locator(".badge")).to_have_text("online")
    for label in ("Screenshot", "Identify", "Reload", "Report health"):
        expect(page.get_by_role("button", name=label, exact=True)).to_be_visible()
    shot(page, f"{role}-device")
    response = page.goto(f"{rig.url}/fleet/s002/kiosk-2")
    if role == "store_manager":
        assert response.status == 403
        expect(page.get_by_text("Store s002 is not one of yours.")).to_be_visible()
        r = page.request.post(f"{rig.url}/fleet/s002/kiosk-2/command", form={"command": "reload"})
        assert r.status == 403  # refused before anything is sent (its CSRF token is missing too)
        shot(page, "store_manager-device-other-store-refused")
    else:
        assert response.status == 200
        expect(page.locator(".badge")).to_have_text("never seen")
        expect(page.get_by_text("No events from this device yet.")).to_be_visible()
    assert page.goto(f"{rig.url}/fleet/s001/no-such-device").status == 404


def test_roles_without_the_fleet_get_403(page: Page, rig: Rig):
    for role in ("marketer", "privacy_officer"):
        sign_in(page, rig, PEOPLE[role])
        response = page.goto(f"{rig.url}/fleet/s001/kiosk-1")
        assert response.status == 403
        expect(page.get_by_text("Your role does not include this page.")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()


def test_health_chart_and_recent_events(page: Page, rig: Rig):
    sign_in(page, rig, "tom")
    page.goto(f"{rig.url}/fleet/s001/kiosk-1")
    charts = page.locator("figure")
    expect(charts.locator("figcaption")).to_have_text(["Memory (RSS)", "Disk used by store-edge",
                                                       "Outbox depth (events waiting)"])
    outbox = page.get_by_role("img", name="Outbox depth (events waiting), last 24h")
    expect(outbox.locator("text").nth(2)).to_have_text("500")  # the axis top over the 400-row backlog
    points = outbox.locator("polyline").get_attribute("points").split()
    assert len(points) >= 47  # a point per report in the last 24 h; the 9-day-old one was pruned
    assert rig.db.scalar("SELECT count(*) FROM device_health WHERE device = 'kiosk-1' AND at < ?",
                         (rig.clock.time() - 8 * 86_400,)) == 0
    events = page.locator("tbody tr")
    expect(events.first).to_contain_text("health")
    expect(events.first).to_contain_text("outbox")
    shot(page, "technician-device-health")
    page.get_by_role("link", name="last 6h").click()
    expect(page.get_by_role("img", name="Outbox depth (events waiting), last 6h")).to_be_visible()
    six = page.get_by_role("img", name="Outbox depth (events waiting), last 6h").locator("polyline")
    assert 11 <= len(six.get_attribute("points").split()) <= 14


def test_buttons_send_commands_and_show_the_answers(page: Page, rig: Rig):
    sign_in(page, rig, "tom")
    page.goto(f"{rig.url}/fleet/s001/kiosk-1")
    result = page.locator("#command-result .result")

    press(page, "Report health")
    expect(result).to_have_attribute("data-status", "answered")
    expect(result).to_contain_text("Report health: answered by kiosk-1")
    expect(result.locator("dt")).to_contain_text(["outbox rows", "rss bytes", "connected", "uptime s"])
    shot(page, "technician-device-report-health")

    press(page, "Reload")
    expect(result).to_have_attribute("data-command", "reload")
    expect(result).to_contain_text("Reload: answered by kiosk-1")
    expect(result).to_contain_text("It asked the broker for its content again.")

    press(page, "Identify")  # a kiosk's agent has no screen to flash its id on: the device's own reason
    expect(result).to_have_attribute("data-command", "identify")
    expect(result).to_have_attribute("data-status", "failed")
    expect(result).to_contain_text("Identify: failed: unknown command; known:")
    press(page, "Screenshot")
    expect(result).to_have_attribute("data-command", "screenshot")
    expect(result).to_contain_text("Screenshot: failed: no screen is attached to this agent")
    shot(page, "technician-device-screenshot-failed")

    # The signage player is a process of its own on Xvfb, on the system's clock: head office's catches up with it,
    # or the player would answer each command 'expired' (as it should one that waited that long).
    rig.clock.set(SYSTEM.time())
    page.goto(f"{rig.url}/fleet/s001/signage-1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("signage in s001, south")
    press(page, "Screenshot")
    expect(result).to_have_attribute("data-status", "answered", timeout=15_000)
    image = result.get_by_role("img", name="What signage-1 shows now")
    expect(image).to_be_visible()
    assert decoded_width(image) == 480
    shot(page, "technician-device-signage-screenshot")
    press(page, "Identify")
    expect(result).to_have_attribute("data-command", "identify")
    expect(result).to_contain_text("Identify: answered by signage-1")
    expect(result).to_contain_text("Its id is showing on its screen.")
    press(page, "Reload")
    expect(result).to_have_attribute("data-command", "reload")
    expect(result).to_contain_text("It asked the broker for its content again. The player read its cache again.")
    shot(page, "technician-device-signage-reload")

    entries = audit.entries(rig.db, limit=10, actor="tom", action="device.command")
    assert [(e.scope.split("/")[-1], e.detail.split(":")[0]) for e in entries[:7]] == [
        ("signage-1", "reload"), ("signage-1", "identify"), ("signage-1", "screenshot"), ("kiosk-1", "screenshot"),
        ("kiosk-1", "identify"), ("kiosk-1", "reload"), ("kiosk-1", "report_health")]
    assert entries[3].scope == "device/s001/kiosk-1" and "no screen is attached" in entries[3].detail
    assert entries[2].detail == "screenshot: answered"


def test_a_device_that_does_not_answer_times_out(page: Page, rig: Rig):
    sign_in(page, rig, "ada")
    page.goto(f"{rig.url}/fleet/s001/tablet-1")  # listed, never connected: nobody takes the command
    expect(page.locator(".badge")).to_have_text("never seen")
    press(page, "Reload")
    expect(page.locator("#command-sent")).to_be_visible()  # while it waits
    shot(page, "admin-device-waiting")
    result = page.locator("#command-result .result")
    expect(result).to_have_attribute("data-status", "timed out", timeout=15_000)
    expect(result).to_contain_text("Reload: sent, but timed out: no answer from tablet-1 within 10 s")
    expect(page.locator("#command-sent")).to_be_hidden()
    shot(page, "admin-device-timed-out")
    r = page.request.post(f"{rig.url}/fleet/s001/tablet-1/command",
                          form={"command": "clear_cache", "_csrf_token": page.locator(
                              "input[name=_csrf_token]").first.get_attribute("value")})
    assert r.status == 400 and "there is no command &#39;clear_cache&#39;; use the page&#39;s buttons" in r.text()


def test_fleet_page_follows_a_device_going_offline_back_and_stale(page: Page, rig: Rig):
    sign_in(page, rig, "tom")
    page.goto(f"{rig.url}/fleet?store=s001")
    row = page.locator("tr[data-device='s001/kiosk-1']")
    rig.agents.pop().stop()  # a clean stop: the agent says 'offline' itself
    started = time.monotonic()
    expect(row.locator(".badge")).to_have_text("offline", timeout=2_500)
    offline_s = time.monotonic() - started
    shot(page, "technician-fleet-offline")
    rig.start_agent()  # its presence says 'online' again, stamped now
    started = time.monotonic()
    expect(row.locator(".badge")).to_have_text("online", timeout=2_500)
    online_s = time.monotonic() - started
    rig.clock.advance(181)  # past stale_after_s with nothing from the device
    started = time.monotonic()
    expect(row.locator(".badge")).to_have_text("stale", timeout=2_500)
    stale_s = time.monotonic() - started
    shot(page, "technician-fleet-stale")
    print(f"shown after: offline {offline_s:.2f} s, online again {online_s:.2f} s, stale {stale_s:.2f} s")
