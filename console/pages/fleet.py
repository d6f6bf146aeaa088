"""The fleet (technician, admin; a store manager sees their own stores only): the devices from
``central.fleet.find_devices``, filtered by region, store, kind and state and paged in SQL, refreshed every 2 s
by htmx."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Request, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from central.fleet import KINDS, STATES, FleetFilter, find_devices, region_names, store_names

from .. import session
from ..render import FLEET_ROLES, ago, page, when

GUARDS = [session.allow(*FLEET_ROLES)]
PER_PAGE = 50
STORE_CHOICES = 300  # up to this many stores the store filter is a list; beyond, a person types the store's id
StateFilter = Annotated[Literal["", "online", "stale", "offline", "never seen"], QueryParameter(name="state")]
KindFilter = Annotated[Literal["", "kiosk", "tablet", "signage", "other"], QueryParameter(name="kind")]
Region = FromQuery[str]
Store = FromQuery[str]
Page = Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)]


def _view(request: Request, region: str, store: str, kind: str, state: str, page_number: int, *,
          choices: bool) -> dict:
    """The table's rows and counts; with ``choices``, the filters' stores and regions too (the whole page)."""
    c = session.console(request)
    user = request.state.user
    session.check_store(user, store)
    c.roster.refresh(c.db)
    mine = user.stores if user.role == "store_manager" else None
    where = FleetFilter(region=region, store=store, state=state, kind=kind, stores=mine)
    now = c.clock.time()
    found = find_devices(c.db, now=now, stale_after_s=c.central.central.stale_after_s, where=where, limit=PER_PAGE,
                         offset=(page_number - 1) * PER_PAGE)
    pages = max(1, -(-found.total // PER_PAGE))
    if page_number > pages:  # past the end (the fleet shrank, or a typed address): the last page
        page_number = pages
        found = find_devices(c.db, now=now, stale_after_s=c.central.central.stale_after_s, where=where,
                             limit=PER_PAGE, offset=(pages - 1) * PER_PAGE)
    view = {"rows": found.rows, "total": found.total, "page_number": page_number, "pages": pages, "region": region,
            "store": store, "kind": kind, "state": state, "states": STATES, "kinds": KINDS, "counts": found.counts,
            "now": now, "ago": ago, "when": when}
    if choices:
        view.update(all_regions=region_names(c.db, mine), all_stores=store_names(c.db, mine, limit=STORE_CHOICES))
    return view


@get("/fleet", sync_to_thread=True, guards=GUARDS)
def fleet_page(request: Request, region: Region = "", store: Store = "", kind: KindFilter = "",
               status: StateFilter = "", page_number: Page = 1) -> Template:
    return page(request, "fleet.html", **_view(request, region, store, kind, status, page_number, choices=True))


@get("/fleet/table", sync_to_thread=True, guards=GUARDS)
def fleet_table(request: Request, region: Region = "", store: Store = "", kind: KindFilter = "",
                status: StateFilter = "", page_number: Page = 1) -> Template:
    """The table alone, for the page's htmx poll every 2 s."""
    return page(request, "_fleet_table.html", **_view(request, region, store, kind, status, page_number,
                                                      choices=False))


ROUTES = [fleet_page, fleet_table]
