"""The identify screen's live camera picture, when configuration allows it ([kiosk] camera_preview).

The scanner's thread hands over a downscaled copy of a frame; only the newest is kept, in one slot,
and the UI thread draws it into a texture and drops it. When the scan ends the texture is painted
over, so no picture of the shopper outlives the scan, in memory or on screen.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from kivy.clock import Clock
from kivy.graphics.texture import Texture

MAX_FPS = 15  # a preview that looks live, at a fraction of the cost of drawing every camera frame
BLANK = 235  # the screen's background grey


class CameraPreview:
    def __init__(self, on_texture):
        self._on_texture = on_texture
        self._lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self._live = False
        self._last = 0.0
        self._texture: Texture | None = None
        self._draw = Clock.create_trigger(lambda dt: self._blit())

    def start(self) -> None:
        with self._lock:
            self._live = True

    def offer(self, frame: np.ndarray) -> None:  # the scanner's thread
        now = time.monotonic()
        if now - self._last < 1 / MAX_FPS:
            return
        self._last = now
        with self._lock:
            if not self._live:  # a stopping scanner's last read
                return
            self._frame = frame
        self._draw()

    def _blit(self) -> None:
        with self._lock:
            frame, self._frame = self._frame, None
        if frame is None:
            return
        h, w = frame.shape[:2]
        if self._texture is None or self._texture.size != (w, h):
            self._texture = Texture.create(size=(w, h), colorfmt="rgb")
            self._texture.flip_vertical()
        self._texture.blit_buffer(np.ascontiguousarray(frame[:, :, ::-1]).tobytes(), colorfmt="rgb",
                                  bufferfmt="ubyte")
        del frame
        self._on_texture(self._texture)

    def clear(self) -> None:
        """Forget the last frame and paint the texture over (UI thread)."""
        self._draw.cancel()
        with self._lock:
            self._live = False
            self._frame = None
        if self._texture is not None:
            w, h = self._texture.size
            self._texture.blit_buffer(bytes([BLANK]) * (w * h * 3), colorfmt="rgb", bufferfmt="ubyte")
        self._on_texture(None)

    def last_frame(self) -> np.ndarray | None:
        """For tests: the frame waiting to be drawn, if any."""
        with self._lock:
            return self._frame
