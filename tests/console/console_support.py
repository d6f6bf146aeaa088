"""What the console's tests share (imported as ``console_support``; conftest.py only holds fixtures)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from central.db import Database
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
