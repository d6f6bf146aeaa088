"""UI tests drive the real Kivy widget tree on an Xvfb screen that these fixtures start.

Kivy allows one window per process, so one app serves every test here; each test begins at the
attract screen with a fresh session. Screenshots go to test-output/screens/ for a person to see.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SHOTS = ROOT / "test-output" / "screens"


def _start_xvfb() -> subprocess.Popen | None:
    if os.environ.get("DISPLAY") and not os.environ.get("STORE_EDGE_FORCE_XVFB"):
        return None
    if shutil.which("Xvfb") is None:
        pytest.exit("Xvfb is not installed: apt-get install -y xvfb (./run-tests does it as root)", returncode=3)
    for display in range(90, 120):
        if Path(f"/tmp/.X11-unix/X{display}").exists() or Path(f"/tmp/.X{display}-lock").exists():
            continue
        proc = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1280x720x24", "+extension", "GLX",
                                 "-nolisten", "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if Path(f"/tmp/.X11-unix/X{display}").exists():
                os.environ["DISPLAY"] = f":{display}"
                return proc
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
    pytest.exit("could not start Xvfb on any display from :90 to :119", returncode=3)


_XVFB = _start_xvfb()
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
os.environ.pop("KIVY_GL_BACKEND", None)  # the mock backend silently skips graphic tests


def pytest_sessionfinish(session, exitstatus):
    if _XVFB is not None:
        _XVFB.terminate()


@pytest.fixture(scope="session")
def shots() -> Path:
    shutil.rmtree(SHOTS, ignore_errors=True)  # one picture per screen, from this run
    SHOTS.mkdir(parents=True)
    return SHOTS
