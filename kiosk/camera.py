"""The kiosk's camera QR scanner, without Kivy: frame sources and a background decode loop.

* :class:`OpenCvCamera` wraps ``cv2.VideoCapture`` (Kivy's own camera provider reads on the UI thread and
  leaks textures, so the kiosk runs its own capture thread); :class:`FileFrames` plays image files or
  in-memory arrays for tests and demos. Both follow :class:`FrameSource`.
* :class:`QrScanner` reads frames on its own thread, converts each to grayscale and reads QR codes with
  :func:`read_qr`: zxing-cpp on the downscaled frame (a code held up close: about a millisecond), then
  zxing-cpp at full resolution (small, distant, tilted codes), then, on every third frame where both found
  nothing, pyzbar at full resolution, which reads some distant or noisy codes that zxing-cpp misses. On a
  generated set of photographed-looking cards this reads more than any single decoder, at a fraction of
  pyzbar's cost (``benchmarks/kiosk_bench.py``, BENCHMARKS.md).

Privacy: a frame is a picture of whoever stands at the kiosk. The scanner never writes a frame anywhere and
never keeps one beyond the loop iteration that read it: the loop drops its last reference before it reads
the next frame, and no attribute of the scanner ever holds a frame. The optional ``preview`` callback gets
a downscaled *copy*, and only when the screen passes one (configuration can turn the preview off; then no
copy is made at all). Decoded texts are shopper credentials: the scanner does not log them, and it forgets
them once they are out of sight for ``dedupe_s`` and when it stops.

Threads: ``on_code``, ``on_error`` and ``preview`` run on the scanner's thread. A Kivy screen must not touch
widgets there; it hops to the UI thread, e.g.::

    scanner = QrScanner(OpenCvCamera(), on_code=lambda text: Clock.schedule_once(lambda dt: screen.scanned(text)),
                        on_error=lambda msg: Clock.schedule_once(lambda dt: screen.camera_failed(msg)))

Callbacks should be quick: the next frame is not read until they return.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
import zxingcpp
from pyzbar.pyzbar import ZBarSymbol
from pyzbar.pyzbar import decode as zbar_decode

log = logging.getLogger("store_edge.kiosk.camera")

STOPPED_DELIVERING = "camera stopped delivering frames"


class CameraUnavailable(RuntimeError):
    """The camera cannot be opened, or it stopped delivering frames."""


class EndOfFrames(Exception):
    """A finite source (:class:`FileFrames` with ``loop=False``) has no more frames: the scan ends quietly."""


@runtime_checkable
class FrameSource(Protocol):
    def read(self) -> np.ndarray | None:
        """The next frame as a BGR ``uint8`` array (grayscale and BGRA are accepted too), or ``None`` if no
        frame came this time. Raises :class:`CameraUnavailable` when the camera is gone, or
        :class:`EndOfFrames` when a finite source is exhausted."""
        ...

    def close(self) -> None:
        """Release the device. Idempotent."""
        ...


class OpenCvCamera:
    """A camera through ``cv2.VideoCapture``; ``index`` is a device number (or a device or video file path).

    ``width`` x ``height`` is what we ask for; the driver may grant something else (see :attr:`size`).
    A single failed read answers ``None``; ``max_failures`` failed reads in a row raise
    :class:`CameraUnavailable` ("camera stopped delivering frames"), e.g. when the USB cable is pulled.
    """

    def __init__(self, index: int | str = 0, width: int = 1280, height: int = 720, *, max_failures: int = 10,
                 backend: int = cv2.CAP_ANY):
        if max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        self.index = index
        self.max_failures = max_failures
        self._failures = 0
        self._lock = threading.Lock()
        cap = cv2.VideoCapture(index, backend)
        if not cap.isOpened():
            cap.release()
            where = f"/dev/video{index}" if isinstance(index, int) else str(index)
            raise CameraUnavailable(
                f"camera {index!r} could not be opened: check that it is plugged in and that this user may "
                f"read {where} (the service user needs the 'video' group)")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the freshest frame, not one queued a second ago (V4L2 honours it)
        self._cap: cv2.VideoCapture | None = cap

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) the driver actually delivers; (0, 0) once closed."""
        with self._lock:
            if self._cap is None:
                return (0, 0)
            return (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))

    def read(self) -> np.ndarray | None:
        with self._lock:
            if self._cap is None:
                raise CameraUnavailable(f"camera {self.index!r} is closed")
            ok, frame = self._cap.read()
        if ok and frame is not None:
            self._failures = 0
            return frame
        self._failures += 1
        if self._failures >= self.max_failures:
            raise CameraUnavailable(f"{STOPPED_DELIVERING} ({self._failures} failed reads in a row from "
                                    f"camera {self.index!r})")
        return None

    def close(self) -> None:
        with self._lock:  # waits for a read in progress rather than releasing the device under it
            if self._cap is not None:
                self._cap.release()
                self._cap = None


