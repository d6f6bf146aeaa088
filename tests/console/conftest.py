"""The console for the browser and schema tests: a real server (uvicorn, in a thread) on a free port over a
temporary SQLite central store, a user for every role, a small chain of stores and devices, and the test's
FixedClock; Debian's chromium driven by Playwright (never a browser of Playwright's own: nothing downloads)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from central import users
from central.config import CentralConfig, CentralSection, ConsoleSection
from central.db import Database, open_database
from console.server import Background
from sync.clock import FixedClock

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "console-test-password"
# One person per role; the store manager runs store s001 only.
PEOPLE = {"admin": "ada", "marketer": "mia", "store_manager": "sam", "technician": "tom",
          "privacy_officer": "pia"}
STORES_CSV = "store,region,devices\ns001,south,kiosk-1|signage-1\ns002,north,kiosk-2\ns003,north,{signs}\n"
SIGNS = [f"sign-{n:02d}" for n in range(1, 56)]  # enough for a second page of the fleet
SCREENS = Path(__file__).resolve().parents[2] / "test-output" / "console"
MAX_AGE_S = 3600


@dataclass
class Server:
    url: str
    db: Database
    clock: FixedClock


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(db: Database, now: float) -> None:
    for role, name in PEOPLE.items():
        users.add_user(db, name, role, PASSWORD, stores=("s001",) if role == "store_manager" else (), now=now)
    # What the workers would have written from the devices' presence and health (central/worker.py, ingest.py).
    devices = [("s001", "kiosk-1", "online", now - 20, '{"outbox_rows": 3, "sync_state": {"chain": 7}}', None),
               ("s001", "signage-1", "offline", now - 4000, "{}", "media sha256 mismatch: hero.jpg"),
               ("s002", "kiosk-2", "online", now - 30, '{"outbox_rows": 0, "sync_state": {"store/s002": 2}}', None)]
    db.executemany("INSERT INTO devices (store, device, state, last_seen, health, last_error)"
                   " VALUES (?, ?, ?, ?, ?, ?)", devices)
    db.execute("INSERT INTO device_refusals (store, device, reason, count, last_at) VALUES (?, ?, ?, ?, ?)",
               ("s002", "kiosk-2", "lookup_rate", 4, now))


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("console")
    (root / "headoffice").mkdir()
    (root / "headoffice" / "stores.csv").write_text(STORES_CSV.format(signs="|".join(SIGNS)))
    clock = FixedClock(datetime(2026, 11, 23, 6, 30, tzinfo=UTC))
    db = open_database(root / "central.db")
    _seed(db, clock.time())
    config = CentralConfig(CentralSection(dsn=str(root / "central.db"), content_dir=str(root / "headoffice")),
                           console=ConsoleSection(secret_file=str(root / "secret" / "console.key"),
                                                  session_max_age_s=MAX_AGE_S))
    port = free_port()
    console = Background(config, db, clock, port=port).start()
    # Plain HTTP on the loopback: the browser keeps Secure cookies for http://localhost, so production's
    # cookie flags stay on in the test.
    yield Server(f"http://localhost:{port}", db, clock)
    console.stop()
    db.close()


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    """pytest-playwright's launch arguments: Debian's chromium, as root, on a closed network."""
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args() -> dict:
    return {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB"}
