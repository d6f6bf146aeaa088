"""Head office's reports for a period of the stores' local days and a set of stores: rows for a table and
a CSV (always with its header row), and a chart as PNG bytes (a chart that says so when there is no data).

- ``proof_of_play``: plays, full plays and seconds per local day, store and item (``play_hours``);
- ``offers``: per offer and arm, impressions, sends (coupons to a phone), redemptions, exposed
  customers, purchases after exposure, and lift against the holdout with its 95 % interval
  (``central.offer_results``);
- ``funnel``: per offer, impressions -> coupons sent -> redeemed, and the rate of each step;
- ``staff``: per store and staff member, assisted sales (conversations, each with its last outcome), contacts,
  conversions, add-ons, conversion rate.

The period and the stores are cut in SQL (``wall_time`` or ``started_at`` between the first day's local
midnight and the midnight after the last day, ``store IN (...)``); only the events of the period and the
stores are read. The CLI and the console call the same functions.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .content_files import Store
from .db import Database
from .offer_results import lift_report

OFFER_EVENT_TYPES = ("offer_shown", "offer_held_out", "offer_sent_to_phone", "redeemed", "sale")
FUNNEL_EVENT_TYPES = ("offer_shown", "offer_sent_to_phone", "redeemed")
MAX_DAYS = 366
EARLIEST, LATEST = date(1970, 1, 2), date(9998, 12, 30)  # a day's midnight is a Unix time in every zone


class PeriodError(ValueError):
    """A period a person asked for that cannot be reported (words for the page or the command line)."""


@dataclass(frozen=True)
class Filters:
    """The stores' local days ``first`` to ``last`` (both included) in ``timezone``, and which stores
    (None: every store; an empty tuple: none, so nothing is read)."""

    first: date
    last: date
    timezone: str = "UTC"
    stores: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not EARLIEST <= self.first <= LATEST or not EARLIEST <= self.last <= LATEST:
            raise PeriodError(f"a day is between {EARLIEST} and {LATEST}")
        if self.last < self.first:
            raise PeriodError(f"the period ends ({self.last}) before it starts ({self.first})")
        if (self.last - self.first).days >= MAX_DAYS:
            raise PeriodError(f"a period is at most {MAX_DAYS} days")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def midnight(self, day: date) -> float:
        return datetime.combine(day, time(), self.zone).timestamp()

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def bounds(self) -> tuple[float, float]:
        """Unix seconds: the first day's local midnight, and the midnight after the last day."""
        return self.midnight(self.first), self.midnight(self.last + timedelta(days=1))

    def period_text(self) -> str:
        return f"{self.first}" if self.first == self.last else f"{self.first} to {self.last}"


def today(now: datetime, timezone: str) -> date:
    """The stores' local date at ``now`` (the entry point's clock)."""
    return now.astimezone(ZoneInfo(timezone)).date()


def parse_day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"{name} {text[:40]!r} is not a date: write it as YYYY-MM-DD") from None


def choose_stores(stores: Sequence[Store], *, region: str = "", store: str = "",
                  may_see: Callable[[str], bool] | None = None) -> tuple[str, ...] | None:
    """The store ids a report covers: one store, a region's stores, or every store (None when nothing
    narrows it and every store may be seen, so events of stores missing from stores.csv count too)."""
    if store:
        return (store,) if may_see is None or may_see(store) else ()
    if not region and may_see is None:
        return None
    return tuple(s.store for s in stores
                 if (not region or s.region == region) and (may_see is None or may_see(s.store)))


def store_names(stores: Iterable[Store]) -> dict[str, str]:
    """Store id -> its display name from stores.csv, else the id."""
    return {s.store: s.display_name for s in stores}


def _where(f: Filters, time_column: str) -> tuple[str, list]:
    start, end = f.bounds()
    sql, args = f"{time_column} >= ? AND {time_column} < ?", [start, end]
    if f.stores is not None:
        sql += f" AND store IN ({', '.join('?' for _ in f.stores)})" if f.stores else " AND 1 = 0"
        args += list(f.stores)
    return sql, args


