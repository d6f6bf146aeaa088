"""Product cards: 16:9 promotional pictures drawn with Pillow (a gradient, soft light, the product and its
price), for the demo chain's signage and the player's soak; and the products' own pictures, the same
light with a drawn product and no words, which a screen can show in any language with its own price.
"""

from __future__ import annotations

import io
import math
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


# (file, what is drawn, top colour, bottom colour): the pictures products.json names for the kiosk's cards
PRODUCT_PICTURES = [
    ("croissant", "crescent", (196, 120, 52), (92, 44, 20)),
    ("cappuccino", "cup", (120, 78, 56), (38, 24, 18)),
    ("banitsa", "spiral", (214, 164, 76), (120, 70, 24)),
    ("bob-chorba", "bowl", (160, 64, 36), (62, 22, 14)),
    ("lemonade", "glass", (222, 196, 72), (96, 128, 40)),
    ("tikvenik", "spiral", (206, 116, 40), (84, 40, 20)),
]
PICTURE_SIZE = (960, 540)


def _font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    from importlib.util import find_spec

    fonts = Path(find_spec("kivy").origin).parent / "data" / "fonts"  # Roboto, with Cyrillic; no Kivy import
    return ImageFont.truetype(str(fonts / ("Roboto-Bold.ttf" if bold else "Roboto-Regular.ttf")), size)


def product_card(headline: str, line: str, price: str, top: tuple[int, int, int],
                 bottom: tuple[int, int, int], size: tuple[int, int] = SIZE) -> bytes:
    """A 16:9 promotional picture: a warm gradient, soft light, the product, its price in a round tag (JPEG)."""
    w, h = size
    image = _backdrop(size, top, bottom)
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


