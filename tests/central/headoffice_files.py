"""Head office's files for the central tests: a small chain in YAML and CSV, and a media file."""

from __future__ import annotations

from pathlib import Path

from media_samples import picture

HEADOFFICE = {
    "stores.csv": "store,region,devices\ns001,south,kiosk-1|sign-1\ns002,north,kiosk-2\n",
    "chain/products.yaml": """\
- sku: COF-001
  name: {en: Espresso, bg: Еспресо}
  category: coffee
- sku: PAS-001
  name: {en: Croissant, bg: Кроасан}
  category: bakery
  image: croissant.png
""",
    "chain/prices.csv": "sku,price_cents,currency\nCOF-001,180,EUR\nPAS-001,150,EUR\n",
    "chain/offers.yaml": """\
- id: OFF-1
  priority: 10
  channels: [kiosk, signage]
  title: {en: Espresso and croissant, bg: Еспресо и кроасан}
  sku: COF-001
""",
    "chain/signage.yaml": """\
content_items:
  - id: txt-welcome
    kind: text
    duration_s: 8
    text: {en: Welcome}
    valid_until: 2027-01-01
playlists:
  - id: pl-all-day
    items: [txt-welcome]
schedules:
  - id: sch-all
    playlist: pl-all-day
    priority: 1
""",
    "region/north/prices.csv": "sku,price_cents,currency\nCOF-001,170,EUR\n",
    "store/s001/inventory.csv": "sku,on_hand\nCOF-001,40\nPAS-001,12\n",
}


def write_headoffice(root: Path, files: dict[str, str] = HEADOFFICE) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "media").mkdir(exist_ok=True)
    (root / "media" / "croissant.png").write_bytes(picture("PNG", (64, 48)))  # a real one: devices decode it
    return root
