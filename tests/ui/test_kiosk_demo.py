"""The README's first command with a scripted shopper: every step reached, with a screenshot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_demo_plays_a_scripted_shopper(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORE_EDGE_")}
    result = subprocess.run([sys.executable, "-m", "kiosk.demo", "--script", "--exit-after-script", "--var",
                             str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "scripted shopper: done" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    for step in ("attract", "identify", "phone", "consent", "offers", "coupon", "bulgarian", "goodbye"):
        shots = list((tmp_path / "screens").glob(f"{step}*.png"))
        assert shots and shots[0].stat().st_size > 5000, step
