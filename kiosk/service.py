"""The screen app as a systemd service: READY once the first frame is up, watchdog pings from the UI loop,
STOPPING and a clean exit on SIGTERM.

The ping is scheduled on Kivy's Clock, never from a thread: a ping from a thread proves nothing about a
frozen screen. It is withheld too while the sync agent's I/O thread is stuck.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

from kivy.app import App
from kivy.clock import Clock

from sync.sdnotify import Notifier

IDLE_PING_S = 5.0


def run_as_service(app: App, *, alive: Callable[[], bool], notifier: Notifier | None = None) -> None:
    """Bind ``app`` to systemd's notify protocol; call before ``app.run()``."""
    notifier = notifier or Notifier()
    interval = notifier.watchdog_interval_s() or IDLE_PING_S

    pings = []

    def ping(dt: float) -> None:
        if alive():
            notifier.watchdog()

    def started(*args: object) -> None:
        notifier.ready(f"{app.title}: on screen")
        pings.append(Clock.schedule_interval(ping, interval))

    def stopped(*args: object) -> None:
        for event in pings:
            event.cancel()
        notifier.stopping()

    app.bind(on_start=started, on_stop=stopped)
    # systemd stops a service with SIGTERM; leave through App.stop so the agent says 'offline' itself.
    signal.signal(signal.SIGTERM, lambda *args: Clock.schedule_once(lambda dt: app.stop()))
