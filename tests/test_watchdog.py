"""Fault test: the real agent under a watchdog-like supervisor that plays systemd with the agent's unit settings.

The supervisor is systemd's side of ``Type=notify`` + ``WatchdogSec`` + ``Restart=always``: a real
AF_UNIX datagram socket as ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` in the environment, SIGABRT when the
pings stop for WatchdogSec (what systemd sends), and a restart after RestartSec. The times are the
unit's, scaled down so the test takes seconds.
"""

from __future__ import annotations

import configparser
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support import wait_for, write_device_toml

from sync.agent.agent import IO_STALL_S

ROOT = Path(__file__).resolve().parent.parent
# The stand-in for a hung main loop, in the test and not in the agent: a Python signal handler runs on
# the main thread, so SIGUSR1 blocks exactly the agent's main loop while its MQTT I/O thread goes on.
HUNG_MAIN_LOOP_HOOK = """
import signal, sys, time
from sync.agent.__main__ import main
signal.signal(signal.SIGUSR1, lambda *_: time.sleep(3600))
sys.exit(main(sys.argv[1:]))
"""


def unit_settings(name: str) -> dict[str, str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(ROOT / "systemd" / name)
    return dict(parser["Service"])


class Supervisor:
    def __init__(self, workdir: Path, argv: list[str], *, watchdog_s: float, restart_s: float):
        self.argv, self.watchdog_s, self.restart_s, self.workdir = argv, watchdog_s, restart_s, workdir
        self.socket_path = str(workdir / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.socket_path)
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, int, str]] = []  # (when, which start, message)
        self.kills: list[tuple[int, int]] = []  # (which start, exit status)
        self.starts = 0
        self.proc: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Supervisor:
        self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> None:
        env = {**os.environ, "NOTIFY_SOCKET": self.socket_path, "WATCHDOG_USEC": str(int(self.watchdog_s * 1e6))}
        env.pop("WATCHDOG_PID", None)
        with open(self.workdir / f"agent-{self.starts + 1}.log", "wb") as log:
            self.proc = subprocess.Popen(self.argv, env=env, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=log,
                                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
        self.starts += 1
        self.ready_at = self.last_ping = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                text = self.sock.recv(4096).decode()
                now = time.monotonic()
                self.messages.append((now, self.starts, text))
                if text.startswith("READY=1"):
                    self.ready_at = self.last_ping = now
                elif text == "WATCHDOG=1":
                    self.last_ping = now
                elif text == "STOPPING=1":
                    self.last_ping = None  # a stopping service is not watched any more
            except TimeoutError:
                pass
            if self.last_ping is not None and time.monotonic() - self.last_ping > self.watchdog_s:
                self.proc.send_signal(signal.SIGABRT)  # systemd's watchdog timeout
                self.kills.append((self.starts, self.proc.wait(10)))
                time.sleep(self.restart_s)  # Restart=always, after RestartSec
                self._spawn()

    def pings(self, start: int) -> list[float]:
        return [t for t, s, m in self.messages if s == start and m == "WATCHDOG=1"]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.sock.close()


@pytest.fixture
def agent_toml(tmp_path: Path, broker, chain_key) -> Path:
    return write_device_toml(tmp_path, chain_key, broker=f"port = {broker.port}")


def test_a_hung_main_loop_stops_the_pings_and_the_supervisor_restarts_the_agent(tmp_path, agent_toml):
    unit = unit_settings("store-edge-agent.service")
    assert (unit["Type"], unit["Restart"]) == ("notify", "always")
    assert int(unit["WatchdogSec"]) >= 10 and int(unit["RestartSec"]) > 0
    # The unit's WatchdogSec and RestartSec, scaled down 60 times.
    supervisor = Supervisor(tmp_path, [sys.executable, "-c", HUNG_MAIN_LOOP_HOOK, "--config", str(agent_toml)],
                            watchdog_s=int(unit["WatchdogSec"]) / 60, restart_s=int(unit["RestartSec"]) / 60).start()
    try:
        wait_for(lambda: len(supervisor.pings(1)) >= 4, timeout=30, what="READY and regular watchdog pings")
        ready = [m for _, s, m in supervisor.messages if s == 1 and m.startswith("READY=1")]
        assert ready and "cache open" in ready[0]
        pings = supervisor.pings(1)
        gaps = [b - a for a, b in zip(pings, pings[1:], strict=False)]
        assert max(gaps) < supervisor.watchdog_s  # half of WatchdogSec, as sd_watchdog_enabled(3) advises

        hung_at = time.monotonic()
        supervisor.proc.send_signal(signal.SIGUSR1)  # the main loop hangs; the I/O thread goes on
        wait_for(lambda: supervisor.kills, timeout=10, what="the supervisor's watchdog kill")
        assert supervisor.kills[0] == (1, -signal.SIGABRT)
        late = [t for t in supervisor.pings(1) if t > hung_at + 0.1]
        assert late == []  # no ping after the hang

        wait_for(lambda: len(supervisor.pings(2)) >= 2, timeout=30, what="the restarted agent's pings")
        assert supervisor.starts == 2 and len(supervisor.kills) == 1

        supervisor.proc.send_signal(signal.SIGTERM)  # systemctl stop
        assert supervisor.proc.wait(15) == 0
        wait_for(lambda: any(s == 2 and m == "STOPPING=1" for _, s, m in supervisor.messages), timeout=5,
                 what="STOPPING=1")
    finally:
        supervisor.stop()


def test_the_main_loop_withholds_its_ping_while_the_io_thread_is_stuck(start_agent):
    agent = start_agent()
    wait_for(agent.io_alive, what="the I/O thread turning")
    turned = agent.last_io_turn
    wait_for(lambda: agent.last_io_turn > turned, what="another turn of the I/O loop")
    agent.last_io_turn -= IO_STALL_S  # as if the I/O thread had not turned for that long
    assert not agent.io_alive()
    wait_for(agent.io_alive, what="the next turn")  # it turns again: pings resume
    agent.stop()
    assert not agent.io_alive()  # a dead I/O thread never gets a ping
