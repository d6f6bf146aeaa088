"""Would a screen show this file? The media check both ends run: head office's media library before it takes an
upload, and the device's download (``sync.media``) before a file lands in its media folder.

The file is decoded with the screens' own libraries: Pillow for pictures (its header, ``verify`` and a full
load, with a pixel limit so that a small file claiming a huge picture is refused before it is decoded), and
ffpyplayer (the FFmpeg the signage player's videos play on) for videos: the codec, the size, the duration and a
first frame. The kind comes from the file's first bytes, never from its name. Decoding runs in a child process
(``python -m sync.protocol.media_check FILE``) with a time limit, so that a file made to crash or hang a
decoder takes down that child, never the console or the screen's agent. Every refusal is one sentence a
marketer can act on ("This file is a HEIC photo; screens show JPEG, PNG and WebP.").
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

PICTURES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}  # Pillow's format -> MIME
# What the screens' FFmpeg decodes fast enough in software (named in the refusal below).
CODECS = {"h264": "H.264", "vp8": "VP8", "vp9": "VP9"}
CONTAINERS = {"mp4": "video/mp4", "webm": "video/webm"}
MAX_SIDE = 4096  # a picture's longer side: the screens' largest texture
MAX_PIXELS = MAX_SIDE * MAX_SIDE
MAX_VIDEO = (1920, 1080)  # either way round: a portrait screen plays 1080x1920
MAX_FPS = 60
CHECK_TIMEOUT_S = 30.0
CHILD_MEMORY = 1 << 30  # address space: a 4096×4096 picture or FFmpeg's threads on a 1080p video need far less
FIRST_FRAME_S = 10.0
POSTER_SIDE = 320
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
SCREENS_SHOW = "screens show JPEG, PNG and WebP pictures, and MP4 or WebM videos"
NOT_DECODED = "The file is not a picture or a video: it could not be decoded."
# Formats a person may well try, by their first bytes, named in words.
OTHER_FORMATS = ((b"GIF8", "a GIF picture"), (b"BM", "a BMP picture"), (b"II*\x00", "a TIFF picture"),
                 (b"MM\x00*", "a TIFF picture"), (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"),
                 (b"8BPS", "a Photoshop file"), (b"OggS", "an Ogg file"), (b"\x00\x00\x01\xba", "an MPEG-2 video"))
HEIF_BRANDS = {b"heic": "a HEIC photo", b"heix": "a HEIC photo", b"hevc": "a HEIC photo", b"heim": "a HEIC photo",
               b"heis": "a HEIC photo", b"mif1": "a HEIF picture", b"msf1": "a HEIF picture",
               b"avif": "an AVIF picture", b"avis": "an AVIF picture"}


class MediaRefused(ValueError):
    """A screen cannot show this file; the message says why in plain words."""


@dataclass(frozen=True)
class MediaInfo:
    kind: str  # image | video
    format: str  # what a person calls it: "JPEG picture", "H.264 video (MP4)"
    mime: str
    width: int
    height: int
    duration_s: float | None = None  # videos

    @property
    def resolution(self) -> str:
        return f"{self.width}×{self.height}"


def check_media(path: str | Path, *, poster: str | Path | None = None,
                timeout_s: float = CHECK_TIMEOUT_S) -> MediaInfo:
    """What ``path`` is, decoded in a child process; MediaRefused with the reason when a screen cannot show it.
    ``poster``: where to write a JPEG of the picture, or of the video's first frame, at most 320 px a side."""
    args = [sys.executable, "-m", "sync.protocol.media_check", str(path)] + ([str(poster)] if poster else [])
    # The child imports this very code, wherever the caller runs from.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (PACKAGE_ROOT, os.environ.get("PYTHONPATH"))))}
    try:
        done = subprocess.run(args, capture_output=True, timeout=timeout_s, check=False, env=env)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise MediaRefused(f"The file could not be decoded in {timeout_s:g} s; a screen would not show it.") from None
    try:
        answer = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise MediaRefused(NOT_DECODED) from None  # the decoder died on it
    if "refused" in answer:
        raise MediaRefused(answer["refused"])
    return MediaInfo(**answer["ok"])


def inspect(path: Path, poster: Path | None = None) -> MediaInfo:
    """The check itself, in this process (the child's work); MediaRefused when a screen cannot show it."""
    with open(path, "rb") as f:
        head = f.read(64)
    if head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n" or head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _picture(path, poster)
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in HEIF_BRANDS:
            raise MediaRefused(f"This file is {HEIF_BRANDS[brand]}; {SCREENS_SHOW}.")
        return _video(path, "mp4", poster)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return _video(path, "webm", poster)
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        raise MediaRefused(f"This file is an AVI video; {SCREENS_SHOW}.")
    for magic, words in OTHER_FORMATS:
        if head.startswith(magic):
            raise MediaRefused(f"This file is {words}; {SCREENS_SHOW}.")
    raise MediaRefused(NOT_DECODED)


