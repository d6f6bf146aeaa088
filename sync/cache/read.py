"""The read API that the decision engine and the screens use.

Where the same key exists in several scopes (a chain price and a store price), the most
specific scope wins: device over store over region over chain; a profile cached from a
lookup answer sits below all of them and only counts until it expires.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..protocol.content import PROGRAMME_ID, SECTIONS
from .db import Cache


class CacheReader:
    def __init__(self, cache: Cache, media_dir: str | Path | None = None):
        self.cache = cache
        self.media_dir = Path(media_dir) if media_dir else None

    def _one(self, table: str, key: str, value: str) -> dict | None:
        rows = self.cache.query(f"SELECT body FROM {table} WHERE {key} = ? ORDER BY rank DESC LIMIT 1", (value,))
        return json.loads(rows[0][0]) if rows else None

    def _all(self, table: str, where: str = "", params: tuple = ()) -> list[dict]:
        key = ", ".join(SECTIONS[table].key)
        rows = self.cache.query(
            f"SELECT body FROM (SELECT body, {key}, row_number() OVER (PARTITION BY {key} ORDER BY rank DESC) AS n"
            f" FROM {table} {where}) WHERE n = 1 ORDER BY {key}",
            params,
        )
        return [json.loads(r[0]) for r in rows]

    # catalogue
    def keys(self, section: str, *, besides: str = "") -> frozenset[str]:
        """The keys a (single-key) section holds in any scope but ``besides``."""
        key = SECTIONS[section].key[0]
        return frozenset(r[0] for r in self.cache.query(f"SELECT DISTINCT {key} FROM {section} WHERE scope <> ?",
                                                        (besides,)))

    def name_languages(self, *, besides: str = "") -> frozenset[str]:
        """The languages the products' names are in (the chain's languages), in any scope but ``besides``."""
        rows = self.cache.query("SELECT DISTINCT j.key FROM products, json_each(products.body, '$.name') AS j"
                                " WHERE products.scope <> ? AND j.type = 'text' AND j.value <> ''", (besides,))
        return frozenset(r[0] for r in rows)

    def product(self, sku: str) -> dict | None:
        return self._one("products", "sku", sku)

    def products(self, category: str | None = None) -> list[dict]:
        items = self._all("products")
        return [p for p in items if category is None or p["category"] == category]

    def prices(self) -> list[dict]:
        return self._all("prices")

    def inventory(self) -> list[dict]:
        return self._all("inventory")

    def co_purchase_pairs(self) -> list[dict]:
        return [json.loads(r[0]) for r in self.cache.query("SELECT body FROM co_purchase")]

    def price(self, sku: str) -> dict | None:
        return self._one("prices", "sku", sku)

    def stock(self, sku: str) -> int | None:
        """Units on hand, or None when the store has no inventory row for the product."""
        row = self._one("inventory", "sku", sku)
        return None if row is None else row["on_hand"]

    def in_stock(self, sku: str) -> bool:
        on_hand = self.stock(sku)
        return on_hand is not None and on_hand > 0

    # playbook, menus and content
    def offers(self, channel: str | None = None) -> list[dict]:
        offers = self._all("offers")
        return [o for o in offers if channel is None or channel in o["channels"]]

    def menus(self) -> list[dict]:
        return self._all("menus")

    def content_items(self) -> list[dict]:
        return self._all("content_items")

    def playlists(self) -> list[dict]:
        return self._all("playlists")

    def schedules(self) -> list[dict]:
        return self._all("schedules")

    def layouts(self) -> list[dict]:
        return self._all("layouts")

    def text_templates(self) -> list[dict]:
        return self._all("text_templates")

    def brand(self) -> dict | None:
        """The brand of the most specific scope that has one (a store's over its region's over the chain's), or
        None before any bundle brought one (the screens then draw the built-in brand)."""
        rows = self.cache.query("SELECT body FROM brand ORDER BY rank DESC, id LIMIT 1")
        return json.loads(rows[0][0]) if rows else None

    def media(self, sha256: str) -> dict | None:
        return self._one("media", "sha256", sha256)

    def wanted_media(self) -> list[dict]:
        return self._all("media")

    def media_path(self, sha256: str) -> Path | None:
        """The verified local file for a media sha256, or None while it is not here yet."""
        if self.media_dir is None:
            return None
        path = self.media_dir / sha256
        return path if path.is_file() else None

    # customers
    def profile(self, profile_id: str, now: float) -> dict | None:
        """The profile, if cached and (for a lookup answer) not expired at ``now`` (unix seconds)."""
        return self._profile("profile_id", profile_id, now)

    def profile_by_phone_hash(self, phone_hash: str, now: float) -> dict | None:
        return self._profile("phone_hash", phone_hash, now)

    def _profile(self, key: str, value: str, now: float) -> dict | None:
        rows = self.cache.query(
            f"SELECT body FROM profiles WHERE {key} = ? AND (expires_at IS NULL OR expires_at > ?)"
            " ORDER BY rank DESC LIMIT 1",
            (value, now),
        )
        return json.loads(rows[0][0]) if rows else None

    def profile_count(self) -> int:
        return self.cache.query("SELECT count(DISTINCT profile_id) FROM profiles")[0][0]

    def consent_history(self, profile_id: str) -> list[dict]:
        rows = self.cache.query(
            "SELECT purpose, status, wording_version, channel, at FROM consents WHERE profile_id = ? ORDER BY id",
            (profile_id,),
        )
        return [dict(zip(("purpose", "status", "wording_version", "channel", "at"), r, strict=True)) for r in rows]

    def co_purchases(self, sku: str, limit: int = 10) -> list[dict]:
        rows = self.cache.query(
            "SELECT body FROM co_purchase WHERE a = ? OR b = ? ORDER BY json_extract(body, '$.score') DESC LIMIT ?",
            (sku, sku, limit),
        )
        return [json.loads(r[0]) for r in rows]

    def store(self, store_id: str) -> dict | None:
        """The store as head office describes it (``name``, ``region``, ``timezone``, ...), or None before its
        store bundle brought it."""
        return self._one("stores", "id", store_id)

    def programme(self) -> dict | None:
        """The chain's own item in its bundle's ``stores`` section (``PROGRAMME_ID``): its settings for every
        store, such as the global holdout; None before head office sent one."""
        return self._one("stores", "id", PROGRAMME_ID)

    # staff, history and learning
    def staff(self, staff_id: str) -> dict | None:
        return self._one("staff", "id", staff_id)

    def basket_lines(self, profile_id: str | None = None) -> list[dict]:
        """The store's cached purchase history (one customer's when profile_id is given)."""
        if profile_id is None:
            rows = self.cache.query("SELECT body FROM basket_lines")
        else:
            rows = self.cache.query("SELECT body FROM basket_lines WHERE profile_id = ?", (profile_id,))
        return [json.loads(r[0]) for r in rows]

    def offer_stats(self) -> list[dict]:
        return self._all("offer_stats")

    # the store's own sales and redemptions (the trends' input, ``decisions.trends``)
    def sales_since(self, since: float) -> list[tuple[str, int, float]]:
        """(sku, qty, at) of every sale line at or after ``since`` (unix seconds), oldest first."""
        return self.cache.query("SELECT sku, qty, at FROM sales WHERE at >= ? ORDER BY at, id", (since,))

    def redeemed_skus_since(self, since: float) -> list[tuple[str, float]]:
        """(sku, redeemed_at) of every coupon redeemed at or after ``since``, oldest first.

        The sku is the redeemed offer's; redemptions of offers without a sku, or of offers no
        longer in the cache, are left out.
        """
        rows = self.cache.query(
            "SELECT offer_id, redeemed_at FROM redemptions WHERE redeemed_at >= ? ORDER BY redeemed_at, code",
            (since,),
        )
        sku_of: dict[str, str | None] = {}
        out: list[tuple[str, float]] = []
        for offer_id, at in rows:
            if offer_id not in sku_of:
                offer = self._one("offers", "id", offer_id)
                sku_of[offer_id] = offer.get("sku") if offer else None
            sku = sku_of[offer_id]
            if sku:
                out.append((sku, at))
        return out

    # sync
    def sync_state(self) -> dict[str, dict]:
        rows = self.cache.query("SELECT stream, version, sha256, applied_at FROM sync_state ORDER BY stream")
        return {s: {"version": v, "sha256": h, "applied_at": a} for s, v, h, a in rows}

    def counts(self) -> dict[str, int]:
        return {s.table: self.cache.query(f"SELECT count(*) FROM {s.table}")[0][0] for s in SECTIONS.values()}