def events_of(db: Database, types: tuple[str, ...], f: Filters) -> list[dict]:
    """The events of these types in the period and stores; sales only when they name a customer (the
    reports join sales to exposures by customer)."""
    where, args = _where(f, "wall_time")
    marks = ", ".join("?" for _ in types)
    return [json.loads(r[0]) for r in db.execute(
        f"SELECT body FROM events WHERE type IN ({marks}) AND {where}"
        " AND (type <> 'sale' OR profile_id IS NOT NULL)", [*types, *args])]


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    subject: str  # in a sentence: "No data for <subject> ..."
    columns: tuple[str, ...]
    rows: Callable[[Database, Filters, Mapping[str, str]], list[dict]]
    draw: Callable[[Figure, list[dict], Filters], None]


def proof_of_play_rows(db: Database, f: Filters, names: Mapping[str, str]) -> list[dict]:
    """Plays per local day, store and item: SQL sums them per day (each day cut at the local midnight)."""
    days = f.days()
    values = ", ".join("(?, CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION))" for _ in days)
    day_args = [a for d in days for a in (d.isoformat(), f.midnight(d), f.midnight(d + timedelta(days=1)))]
    where, args = _where(f, "started_at")
    rows = db.execute(
        f"WITH days (day, day_start, day_end) AS (VALUES {values})"
        " SELECT days.day, store, item, sum(plays), sum(full_plays), sum(seconds) FROM play_hours"
        " JOIN days ON started_at >= days.day_start AND started_at < days.day_end"
        f" WHERE {where} GROUP BY days.day, store, item ORDER BY days.day, store, item", [*day_args, *args])
    return [{"day": d, "store": s, "store_name": names.get(s, s), "item": i, "plays": int(n), "full_plays": int(full),
             "seconds": round(float(sec), 1)} for d, s, i, n, full, sec in rows]


def offer_rows(db: Database, f: Filters, names: Mapping[str, str]) -> list[dict]:
    skus = dict(db.execute("SELECT offer, sku FROM offer_skus WHERE sku IS NOT NULL"))
    out = []
    for offer, arms in lift_report(events_of(db, OFFER_EVENT_TYPES, f), skus)["offers"].items():
        for arm, c in arms.items():
            ci = c.get("lift_ci95") or [None, None]
            out.append({"offer": offer, "arm": arm, "impressions": c["shown"], "sends": c["coupons"],
                        "redemptions": c["redeemed"], "exposed": c["exposed_profiles"],
                        "bought_after": c["bought_after"], "purchase_rate": c["purchase_rate"],
                        "lift": c.get("lift_vs_holdout"), "lift_low": ci[0], "lift_high": ci[1]})
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def funnel_rows(db: Database, f: Filters, names: Mapping[str, str]) -> list[dict]:
    """Per offer (its arms together; the holdout saw nothing): impressions, coupons sent, redeemed."""
    out = []
    for offer, arms in lift_report(events_of(db, FUNNEL_EVENT_TYPES, f))["offers"].items():  # no sales: no lift
        shown, sent, redeemed = (sum(c[k] for arm, c in arms.items() if arm != "holdout")
                                 for k in ("shown", "coupons", "redeemed"))
        if shown or sent or redeemed:
            out.append({"offer": offer, "impressions": shown, "coupons_sent": sent, "redeemed": redeemed,
                        "sent_per_impression": _rate(sent, shown), "redeemed_per_sent": _rate(redeemed, sent)})
    return out


def last_outcomes(events: list[dict]) -> list[dict]:
    """One assisted sale per conversation: a tablet sends a conversation's outcome again when it is amended
    (Contacted, then Purchased), and the last one stands. Events without a ``conversation_id`` count alone."""
    last: dict[object, dict] = {}
    for e in sorted(events, key=lambda e: (e.get("wall_time") or 0, e.get("seq") or 0)):
        p = e.get("payload") if isinstance(e.get("payload"), dict) else {}
        conversation = p.get("conversation_id")
        last[(e.get("device"), conversation) if isinstance(conversation, str) else id(e)] = e
    return list(last.values())


