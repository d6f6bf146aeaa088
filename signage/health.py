"""The player's health, every ``health_interval_s``, into the outbox as a ``health`` event.

Presence (online/offline) is the sync agent's; this says what the screen is doing: uptime, frames
per second, memory, free disk, the content version per scope, why each menu board shows its menu
(the engine's reasons, which the screen itself never shows), the last error, and the display on/off
state with its schedule.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from kivy.clock import Clock

from sync.cache.db import CacheError
from sync.runtime import rss_bytes


def disk_free_bytes(path: Path) -> int:
    try:
        return shutil.disk_usage(path if path.exists() else path.parent).free
    except OSError:
        return 0


class Health:
    def __init__(self, player, *, media_dir: Path, display, interval_s: float = 60.0):
        self.player, self.media_dir, self.display, self.interval_s = player, Path(media_dir), display, interval_s
        self.started = time.monotonic()
        self._next = 0.0

    def snapshot(self) -> dict:
        p = self.player
        lib = p.library
        return {
            "source": "signage",
            "uptime_s": round(time.monotonic() - self.started, 1),
            "fps": round(Clock.get_fps(), 1),
            "rss_bytes": rss_bytes(),
            "disk_free_bytes": disk_free_bytes(self.media_dir),
            "content_versions": dict(lib.versions) if lib else {},
            "content_waiting_for_files": list(p.pending.missing) if p.pending else [],
            "state": p.state,
            "showing": p.now_showing(),
            "boards": p.board_notes(),
            "plays": p.proof.total,
            "errors": p.errors,
            "last_error": p.last_error or None,
            "blacklisted": sorted(p.blacklist),
            "display": {"on": p.display_on, **self.display.schedule.describe(), "dpms": self.display.power.dpms},
        }

    def tick(self, now: float) -> None:
        if now < self._next:
            return
        self._next = now + self.interval_s
        try:
            self.player.outbox.record("health", self.snapshot())
        except CacheError as exc:
            self.player.last_error = f"health not recorded: {exc}"