def _backdrop(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    """A warm vertical gradient with a soft light at the top right."""
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
    glow = glow.filter(ImageFilter.GaussianBlur(90 * w / 1280))
    return Image.composite(Image.new("RGB", size, (255, 236, 200)), image, glow)


def product_picture(motif: str, top: tuple[int, int, int], bottom: tuple[int, int, int],
                    size: tuple[int, int] = PICTURE_SIZE) -> bytes:
    """A product's own picture (JPEG): the cards' light and a drawn product, and no words to translate."""
    big = (size[0] * 2, size[1] * 2)  # drawn at twice the size and scaled down: smooth edges
    image = _backdrop(big, top, bottom)
    draw = ImageDraw.Draw(image, "RGBA")
    w, h = big
    cx, cy, r = w * 0.5, h * 0.56, h * 0.3
    draw.ellipse([cx - r * 1.5, cy + r * 0.55, cx + r * 1.5, cy + r * 1.05], fill=(0, 0, 0, 60))  # its shadow
    MOTIFS[motif](draw, cx, cy, r)
    out = io.BytesIO()
    image.resize(size, Image.LANCZOS).save(out, "JPEG", quality=88, optimize=True)
    return out.getvalue()


CREAM = (255, 246, 232)
GOLD, CRUST = (226, 160, 72), (168, 96, 36)


def _cup(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    draw.ellipse([cx - r * 1.4, cy + r * 0.35, cx + r * 1.4, cy + r * 0.9], fill=CREAM)  # saucer
    draw.ellipse([cx + r * 0.55, cy - r * 0.55, cx + r * 1.25, cy + r * 0.15], outline=CREAM, width=round(r * 0.16))
    draw.chord([cx - r * 0.9, cy - r * 1.1, cx + r * 0.9, cy + r * 0.75], 0, 180, fill=CREAM)  # the cup
    draw.ellipse([cx - r * 0.9, cy - r * 0.45, cx + r * 0.9, cy - r * 0.1], fill=(236, 222, 204))
    draw.ellipse([cx - r * 0.8, cy - r * 0.41, cx + r * 0.8, cy - r * 0.14], fill=(150, 92, 56))  # coffee
    draw.ellipse([cx - r * 0.5, cy - r * 0.36, cx + r * 0.5, cy - r * 0.19], fill=(240, 222, 196))  # foam


def _glass(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    draw.rounded_rectangle([cx - r * 0.55, cy - r * 1.15, cx + r * 0.55, cy + r * 0.8], r * 0.12,
                           fill=(255, 236, 140, 210), outline=CREAM, width=round(r * 0.05))
    for i in range(3):  # ice
        x = cx - r * 0.3 + i * r * 0.25
        draw.rounded_rectangle([x, cy - r * (0.6 + 0.2 * i), x + r * 0.22, cy - r * (0.4 + 0.2 * i)], r * 0.04,
                               fill=(255, 255, 255, 120))
    lx, ly, lr = cx + r * 0.5, cy - r * 1.1, r * 0.38  # a lemon slice on the rim
    draw.ellipse([lx - lr, ly - lr, lx + lr, ly + lr], fill=(250, 220, 60), outline=CREAM, width=round(r * 0.05))
    for k in range(6):
        a = k * math.pi / 3
        draw.line([lx, ly, lx + math.cos(a) * lr * 0.9, ly + math.sin(a) * lr * 0.9], fill=CREAM,
                  width=round(r * 0.03))
    draw.ellipse([cx - r * 0.75, cy - r * 1.35, cx - r * 0.35, cy - r * 1.1], fill=(90, 150, 70))  # mint


def _bowl(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    draw.chord([cx - r * 1.3, cy - r * 0.9, cx + r * 1.3, cy + r * 0.85], 0, 180, fill=CREAM)
    draw.ellipse([cx - r * 1.3, cy - r * 0.3, cx + r * 1.3, cy + r * 0.1], fill=(236, 222, 204))
    draw.ellipse([cx - r * 1.18, cy - r * 0.25, cx + r * 1.18, cy + r * 0.05], fill=(176, 84, 40))  # the soup
    for i in range(14):  # beans and parsley
        x = cx - r * 0.95 + (i * 0.61 % 1) * r * 1.9
        y = cy - r * 0.18 + (i * 0.37 % 1) * r * 0.15
        colour = (238, 214, 176) if i % 3 else (96, 150, 64)
        draw.ellipse([x - r * 0.07, y - r * 0.035, x + r * 0.07, y + r * 0.035], fill=colour)


def _crescent(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    for i in range(7):  # the croissant's rolls, small at the tips, big in the middle
        t = (i - 3) / 3
        a = math.pi * (0.5 + 0.42 * t)
        x, y = cx + math.cos(a) * r * 0.9, cy - r * 0.6 + math.sin(a) * r * 0.8
        size = r * (0.55 - 0.28 * abs(t))
        draw.ellipse([x - size, y - size * 0.8, x + size, y + size * 0.8], fill=GOLD if i % 2 else (212, 140, 56),
                     outline=CRUST, width=round(r * 0.03))


def _spiral(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    draw.ellipse([cx - r * 1.25, cy - r * 0.75, cx + r * 1.25, cy + r * 0.75], fill=GOLD, outline=CRUST,
                 width=round(r * 0.04))
    points = [(cx + math.cos(a) * r * 1.15 * a / 19, cy + math.sin(a) * r * 0.68 * a / 19)
              for a in (k * 0.1 for k in range(190))]
    draw.line(points, fill=CRUST, width=round(r * 0.06), joint="curve")  # the rolled filo
    for i in range(40):  # sugar
        x = cx + (i * 0.618 % 1 - 0.5) * r * 1.9
        y = cy + (i * 0.755 % 1 - 0.5) * r * 1.1
        draw.ellipse([x - r * 0.02, y - r * 0.02, x + r * 0.02, y + r * 0.02], fill=(255, 250, 240, 200))


MOTIFS = {"cup": _cup, "glass": _glass, "bowl": _bowl, "crescent": _crescent, "spiral": _spiral}