class FileFrames:
    """Frames from image files or in-memory arrays, for tests and demos.

    Files are read once, up front (an unreadable one raises ``ValueError`` here, not mid-scan). Each
    :meth:`read` answers a fresh copy, as a camera hands out a fresh buffer. ``loop=False`` raises
    :class:`EndOfFrames` after the last frame. ``fps`` paces reads like a camera; ``None`` answers at once.
    """

    def __init__(self, frames: Iterable[str | Path | np.ndarray], *, loop: bool = True, fps: float | None = None):
        images = []
        for item in frames:
            if isinstance(item, np.ndarray):
                images.append(item)
                continue
            image = cv2.imread(str(item), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"cannot read an image from {item}")
            images.append(image)
        if not images:
            raise ValueError("FileFrames needs at least one image")
        if fps is not None and fps <= 0:
            raise ValueError("fps must be positive")
        self._images = images
        self.loop = loop
        self.fps = fps
        self._next = 0
        self._count = 0
        self._t0: float | None = None
        self._closed = False

    def read(self) -> np.ndarray | None:
        if self._closed:
            raise CameraUnavailable("frame source is closed")
        if self._next >= len(self._images):
            if not self.loop:
                raise EndOfFrames
            self._next = 0
        if self.fps is not None:
            now = time.monotonic()
            if self._t0 is None:
                self._t0 = now
            due = self._t0 + self._count / self.fps
            if due > now:
                time.sleep(due - now)
        self._count += 1
        image = self._images[self._next]
        self._next += 1
        return image.copy()

    def close(self) -> None:
        self._closed = True


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A 2-D ``uint8`` grayscale image of a BGR, BGRA or grayscale frame (the frame itself if already gray)."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise ValueError("a frame must be a uint8 numpy array")
    if frame.ndim == 2:
        return frame
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 1:
        return frame[:, :, 0]
    raise ValueError(f"unsupported frame shape {frame.shape}")


def shrink(image: np.ndarray, factor: float) -> np.ndarray:
    """``image`` scaled by ``factor`` (< 1) with area averaging, which keeps module edges sharp for the decoder."""
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


def decode_qr(gray: np.ndarray) -> list[str]:
    """The texts of the QR codes in a grayscale image, by zxing-cpp.

    Only model-2 QR codes (what every app draws) are looked for. The QR detector finds a code at any angle by
    itself, so the rotated passes (``try_rotate``, for linear barcodes) are skipped, and so are inverted ones
    (light on dark: not ours). zxing-cpp answers only codes whose error correction succeeded, never a guess."""
    return [r.text for r in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCodeModel2,
                                                   try_rotate=False, try_invert=False)]


def decode_qr_zbar(gray: np.ndarray) -> list[str]:
    """The texts of the QR codes in a grayscale image, by pyzbar (the fallback of :func:`read_qr`)."""
    return [d.data.decode("utf-8", errors="replace") for d in zbar_decode(gray, symbols=[ZBarSymbol.QRCODE])]


@dataclass(frozen=True)
class QrRead:
    texts: list[str]
    full_res: bool
    """zxing-cpp read the full-resolution frame (the downscaled one gave nothing)."""
    zbar: bool
    """pyzbar read the full-resolution frame too (zxing-cpp found nothing in either)."""


