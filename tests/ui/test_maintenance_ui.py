"""The kiosk's lock-down and its maintenance screen, on the real widget tree under Xvfb, with a real agent
and broker behind the screen's facts."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from support import sample_content, wait_for
from ui_driver import advance, close_kiosk, open_kiosk, shot, tap, until

from kiosk.maintenance import MaintenanceService
from sync.clock import FixedClock
from sync.protocol import signing

NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    kiosk = open_kiosk(tmp_path_factory.mktemp("store"), signing.generate_private_key(), FixedClock(NOW))
    yield kiosk
    close_kiosk(kiosk)


@pytest.fixture
def device(app, start_agent, responder, broker):
    """The kiosk's agent, connected, with a chain bundle applied; the maintenance screen reports on it."""
    agent = start_agent()
    responder.publish_bundle("chain", sample_content(2))
    wait_for(lambda: agent.reader.sync_state().get("chain"), what="chain bundle applied")
    app.maintenance = MaintenanceService(app.service.cache, device="kiosk-1", store="s001",
                                         broker=("127.0.0.1", broker.port), health=agent.health,
                                         clock=app.service.clock)
    app.reset()
    advance(3)
    yield agent
    app.reset()
    app.maintenance = None


def long_press(x: float, y: float, seconds: float) -> None:
    from kivy.tests.common import UnitTestTouch

    touch = UnitTestTouch(x, y)
    touch.touch_down()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        advance(1)
        time.sleep(0.02)
    touch.touch_up()
    advance(3)


def test_no_way_out_by_keys_or_the_compositor(app):
    from kivy.base import EventLoop
    from kivy.config import Config
    from kivy.core.window import Window

    before = EventLoop.status
    assert Window.dispatch("on_key_down", 27, 0, None, []) is True  # Esc, or a remote's back key: swallowed
    assert Window.dispatch("on_request_close") is True  # the compositor's close: refused
    advance(3)
    assert EventLoop.status == before not in ("stopped", "closed") and app.root.current == "attract"
    assert Config.get("kivy", "exit_on_escape") == "0"


def test_a_short_or_misplaced_press_does_not_open_maintenance(app, device):
    from kivy.core.window import Window

    long_press(20, Window.height - 20, 0.5)  # too short
    long_press(Window.width - 20, Window.height - 20, 3.5)  # the wrong corner
    assert app.root.current == "attract"


def test_long_press_then_pin_opens_the_maintenance_screen(app, device, shots):
    from kivy.core.window import Window

    long_press(20, Window.height - 20, 3.5)
    until(lambda: app.root.current == "maintenance_pin")
    advance(6)  # laid out before the first tap
    pin_screen = app.root.get_screen("maintenance_pin")
    # Only staff with a maintenance role are offered: the manager, not the baristas.
    assert [b.title for b in pin_screen.ids.staff_list.children] == ["Ivana Petrova (manager)"]
    for digit in "1111":
        app.maintenance_key(digit)
    tap(pin_screen.ids.ok)
    assert app.root.current == "maintenance_pin" and app.maintenance_message == "Wrong PIN. 4 tries left."
    keys = {b.text: b for b in pin_screen.ids.keypad.children}
    for digit in "2468":
        tap(keys[digit])
    assert app.maintenance_dots == "••••"
    shot(shots, "maintenance-pin")
    tap(pin_screen.ids.ok)
    until(lambda: app.root.current == "maintenance")
    advance(6)

    rows = {row.what: row.value for row in app.root.get_screen("maintenance").ids.rows.children}
    assert rows["Device"] == "kiosk-1 (store s001)"
    assert rows["Software"].startswith("store-edge 0.1.0, Kivy 2.3.1")
    assert rows["Content"] == "chain v1"
    assert rows["Sync"].startswith(f"connected to 127.0.0.1:{app.maintenance.broker[1]}; ")
    tap(app.root.get_screen("maintenance").ids.test_network)
    until(lambda: "reachable" in app.maintenance_network)
    assert app.maintenance_network.startswith(f"broker 127.0.0.1:{app.maintenance.broker[1]} reachable, round trip ")
    shot(shots, "maintenance")
    tap(app.root.get_screen("maintenance").ids.close)
    assert app.root.current == "attract" and app.maintenance_network == ""


def test_the_network_test_says_when_the_broker_is_unreachable(app, device, broker):
    broker.kill()  # the store's broker dies: the screen's own broker, not an empty port
    app.open_maintenance()
    for digit in "2468":
        app.maintenance_key(digit)
    app.maintenance_submit()
    assert app.root.current == "maintenance"
    app.maintenance_network_test()
    until(lambda: "unreachable" in app.maintenance_network)
    assert "Connection refused" in app.maintenance_network


def test_a_barista_cannot_open_it_and_wrong_pins_lock(app, device):
    assert app.maintenance.unlock("st-02", "1357").status == "not_allowed"  # right PIN, wrong role
    results = [app.maintenance.unlock("st-01", "0000").status for _ in range(5)]
    assert results == ["wrong"] * 4 + ["locked"]
    assert app.maintenance.unlock("st-01", "2468").status == "locked"  # even the right PIN, until it ends


def test_the_screen_pings_systemd_from_its_ui_loop_only(app, tmp_path, monkeypatch):
    """Last in this module: it stops the app's chrome as systemd's stop would."""
    import signal
    import socket

    from kiosk.service import run_as_service
    from sync.sdnotify import Notifier

    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # a ping every 0.1 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    previous_sigterm = signal.getsignal(signal.SIGTERM)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(str(tmp_path / "notify"))
        systemd.settimeout(0.05)

        def received() -> list[bytes]:
            out = []
            while True:
                try:
                    out.append(systemd.recv(256))
                except TimeoutError:
                    return out

        try:
            run_as_service(app, alive=lambda: True, notifier=Notifier(str(tmp_path / "notify")))
            app.dispatch("on_start")
            assert received()[0].startswith(b"READY=1")
            deadline = time.monotonic() + 0.6
            while time.monotonic() < deadline:  # the UI loop turns: Kivy's Clock pings
                advance(1)
                time.sleep(0.02)
            assert received().count(b"WATCHDOG=1") >= 3
            time.sleep(0.4)  # the UI loop does not turn (a frozen screen): no ping at all
            assert received() == []
            app.dispatch("on_stop")
            assert received() == [b"STOPPING=1"]
            advance(10)
            assert received() == []  # the pings stopped with the app
        finally:
            signal.signal(signal.SIGTERM, previous_sigterm)
