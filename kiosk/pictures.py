"""Products' pictures on the offer cards and the attract poster, held as one texture per picture and size, at the
size they are drawn.

Kivy's ``Image`` keeps a file's texture at the file's own size (a product's picture is 960x540) for every box it
is drawn in, and its caches keep the loader beside it. Here a picture is decoded with Pillow
straight to the size its largest box needs (a JPEG is decoded at a fraction of its size when that is enough),
turned into a texture, and the pixels are dropped; every widget showing that picture at that size (the cards of a
row, a card refilled for the next shopper) draws the same texture, which lives as long as one of them draws it. A
box that changes size (a larger window, a layout settling) loads it at the new size, never past the file's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from pathlib import Path
from weakref import WeakValueDictionary

from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.uix.image import Image
from PIL import Image as PILImage

_drawn: WeakValueDictionary[tuple[str, tuple[int, int]], Texture] = WeakValueDictionary()


def needed_size(native: tuple[int, int], box: tuple[float, float], *, cover: bool) -> tuple[int, int]:
    """The picture's size (never past ``native``) that fills ``box`` (``cover``) or fits in it; a box side of 0
    is one that follows the picture (a logo as wide as its height gives it)."""
    scales = [side / own for side, own in zip(box, native, strict=True) if side > 0]
    if not scales:
        return native
    scale = min(1.0, max(scales) if cover else min(scales))
    return max(1, math.ceil(native[0] * scale)), max(1, math.ceil(native[1] * scale))


def picture_texture(path: str, box: tuple[float, float], *, cover: bool) -> Texture:
    """The texture of the picture at ``path`` at the size ``box`` needs: the one already drawn at that size, else
    the picture decoded at that size."""
    with PILImage.open(path) as image:  # reads the header only, unless the texture is to be made
        want = needed_size(image.size, box, cover=cover)
        texture = _drawn.get((path, want))
        if texture is not None:
            return texture
        mode = "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
        image.draft(mode, want)  # a JPEG decodes at 1/2, 1/4 or 1/8 of its size when that still covers ``want``
        pixels = image.convert(mode)
        if pixels.size != want:
            pixels = pixels.resize(want, PILImage.LANCZOS)
    texture = Texture.create(size=want, colorfmt=mode.lower())
    texture.blit_buffer(pixels.tobytes(), colorfmt=mode.lower(), bufferfmt="ubyte")
    texture.flip_vertical()
    _drawn[path, want] = texture
    return texture


class Picture(Image):
    """An ``Image`` whose ``source`` is drawn from ``picture_texture``: at the size of its box."""

    def __init__(self, **kwargs):
        self._refit = Clock.create_trigger(self.texture_update)
        self.fbind("size", self._refit)
        self.fbind("fit_mode", self._refit)
        super().__init__(**kwargs)

    def texture_update(self, *largs: object) -> None:
        if not self.source or not Path(self.source).is_file():
            self.texture = None
            return
        self.texture = picture_texture(self.source, (self.width, self.height), cover=self.fit_mode == "cover")


@functools.cache
def _malloc_trim():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    return getattr(libc, "malloc_trim", None)  # glibc's; another C library has none


def give_back_freed_memory() -> None:
    """Hand the C heap's free pages back to the system. glibc keeps them: the pixels a picture is decoded into and
    a label's text surfaces, freed, leave some 10 MB of holes in the heap that the next shopper's session does not
    fill. Between two shoppers, so no frame waits for it."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
