"""The console's side of the preview renderer: one warm worker process (``console.preview_worker``), started on
first use, each job timed out, and a worker that died or hung is killed (with the Xvfb it started) and started
again for the next job. The page only ever hears PreviewUnavailable, never why in a traceback."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path

log = logging.getLogger("store_edge.console.preview")
START_TIMEOUT_S = 60.0  # Xvfb, Kivy and its window on a busy machine
RENDER_TIMEOUT_S = 20.0
ROOT = Path(__file__).resolve().parent.parent  # the worker imports this checkout's packages, as the console does
QUEUE_TIMEOUT_S = 30.0  # one job at a time: a person waits this long behind another's


class PreviewUnavailable(RuntimeError):
    """The renderer could not answer (it crashed, hung or is busy); the next try starts a fresh one."""


class Renderer:
    def __init__(self, *, start_timeout_s: float = START_TIMEOUT_S, render_timeout_s: float = RENDER_TIMEOUT_S):
        self.start_timeout_s, self.render_timeout_s = start_timeout_s, render_timeout_s
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._conn: Connection | None = None
        self._xvfb = 0  # the pid of the Xvfb the worker started, if it did

    @property
    def pid(self) -> int | None:
        """The worker's process id while one runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def warm(self) -> None:
        """Start the worker in the background if none runs, so that the first preview finds it ready."""
        def start() -> None:
            if self._lock.acquire(blocking=False):
                try:
                    self._ensure()
                except PreviewUnavailable:
                    pass  # logged; the next render tries again
                finally:
                    self._lock.release()
        if self.pid is None:
            threading.Thread(target=start, name="preview-warm", daemon=True).start()

    def render(self, job: dict) -> dict:
        if not self._lock.acquire(timeout=QUEUE_TIMEOUT_S):
            raise PreviewUnavailable("the renderer is busy")
        try:
            self._ensure()
            try:
                self._conn.send(job)
                if not self._conn.poll(self.render_timeout_s):
                    raise TimeoutError(f"no picture after {self.render_timeout_s:.0f} s")
                answer = self._conn.recv()
            except (OSError, EOFError, TimeoutError) as exc:
                log.warning("preview renderer failed (%s: %s); it starts again on the next preview",
                            type(exc).__name__, exc)
                self._stop()
                raise PreviewUnavailable(str(exc)) from None
            if "error" in answer:  # a job that failed half way may leave the window or the kiosk app half built
                log.warning("preview render failed: %s; the renderer starts again on the next preview", answer["error"])
                self._stop()
                raise PreviewUnavailable(answer["error"])
            return answer
        finally:
            self._lock.release()

    def _ensure(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._stop()
        # A fresh interpreter (not a fork of the web process and its threads, nor multiprocessing's spawn, which
        # imports the web process's main module again), talking over a socket pair.
        ours, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        try:
            proc = subprocess.Popen([sys.executable, "-m", "console.preview_worker", str(theirs.fileno())],
                                    pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL)
        finally:
            theirs.close()
        parent = Connection(ours.detach())
        self._proc, self._conn = proc, parent
        try:
            if not parent.poll(self.start_timeout_s):
                raise TimeoutError(f"not ready after {self.start_timeout_s:.0f} s")
            hello = parent.recv()
        except (OSError, EOFError, TimeoutError) as exc:
            log.warning("preview renderer did not start (%s: %s)", type(exc).__name__, exc)
            self._stop()
            raise PreviewUnavailable(str(exc)) from None
        self._xvfb = int(hello.get("xvfb") or 0)

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if proc is not None:
            proc.kill()
            proc.wait(5)
        if self._xvfb:
            try:
                os.kill(self._xvfb, signal.SIGTERM)
            except ProcessLookupError:
                pass  # it went with the worker
            self._xvfb = 0

    def close(self) -> None:
        with self._lock:
            self._stop()
