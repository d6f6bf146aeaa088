"""What every request handler shares: the central store, the clock, and the configuration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from litestar import Request

from central import audit
from central.commands import DeviceCommands
from central.config import CentralConfig, ConsoleSection
from central.db import Database
from central.fleet import Roster
from sync.clock import Clock


@dataclass(frozen=True)
class Console:
    central: CentralConfig
    db: Database
    clock: Clock
    roster: Roster = field(init=False)  # stores.csv as the fleet's queries read it
    commands: DeviceCommands = field(init=False)  # to the devices; connects to the broker at the first command

    def __post_init__(self) -> None:
        c = self.central.central
        object.__setattr__(self, "roster", Roster(c.content_dir))
        object.__setattr__(self, "commands", DeviceCommands(self.central.broker, c.chain,
                                                            f"central-{c.chain}-console-{uuid.uuid4().hex[:8]}",
                                                            clock=self.clock))

    @property
    def config(self) -> ConsoleSection:
        return self.central.console

    def record(self, request: Request, action: str, scope: str, detail: str = "", *, actor: str = "") -> None:
        """An audit entry for this request: who (the signed-in user unless ``actor`` says), from where, now."""
        user = getattr(request.state, "user", None)
        audit.record(self.db, at=self.clock.time(), actor=actor or (user.username if user else "-"),
                     action=action, scope=scope, detail=detail, client=request.client.host if request.client else "")
