"""./run-demo --signage --script: the demo store's signage screen, an override from head office and back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent.parent


def test_signage_demo_plays_the_schedule_an_override_and_identify(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORE_EDGE_")}
    result = subprocess.run([sys.executable, "-m", "demo", "--signage", "--script", "--at", "mon 08:30",
                             "--var", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "scripted screen: done" in result.stdout
    assert "the signage screen is open at store time Mon" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "signage-1 (store s001): bundles applied" in result.stdout
    shots = tmp_path / "screens" / "signage"
    pictures = {}
    for step in ("schedule", "override", "identify", "override-ended"):
        found = sorted(shots.glob(f"{step}0*.png"))
        assert found and found[0].stat().st_size > 5000, step
        pictures[step] = Image.open(found[0]).convert("RGB")
    # the override is a different picture from the schedule's, and the schedule's layout comes back after it
    assert pictures["override"].getpixel((640, 30)) != pictures["schedule"].getpixel((640, 30))
    # the demo's pictures (the six product pictures its posters show, the logo) were downloaded from head office's
    # media server, sha256 checked
    media = tmp_path / "signage-1" / "media"
    assert len([p for p in media.iterdir() if p.is_file()]) == 7
