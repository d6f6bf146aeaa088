"""Product cards: 16:9 promotional pictures drawn with Pillow (a gradient, soft light, the product and its
price), for the demo chain's signage and the player's soak.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIZE = (1280, 720)

# (file, headline, sub line, price, top colour, bottom colour)
CARDS = [
    ("croissant", "Butter croissant", "Baked here at 6:30 every morning", "€1.80", (196, 120, 52), (92, 44, 20)),
    ("cappuccino", "Cappuccino", "Our house blend, with oat milk at no extra charge", "€2.60", (120, 78, 56),
     (38, 24, 18)),
    ("banitsa", "Banitsa with sirene", "Crisp filo, Bulgarian white cheese", "€1.70", (214, 164, 76), (120, 70, 24)),
    ("bob-chorba", "Bob chorba", "Bean soup the way grandmother made it", "€3.60", (160, 64, 36), (62, 22, 14)),
    ("lemonade", "Homemade lemonade", "Fresh lemons, mint, a little honey", "€3.00", (222, 196, 72), (96, 128, 40)),
    ("tikvenik", "Tikvenik", "Pumpkin, walnuts and cinnamon in filo", "€2.40", (206, 116, 40), (84, 40, 20)),
]


def _font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    from importlib.util import find_spec

    fonts = Path(find_spec("kivy").origin).parent / "data" / "fonts"  # Roboto, with Cyrillic; no Kivy import
    return ImageFont.truetype(str(fonts / ("Roboto-Bold.ttf" if bold else "Roboto-Regular.ttf")), size)


def product_card(headline: str, line: str, price: str, top: tuple[int, int, int],
                 bottom: tuple[int, int, int], size: tuple[int, int] = SIZE) -> bytes:
    """A 16:9 promotional picture: a warm gradient, soft light, the product, its price in a round tag (JPEG)."""
    w, h = size
    image = Image.new("RGB", size)
    px = image.load()
    for y in range(h):
        t = y / (h - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        for x in range(w):
            px[x, y] = colour
    glow = Image.new("L", size, 0)
    ImageDraw.Draw(glow).ellipse([w * 0.48, -h * 0.35, w * 1.25, h * 0.9], fill=90)
    image = Image.composite(Image.new("RGB", size, (255, 236, 200)), image, glow.filter(ImageFilter.GaussianBlur(90)))
    draw = ImageDraw.Draw(image)
    scale = w / 1280
    draw.text((80 * scale, 250 * scale), headline, font=_font(round(92 * scale)), fill=(255, 248, 236))
    draw.text((84 * scale, 372 * scale), line, font=_font(round(38 * scale), bold=False), fill=(255, 236, 210))
    r = 120 * scale
    cx, cy = w - 230 * scale, h - 210 * scale
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 248, 236))
    draw.text((cx, cy), price, font=_font(round(64 * scale)), fill=(140, 58, 30), anchor="mm")
    draw.rectangle([80 * scale, 212 * scale, 200 * scale, 222 * scale], fill=(246, 176, 72))
    draw.text((84 * scale, h - 90 * scale), "DEMO COFFEE & BAKERY", font=_font(round(28 * scale)),
              fill=(255, 236, 210))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=86, optimize=True)
    return out.getvalue()
