"""The media check both ends run (sync/protocol/media_check.py) as an attacker meets it: the decoding happens in a
child process, so a file that hangs a decoder or kills it is refused in words and the caller goes on. (What it
takes and refuses: tests/central/test_media_library.py, tests/test_media.py, tests/console/test_media_browser.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from media_samples import picture, video

from sync.protocol import media_check
from sync.protocol.media_check import MediaRefused, check_media


def test_a_file_that_keeps_the_decoder_busy_past_the_limit_is_refused(tmp_path: Path):
    promo = video(tmp_path / "promo.mp4")
    with pytest.raises(MediaRefused, match=r"The file could not be decoded in 0.05 s; a screen would not show it."):
        check_media(promo, timeout_s=0.05)
    assert check_media(promo).duration_s == 2.0  # the same file, given the time


def test_a_decoder_that_dies_on_a_file_refuses_it_and_the_caller_lives(tmp_path: Path, monkeypatch):
    hero = tmp_path / "hero.png"
    hero.write_bytes(picture("PNG"))
    monkeypatch.setattr(media_check.sys, "executable", "/bin/false")  # a child that ends with no answer
    with pytest.raises(MediaRefused, match="The file is not a picture or a video: it could not be decoded."):
        check_media(hero)


def test_the_child_runs_under_a_memory_limit():
    """A decoder asking for more than CHILD_MEMORY fails in the child (here the check itself asks, in the child's
    own entry point, after it set its limit)."""
    grab = ("import sys; from sync.protocol import media_check as m;"
            " m.inspect = lambda *args: bytearray(2 * m.CHILD_MEMORY); m.main(['any'])")
    done = subprocess.run([sys.executable, "-c", grab], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "MemoryError" in done.stderr
