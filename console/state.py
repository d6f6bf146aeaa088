"""What every request handler shares: the central store, the clock, the configuration, and head office's
actions that reach the stores (erase, merge, overrides) and the commands to devices, each connected to the broker
on first use."""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass, field

from litestar import Request

from central import audit
from central.commands import DeviceCommands
from central.config import CentralConfig, ConsoleSection
from central.content_files import Store
from central.db import Database
from central.fleet import Roster
from central.headoffice import HeadOffice
from central.keys import Keyring
from central.media_library import Checks
from central.mqtt import BrokerLink
from sync.clock import Clock

from .preview_renderer import Renderer


class _Office:
    """One broker connection for the console's erasures and merges, made when the first one is asked for: the
    other pages work without a broker."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.office: HeadOffice | None = None

    def get(self, console: Console) -> HeadOffice:
        with self.lock:
            if self.office is None:
                c = console.central
                link = BrokerLink(c.broker, f"central-{c.central.chain}-console-{os.getpid()}",
                                  session_expiry_s=0).start()
                self.office = HeadOffice(c, console.db, Keyring(c.central.keys_dir), link, clock=console.clock)
            return self.office

    def close(self) -> None:
        with self.lock:
            if self.office is not None:
                self.office.link.stop()
                self.office = None


@dataclass(frozen=True)
class Console:
    central: CentralConfig
    db: Database
    clock: Clock
    _office: _Office = field(default_factory=_Office, compare=False, repr=False)
    preview: Renderer = field(default_factory=Renderer, compare=False, repr=False)  # the preview's warm worker
    roster: Roster = field(init=False)  # stores.csv as the fleet's queries read it
    commands: DeviceCommands = field(init=False)  # to the devices; connects to the broker at the first command
    media_checks: Checks = field(default_factory=Checks, compare=False, repr=False)  # the media check per sha256

    def __post_init__(self) -> None:
        c = self.central.central
        object.__setattr__(self, "roster", Roster(c.content_dir))
        object.__setattr__(self, "commands", DeviceCommands(self.central.broker, c.chain,
                                                            f"central-{c.chain}-console-{uuid.uuid4().hex[:8]}",
                                                            clock=self.clock))

    @property
    def config(self) -> ConsoleSection:
        return self.central.console

    def office(self) -> HeadOffice:
        """Head office with a broker link and the signing key; ConnectionError or NoSigningKey when it cannot."""
        return self._office.get(self)

    def close(self) -> None:
        self._office.close()
        self.commands.stop()
        self.preview.close()

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
        """Head office's stores list (``stores.csv``, read again only when it changed); none when it is not
        there yet."""
        return self.roster.stores()
