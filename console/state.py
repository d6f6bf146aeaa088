"""What every request handler shares: the central store, the clock, the configuration, and head office's
broker link (made when the console first publishes, an emergency override say)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from litestar import Request

from central import audit
from central.config import CentralConfig, ConsoleSection
from central.content_files import Store, load_stores
from central.db import Database
from central.headoffice import HeadOffice
from central.keys import Keyring
from central.mqtt import BrokerLink
from sync.clock import Clock


@dataclass(frozen=True)
class Console:
    central: CentralConfig
    db: Database
    clock: Clock
    _link: list[BrokerLink] = field(default_factory=list, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @property
    def config(self) -> ConsoleSection:
        return self.central.console

    def record(self, request: Request, action: str, scope: str, detail: str = "", *, actor: str = "") -> None:
        """An audit entry for this request: who (the signed-in user unless ``actor`` says), from where, now."""
        audit.record(self.db, at=self.clock.time(), actor=actor or self.actor(request), action=action, scope=scope,
                     detail=detail, client=self.client(request))

    @staticmethod
    def actor(request: Request) -> str:
        user = getattr(request.state, "user", None)
        return user.username if user else "-"

    @staticmethod
    def client(request: Request) -> str:
        return request.client.host if request.client else ""

    def stores(self) -> list[Store]:
        """Head office's stores list (``stores.csv``); none when it is not there yet."""
        root = Path(self.central.central.content_dir)
        return load_stores(root) if (root / "stores.csv").exists() else []

    def office(self) -> HeadOffice:
        """Head office for actions that publish; ConnectionError when the broker cannot be reached."""
        with self._lock:
            if not self._link:
                name = f"central-{self.central.central.chain}-console-{os.getpid()}"
                self._link.append(BrokerLink(self.central.broker, name, session_expiry_s=0).start())
        return HeadOffice(self.central, self.db, Keyring(self.central.central.keys_dir), self._link[0],
                          clock=self.clock)

    def close(self) -> None:
        with self._lock:
            while self._link:
                self._link.pop().stop()
