"""Head office's reports: a CSV for each, and a PNG chart where a person would rather look.

- ``proof_of_play``: plays and seconds per day, store and item;
- ``offers``: per offer and arm, impressions, sends (coupons to a phone), redemptions, exposed
  customers, purchases after exposure, and lift against the holdout with its 95 % interval
  (``central.offer_results``);
- ``staff``: per store and staff member, assisted contacts, conversions, add-ons and conversion rate.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first

from .db import Database  # noqa: E402
from .offer_results import lift_report  # noqa: E402

OFFER_EVENT_TYPES = ("offer_shown", "offer_held_out", "offer_sent_to_phone", "redeemed", "sale")


def events_of(db: Database, types: tuple[str, ...]) -> list[dict]:
    marks = ", ".join("?" for _ in types)
    return [json.loads(r[0]) for r in db.execute(f"SELECT body FROM events WHERE type IN ({marks})", types)]


def proof_of_play_rows(db: Database) -> list[dict]:
    rows = db.execute("SELECT day, store, item, count(*), coalesce(sum(duration_s), 0) FROM proof_of_play"
                      " GROUP BY day, store, item ORDER BY day, store, item")
    return [{"day": d, "store": s, "item": i, "plays": n, "seconds": round(float(sec), 1)} for d, s, i, n, sec in rows]


def offer_rows(db: Database) -> list[dict]:
    skus = dict(db.execute("SELECT offer, sku FROM offer_skus WHERE sku IS NOT NULL"))
    report = lift_report(events_of(db, OFFER_EVENT_TYPES), skus)
    out = []
    for offer, arms in report["offers"].items():
        for arm, c in arms.items():
            ci = c.get("lift_ci95") or [None, None]
            out.append({"offer": offer, "arm": arm, "impressions": c["shown"], "sends": c["coupons"],
                        "redemptions": c["redeemed"], "exposed": c["exposed_profiles"],
                        "bought_after": c["bought_after"],
                        "purchase_rate": c["purchase_rate"], "lift": c.get("lift_vs_holdout"),
                        "lift_low": ci[0], "lift_high": ci[1]})
    return out


def staff_rows(db: Database) -> list[dict]:
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for e in events_of(db, ("assisted_sale",)):
        p = e.get("payload") or {}
        outcome = p.get("outcome") or {}
        c = cells[e.get("store") or "?", p.get("staff_id") or "?"]
        c[0] += 1
        c[1] += bool(outcome.get("contacted"))
        c[2] += bool(outcome.get("purchased"))
        c[3] += int(outcome.get("add_ons") or 0)
    return [{"store": s, "staff": st, "assisted": n, "contacts": ct, "conversions": cv, "add_ons": a,
             "conversion_rate": round(cv / ct, 4) if ct else None}
            for (s, st), (n, ct, cv, a) in sorted(cells.items())]


def write_csv(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        if rows:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def chart_proof_of_play(rows: list[dict], path: Path) -> Path:
    """Plays per day, one line per item (all stores)."""
    by_item: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    days = sorted({r["day"] for r in rows})
    for r in rows:
        by_item[r["item"]][r["day"]] += r["plays"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for item, counts in sorted(by_item.items()):
        ax.plot(days, [counts.get(d, 0) for d in days], marker="o", label=item)
    ax.set_title("Proof of play: plays per day and item")
    ax.set_ylabel("plays")
    if by_item:
        ax.legend(fontsize="small")
    return _save(fig, path)


def chart_offers(rows: list[dict], path: Path) -> Path:
    """Lift against the holdout per offer and arm, with its 95 % interval."""
    cells = [r for r in rows if r["lift"] is not None]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    labels = [f"{r['offer']} / {r['arm']}" for r in cells]
    lifts = [r["lift"] * 100 for r in cells]
    low = [(r["lift"] - r["lift_low"]) * 100 if r["lift_low"] is not None else 0 for r in cells]
    high = [(r["lift_high"] - r["lift"]) * 100 if r["lift_high"] is not None else 0 for r in cells]
    ax.barh(labels, lifts, xerr=[low, high], capsize=4, color="#4a7")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("lift in purchase rate vs holdout, % (95 % interval)")
    ax.set_title("Offer results")
    return _save(fig, path)


def chart_staff(rows: list[dict], path: Path) -> Path:
    """Contacts, conversions and add-ons per store."""
    stores = sorted({r["store"] for r in rows})
    totals = {s: [0, 0, 0] for s in stores}
    for r in rows:
        t = totals[r["store"]]
        t[0] += r["contacts"]
        t[1] += r["conversions"]
        t[2] += r["add_ons"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.27
    for k, name in enumerate(("contacts", "conversions", "add-ons")):
        ax.bar([i + (k - 1) * width for i in range(len(stores))], [totals[s][k] for s in stores], width, label=name)
    ax.set_xticks(range(len(stores)), stores)
    ax.set_title("Staff KPIs per store")
    ax.legend()
    return _save(fig, path)


REPORTS = {
    "proof_of_play": (proof_of_play_rows, chart_proof_of_play),
    "offers": (offer_rows, chart_offers),
    "staff": (staff_rows, chart_staff),
}


def write_report(db: Database, name: str, out_dir: Path, *, chart: bool = True) -> list[Path]:
    """Write ``<name>.csv`` (and ``<name>.png``) into ``out_dir``; returns the files."""
    rows_of, chart_of = REPORTS[name]
    rows = rows_of(db)
    files = [write_csv(rows, out_dir / f"{name}.csv")]
    if chart:
        files.append(chart_of(rows, out_dir / f"{name}.png"))
    return files
