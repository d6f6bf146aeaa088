"""UI tests drive the real Kivy widget tree on an Xvfb screen that these fixtures start.

Kivy allows one window per process, so one app serves every test here; each test begins at the
attract screen with a fresh session. Screenshots go to test-output/screens/ for a person to see, and the
layout audit's contact sheet of them to test-output/screens/index.html at the session's end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from kiosk.display import NoDisplay, configure_kivy, has_display, start_xvfb

ROOT = Path(__file__).resolve().parent.parent.parent
SHOTS = ROOT / "test-output" / "screens"
XVFB_SIZE = (1920, 1920)  # room for a window at 1920x1080, 1280x800 and 1080x1920: a larger one draws clipped


def _start_xvfb() -> subprocess.Popen | None:
    if has_display() and not os.environ.get("STORE_EDGE_FORCE_XVFB"):
        return None
    try:
        return start_xvfb(*XVFB_SIZE)
    except NoDisplay as exc:
        pytest.exit(str(exc), returncode=3)


_XVFB = _start_xvfb()
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
os.environ.pop("KIVY_GL_BACKEND", None)  # the mock backend silently skips graphic tests
configure_kivy(kiosk_mode=False)


def pytest_sessionfinish(session, exitstatus):
    from layout_audit import write_contact_sheet

    if SHOTS.is_dir():
        write_contact_sheet(SHOTS)  # test-output/screens/index.html: every audited screenshot and its findings
    if _XVFB is not None:
        _XVFB.terminate()


@pytest.fixture(scope="session")
def shots() -> Path:
    shutil.rmtree(SHOTS, ignore_errors=True)  # one picture per screen, from this run
    SHOTS.mkdir(parents=True)
    return SHOTS
