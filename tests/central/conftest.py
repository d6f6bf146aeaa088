"""Fixtures for the central service: its store on SQLite and on a real PostgreSQL, created and dropped per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from headoffice_files import write_headoffice
from support import CHAIN, chain_keyring, pg_database

from central.config import CentralConfig, CentralSection
from central.db import Database, open_database
from central.headoffice import HeadOffice
from central.http import FileServer
from central.keys import Keyring
from central.mqtt import BrokerLink
from central.worker import Worker
from sync.clock import FixedClock
from sync.config import BrokerSection


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    with pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path: Path) -> str:
    """The central store's URL, once per backend."""
    if request.param == "sqlite":
        return str(tmp_path / "central.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.close()


@pytest.fixture
def keys(tmp_path: Path, chain_key) -> Keyring:
    """Head office's keyring holding the chain key the test devices trust."""
    return Keyring(chain_keyring(tmp_path / "central-keys", chain_key))


@pytest.fixture
def file_server(tmp_path: Path, clock: FixedClock) -> Iterator[FileServer]:
    server = FileServer(tmp_path / "http", clock=clock).start()
    yield server
    server.stop()


@pytest.fixture
def central_config(db_url: str, broker, tmp_path: Path, keys: Keyring, file_server: FileServer) -> CentralConfig:
    return CentralConfig(
        CentralSection(chain=CHAIN, dsn=db_url, keys_dir=str(keys.folder), content_dir=str(tmp_path / "headoffice"),
                       http_dir=str(file_server.folder), http_base_url=f"http://127.0.0.1:{file_server.port}"),
        BrokerSection(port=broker.port, keepalive_s=5),
    )


@pytest.fixture
def office(central_config: CentralConfig, keys: Keyring, clock: FixedClock) -> Iterator[HeadOffice]:
    """Head office's side for commands: its own store connection and broker link, on the test's clock."""
    database = open_database(central_config.central.dsn)
    link = BrokerLink(central_config.broker, "central-demo-test-office").start()
    yield HeadOffice(central_config, database, keys, link, clock=clock)
    link.stop()
    database.close()


@pytest.fixture
def start_worker(central_config: CentralConfig, keys: Keyring, office: HeadOffice,
                 clock: FixedClock) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(number: int = 1) -> Worker:
        worker = Worker(central_config, number, clock=clock, keys=keys).start()
        workers.append(worker)
        return worker

    yield start
    for w in workers:
        w.stop()


@pytest.fixture
def headoffice(central_config: CentralConfig) -> Path:
    return write_headoffice(Path(central_config.central.content_dir))
