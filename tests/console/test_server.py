"""``store-edge-central console`` starts the console; the session key file is made 0600 and refused when others
may read it or it is not a key."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from console_support import free_port

from console.server import session_key
from sync.config import ConfigError


def test_session_key_is_made_private_and_checked(tmp_path: Path):
    path = tmp_path / "state" / "console.key"
    key = session_key(path)
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert session_key(path) == key
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="others may read it; chmod 600 it"):
        session_key(path)
    path.chmod(0o600)
    path.write_bytes(b"short")
    with pytest.raises(ConfigError, match="expected 32 bytes, found 5"):
        session_key(path)


def test_the_console_command_serves_the_sign_in_page(tmp_path: Path):
    port = free_port()
    config = tmp_path / "central.toml"
    config.write_text(f'[central]\ndsn = "{tmp_path / "central.db"}"\n[console]\nsecret_file = "{tmp_path / "k"}"\n')
    proc = subprocess.Popen([sys.executable, "-m", "central", "--config", str(config), "console", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.poll() else ""
                time.sleep(0.2)
        assert r.status_code == 200 and "Sign in" in r.text
        assert r.headers["X-Frame-Options"] == "DENY" and "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["Cache-Control"] == "no-store"
        htmx = requests.get(f"http://127.0.0.1:{port}/static/htmx.min.js", timeout=2)
        assert htmx.status_code == 200 and "htmx" in htmx.text and "Cache-Control" not in htmx.headers
        assert requests.get(f"http://127.0.0.1:{port}/schema/openapi.json", timeout=2).json()["paths"]
        assert requests.get(f"http://127.0.0.1:{port}/schema/swagger", timeout=2).status_code == 404  # no CDN viewer
        assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)
