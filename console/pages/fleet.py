"""The fleet (technician, admin; a store manager sees their own stores only): every device from
``central.fleet.fleet``, filtered by region, store and state, paged, and refreshed every 2 s by htmx."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

from litestar import Request, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from central.content_files import load_stores
from central.fleet import fleet

from .. import session
from ..render import FLEET_ROLES, ago, page, when

GUARDS = [session.allow(*FLEET_ROLES)]
PER_PAGE = 50
STATES = ("online", "stale", "offline", "never seen")
StateFilter = Annotated[Literal["", "online", "stale", "offline", "never seen"], QueryParameter(name="state")]
Region = FromQuery[str]
Store = FromQuery[str]
Page = Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)]


def _view(request: Request, region: str, store: str, state: str, page_number: int) -> dict:
    c = session.console(request)
    user = request.state.user
    session.check_store(user, store)
    root = Path(c.central.central.content_dir)
    stores = load_stores(root) if (root / "stores.csv").exists() else []
    regions = {s.store: s.region for s in stores}
    now = c.clock.time()
    rows = [r for r in fleet(c.db, now=now, stale_after_s=c.central.central.stale_after_s, stores=stores)
            if user.may_see_store(r.store) and (not store or r.store == store)
            and (not region or regions.get(r.store) == region) and (not state or r.status == state)]
    pages = max(1, -(-len(rows) // PER_PAGE))
    page_number = min(page_number, pages)
    visible = sorted({s.store for s in stores if user.may_see_store(s.store)} | {r.store for r in rows})
    return {"rows": rows[(page_number - 1) * PER_PAGE:page_number * PER_PAGE], "total": len(rows),
            "page_number": page_number, "pages": pages, "region": region, "store": store, "state": state,
            "regions": regions, "all_regions": sorted({regions[s] for s in visible if s in regions}),
            "all_stores": visible, "states": STATES, "counts": Counter(r.status for r in rows), "now": now,
            "ago": ago, "when": when}


@get("/fleet", sync_to_thread=True, guards=GUARDS)
def fleet_page(request: Request, region: Region = "", store: Store = "", status: StateFilter = "",
               page_number: Page = 1) -> Template:
    return page(request, "fleet.html", **_view(request, region, store, status, page_number))


@get("/fleet/table", sync_to_thread=True, guards=GUARDS)
def fleet_table(request: Request, region: Region = "", store: Store = "", status: StateFilter = "",
                page_number: Page = 1) -> Template:
    """The table alone, for the page's htmx poll every 2 s."""
    return page(request, "_fleet_table.html", **_view(request, region, store, status, page_number))


ROUTES = [fleet_page, fleet_table]
