"""Benchmark of the kiosk: the camera QR decode loop (UI figures to follow).

    .venv/bin/python benchmarks/kiosk_bench.py

Frames are 1280x720 BGR, as the kiosk camera delivers them: a smooth random scene with sensor noise and,
where stated, a real signed SE1 token as a QR code 280 px wide (a phone held 15-20 cm from a 720p
camera). They are fed as fast as the loop takes them (FileFrames without fps), so the frame rates are
what the decoder can sustain, not the camera's. Prints each figure beside its target.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import qrcode  # noqa: E402

from decisions.identity.qr import issue_token  # noqa: E402
from kiosk.camera import FileFrames, QrScanner, decode_qr, shrink, to_gray  # noqa: E402
from sync.protocol.signing import generate_private_key  # noqa: E402

rows: list[tuple[str, str, str, bool]] = []


def report(name: str, value: str, target: str, ok: bool) -> None:
    rows.append((name, value, target, ok))
    print(f"  {name:<72} {value:>14}   target {target:<12} {'PASS' if ok else 'MISS'}", flush=True)


def camera_frame(text: str | None, *, width: int = 280, seed: int = 0) -> np.ndarray:
    """A 1280x720 BGR frame: low-frequency scene, the code (if any) at ``width`` px, sensor noise (sigma 6)."""
    rng = np.random.default_rng(seed)
    frame = cv2.resize(rng.normal(128, 50, (45, 80, 3)), (1280, 720), interpolation=cv2.INTER_CUBIC)
    if text is not None:
        qr = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
        qr.add_data(text)
        qr.make(fit=True)
        modules = np.where(np.array(qr.get_matrix(), dtype=bool), 0.0, 255.0)
        code = cv2.resize(modules, (width, width), interpolation=cv2.INTER_AREA)
        frame[220:220 + width, 500:500 + width] = code[:, :, None]
    frame += rng.normal(0, 6, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def loop_fps(frames: list[np.ndarray], seconds: float) -> tuple[float, list[str], int]:
    """Run a QrScanner (downscale 0.5, every_nth 1) for ``seconds``: frames decoded per second, codes, fallbacks."""
    codes: list[str] = []
    errors: list[str] = []
    scanner = QrScanner(FileFrames(frames), codes.append, errors.append, downscale=0.5, every_nth=1)
    t0 = time.perf_counter()
    scanner.start()
    time.sleep(seconds)
    scanner.stop()
    elapsed = time.perf_counter() - t0
    assert not errors, errors
    stats = scanner.stats
    return stats.frames_decoded / elapsed, codes, stats.full_res_decodes


def per_frame_ms(frame: np.ndarray, *, downscale: float | None, n: int) -> list[float]:
    """Milliseconds per frame from BGR to decoded texts: grayscale, optional shrink, pyzbar."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        gray = to_gray(frame)
        decode_qr(shrink(gray, downscale) if downscale else gray)
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)


def pct(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def camera_decode_fps() -> None:
    token = issue_token(generate_private_key(), "P0001234", now=time.time(), ttl_s=300)
    with_code = camera_frame(token, seed=1)
    gray = to_gray(with_code)
    assert decode_qr(shrink(gray, 0.5)) == [token] and decode_qr(gray) == [token], "the bench code must be readable"

    fps, codes, fallbacks = loop_fps([with_code], seconds=3.0)
    assert codes == [token], codes
    report(f"QR decode loop, 1280x720, {len(token)}-char token 280 px wide, downscale 0.5 (fallbacks {fallbacks})",
           f"{fps:.1f} fps", ">= 15 fps", fps >= 15)

    empty = [camera_frame(None, seed=s) for s in (2, 3, 4)]
    fps, codes, fallbacks = loop_fps(empty, seconds=3.0)
    assert codes == [], codes
    report(f"  no code in view: every other frame retried at full resolution ({fallbacks} retries)",
           f"{fps:.1f} fps", "(no target)", True)

    small = per_frame_ms(with_code, downscale=0.5, n=100)
    report(f"per-frame decode, downscaled 640x360 path (p50 {statistics.median(small):.1f} ms)",
           f"p95 {pct(small, 0.95):.1f} ms", "(no target)", True)
    full = per_frame_ms(with_code, downscale=None, n=100)
    report(f"per-frame decode, full-resolution 1280x720 path (p50 {statistics.median(full):.1f} ms)",
           f"p95 {pct(full, 0.95):.1f} ms", "(no target)", True)


def main() -> int:
    print("store-edge kiosk benchmark, on", Path("/proc/cpuinfo").read_text().count("processor"), "cores")
    camera_decode_fps()
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
