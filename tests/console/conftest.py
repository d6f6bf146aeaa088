"""The console for the browser and schema tests: a real server (uvicorn, in a thread) on a free port over a
temporary SQLite central store, a user for every role, a small chain of stores and devices, head office's signing
key and a real Mosquitto (the stores pages publish to it), and the test's FixedClock; Debian's chromium driven by
Playwright (never a browser of Playwright's own: nothing downloads)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from console_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MAX_AGE_S,
    MAX_UPLOAD,
    OLD_KEY_ID,
    PASSWORD,
    PEOPLE,
    SIGNS,
    STORES_CSV,
    Server,
    free_port,
)
from support import pg_database

from central import users
from central.config import CentralConfig, CentralSection, ConsoleSection
from central.db import Database, open_database
from central.keys import Keyring
from console.server import Background
from sync.broker import Mosquitto
from sync.clock import FixedClock
from sync.config import BrokerSection


def _seed(db: Database, now: float, key_id: str) -> None:
    for role, name in PEOPLE.items():
        users.add_user(db, name, role, PASSWORD, stores=("s001",) if role == "store_manager" else (), now=now)
    # What the workers would have written from the devices' presence and health (central/worker.py, ingest.py).
    trusting = json.dumps({"outbox_rows": 3, "sync_state": {"chain": 7}, "trusted_keys": [OLD_KEY_ID, key_id]})
    devices = [("s001", "kiosk-1", "online", now - 20, trusting, None),
               ("s001", "signage-1", "offline", now - 4000, "{}", "media sha256 mismatch: hero.jpg"),
               ("s002", "kiosk-2", "online", now - 30,
                json.dumps({"outbox_rows": 0, "sync_state": {"store/s002": 2}, "trusted_keys": [OLD_KEY_ID]}), None)]
    db.executemany("INSERT INTO devices (store, device, state, last_seen, health, last_error)"
                   " VALUES (?, ?, ?, ?, ?, ?)", devices)
    db.execute("INSERT INTO device_refusals (store, device, reason, count, last_at) VALUES (?, ?, ?, ?, ?)",
               ("s002", "kiosk-2", "lookup_rate", 4, now))


@pytest.fixture(scope="module")
def server(request, tmp_path_factory) -> Iterator[Server]:
    """The console over SQLite, or over PostgreSQL where a module asks (``indirect`` with "postgres")."""
    root = tmp_path_factory.mktemp("console")
    (root / "headoffice").mkdir()
    (root / "headoffice" / "stores.csv").write_text(STORES_CSV.format(signs="|".join(SIGNS)))
    clock = FixedClock(datetime(2026, 11, 23, 6, 30, tzinfo=UTC))
    with ExitStack() as stack:
        dsn = stack.enter_context(pg_database()) if getattr(request, "param", "sqlite") == "postgres" \
            else str(root / "central.db")
        broker = Mosquitto(data_dir=root / "broker")
        broker.start()
        stack.callback(broker.stop)
        yield from _serve(root, dsn, clock, broker.port)


def _serve(root: Path, dsn: str, clock: FixedClock, broker_port: int) -> Iterator[Server]:
    db = open_database(dsn)
    keys = Keyring(root / "state" / "keys")
    keys.activate(keys.new_key())
    _seed(db, clock.time(), keys.active_id)
    config = CentralConfig(CentralSection(dsn=dsn, content_dir=str(root / "headoffice"), keys_dir=str(keys.folder),
                                          http_dir=str(root / "http")),
                           BrokerSection(port=broker_port, keepalive_s=5),
                           ConsoleSection(secret_file=str(root / "secret" / "console.key"),
                                          session_max_age_s=MAX_AGE_S, max_upload_bytes=MAX_UPLOAD))
    port = free_port()
    console = Background(config, db, clock, port=port).start()
    # Plain HTTP on the loopback: the browser keeps Secure cookies for http://localhost, so production's
    # cookie flags stay on in the test.
    yield Server(f"http://localhost:{port}", db, clock, root / "headoffice", config)
    console.stop()
    db.close()


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    """pytest-playwright's launch arguments: Debian's chromium, as root, on a closed network."""
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args() -> dict:
    return {"viewport": {"width": 1280, "height": 800}, "locale": "en-GB"}
