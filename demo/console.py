"""``./run-demo --console``: the demo chain's head office with its web console, and nothing on screen.

Starts a local Mosquitto, head office (``central.service``: workers, file server, jobs) over a SQLite store
in ``var/demo/console/``, the console on a local port, and a headless sync agent for every device in the
demo's ``stores.csv``, so that the fleet has devices to show. It publishes the demo chain's files (a copy
of ``config/headoffice.example`` made on the first run, which the console may then change), adds one
person per role, and prints the address and each role's login. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import secrets
import shutil
import socket
import threading
from contextlib import ExitStack
from pathlib import Path

from central import users
from central.config import BrokerSection, CentralConfig, CentralSection, ConsoleSection
from central.content_files import Store, load_stores
from central.db import open_database
from central.fleet import device_kind
from central.headoffice import HeadOffice
from central.keys import Keyring
from central.service import CentralService
from console.server import Background
from sync.agent import SyncAgent
from sync.broker import Mosquitto, mosquitto_binary
from sync.runtime import wait_unless_signalled

from .store import APT_LINE, CHAIN, ROOT, Demo, DemoError, device_config

HEADOFFICE = ROOT / "config" / "headoffice.example"
# One person per role; the store manager runs s001.
PEOPLE = {"admin": "ada", "marketer": "mia", "store_manager": "sam", "technician": "tom", "privacy_officer": "pia"}
HEALTH_EVERY_S = 10.0  # the devices report health (and so their content versions) this often: the fleet moves


def console_port(wanted: int) -> int:
    """``wanted`` when it is free on the loopback, else any free port (the address is printed either way)."""
    for port in (wanted, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            return s.getsockname()[1]
    raise AssertionError("port 0 always binds")


def logins(var: Path) -> dict[str, str]:
    """Each demo person's password: made on the first run, kept 0600 in ``var`` so that the next run's match."""
    path = var / "logins"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(f"{name} {secrets.token_urlsafe(9)}\n" for name in PEOPLE.values())
    return dict(line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


class ConsoleDemo:
    def __init__(self, demo: Demo, *, port: int):
        self.demo, self.port = demo, port
        self.var = demo.var / "console"

    def config(self, broker_port: int) -> CentralConfig:
        v = self.var
        return CentralConfig(
            CentralSection(chain=CHAIN, dsn=str(v / "central.db"), keys_dir=str(v / "keys"),
                           content_dir=str(v / "headoffice"), http_dir=str(v / "http"), http_port=console_port(0),
                           workers=1, jobs_every_s=600.0),
            broker=BrokerSection(host="127.0.0.1", port=broker_port),
            console=ConsoleSection(enabled=True, port=self.port, secret_file=str(v / "console-session.key")))

    def prepare(self, config: CentralConfig) -> dict[str, str]:
        """The head office files, the signing key and the people, each made on the first run only."""
        c = config.central
        if not Path(c.content_dir).exists():
            shutil.copytree(HEADOFFICE, c.content_dir)
        keys = Keyring(c.keys_dir)
        if not keys.keys:
            keys.activate(keys.new_key())
        passwords = logins(self.var)
        db = open_database(c.dsn)
        try:
            now = self.demo.clock.time()
            for role, name in PEOPLE.items():
                if users.get_user(db, name) is None:
                    users.add_user(db, name, role, passwords[name], stores=("s001",) if role == "store_manager"
                                   else (), now=now)
        finally:
            db.close()
        return passwords

    def start(self, stack: ExitStack) -> tuple[CentralConfig, list[SyncAgent]]:
        if mosquitto_binary() is None:
            raise DemoError(f"mosquitto is not installed; install it with:\n  {APT_LINE}")
        self.var.mkdir(parents=True, exist_ok=True)
        broker = Mosquitto(data_dir=self.var / "broker").start()
        self.demo.on_stop(stack, broker.stop, "Mosquitto")
        config = self.config(broker.port)
        passwords = self.prepare(config)
        clock = self.demo.clock
        service = CentralService(config, clock=clock).start()
        self.demo.on_stop(stack, service.stop, "head office")
        db = open_database(config.central.dsn)
        stack.callback(db.close)
        office = HeadOffice(config, db, Keyring(config.central.keys_dir), service.workers[0].link, clock=clock)
        sent = office.publish_content(force=True)
        print(f"head office: published {len(sent)} bundle(s) from {config.central.content_dir}")
        console = Background(config, open_database(config.central.dsn), clock).start()
        self.demo.on_stop(stack, console.stop, "the console")
        agents = self.start_devices(stack, config, load_stores(Path(config.central.content_dir)), broker.port)
        print(f"console: http://127.0.0.1:{self.port}/  (sign in as one of these; the store manager runs s001)")
        for role, name in PEOPLE.items():
            print(f"  {role.replace('_', ' '):<16} {name:<4} password {passwords[name]}")
        print(f"  (the passwords are kept in {self.var / 'logins'}; delete {self.var} to start afresh)")
        return config, agents

    def start_devices(self, stack: ExitStack, config: CentralConfig, stores: list[Store],
                      broker_port: int) -> list[SyncAgent]:
        keys = Keyring(config.central.keys_dir)
        trusted = keys.folder / f"chain-{keys.active_id}.pub"
        agents = []
        for store in stores:
            for device in store.devices:
                cfg = device_config(self.var / "devices" / device, device=device, kind=device_kind(device),
                                    region=store.region, store=store.store, port=broker_port, trusted_key=trusted)
                cfg = dataclasses.replace(cfg, sync=dataclasses.replace(cfg.sync, health_interval_s=HEALTH_EVERY_S))
                agent = SyncAgent(cfg, clock=self.demo.clock).start()
                self.demo.on_stop(stack, agent.stop, f"{device}'s agent")
                agents.append(agent)
        for agent in agents:
            self.demo.wait(lambda a=agent: "chain" in a.reader.sync_state(),
                           f"{agent.config.device.id} to apply the chain's bundle")
            agent.outbox.record("health", agent.health())  # the fleet shows the versions now, not at the next report
        print(f"devices: {len(agents)} agents online with the chain's content"
              f" ({', '.join(a.config.device.id for a in agents)}); they report health every {HEALTH_EVERY_S:g} s")
        return agents


def run_console(demo: Demo, *, port: int) -> int:
    """Until Ctrl-C (or SIGTERM): the caller prints the line that says what stopped."""
    with ExitStack() as stack:
        ConsoleDemo(demo, port=console_port(port)).start(stack)
        print("running; Ctrl-C stops")
        wait_unless_signalled(threading.Event(), math.inf)  # until Ctrl-C or SIGTERM raises
    return 0
