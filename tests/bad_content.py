"""Content a head-office marketer can get wrong (issue 13): each kind, as a chain bundle over ``sample_content``."""

from __future__ import annotations

import copy

from support import sample_content


def _offer(**fields: object):
    def change(content: dict) -> None:
        content["offers"][0].update(fields)
    return change


def _price(**fields: object):
    def change(content: dict) -> None:
        content["prices"].append({"sku": "SKU00000", "price_cents": 100, "currency": "EUR", **fields})
        del content["prices"][0]
    return change


def _schedule(content: dict) -> None:
    content.update(content_items=[{"id": "txt-x", "kind": "text", "text": {"en": "x"}}],
                   playlists=[{"id": "pl-x", "items": ["txt-x"]}],
                   schedules=[{"id": "sch-x", "playlist": "pl-x", "dates": ["2026-12-32"]}])


def _poster(content: dict) -> None:
    content.update(content_items=[{"id": "poster-x", "kind": "product", "sku": "NO-SUCH",
                                   "text": {"en": "Fresh", "bg": "Прясно", "ru": "Свежий"}}],
                   playlists=[{"id": "pl-x", "items": ["poster-x"]}])


def _brand(content: dict) -> None:
    content["brand"] = [{"id": "chain", "primary": "#8c3b1f", "accent": "#e38c2e", "background": "#ffffff",
                         "text": "#a0a0a0"}]  # a marketer's light grey text on white


BAD = {
    "channel kisok": (_offer(channels=["kisok"]), "field 'channels': 'kisok' is not one of kiosk, tablet, signage"),
    "weather drizzle": (_offer(conditions={"weather": "drizzle"}), "'drizzle' is not one of clear"),
    "date 2026-12-32": (_offer(schedule={"from": "2026-12-32"}), "field 'schedule.from': must be a date"),
    "unknown sku": (_offer(sku="NO-SUCH"), "field 'sku': no product 'NO-SUCH'"),
    "120 % discount": (_offer(discount={"percent": 120}), "120 is not a percentage from 0 to 100"),
    "price_cents 3.50": (_price(price_cents=3.5), "field 'price_cents' must be int, got float"),
    "price of an unknown sku": (_price(sku="GHOST"), "price GHOST: field 'sku': no product 'GHOST'"),
    "title in English only": (_offer(title={"en": "Coffee"}), "field 'title': no text in bg, ru"),
    "signage date 2026-12-32": (_schedule, "schedule sch-x: field 'dates': '2026-12-32' is not a date"),
    "poster of an unknown sku": (_poster, "content item poster-x: field 'sku': no product 'NO-SUCH'"),
    "low-contrast brand": (_brand, "brand chain: field 'text': #a0a0a0 as text on the background #ffffff has a"
                                   " contrast of 2.61:1; shoppers need at least 4.5:1 (WCAG AA)"),
}


def bad_content(kind: str, products: int = 3) -> dict:
    content = copy.deepcopy(sample_content(products))
    BAD[kind][0](content)
    return content
