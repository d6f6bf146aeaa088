"""Serving the console: the session key file, and uvicorn on ``[console] host`` and ``port``."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import uvicorn

from central.config import CentralConfig
from central.db import Database
from sync.clock import Clock
from sync.config import ConfigError

from .app import create_app
from .state import Console

KEY_BYTES = 32


def session_key(path: str | Path) -> bytes:
    """The cookie key: made (32 random bytes, 0600) when the file is missing; refused when others may read it."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(KEY_BYTES))
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(f"[console] secret_file {path}: others may read it; chmod 600 it")
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise ConfigError(f"[console] secret_file {path}: expected {KEY_BYTES} bytes, found {len(key)};"
                          " delete it to have a new one made (everyone signs in again)")
    return key


def _server(config: CentralConfig, db: Database, clock: Clock, host: str | None, port: int | None,
            log_level: str = "info") -> uvicorn.Server:
    """Behind a reverse proxy on this host, uvicorn takes the client's address from X-Forwarded-For (the audit
    log's 'from where'); it trusts that header from 127.0.0.1 only."""
    console = Console(config, db, clock)
    app = create_app(console, session_key(config.console.secret_file))
    app.on_shutdown.append(console.commands.stop)
    return uvicorn.Server(uvicorn.Config(app, host=host or config.console.host, port=port or config.console.port,
                                         proxy_headers=True, log_level=log_level))


def serve(config: CentralConfig, db: Database, clock: Clock, *, host: str | None = None,
          port: int | None = None) -> None:
    """Serve until SIGINT/SIGTERM (``store-edge-central console``)."""
    _server(config, db, clock, host, port).run()


class Background:
    """The console on a thread of another program (``serve`` with ``[console] enabled``, the tests)."""

    def __init__(self, config: CentralConfig, db: Database, clock: Clock, *, host: str | None = None,
                 port: int | None = None):
        self.server = _server(config, db, clock, host, port, log_level="warning")  # off the main thread: no signals
        self.thread = threading.Thread(target=self.server.run, name="console", daemon=True)

    def start(self, timeout_s: float = 20.0) -> Background:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the console did not start on port {self.server.config.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