def staff_rows(db: Database, f: Filters, names: Mapping[str, str]) -> list[dict]:
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for e in last_outcomes(events_of(db, ("assisted_sale",), f)):
        p = e.get("payload") if isinstance(e.get("payload"), dict) else {}
        outcome = p.get("outcome") if isinstance(p.get("outcome"), dict) else {}
        add_ons = outcome.get("add_ons")
        c = cells[str(e.get("store") or "?"), str(p.get("staff_id") or "?")]
        c[0] += 1
        c[1] += bool(outcome.get("contacted"))
        c[2] += bool(outcome.get("purchased"))
        c[3] += add_ons if isinstance(add_ons, int) and not isinstance(add_ons, bool) and add_ons > 0 else 0
    return [{"store": s, "store_name": names.get(s, s), "staff": st, "assisted": n, "contacts": ct,
             "conversions": cv, "add_ons": a, "conversion_rate": _rate(cv, ct)}
            for (s, st), (n, ct, cv, a) in sorted(cells.items())]


def to_csv(report: Report, rows: list[dict]) -> str:
    """The rows as CSV, the header row always (a period without data is a header and nothing else)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=report.columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _legend(ax, **kw) -> None:
    """Beside the plot, never over a bar or a line."""
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1), **kw)


def _draw_proof_of_play(fig: Figure, rows: list[dict], f: Filters) -> None:
    """Plays per day, one line per item (the eight most played; the rest together)."""
    totals: dict[str, int] = defaultdict(int)
    for r in rows:
        totals[r["item"]] += r["plays"]
    top = sorted(totals, key=lambda i: (-totals[i], i))[:8]
    series: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        series[r["item"] if r["item"] in top else "other items"][r["day"]] += r["plays"]
    days = [d.isoformat() for d in f.days()]
    ax = fig.subplots()
    for item in [*top, "other items"][:len(series)]:
        ax.plot(range(len(days)), [series[item].get(d, 0) for d in days], marker="o", label=item)
    every = -(-len(days) // 12)  # at most a dozen day labels
    ax.set_xticks(range(0, len(days), every), days[::every], rotation=30 if len(days) > 6 else 0)
    ax.set_title(f"Proof of play: plays per day and item, {f.period_text()}")
    ax.set_xlabel(f"local day ({f.timezone})")
    ax.set_ylabel("plays (count)")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _legend(ax, title="item")


def _draw_offers(fig: Figure, rows: list[dict], f: Filters) -> None:
    """Lift against the holdout with its 95 % interval; without a lift yet (no holdout, or no purchase in
    it), impressions and redemptions per offer and arm instead, and the chart says why."""
    ax = fig.subplots()
    cells = [r for r in rows if r["lift"] is not None]
    if cells:
        y = range(len(cells))
        ax.barh(list(y), [r["lift"] * 100 for r in cells], 0.6, color="#2a7a4b", label="lift")
        ranged = [(i, r) for i, r in zip(y, cells, strict=True) if r["lift_low"] is not None]
        if ranged:
            ax.errorbar([r["lift"] * 100 for _, r in ranged], [i for i, _ in ranged], fmt="none", ecolor="black",
                        capsize=5, label="95 % interval",
                        xerr=[[(r["lift"] - r["lift_low"]) * 100 for _, r in ranged],
                              [(r["lift_high"] - r["lift"]) * 100 for _, r in ranged]])
        ax.set_yticks(list(y), [f"{r['offer']} / {r['arm']}" for r in cells])
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel("lift in purchase rate against the holdout (%)")
        ax.set_ylabel("offer / arm")
        ax.set_title(f"Offer results: lift against the holdout, {f.period_text()}")
        _legend(ax)
        ax.invert_yaxis()
        return
    labels = [f"{r['offer']} / {r['arm']}" for r in rows]
    y = range(len(rows))
    ax.barh([i - 0.2 for i in y], [r["impressions"] for r in rows], 0.4, label="impressions", color="#1d4e89")
    ax.barh([i + 0.2 for i in y], [r["redemptions"] for r in rows], 0.4, label="redemptions", color="#c2571a")
    ax.set_yticks(list(y), labels)
    ax.invert_yaxis()
    ax.set_xlabel("count")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("offer / arm")
    ax.set_title(f"Offer results, {f.period_text()}: no lift yet (it needs a holdout with purchases)")
    _legend(ax)


def _draw_funnel(fig: Figure, rows: list[dict], f: Filters) -> None:
    ax = fig.subplots()
    y = range(len(rows))
    for k, (key, label, colour) in enumerate((("impressions", "impressions", "#1d4e89"),
                                              ("coupons_sent", "coupons sent", "#6a3d9a"),
                                              ("redeemed", "redeemed", "#c2571a"))):
        ax.barh([i + (k - 1) * 0.27 for i in y], [r[key] for r in rows], 0.27, label=label, color=colour)
    ax.set_yticks(list(y), [r["offer"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("count")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("offer")
    ax.set_title(f"Redemption funnel per offer, {f.period_text()}")
    _legend(ax)


def _draw_staff(fig: Figure, rows: list[dict], f: Filters) -> None:
    """Contacts, conversions and add-ons per store."""
    names = sorted({r["store_name"] for r in rows})
    totals = {s: [0, 0, 0] for s in names}
    for r in rows:
        t = totals[r["store_name"]]
        t[0] += r["contacts"]
        t[1] += r["conversions"]
        t[2] += r["add_ons"]
    ax = fig.subplots()
    for k, (label, colour) in enumerate((("contacts", "#1d4e89"), ("conversions", "#2a7a4b"),
                                         ("add-ons", "#c2571a"))):
        ax.bar([i + (k - 1) * 0.27 for i in range(len(names))], [totals[s][k] for s in names], 0.27, label=label,
               color=colour)
    ax.set_xticks(range(len(names)), names)
    ax.set_xlabel("store")
    ax.set_ylabel("count")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Staff KPIs per store, {f.period_text()}")
    _legend(ax)


REPORTS = {r.name: r for r in (
    Report("proof_of_play", "Proof of play", "proof of play",
           ("day", "store", "store_name", "item", "plays", "full_plays", "seconds"),
           proof_of_play_rows, _draw_proof_of_play),
    Report("offers", "Offer results", "offer results",
           ("offer", "arm", "impressions", "sends", "redemptions", "exposed", "bought_after", "purchase_rate", "lift",
            "lift_low", "lift_high"),
           offer_rows, _draw_offers),
    Report("funnel", "Redemption funnel", "the redemption funnel",
           ("offer", "impressions", "coupons_sent", "redeemed", "sent_per_impression", "redeemed_per_sent"),
           funnel_rows, _draw_funnel),
    Report("staff", "Staff KPIs", "staff KPIs",
           ("store", "store_name", "staff", "assisted", "contacts", "conversions", "add_ons", "conversion_rate"),
           staff_rows, _draw_staff),
)}


def no_data_text(report: Report, f: Filters, where: str) -> str:
    return f"No data for {report.subject} on {f.period_text()} in {where}."


def chart(report: Report, rows: list[dict], f: Filters, where: str) -> Figure:
    """The chart; without rows, a picture that says there is no data (never an empty axis). A Figure of
    its own (not pyplot's global state), so the console's threads can draw at once."""
    fig = Figure(figsize=(10, 4.8), dpi=100)
    if rows:
        report.draw(fig, rows, f)
        fig.tight_layout()
    else:
        fig.text(0.5, 0.5, no_data_text(report, f, where), ha="center", va="center", fontsize=14, wrap=True)
    return fig


def chart_png(report: Report, rows: list[dict], f: Filters, where: str) -> bytes:
    fig = chart(report, rows, f, where)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def where_text(region: str, store: str, names: Mapping[str, str], *, own_only: bool = False) -> str:
    """The stores a report covers, in words (for its heading and its no-data message)."""
    if store:
        name = names.get(store, store)
        return f"store {store}" if name == store else f"{name} ({store})"
    if region:
        return f"region {region}" + (" (your stores there)" if own_only else "")
    return "your stores" if own_only else "every store"


def write_report(db: Database, name: str, out_dir: Path, f: Filters, *, names: Mapping[str, str], where: str,
                 chart: bool = True) -> tuple[list[Path], int]:
    """Write ``<name>.csv`` (and ``<name>.png``) into ``out_dir``; returns the files and the row count."""
    report = REPORTS[name]
    rows = report.rows(db, f, names)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / f"{name}.csv"]
    files[0].write_text(to_csv(report, rows), encoding="utf-8")
    if chart:
        files.append(out_dir / f"{name}.png")
        files[1].write_bytes(chart_png(report, rows, f, where))
    return files, len(rows)
