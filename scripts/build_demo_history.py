"""Regenerate the demo chain's purchase history and what head office derives from it.

    .venv/bin/python scripts/build_demo_history.py

Deterministic (seeded). Writes, in assets/demo/:
- basket_lines.json: ~4 months of baskets at store s001, for the 30 demo customers (shaped by their
  purchase_summary: favourite daypart, top products, visit count) and for anonymous shoppers;
- profiles.json: ``rfm`` and ``last_visit`` recomputed from that history with decisions.rfm, the code
  head office runs;
- co_purchase.json: item-to-item similarity from the same baskets with decisions.copurchase;
- staff.json: the demo staff with scrypt PIN hashes (PINs listed in assets/demo/README.md);
- offer_stats.json: redemption counts for the adaptive offer's variants.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from decisions import copurchase, rfm
from decisions.identity.pins import hash_pin

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "demo"
NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
HOURS = {"morning": (6, 11), "lunch": (11, 15), "afternoon": (15, 18), "evening": (18, 22)}
STAFF = [("st-01", "Ivana Petrova", "2468", "manager"), ("st-02", "Georgi Dimitrov", "1357", "barista"),
         ("st-03", "Olga Ivanova", "8642", "barista")]


def load(name: str) -> list[dict]:
    return json.loads((ASSETS / f"{name}.json").read_text(encoding="utf-8"))


def save(name: str, items: list[dict]) -> None:
    (ASSETS / f"{name}.json").write_text(json.dumps(items, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    rng = random.Random(2026)
    products = {p["sku"]: p for p in load("products")}
    prices = {p["sku"]: p["price_cents"] for p in load("prices")}
    by_category: dict[str, list[str]] = {}
    for sku, p in products.items():
        by_category.setdefault(p["category"], []).append(sku)
    pairs = [("COF-003", "PAS-001"), ("PAS-003", "CLD-003"), ("SOU-002", "TEA-003"), ("COF-002", "DES-001"),
             ("COF-004", "PAS-002"), ("SAN-001", "CLD-001")]
    lines: list[dict] = []
    basket_no = 0

    def basket(profile_id: str | None, when: datetime, favourites: list[str]) -> None:
        nonlocal basket_no
        basket_no += 1
        first = rng.choice(favourites) if favourites and rng.random() < 0.7 else rng.choice(list(products))
        skus = [first]
        partner = next((b if a == first else a for a, b in pairs if first in (a, b)), None)
        if partner and rng.random() < 0.6:
            skus.append(partner)
        if rng.random() < 0.3:
            skus.append(rng.choice(by_category[products[first]["category"]]))
        for i, sku in enumerate(dict.fromkeys(skus)):
            qty = 1 if rng.random() < 0.85 else 2
            lines.append({"line_id": f"s001-{basket_no:06d}-{i}", "basket_id": f"s001-{basket_no:06d}",
                          **({"profile_id": profile_id} if profile_id else {}), "sku": sku, "qty": qty,
                          "amount_cents": qty * prices[sku], "at": when.isoformat().replace("+00:00", "Z")})

    def moment(days_ago: float, daypart: str) -> datetime:
        start, end = HOURS[daypart]
        local = (NOW - timedelta(days=days_ago)).replace(hour=0, minute=0, second=0, microsecond=0)
        return local + timedelta(hours=rng.uniform(start, end) - 2)  # Sofia is UTC+2 in winter

    profiles = load("profiles")
    for p in profiles:
        summary = p.get("purchase_summary") or {}
        visits = max(1, round(summary.get("visits_90d", 4) * rng.uniform(0.9, 1.1)))
        lapsed = summary.get("visits_90d", 4) < 3
        for _ in range(visits):
            days_ago = rng.uniform(45 if lapsed else 0.2, 120 if lapsed else 90)
            daypart = summary.get("favourite_daypart") if rng.random() < 0.7 else rng.choice(list(HOURS))
            basket(p["profile_id"], moment(days_ago, daypart or "morning"), summary.get("top_skus", []))
    for _ in range(900):
        basket(None, moment(rng.uniform(0.1, 60), rng.choice(list(HOURS))), [])
    lines.sort(key=lambda line: line["at"])

    scores = {s.profile_id: s for s in rfm.rfm_scores(lines, NOW)}
    last = {}
    for line in lines:
        if line.get("profile_id"):
            last[line["profile_id"]] = line["at"][:10]
    for p in profiles:
        p["rfm"] = rfm.profile_rfm(scores[p["profile_id"]])
        p["last_visit"] = last[p["profile_id"]]
    save("basket_lines", lines)
    save("profiles", profiles)
    save("co_purchase", copurchase.co_purchase(lines, min_pair_count=3, min_item_count=5, top_n=10))
    save("staff", [{"id": i, "name": n, "pin_hash": hash_pin(pin, salt=i.encode() * 2), "role": r}
                   for i, n, pin, r in STAFF])
    save("offer_stats", [
        {"id": f"OFF-RAINY-DAY|{v}|{c}", "offer": "OFF-RAINY-DAY", "variant": v, "context": c,
         "shown": shown, "redeemed": redeemed}
        for v, c, shown, redeemed in (("price", "morning|cold", 420, 38), ("cosy", "morning|cold", 410, 61),
                                      ("price", "afternoon|cold", 300, 30), ("cosy", "afternoon|cold", 280, 22))])
    tiers: dict[str, int] = {}
    for s in scores.values():
        tiers[s.tier] = tiers.get(s.tier, 0) + 1
    print(f"{len(lines)} basket lines, {basket_no} baskets; tiers {tiers}")


if __name__ == "__main__":
    main()
