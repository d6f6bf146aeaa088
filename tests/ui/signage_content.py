"""Signage content for the tests: generated images on disk under their sha256, and bundles with layouts,
playlists, schedules and templates, applied straight into a device cache."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, ImageDraw

from sync.cache import Cache
from sync.cache.bundles import apply_bundle
from sync.protocol.content import validate


def image_bytes(label: str, colour: tuple[int, int, int], size: tuple[int, int] = (640, 360)) -> bytes:
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    for i in range(0, size[0], 40):
        draw.line([(i, 0), (i + size[1], size[1])], fill=tuple(min(255, c + 30) for c in colour), width=8)
    draw.text((24, 24), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def store_media(media_dir: Path, data: bytes) -> str:
    """Put ``data`` where the agent's media fetcher would: media_dir/<sha256>. Returns the sha256."""
    sha = hashlib.sha256(data).hexdigest()
    media_dir.mkdir(parents=True, exist_ok=True)
    (media_dir / sha).write_bytes(data)
    return sha


def media_entry(sha: str, data: bytes) -> dict:
    return {"sha256": sha, "url": f"http://127.0.0.1:9/{sha}", "size": len(data), "mime": "image/png"}


def apply(cache: Cache, content: dict, version: int, *, at: float, scope: str = "chain") -> None:
    """A snapshot bundle of ``content`` for ``scope``, applied at ``at`` (unix seconds)."""
    apply_bundle(cache, stream=scope, scope=scope, version=version, sha256=f"v{version}", mode="snapshot",
                 content=validate(content), at=at)


def week_content(media_dir: Path) -> dict:
    """A store's week: breakfast images and slides 06:00-11:00, lunch from 11:00, an overnight loop, a layout
    with a menu board, a clock and a ticker."""
    pics = {name: image_bytes(name, colour) for name, colour in
            (("croissant", (170, 90, 40)), ("cappuccino", (110, 70, 50)), ("soup", (150, 60, 30)))}
    shas = {name: store_media(media_dir, data) for name, data in pics.items()}
    return {
        "layouts": [{"id": "main-side", "orientation": "landscape", "zones": [
            {"id": "main", "kind": "playlist", "x": 0, "y": 0, "w": 0.64, "h": 0.88},
            {"id": "side", "kind": "menu_board", "x": 0.64, "y": 0, "w": 0.36, "h": 0.88},
            {"id": "ticker", "kind": "ticker", "x": 0, "y": 0.88, "w": 0.8, "h": 0.12, "playlist": "pl-ticker"},
            {"id": "clock", "kind": "clock", "x": 0.8, "y": 0.88, "w": 0.2, "h": 0.12},
        ]}],
        "text_templates": [{"id": "promo", "title": {"en": "{product} {price}"}, "body": {"en": "{text}"},
                            "background": "#fbf3e6", "foreground": "#2b1f1a", "accent": "#e38c2e"}],
        "content_items": [
            {"id": "img-croissant", "kind": "image", "media": shas["croissant"], "duration_s": 5},
            {"id": "img-cappuccino", "kind": "image", "media": shas["cappuccino"], "duration_s": 5},
            {"id": "img-soup", "kind": "image", "media": shas["soup"], "duration_s": 5},
            {"id": "txt-combo", "kind": "text", "template": "promo", "duration_s": 5,
             "vars": {"product": "Cappuccino + croissant", "price": "€3.90"},
             "text": {"en": "Every morning until 11:00", "bg": "Всяка сутрин до 11:00"}},
            {"id": "txt-night", "kind": "text", "duration_s": 5, "text": {"en": "Open all night: hot drinks"}},
            {"id": "txt-wifi", "kind": "text", "duration_s": 5, "text": {"en": "Free Wi-Fi: DemoCoffee-Guest"}},
        ],
        "playlists": [
            {"id": "pl-breakfast", "order": "sequential", "items": ["img-croissant", "txt-combo", "img-cappuccino"]},
            {"id": "pl-lunch", "order": "sequential", "items": ["img-soup", {"item": "txt-wifi", "duration_s": 3}]},
            {"id": "pl-night", "order": "sequential", "items": ["txt-night"]},
            {"id": "pl-default", "order": "sequential", "items": ["txt-wifi"]},
            {"id": "pl-ticker", "items": ["txt-wifi", "txt-night"]},
        ],
        "schedules": [
            {"id": "sch-breakfast", "playlist": "pl-breakfast", "priority": 10,
             "weekdays": ["mon", "tue", "wed", "thu", "fri"], "dayparts": [{"from": "06:00", "to": "11:00"}]},
            {"id": "sch-lunch", "playlist": "pl-lunch", "priority": 10, "dayparts": [{"from": "11:00", "to": "15:00"}]},
            {"id": "sch-night", "playlist": "pl-night", "priority": 10, "dayparts": [{"from": "22:00", "to": "02:00"}]},
            {"id": "sch-default", "playlist": "pl-default", "default": True},
        ],
        "media": [media_entry(shas[n], pics[n]) for n in pics],
    }