def _picture(path: Path, poster: Path | None) -> MediaInfo:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    too_big = (f"The picture is too big to open safely: more than {MAX_PIXELS / 1e6:.1f} million pixels"
               f" (screens show pictures up to {MAX_SIDE}×{MAX_SIDE}).")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as im:
                fmt, (w, h) = im.format, im.size
                if fmt not in PICTURES:
                    raise MediaRefused(f"This file is a {fmt} picture; {SCREENS_SHOW}.")
                if max(w, h) > MAX_SIDE:
                    raise MediaRefused(f"The picture is {w}×{h} pixels; screens show pictures up to {MAX_SIDE}"
                                       f" pixels on a side. Make it smaller and upload it again.")
                im.verify()
            with Image.open(path) as im:
                im.load()  # the whole picture: a truncated or damaged one fails here
                if poster:
                    _save_poster(im, poster)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise MediaRefused(too_big) from None
        except MediaRefused:
            raise
        except Exception:  # noqa: BLE001 - whatever Pillow raises on a damaged file, the answer is the same
            raise MediaRefused("The picture is damaged or cut short: it could not be decoded to the end.") from None
    words = {"WEBP": "WebP"}.get(fmt, fmt)
    return MediaInfo("image", f"{words} picture", PICTURES[fmt], w, h)


def _video(path: Path, container: str, poster: Path | None) -> MediaInfo:
    from ffpyplayer.player import MediaPlayer
    from ffpyplayer.tools import set_log_callback, set_loglevel

    lines: list[str] = []
    set_loglevel("info")  # av_dump_format's lines name the codec; ffpyplayer's metadata does not
    set_log_callback(lambda message, level: lines.append(message))
    player = MediaPlayer(str(path), ff_opts={"an": True, "sn": True, "stats": True, "out_fmt": "rgb24"},
                         loglevel="info")
    frame, deadline = None, time.monotonic() + FIRST_FRAME_S
    try:
        while frame is None and time.monotonic() < deadline:
            frame, state = player.get_frame()
            if state == "eof":
                break
            if frame is None:
                time.sleep(0.01)
        meta = player.get_metadata()
    finally:
        player.close_player()
    text = "".join(lines)
    found = re.search(r"Video: (\w+)", text)
    codec = found.group(1) if found else ""
    if codec and codec not in CODECS:
        raise MediaRefused(f"The video is {_codec_words(codec)}; screens play H.264, VP8 and VP9 videos."
                           " Export it as H.264 (MP4) and upload it again.")
    w, h = meta["src_vid_size"]
    if max(w, h) > max(MAX_VIDEO) or min(w, h) > min(MAX_VIDEO):
        raise MediaRefused(f"The video is {_size_words(w, h)}; screens play up to {MAX_VIDEO[0]}×{MAX_VIDEO[1]}."
                           " Export it at 1080p and upload it again.")
    if frame is None or not codec:
        raise MediaRefused("The video could not be decoded: no picture came out of it.")
    num, den = meta.get("frame_rate") or (0, 1)
    if den and num / den > MAX_FPS:
        raise MediaRefused(f"The video has {num / den:.0f} frames a second; screens play up to {MAX_FPS}.")
    duration = meta.get("duration") or 0.0
    if duration <= 0:
        raise MediaRefused("The video does not say how long it is; a screen could not schedule it.")
    if poster:
        from PIL import Image

        image = frame[0]
        _save_poster(Image.frombytes("RGB", image.get_size(), bytes(image.to_bytearray()[0])), poster)
    return MediaInfo("video", f"{CODECS[codec]} video ({container.upper() if container == 'mp4' else 'WebM'})",
                     CONTAINERS[container], w, h, round(duration, 2))


def _codec_words(codec: str) -> str:
    return {"hevc": "H.265/HEVC", "av1": "AV1", "prores": "Apple ProRes", "mpeg4": "MPEG-4 Part 2",
            "mpeg2video": "MPEG-2", "mjpeg": "Motion JPEG"}.get(codec, codec.upper())


def _size_words(w: int, h: int) -> str:
    side = max(w, h)
    name = "8K" if side >= 7680 else "5K" if side >= 5120 else "4K" if side >= 3840 else "1440p" if side >= 2560 \
        else f"{w}×{h}"
    return name if name == f"{w}×{h}" else f"{name} ({w}×{h})"


def _save_poster(image: object, poster: Path) -> None:
    small = image.convert("RGB")
    small.thumbnail((POSTER_SIDE, POSTER_SIDE))
    small.save(poster, "JPEG", quality=80)


def main(argv: list[str]) -> int:
    """The child: one line of JSON, ``{"ok": {...}}`` or ``{"refused": "..."}``. A decoder that asks for more
    than ``CHILD_MEMORY`` fails here, before the screen's or the console's process notices anything."""
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    try:
        info = inspect(Path(argv[0]), Path(argv[1]) if len(argv) > 1 else None)
        answer: dict = {"ok": asdict(info)}
    except MediaRefused as exc:
        answer = {"refused": str(exc)}
    except OSError:
        answer = {"refused": "The file could not be read."}
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
