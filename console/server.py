"""Serving the console: the session key file, and uvicorn on ``[console] host`` and ``port``."""

from __future__ import annotations

import os
import stat
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


def serve(config: CentralConfig, db: Database, clock: Clock, *, host: str | None = None,
          port: int | None = None) -> None:
    """Serve until SIGINT/SIGTERM. Behind a reverse proxy on this host, uvicorn takes the client's address
    from X-Forwarded-For (the audit log's 'from where'); it trusts that header from 127.0.0.1 only."""
    app = create_app(Console(config, db, clock), session_key(config.console.secret_file))
    uvicorn.run(app, host=host or config.console.host, port=port or config.console.port, proxy_headers=True,
                log_level="info")
