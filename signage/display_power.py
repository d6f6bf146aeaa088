"""Blanking the screen at night: when it should be on, and how to turn the output off.

``DisplaySchedule.wanted`` is pure (store wall-clock time; an off window may wrap midnight).
``PanelPower`` uses DPMS through ``xset dpms force off|on`` when the X server and xset have it, so
the panel really sleeps; otherwise the player draws a black cover, which saves the pixels if not
the backlight. A remote ``display`` command can force on or off until it is set back to auto.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger("store_edge.signage")
MODES = ("auto", "on", "off")


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@dataclass(frozen=True)
class DisplaySchedule:
    on_at: str = ""  # "HH:MM"; both empty: always on
    off_at: str = ""
    mode: str = "auto"  # auto follows the times; on/off are forced by a command

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"display mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        for name, value in (("on_at", self.on_at), ("off_at", self.off_at)):
            if value:
                try:
                    minutes = _minutes(value)
                except ValueError:
                    minutes = -1
                if not 0 <= minutes < 24 * 60:
                    raise ValueError(f"display {name}: {value!r} is not HH:MM")

    def wanted(self, local: datetime) -> bool:
        if self.mode != "auto":
            return self.mode == "on"
        if not self.on_at or not self.off_at:
            return True
        now, on, off = local.hour * 60 + local.minute, _minutes(self.on_at), _minutes(self.off_at)
        return on <= now < off if on < off else (now >= on or now < off)

    def describe(self) -> dict:
        return {"mode": self.mode, "on_at": self.on_at or None, "off_at": self.off_at or None}


class PanelPower:
    """The output's power: DPMS where available (``dpms`` is then True), else nothing (the player covers it)."""

    def __init__(self) -> None:
        self.xset = shutil.which("xset")
        self.dpms = self.xset is not None and self._run("+dpms")
        self.on = True

    def _run(self, *args: str) -> bool:
        try:
            return subprocess.run([self.xset, *args], capture_output=True, timeout=5).returncode == 0
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("xset %s failed: %s", " ".join(args), exc)
            return False

    def set(self, on: bool) -> None:
        if on == self.on:
            return
        self.on = on
        if self.dpms:
            self._run("dpms", "force", "on" if on else "off")
