"""Reports (``central.reports``, the same functions as ``store-edge-central report``): proof of play, offer
results, the redemption funnel and staff KPIs, for a period of the stores' local days, a region and a store;
a chart drawn on the server (a PNG in the page), the table, and the same rows as CSV.

Who sees what: admin every report; marketer all but staff KPIs; store manager every report for their own
stores only (another store is a 403); technician proof of play (whether screens played). Staff KPIs name
staff members, so reading them is recorded in the audit log.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from litestar import Request, get
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, QueryParameter
from litestar.response import Response, Template

from central import reports
from central.reports import Filters, PeriodError, Report

from .. import session
from ..render import REPORTS_ROLES, page

GUARDS = [session.allow(*REPORTS_ROLES)]
DEFAULT_DAYS = 7
First = Annotated[str, QueryParameter(name="from")]  # any length: parse_day says what is wrong, in words
Last = Annotated[str, QueryParameter(name="to")]
Text = Annotated[str, QueryParameter(max_length=200)]


@dataclass(frozen=True)
class Kind:
    slug: str  # in the address
    report: Report
    roles: tuple[str, ...]
    about: str


KINDS = {k.slug: k for k in (
    Kind("proof-of-play", reports.REPORTS["proof_of_play"], ("admin", "marketer", "store_manager", "technician"),
         "What the screens played: plays, full plays and seconds per day, store and item."),
    Kind("offers", reports.REPORTS["offers"], ("admin", "marketer", "store_manager"),
         "Per offer and arm: impressions, coupons, redemptions, and lift in purchases against the holdout."),
    Kind("funnel", reports.REPORTS["funnel"], ("admin", "marketer", "store_manager"),
         "Per offer: impressions, then coupons sent to a phone, then coupons redeemed."),
    Kind("staff", reports.REPORTS["staff"], ("admin", "store_manager"),
         "Per store and staff member: assisted sales, contacts, conversions and add-ons."),
)}
LABELS = {"day": "Day", "store": "Store id", "store_name": "Store", "item": "Item", "plays": "Plays",
          "full_plays": "Full plays", "seconds": "Seconds", "offer": "Offer", "arm": "Arm",
          "impressions": "Impressions", "sends": "Coupons sent", "redemptions": "Redeemed",
          "exposed": "Customers exposed",
          "bought_after": "Bought after", "purchase_rate": "Purchase rate", "lift": "Lift", "lift_low": "95 % low",
          "lift_high": "95 % high", "coupons_sent": "Coupons sent", "redeemed": "Redeemed",
          "sent_per_impression": "Sent per impression", "redeemed_per_sent": "Redeemed per sent", "staff": "Staff",
          "assisted": "Assisted sales", "contacts": "Contacts", "conversions": "Conversions", "add_ons": "Add-ons",
          "conversion_rate": "Conversion rate"}
RATES = {"purchase_rate", "lift", "lift_low", "lift_high", "sent_per_impression", "redeemed_per_sent",
         "conversion_rate"}
LEFT = {"day", "store", "store_name", "item", "offer", "arm", "staff"}


def _kind(request: Request, slug: str) -> Kind:
    kind = KINDS.get(slug)
    if kind is None:
        raise NotFoundException()
    if request.state.user.role not in kind.roles:
        raise PermissionDeniedException(f"Your role does not include the report on {kind.report.subject}.")
    return kind


def cell(column: str, value: object) -> str:
    """A value as the table shows it: rates as percentages (two decimals: exactly the CSV's four-decimal
    fraction, never rounded twice), nothing as a dash."""
    if value is None:
        return "–"
    if column in RATES:
        return f"{value * 100:+.2f} %" if column.startswith("lift") else f"{value * 100:.2f} %"
    return str(value)


@dataclass
class Query:
    first: str
    last: str
    region: str
    store: str

    def params(self) -> dict[str, str]:
        return {"from": self.first, "to": self.last, "region": self.region, "store": self.store}


def _run(request: Request, kind: Kind, q: Query) -> dict:
    """The report's rows for the filters, or the reason the filters cannot be used (``error``)."""
    c = session.console(request)
    user = request.state.user
    session.check_store(user, q.store)
    stores = c.stores()
    mine = [s for s in stores if user.may_see_store(s.store)]
    names = reports.store_names(stores)
    own_only = user.role == "store_manager"
    zone = c.central.central.timezone
    context = {"kind": kind, "q": q, "zone": zone, "regions": sorted({s.region for s in mine}),
               "stores": [(s.store, names[s.store]) for s in mine], "columns": kind.report.columns,
               "labels": LABELS, "left": LEFT, "cell": cell, "rows": [], "error": "", "chart": "", "filters": None}
    try:
        last = reports.parse_day(q.last, "The last day") if q.last else reports.today(c.clock.now(), zone)
        first = reports.parse_day(q.first, "The first day") if q.first else last - timedelta(days=DEFAULT_DAYS - 1)
        chosen = reports.choose_stores(stores, region=q.region, store=q.store,
                                       may_see=user.may_see_store if own_only else None)
        f = Filters(first, last, zone, chosen)
    except PeriodError as exc:
        return {**context, "error": str(exc)[0].upper() + str(exc)[1:] + "."}
    q.first, q.last = first.isoformat(), last.isoformat()
    where = reports.where_text(q.region, q.store, names, own_only=own_only)
    rows = kind.report.rows(c.db, f, names)
    return {**context, "rows": rows, "filters": f, "where": where,
            "no_data": reports.no_data_text(kind.report, f, where),
            "chart": base64.b64encode(reports.chart_png(kind.report, rows, f, where)).decode() if rows else ""}


@get("/reports", sync_to_thread=True, guards=GUARDS)
def reports_index(request: Request) -> Template:
    role = request.state.user.role
    return page(request, "reports.html", kinds=[k for k in KINDS.values() if role in k.roles])


@get("/reports/{slug:str}", sync_to_thread=True, guards=GUARDS)
def report_page(request: Request, slug: FromPath[str], first: First = "", last: Last = "", region: Text = "",
                store: Text = "") -> Template:
    view = _run(request, _kind(request, slug), Query(first, last, region, store))
    _audit(request, view, "report.staff")
    return page(request, "report.html", status=400 if view["error"] else 200, **view)


@get("/reports/{slug:str}/csv", sync_to_thread=True, guards=GUARDS)
def report_csv(request: Request, slug: FromPath[str], first: First = "", last: Last = "", region: Text = "",
               store: Text = "") -> Response | Template:
    """The rows the page shows for the same filters, with the header row even when there are none."""
    kind = _kind(request, slug)
    view = _run(request, kind, Query(first, last, region, store))
    if view["error"]:
        return page(request, "error.html", status=400, title="That request was not understood", detail=view["error"])
    _audit(request, view, "report.staff.export")
    f: Filters = view["filters"]
    name = f"{slug}_{f.first}_{f.last}{'_' + store if store else ''}{'_' + region if region and not store else ''}"
    return Response(reports.to_csv(kind.report, view["rows"]), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{_safe(name)}.csv"'})


def _audit(request: Request, view: dict, action: str) -> None:
    """Staff KPIs name staff members: who read them, for which stores and days, goes to the audit log."""
    if view["kind"].slug != "staff" or view["error"]:
        return
    q: Query = view["q"]
    scope = f"store/{q.store}" if q.store else f"region/{q.region}" if q.region else "chain"
    session.console(request).record(request, action, scope, f"{view['filters'].period_text()}, {view['where']},"
                                    f" {len(view['rows'])} row(s)")


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)


ROUTES = [reports_index, report_page, report_csv]
