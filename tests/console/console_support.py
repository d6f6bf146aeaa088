"""What the console's tests share (imported as ``console_support``; conftest.py only holds fixtures)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator

from central.config import CentralConfig
from central.db import Database
from sync.clock import FixedClock

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "console-test-password"
# One person per role; the store manager runs store s001 only.
PEOPLE = {"admin": "ada", "marketer": "mia", "store_manager": "sam", "technician": "tom",
          "privacy_officer": "pia"}
# s001 and s002 with names and places; s003 as a stores.csv from before those columns has it.
STORES_CSV = ("store,region,devices,name,timezone,country,lat,lon\n"
              "s001,south,kiosk-1|signage-1,Sofia · Vitosha Blvd,Europe/Sofia,BG,42.6935,23.3205\n"
              "s002,north,kiosk-2,Ruse · Svoboda Square,Europe/Sofia,BG,43.8484,25.9540\n"
              "s003,north,{signs}\n")
OLD_KEY_ID = "0ld0ld0ld0ld0ld0"  # a key every seeded device still trusts from before a rotation
SIGNS = [f"sign-{n:02d}" for n in range(1, 56)]  # enough for a second page of the fleet
SCREENS = Path(__file__).resolve().parents[2] / "test-output" / "console"
MAX_AGE_S = 3600
MAX_UPLOAD = 2_000_000  # the media library's limit in the tests: a bigger upload is cheap to make


@dataclass
class Server:
    url: str
    db: Database
    clock: FixedClock
    headoffice: Path
    config: CentralConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def decoded_width(image: Locator) -> int:
    """The picture's width once the browser has decoded it. A visible <img> may not be decoded yet, and its width
    reads 0 until it is; decode() waits, and fails for a picture the browser cannot decode."""
    return image.evaluate("img => img.decode().then(() => img.naturalWidth)")
