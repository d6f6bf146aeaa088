"""``./run-demo --console`` as a person starts it: it prints the address and a login per role, the console
shows the demo chain's devices online with their content applied, a marketer previews a store's screens, and
SIGTERM stops everything it started (the preview's worker too)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from console_support import free_port
from playwright.sync_api import Page, expect
from test_browser import go, shot

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("admin", "marketer", "store manager", "technician", "privacy officer")


def _read_until(proc: subprocess.Popen, marker: str, timeout_s: float = 90) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} from run-demo --console; it printed:\n" + "\n".join(lines))


def test_run_demo_console_prints_logins_and_shows_the_demo_fleet(page: Page, tmp_path: Path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--console", "--var", str(tmp_path), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    workers: list[psutil.Process] = []
    try:
        out = _read_until(proc, "Ctrl-C stops")
        assert f"console: http://127.0.0.1:{port}/" in "\n".join(out)
        logins = {m["role"]: (m["name"], m["password"]) for line in out
                  if (m := re.match(r"\s+(?P<role>[a-z ]+?)\s+(?P<name>\w+)\s+password (?P<password>\S+)$", line))}
        assert set(logins) == set(ROLES)
        secrets = list(tmp_path.glob("console/keys/chain-*.key")) + [tmp_path / "console" / "logins"]
        assert len(secrets) == 2 and all(p.stat().st_mode & 0o077 == 0 for p in secrets)  # 0600: the owner only

        name, password = logins["technician"]
        page.goto(f"http://localhost:{port}/login")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        go(page, "Fleet")
        table = page.locator("#fleet-table")
        for device in ("s001/kiosk-1", "s001/tablet-1", "s001/sign-1", "s002/kiosk-2", "s101/kiosk-101"):
            row = table.locator(f"tr[data-device='{device}']")
            expect(row.locator(".badge")).to_have_text("online", timeout=20_000)
            expect(row).to_contain_text("chain v")  # the demo chain's content, applied on the device
        shot(page, "demo-console-fleet")

        page.get_by_role("button", name="Sign out").click()
        name, password = logins["marketer"]
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        go(page, "Preview")
        page.get_by_label("Where").select_option("s001/sign-1")
        page.get_by_label("Date (store time)").fill("2026-11-23")
        page.get_by_label("Time (store time)").fill("08:30")
        page.get_by_label("Weather").select_option("rain")
        page.get_by_role("button", name="Show preview").click()
        expect(page.get_by_role("img", name=re.compile("The signage screen at"))).to_be_visible(timeout=60_000)
        expect(page.locator("#preview-result")).to_contain_text("(OFF-RAINY-DAY)")
        workers += [p for p in psutil.Process(proc.pid).children(recursive=True)
                    if "console.preview_worker" in " ".join(p.cmdline())]
        assert len(workers) == 1
        shot(page, "demo-console-preview")
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "stopped: " in rest and "Mosquitto shut down" in rest
    assert not any(w.is_running() for w in workers)
