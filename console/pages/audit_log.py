"""The audit log (admin and privacy officer): newest first, filtered by person or action, paged, and as CSV.
Reading it is itself recorded: the log names people and where they were."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Response, Template

from central import audit

from .. import session
from ..render import AUDIT_ROLES, page

GUARDS = [session.allow(*AUDIT_ROLES)]
PER_PAGE = 50


@get("/audit", sync_to_thread=True, guards=GUARDS)
def audit_page(request: Request, actor: FromQuery[str] = "", action: FromQuery[str] = "",
               page_number: Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)] = 1) -> Template:
    c = session.console(request)
    total = audit.count(c.db, actor=actor, action=action)
    rows = audit.entries(c.db, limit=PER_PAGE, offset=(page_number - 1) * PER_PAGE, actor=actor, action=action)
    c.record(request, "audit.view", "chain", f"page {page_number}" + (f", actor {actor}" if actor else "")
             + (f", action {action}" if action else ""))
    return page(request, "audit.html", rows=rows, total=total, page_number=page_number,
                pages=max(1, -(-total // PER_PAGE)), actor=actor, action=action, utc_text=audit.utc_text,
                actions=audit.ACTIONS)


@get("/audit.csv", sync_to_thread=True, guards=GUARDS)
def audit_csv(request: Request) -> Response:
    c = session.console(request)
    c.record(request, "audit.export", "chain", "CSV download")
    return Response(audit.to_csv(c.db), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})


ROUTES = [audit_page, audit_csv]
