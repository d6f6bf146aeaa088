"""Kivy's one window per process, shared by apps that run one after another in it (the tests, the benchmarks, the
console's preview worker): how an app leaves it to the next.

kv's ``app`` is whichever App runs when a rule is evaluated, not the app whose tree the rule belongs to. A tree that
is left but still laid out again (an animation still running on one of its widgets holds it, a picture or a label
arriving late) evaluates its rules against the next app: an AttributeError in the middle of that app's frame (the
kiosk's ``app.text_scale`` under a signage player), or, between two apps, a crash in kv's proxy. So an app that
leaves stops every animation on its widgets and unbinds every kv rule of them: its tree can no longer run a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kivy.animation import Animation
from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.screenmanager import ScreenManager
from kivy.uix.widget import Widget


def every_widget(*roots: Widget) -> Iterator[Widget]:
    """Each widget of the trees under ``roots``, a ScreenManager's screens that are not showing included."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        widget = stack.pop()
        if widget.uid in seen:
            continue
        seen.add(widget.uid)
        yield widget
        stack.extend(widget.children)
        if isinstance(widget, ScreenManager):
            stack.extend(widget.screens)


def leave_window(app: App, kv_files: Iterable[str], off_the_tree: Iterable[Widget] = ()) -> None:
    """What ``App.stop`` does, without ending the event loop: run what is queued while ``app`` is still kv's
    ``app``, take its root off the window, unload ``kv_files``, dispatch ``on_stop``, make its widgets (its root's
    trees and ``off_the_tree``, those it keeps to put back later) inert, and stop being the running app."""
    from kivy.core.window import Window  # here, not at import: importing it opens the window

    Clock.tick_draw()  # label updates still queued run now, while kv's ``app`` is still this app
    Builder.sync()  # and the kv rules' queued canvas updates
    roots = [app.root, *off_the_tree] if app.root is not None else list(off_the_tree)
    if app.root is not None:
        Window.remove_widget(app.root)
    for path in kv_files:
        Builder.unload_file(path)
    app.dispatch("on_stop")  # its handlers may still change what rules read: while the rules are bound
    for widget in every_widget(*roots):
        Animation.cancel_all(widget)
        Builder.unbind_widget(widget.uid)
    if App.get_running_app() is app:
        App._running_app = None  # as App._stop does
