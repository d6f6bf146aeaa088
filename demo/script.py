"""A scripted demo run: steps played on a Kivy app, a screenshot after each, then the app closes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


class Script:
    """Plays ``steps`` (name, action) one by one: the action, ``settle_s`` for the screen to draw, a
    screenshot ``<shots>/<name>.png``, ``pause_s``, the next. ``touched`` runs after each action."""

    def __init__(self, app, who: str, steps: list[tuple[str, Callable[[], object]]], shots: Path, *,
                 exit_after: bool, settle_s: float, pause_s: float, touched: Callable[[], None] = lambda: None):
        self.app, self.who, self.steps, self.shots = app, who, list(steps), shots
        self.exit_after, self.settle_s, self.pause_s, self.touched = exit_after, settle_s, pause_s, touched

    def next(self) -> None:
        from kivy.clock import Clock
        from kivy.core.window import Window

        if not self.steps:
            print(f"{self.who}: done")
            if self.exit_after:
                self.app.stop()
            return
        name, action = self.steps.pop(0)
        action()
        self.touched()

        def snap(dt: float) -> None:
            print(f"{self.who}: {name} -> {Window.screenshot(str(self.shots / f'{name}.png'))}")
            Clock.schedule_once(lambda dt: self.next(), self.pause_s)

        Clock.schedule_once(snap, self.settle_s)
