"""What every request handler shares: the central store, the clock, and the configuration."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request

from central import audit
from central.config import CentralConfig, ConsoleSection
from central.db import Database
from sync.clock import Clock


@dataclass(frozen=True)
class Console:
    central: CentralConfig
    db: Database
    clock: Clock

    @property
    def config(self) -> ConsoleSection:
        return self.central.console

    def record(self, request: Request, action: str, scope: str, detail: str = "", *, actor: str = "") -> None:
        """An audit entry for this request: who (the signed-in user unless ``actor`` says), from where, now."""
        user = getattr(request.state, "user", None)
        audit.record(self.db, at=self.clock.time(), actor=actor or (user.username if user else "-"),
                     action=action, scope=scope, detail=detail, client=request.client.host if request.client else "")
