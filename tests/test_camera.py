"""kiosk.camera: the QR scan loop on real frames (real cv2, zxing-cpp and pyzbar, real signed SE1 tokens)."""

from __future__ import annotations

import threading
import time
import weakref

import cv2
import numpy as np
import pytest
import qr_frames
import qrcode

from decisions.identity.qr import issue_token, verify_token
from kiosk.camera import (
    CameraUnavailable,
    EndOfFrames,
    FileFrames,
    FrameSource,
    OpenCvCamera,
    QrScanner,
    decode_qr,
    decode_qr_zbar,
    read_qr,
    shrink,
    to_gray,
)
from sync.protocol.signing import TrustedKeys, generate_private_key

NOW = 1_760_000_000


@pytest.fixture(scope="module")
def key():
    return generate_private_key()


@pytest.fixture(scope="module")
def token(key):
    return issue_token(key, "P0001234", now=NOW, ttl_s=300)


def qr_modules(text: str) -> np.ndarray:
    qr = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(text)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)  # includes the 4-module quiet zone


def scene(codes: list[tuple[str, int, int, int]] = (), seed: int = 1) -> np.ndarray:
    """A 1280x720 BGR frame of blurred noise plus sensor noise, with each (text, width px, x, y) code pasted on."""
    rng = np.random.default_rng(seed)
    frame = cv2.GaussianBlur(rng.normal(128, 40, (720, 1280, 3)), (0, 0), 1.5)
    for text, width, x, y in codes:
        code = cv2.resize(np.where(qr_modules(text), 0.0, 255.0), (width, width), interpolation=cv2.INTER_AREA)
        frame[y:y + width, x:x + width] = code[:, :, None]
    frame += rng.normal(0, 8, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


class Recorder:
    def __init__(self):
        self.codes: list[str] = []
        self.errors: list[str] = []
        self.code_threads: set[str] = set()

    def on_code(self, text: str) -> None:
        self.codes.append(text)
        self.code_threads.add(threading.current_thread().name)

    def on_error(self, message: str) -> None:
        self.errors.append(message)


def run_until(scanner: QrScanner, predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out; stats {scanner.stats}"
        time.sleep(0.01)


def test_reads_a_real_token_once_and_it_verifies(key, token):
    rec = Recorder()
    scanner = QrScanner(FileFrames([scene([(token, 320, 480, 200)])]), rec.on_code, rec.on_error).start()
    run_until(scanner, lambda: scanner.stats.frames_decoded >= 20)
    scanner.stop()
    assert rec.codes == [token]  # 20+ sightings, one report
    assert rec.errors == []
    assert rec.code_threads == {"qr-scanner"}  # the UI has to hop to its own thread
    result = verify_token(rec.codes[0], TrustedKeys([key.public_key()]), now=NOW + 10)
    assert result.ok and result.profile_id == "P0001234"
    stats = scanner.stats
    assert stats.codes_reported == 1 and stats.errors == 0
    assert stats.full_res_decodes == 0 and stats.zbar_decodes == 0  # a code this size is read on the small frame
    assert stats.last_decode_ms > 0 and stats.decode_fps > 0


def test_small_code_is_read_by_the_full_resolution_fallback(token):
    frame = scene([(token, 120, 900, 500)], seed=2)
    gray = to_gray(frame)
    assert decode_qr(shrink(gray, 0.5)) == []  # too small at half size: the fallback is what reads it
    assert decode_qr(gray) == [token]
    rec = Recorder()
    scanner = QrScanner(FileFrames([frame]), rec.on_code, rec.on_error).start()
    run_until(scanner, lambda: scanner.stats.frames_decoded >= 6)
    scanner.stop()
    assert rec.codes == [token]
    stats = scanner.stats  # the downscaled pass misses every frame; zxing-cpp reads it at full size
    assert stats.full_res_decodes == stats.frames_decoded and stats.zbar_decodes == 0


def test_frames_without_a_code_give_no_callback():
    rec = Recorder()
    source = FileFrames([scene(seed=s) for s in (3, 4, 5)], loop=False)
    scanner = QrScanner(source, rec.on_code, rec.on_error).start()
    assert scanner.wait(10)  # a finite source ends the scan quietly
    assert rec.codes == [] and rec.errors == []
    stats = scanner.stats  # every frame gets both zxing-cpp passes, one in three (the first) pyzbar too
    assert (stats.frames_decoded, stats.full_res_decodes, stats.zbar_decodes) == (3, 3, 1)
    assert not scanner.running


def test_two_codes_in_one_frame_are_both_reported(key, token):
    other = issue_token(key, "P0009999", now=NOW, ttl_s=300)
    rec = Recorder()
    source = FileFrames([scene([(token, 300, 100, 100), (other, 300, 800, 300)])], loop=False)
    scanner = QrScanner(source, rec.on_code, rec.on_error).start()
    assert scanner.wait(10)
    assert sorted(rec.codes) == sorted([token, other])


def test_a_code_is_reported_again_only_after_it_was_out_of_sight_for_dedupe_s(token):
    with_code, empty = scene([(token, 320, 480, 200)]), scene(seed=6)
    # 5 frames with the code, at least 0.3 s without it, then the code again; decoding can only slow a
    # frame down, which makes the gap longer and keeps each run of sightings well within dedupe_s.
    frames = [with_code] * 5 + [empty] * 30 + [with_code] * 5
    rec = Recorder()
    scanner = QrScanner(FileFrames(frames, loop=False, fps=100), rec.on_code, rec.on_error, dedupe_s=0.2).start()
    assert scanner.wait(20)
    assert rec.codes == [token, token]


def test_every_nth_frame_is_decoded_and_the_preview_gets_a_small_copy(token):
    frame = scene([(token, 320, 480, 200)])
    previews: list[tuple[tuple, bool]] = []
    rec = Recorder()

    def preview(image: np.ndarray) -> None:
        previews.append((image.shape, np.shares_memory(image, frame)))

    scanner = QrScanner(FileFrames([frame] * 9, loop=False), rec.on_code, rec.on_error, every_nth=3,
                        preview=preview).start()
    assert scanner.wait(10)
    assert scanner.stats.frames_read == 9 and scanner.stats.frames_decoded == 3
    assert previews == [((360, 640, 3), False)] * 9
    assert rec.codes == [token]


def test_a_failing_source_gives_one_error_and_the_thread_ends():
    class Unplugged:
        def __init__(self):
            self.reads = 0
            self.closed = False

        def read(self):
            self.reads += 1
            if self.reads > 3:
                raise OSError("device disconnected")
            return scene(seed=7)

        def close(self):
            self.closed = True

    source = Unplugged()
    rec = Recorder()
    scanner = QrScanner(source, rec.on_code, rec.on_error).start()
    assert scanner.wait(10)
    assert rec.errors == ["camera stopped delivering frames: OSError: device disconnected"]
    assert source.reads == 4 and source.closed
    assert not scanner.running
    scanner.stop()  # still fine afterwards
    assert len(rec.errors) == 1


def test_a_source_that_returns_nothing_gives_one_error_after_stall_s():
    class Silent:
        closed = False

        def read(self):
            return None

        def close(self):
            self.closed = True

    source = Silent()
    rec = Recorder()
    t0 = time.monotonic()
    scanner = QrScanner(source, rec.on_code, rec.on_error, stall_s=0.3).start()
    assert scanner.wait(5)
    assert 0.3 <= time.monotonic() - t0 < 3
    assert len(rec.errors) == 1 and rec.errors[0].startswith("camera stopped delivering frames (no frame for")
    assert source.closed and rec.codes == []


def test_opencv_camera_that_cannot_open_raises_camera_unavailable(tmp_path):
    with pytest.raises(CameraUnavailable, match="could not be opened"):
        OpenCvCamera(str(tmp_path / "no-such-camera"))


def test_opencv_camera_that_stops_delivering_raises_after_several_failed_reads(tmp_path):
    path = tmp_path / "three.avi"  # a real capture through cv2.VideoCapture: three frames, then nothing
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 240))
    for i in range(3):
        writer.write(np.full((240, 320, 3), 60 * i, np.uint8))
    writer.release()
    camera = OpenCvCamera(str(path), max_failures=4)
    assert isinstance(camera, FrameSource)
    assert camera.size == (320, 240)
    assert [camera.read().shape for _ in range(3)] == [(240, 320, 3)] * 3
    assert [camera.read() for _ in range(3)] == [None] * 3
    with pytest.raises(CameraUnavailable, match="camera stopped delivering frames"):
        camera.read()
    camera.close()
    camera.close()
    assert camera.size == (0, 0)

    rec = Recorder()  # and through the scanner: one on_error, the thread ends
    scanner = QrScanner(OpenCvCamera(str(path), max_failures=4), rec.on_code, rec.on_error).start()
    assert scanner.wait(10)
    assert len(rec.errors) == 1 and "camera stopped delivering frames" in rec.errors[0]


