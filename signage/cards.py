"""Products' own pictures drawn with Pillow (a warm gradient, soft light, the drawn product) for the demo chain
and the player's soak. They carry no words: a screen shows them in any language with its own name and price.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFilter

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


def brand_logo(primary: str, accent: str, light: str, size: int = 512) -> bytes:
    """A round badge as a chain's logo (PNG, transparent around it): a steaming cup on the brand's colour, ringed
    in its accent. Drawn at four times the size and scaled down, for smooth edges."""
    rgb = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in (primary, accent, light)]
    back, ring, cup = rgb
    s = size * 4
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    c, r = s / 2, s * 0.47
    draw.ellipse([c - r, c - r, c + r, c + r], fill=back)
    draw.ellipse([c - r * 0.9, c - r * 0.9, c + r * 0.9, c + r * 0.9], outline=ring, width=round(s * 0.018))
    u = s * 0.16  # the cup's unit
    cx, cy = c - u * 0.15, c + u * 0.55
    draw.ellipse([cx - u * 1.55, cy + u * 0.55, cx + u * 1.85, cy + u * 1.0], fill=cup)  # saucer
    draw.ellipse([cx + u * 0.75, cy - u * 0.55, cx + u * 1.6, cy + u * 0.3], outline=cup, width=round(u * 0.2))
    draw.chord([cx - u * 1.1, cy - u * 1.3, cx + u * 1.1, cy + u * 0.85], 0, 180, fill=cup)  # the cup
    draw.rectangle([cx - u * 1.1, cy - u * 0.25, cx + u * 1.1, cy - u * 0.2], fill=cup)
    for k in (-1, 0, 1):  # steam
        x0 = cx + k * u * 0.55
        points = [(x0 + math.sin(t / 10 * math.pi * 2) * u * 0.16, cy - u * 0.55 - t / 10 * u * 1.5)
                  for t in range(11)]
        draw.line(points, fill=ring, width=round(u * 0.14), joint="curve")
    out = io.BytesIO()
    image.resize((size, size), Image.LANCZOS).save(out, "PNG", optimize=True)
    return out.getvalue()
