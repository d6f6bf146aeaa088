"""Pictures and videos for the media check's tests, made here: Pillow's pictures, videos written with ffpyplayer's
own writer (the FFmpeg the screens play on), and the files a person or an attacker might upload instead."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw


def picture(fmt: str, size: tuple[int, int] = (640, 360)) -> bytes:
    """A picture with some detail (a gradient and a box), in Pillow's ``fmt`` (JPEG, PNG, WEBP)."""
    image = Image.new("RGB", size, (40, 90, 160))
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 8):
        draw.line([(x, 0), (x, size[1])], fill=(x % 256, 120, 200 - x % 200))
    draw.rectangle([size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2], fill=(250, 200, 40))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def bomb_png(side: int = 40_000) -> bytes:
    """A few hundred bytes that claim a ``side``×``side`` picture: the header of a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = zlib.compress(b"\x00" * (side // 8 + 1) * 64, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def video(path: Path, codec: str = "libx264", size: tuple[int, int] = (160, 90), frames: int = 20) -> Path:
    """A short video with moving colour, written by ffpyplayer's MediaWriter at 10 frames a second."""
    from ffpyplayer.pic import Image as Frame
    from ffpyplayer.writer import MediaWriter

    w, h = size
    writer = MediaWriter(str(path), [{"pix_fmt_in": "rgb24", "pix_fmt_out": "yuv420p", "width_in": w, "height_in": h,
                                      "codec": codec, "frame_rate": (10, 1)}])
    row = bytes(range(256)) * (w * 3 // 256 + 2)
    for n in range(frames):
        plane = b"".join(row[(y + n * 5) % 256:][:w * 3] for y in range(h))
        writer.write_frame(img=Frame(plane_buffers=[plane], pix_fmt="rgb24", size=(w, h)), pts=n / 10, stream=0)
    writer.close()
    return path