def test_file_frames_reads_image_files_and_ends(tmp_path, token):
    frame = scene([(token, 320, 480, 200)])
    path = tmp_path / "code.png"
    assert cv2.imwrite(str(path), frame)
    source = FileFrames([path], loop=False)
    first = source.read()
    assert np.array_equal(first, frame)
    with pytest.raises(EndOfFrames):
        source.read()
    with pytest.raises(ValueError, match="cannot read an image"):
        FileFrames([tmp_path / "missing.png"])
    looping = FileFrames([frame])
    assert looping.read() is not looping.read()  # a fresh buffer each time, like a camera


def test_stop_joins_promptly(token):
    source = FileFrames([scene([(token, 320, 480, 200)]), scene(seed=8)], fps=30)
    rec = Recorder()
    scanner = QrScanner(source, rec.on_code, rec.on_error).start()
    run_until(scanner, lambda: scanner.stats.frames_read >= 5)
    t0 = time.monotonic()
    scanner.stop()
    assert time.monotonic() - t0 < 1.0  # at most the frame being decoded finishes
    assert not scanner.running and scanner.wait(0)
    with pytest.raises(CameraUnavailable):
        source.read()  # the scanner closed its source
    with pytest.raises(RuntimeError):
        scanner.start()
    assert rec.errors == []


