"""The console for the browser and schema tests: a real server (uvicorn, in a thread) on a free port over a
temporary SQLite central store, a user for every role, a small chain of stores and devices, and the test's
FixedClock; Debian's chromium driven by Playwright (never a browser of Playwright's own: nothing downloads)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from console_support import CHROMIUM, CHROMIUM_ARGS, MAX_AGE_S, PASSWORD, PEOPLE, SIGNS, STORES_CSV, Server, free_port
from support import pg_database

from central import users
from central.config import CentralConfig, CentralSection, ConsoleSection
from central.db import Database, open_database
from console.server import Background
from sync.clock import FixedClock


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
def server(request, tmp_path_factory) -> Iterator[Server]:
    """The console over SQLite, or over PostgreSQL where a module asks (``indirect`` with "postgres")."""
    root = tmp_path_factory.mktemp("console")
    (root / "headoffice").mkdir()
    (root / "headoffice" / "stores.csv").write_text(STORES_CSV.format(signs="|".join(SIGNS)))
    clock = FixedClock(datetime(2026, 11, 23, 6, 30, tzinfo=UTC))
    with ExitStack() as stack:
        dsn = stack.enter_context(pg_database()) if getattr(request, "param", "sqlite") == "postgres" \
            else str(root / "central.db")
        yield from _serve(root, dsn, clock)


def _serve(root: Path, dsn: str, clock: FixedClock) -> Iterator[Server]:
    db = open_database(dsn)
    _seed(db, clock.time())
    config = CentralConfig(CentralSection(dsn=dsn, content_dir=str(root / "headoffice")),
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