def read_qr(gray: np.ndarray, *, downscale: float = 0.5, zbar_fallback: bool = True) -> QrRead:
    """The QR codes in one grayscale frame, cheapest pass first; each pass runs only if those before found none.

    ``zbar_fallback`` allows the last pass, pyzbar at full resolution, by far the dearest (about 40 ms of CPU
    on a 720p frame with nothing in it, against about 4 ms for both zxing-cpp passes): the scanner allows it
    on one frame in ``zbar_every`` of those where zxing-cpp found nothing, which still reaches a distant code
    held up for a moment (100 ms at 30 fps) and keeps the cost low while nobody is there."""
    texts = decode_qr(shrink(gray, downscale) if downscale < 1 else gray)
    full = zbar = False
    if not texts and downscale < 1:
        texts, full = decode_qr(gray), True
    if not texts and zbar_fallback:
        texts, zbar = decode_qr_zbar(gray), True
    return QrRead(texts, full, zbar)


@dataclass(frozen=True)
class ScanStats:
    frames_read: int
    frames_decoded: int
    """Frames given to the decoder (one in ``every_nth`` of those read)."""
    full_res_decodes: int
    """Full-resolution zxing-cpp passes made after the downscaled pass found nothing."""
    zbar_decodes: int
    """pyzbar fallback passes made after both zxing-cpp passes found nothing (one in ``zbar_every`` such frames)."""
    codes_reported: int
    decode_fps: float
    """Frames decoded per second over the most recent decodes (up to the last 32)."""
    last_decode_ms: float | None
    """Time the last decoded frame took, from grayscale conversion to the end of its last pass."""
    errors: int
    """Frames or callbacks that raised (logged; the scan goes on)."""