def test_stop_from_inside_a_callback_does_not_deadlock(token):
    holder: list[QrScanner] = []
    rec = Recorder()

    def on_code(text: str) -> None:
        rec.on_code(text)
        holder[0].stop()

    scanner = QrScanner(FileFrames([scene([(token, 320, 480, 200)])]), on_code, rec.on_error)
    holder.append(scanner)
    scanner.start()
    assert scanner.wait(5)
    assert rec.codes == [token]


class TrackedFrame(np.ndarray):
    """An ndarray that can be weakly referenced, so the test can see whether anything still holds it."""


def test_no_frame_outlives_its_loop_iteration(token):
    base = scene([(token, 320, 480, 200)])
    refs: list[weakref.ref] = []
    alive_at_read: list[int] = []
    previews: list[np.ndarray] = []

    class Tracking:
        def read(self):
            alive_at_read.append(sum(r() is not None for r in refs))  # frames still held while we block here
            if len(refs) == 12:
                raise EndOfFrames
            frame = base.copy().view(TrackedFrame)
            refs.append(weakref.ref(frame))
            return frame

        def close(self):
            pass

    rec = Recorder()
    scanner = QrScanner(Tracking(), rec.on_code, rec.on_error, preview=previews.append).start()
    assert scanner.wait(10)
    scanner.stop()
    assert rec.codes == [token]
    assert len(refs) == 12 and alive_at_read == [0] * 13
    assert all(r() is None for r in refs)
    assert not any(isinstance(p, TrackedFrame) or p.shape == base.shape for p in previews)  # copies, downscaled
    held = [name for name, value in vars(scanner).items() if isinstance(value, np.ndarray)]
    assert held == []
    assert scanner._seen == {}  # scanned credentials are forgotten when the scan ends


def test_bad_arguments_are_refused():
    source = FileFrames([np.zeros((10, 10, 3), np.uint8)])
    with pytest.raises(ValueError):
        QrScanner(source, print, print, every_nth=0)
    with pytest.raises(ValueError):
        QrScanner(source, print, print, downscale=0)
    with pytest.raises(ValueError):
        QrScanner(source, print, print, downscale=1.5)
    with pytest.raises(ValueError):
        QrScanner(source, print, print, zbar_every=0)


def test_request_stop_returns_at_once_and_the_loop_ends_and_closes_its_source():
    class SlowCamera(FileFrames):
        closed = False

        def read(self):
            time.sleep(0.2)  # a read blocked in the driver
            return super().read()

        def close(self):
            self.closed = True

    source = SlowCamera([scene(seed=2)])
    scanner = QrScanner(source, Recorder().on_code, Recorder().on_error).start()
    time.sleep(0.05)
    started = time.monotonic()
    scanner.request_stop()
    assert time.monotonic() - started < 0.05  # the UI thread does not wait for the read
    assert scanner.wait(5) and not scanner.running and source.closed


# --- the decoder choice, on photographed-looking frames (tests/qr_frames.py) -------------------------------

def opencv(detector):
    def read(gray: np.ndarray) -> list[str]:
        ok, texts, *_ = detector.detectAndDecodeMulti(gray)
        return [t for t in texts if t] if ok else []
    return read


SINGLE_DECODERS = {"pyzbar": decode_qr_zbar, "zxing-cpp": decode_qr,
                   "OpenCV QRCodeDetector": opencv(cv2.QRCodeDetector()),
                   "OpenCV QRCodeDetectorAruco": opencv(cv2.QRCodeDetectorAruco())}


@pytest.fixture(scope="module")
def generated() -> list[qr_frames.QrFrame]:
    return list(qr_frames.frames(per_category=3, seed=2))  # a seed whose far and noisy cards need pyzbar


def test_the_scanner_reads_at_least_as_many_generated_cards_as_any_single_decoder(generated):
    cards = [f for f in generated if f.text is not None]
    single = {name: sum(f.text in read(to_gray(f.image)) for f in cards) for name, read in SINGLE_DECODERS.items()}
    # The scanner as it runs: each card held up for three frames (100 ms at 30 fps), so that one of them gets
    # the pyzbar pass when zxing-cpp reads none.
    rec = Recorder()
    frames = [f.image for f in generated for _ in range(3)]
    scanner = QrScanner(FileFrames(frames, loop=False), rec.on_code, rec.on_error).start()
    assert scanner.wait(60)
    assert rec.errors == [] and len(rec.codes) == len(set(rec.codes))
    assert set(rec.codes) <= {f.text for f in cards}  # nothing from the code-less frames, nothing garbled
    read = len(rec.codes)
    assert read >= max(single.values()), (read, single)
    # The pyzbar fallback earns its place: the scanner reads cards that zxing-cpp alone does not.
    assert read > single["zxing-cpp"], (read, single)
    assert scanner.stats.zbar_decodes > 0


def test_code_less_frames_report_nothing(generated):
    empty = [f for f in generated if f.text is None]
    assert len(empty) == 3
    for f in empty:
        result = read_qr(to_gray(f.image))
        assert result.texts == [] and result.full_res and result.zbar  # every pass ran and found nothing


def test_a_forged_card_is_read_but_not_valid():
    genuine = qr_frames.token(7)
    body, signature = genuine.rsplit(".", 1)
    forged = f"{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"  # someone else's signature
    texts = read_qr(to_gray(qr_frames.render("clean", 3, forged))).texts
    assert texts == [forged]  # the decoder reads what is there; the token check is what refuses it
    keys = TrustedKeys([qr_frames.signing_key().public_key()])
    assert verify_token(genuine, keys, now=qr_frames.NOW).ok
    result = verify_token(texts[0], keys, now=qr_frames.NOW)
    assert not result.ok and result.reason == "forged"


def test_a_garbled_card_reads_as_nothing_from_any_decoder():
    modules = qr_frames.qr_modules(qr_frames.token(8))
    n = modules.shape[0]
    rng = np.random.default_rng(8)
    damage = rng.random(modules.shape) < 0.3  # twice what error correction M repairs
    for r, c in ((4, 4), (4, n - 12), (n - 12, 4)):  # the finder patterns stay, so decoders do try
        damage[r:r + 8, c:c + 8] = False
    damage[:4, :] = damage[-4:, :] = damage[:, :4] = damage[:, -4:] = False  # and the quiet zone
    frame = to_gray(qr_frames.render_modules(modules ^ damage, seed=8))
    intact = to_gray(qr_frames.render_modules(modules, seed=8))
    assert read_qr(intact).texts == [qr_frames.token(8)]  # the same shot, undamaged, reads
    assert read_qr(frame).texts == []
    assert {name: read(frame) for name, read in SINGLE_DECODERS.items()} == {name: [] for name in SINGLE_DECODERS}


def test_the_generated_set_is_the_same_every_run_and_its_tokens_are_genuine():
    a, b = qr_frames.render("combined", 11, qr_frames.token(1)), qr_frames.render("combined", 11, qr_frames.token(1))
    assert a.shape == (720, 1280, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert not np.array_equal(a, qr_frames.render("combined", 12, qr_frames.token(1)))
    keys = TrustedKeys([qr_frames.signing_key().public_key()])
    result = verify_token(qr_frames.token(1), keys, now=qr_frames.NOW)
    assert result.ok and result.profile_id == "c-0001"