class QrScanner:
    """Reads ``source`` on a background thread and reports each QR code it sees to ``on_code``.

    * Each ``every_nth`` frame read is converted to grayscale and read by :func:`read_qr`: downscaled by
      ``downscale``, then at full resolution; when both find nothing, one such frame in ``zbar_every`` goes to
      pyzbar too.
    * ``on_code(text)`` is called once for a code, then not again for as long as it stays in view; it is
      reported again once it has been out of sight (not decoded) for ``dedupe_s`` seconds.
    * ``on_error(message)`` is called at most once, when the source fails (:class:`CameraUnavailable` or any
      other exception) or delivers no frame for ``stall_s`` seconds; the scanner then stops.
    * ``preview(frame)``, if given, gets a BGR copy of each frame read, scaled by ``downscale``.

    The scanner owns ``source`` and closes it when its thread ends. All callbacks run on the scanner's
    thread (see the module docstring). :meth:`stop` may be called from any thread, a callback included.
    """

    def __init__(self, source: FrameSource, on_code: Callable[[str], None], on_error: Callable[[str], None], *,
                 every_nth: int = 1, downscale: float = 0.5, dedupe_s: float = 3.0,
                 preview: Callable[[np.ndarray], None] | None = None, stall_s: float = 3.0, zbar_every: int = 3):
        if not isinstance(every_nth, int) or every_nth < 1:
            raise ValueError("every_nth must be an integer >= 1")
        if not isinstance(zbar_every, int) or zbar_every < 1:
            raise ValueError("zbar_every must be an integer >= 1")
        if not 0 < downscale <= 1:
            raise ValueError("downscale must be in (0, 1]")
        if dedupe_s < 0 or stall_s <= 0:
            raise ValueError("dedupe_s must be >= 0 and stall_s > 0")
        self._source = source
        self._on_code = on_code
        self._on_error = on_error
        self._preview = preview
        self.every_nth = every_nth
        self.zbar_every = zbar_every
        self.downscale = downscale
        self.dedupe_s = dedupe_s
        self.stall_s = stall_s
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards the counters below, so that stats is one consistent snapshot
        self._frames_read = 0
        self._frames_decoded = 0
        self._full_res = 0
        self._zbar = 0
        self._codes = 0
        self._errors = 0
        self._last_ms: float | None = None
        self._decode_times: collections.deque[float] = collections.deque(maxlen=32)
        self._seen: dict[str, float] = {}  # code text -> when it was last decoded (scanner thread only)
        self._misses = 0  # decoded frames where zxing-cpp found nothing: pyzbar gets one in zbar_every
        self._failed = False

    # -- control ---------------------------------------------------------------------------------------------

    def start(self) -> QrScanner:
        if self._thread is not None or self._done.is_set():
            raise RuntimeError("a QrScanner starts once; make a new one (with a new source) to scan again")
        self._thread = threading.Thread(target=self._run, name="qr-scanner", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the loop to end without waiting: it ends after the read in progress (up to a frame time)."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the loop to end and wait for it (up to ``timeout``; a read in progress finishes first)."""
        self._stop.set()
        thread = self._thread
        if thread is None:
            if not self._done.is_set():
                self._finish()
            return
        if thread is threading.current_thread():
            return  # called from a callback: the loop ends as soon as the callback returns
        thread.join(timeout)
        if thread.is_alive():
            log.warning("camera scanner thread did not end within %.1f s (a read is stuck in the driver)", timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the loop to end by itself (source exhausted or failed); True if it has ended."""
        return self._done.wait(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stats(self) -> ScanStats:
        with self._lock:
            times = self._decode_times
            fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) >= 2 and times[-1] > times[0] else 0.0
            return ScanStats(frames_read=self._frames_read, frames_decoded=self._frames_decoded,
                             full_res_decodes=self._full_res, zbar_decodes=self._zbar, codes_reported=self._codes,
                             decode_fps=fps, last_decode_ms=self._last_ms, errors=self._errors)

    # -- the loop --------------------------------------------------------------------------------------------

    def _run(self) -> None:
        empty_since: float | None = None
        try:
            while not self._stop.is_set():
                try:
                    frame = self._source.read()
                except EndOfFrames:
                    break
                except CameraUnavailable as exc:
                    self._fail(str(exc))
                    break
                except Exception as exc:
                    log.exception("camera source failed")
                    self._fail(f"{STOPPED_DELIVERING}: {type(exc).__name__}: {exc}")
                    break
                if frame is None:
                    now = time.monotonic()
                    if empty_since is None:
                        empty_since = now
                    elif now - empty_since >= self.stall_s:
                        self._fail(f"{STOPPED_DELIVERING} (no frame for {now - empty_since:.1f} s)")
                        break
                    self._stop.wait(0.01)
                    continue
                empty_since = None
                try:
                    self._process(frame)
                except Exception:
                    with self._lock:
                        self._errors += 1
                    log.exception("could not scan a camera frame")
                # Drop the frame before blocking in the next read: no frame outlives its iteration.
                frame = None
        finally:
            self._finish()

    def _process(self, frame: np.ndarray) -> None:
        with self._lock:
            self._frames_read += 1
            n = self._frames_read
        if self._preview is not None:
            copy = shrink(frame, self.downscale) if self.downscale < 1 else frame.copy()
            self._call(self._preview, copy)
            del copy
        if (n - 1) % self.every_nth:
            return
        t0 = time.perf_counter()
        result = read_qr(to_gray(frame), downscale=self.downscale,
                         zbar_fallback=self._misses % self.zbar_every == 0)
        if result.zbar or not result.texts:  # zxing-cpp found nothing, whatever pyzbar then found
            self._misses += 1
        t1 = time.perf_counter()
        with self._lock:
            self._frames_decoded += 1
            self._full_res += result.full_res
            self._zbar += result.zbar
            self._last_ms = (t1 - t0) * 1000
            self._decode_times.append(t1)
        self._report(result.texts, time.monotonic())

    def _report(self, texts: list[str], now: float) -> None:
        self._seen = {text: seen for text, seen in self._seen.items() if now - seen < self.dedupe_s}
        for text in dict.fromkeys(texts):
            fresh = text not in self._seen
            self._seen[text] = now
            if fresh and not self._stop.is_set():
                with self._lock:
                    self._codes += 1
                self._call(self._on_code, text)

    def _call(self, callback: Callable, arg: object) -> None:
        try:
            callback(arg)
        except Exception:
            with self._lock:
                self._errors += 1
            log.exception("scanner callback %s failed", getattr(callback, "__name__", callback))  # not the text

    def _fail(self, message: str) -> None:
        if self._failed:
            return
        self._failed = True
        log.warning("camera scanner stopping: %s", message)
        try:
            self._on_error(message)
        except Exception:
            log.exception("scanner on_error callback failed")

    def _finish(self) -> None:
        self._seen.clear()
        try:
            self._source.close()
        except Exception:
            log.exception("closing the camera failed")
        self._done.set()
