"""Publishing (admin, marketer): what the next publish would change against what is live, per scope; publish (to a
pilot store first if chosen); approve another person's publication (four-eyes); promote after a passed pilot; roll
back. Every step is ``central.pipeline``, the code the command line's ``publish`` runs, which writes the audit log."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from central import pipeline
from central.content_diff import Change
from central.content_files import ContentProblem
from central.headoffice import HeadOffice
from central.keys import Keyring

from .. import session
from ..render import PUBLISHING_ROLES, done, page, when
from .signin import Form

GUARDS = [session.allow(*PUBLISHING_ROLES)]


def _reader(request: Request) -> HeadOffice:
    """Head office without a broker link: reading the files and the pilots' events needs none."""
    c = session.console(request)
    return HeadOffice(c.central, c.db, Keyring(c.central.central.keys_dir), None, clock=c.clock)


def _pending(request: Request) -> tuple[list[tuple[str, list[Change]]], list[str]]:
    """(scope, its changes against live) for every scope the next publish would send; or the files' problems."""
    c = session.console(request)
    office = _reader(request)
    try:
        plans = office.plan_content()
    except ContentProblem as exc:
        root = c.central.central.content_dir.rstrip("/") + "/"
        return [], [p.replace(root, "") for p in exc.problems]  # the files as head office names them
    return pipeline.pending(office, plans), []


def _page(request: Request, *, status: int = 200, error: str = "") -> Template:
    c = session.console(request)
    pending, problems = _pending(request)
    rows = []
    for pub in pipeline.history(c.db):
        if pub.state == pipeline.PILOTING:
            pipeline.watch(_reader(request), pub.id)
            pub = pipeline.get(c.db, pub.id)
        rows.append((pub, sorted({r.scope for r in pipeline.rows(c.db, pub.id)})))
    return page(request, "publishing.html", status=status, error=error, pending=pending, problems=problems,
                open_pub=pipeline.open_publication(c.db),
                rows=rows, stores=[s.store for s in c.stores()], approval=c.central.publishing.approval, when=when,
                me=request.state.user.username)


@get("/publishing", sync_to_thread=True, guards=GUARDS)
def publishing_page(request: Request) -> Template:
    return _page(request)


def _step(request: Request, what: str, act) -> Template | Redirect:
    try:
        pub = act(session.console(request))
    except (pipeline.PipelineRefused, ContentProblem) as exc:
        return _page(request, status=400, error=f"Not {what}: {exc}.")
    except ConnectionError as exc:
        return _page(request, status=503, error=f"Not {what}: head office cannot reach the broker ({exc}).")
    if pub is None:
        return done(request, "/publishing", "Nothing changed since the last publication: nothing was sent.")
    return done(request, "/publishing", f"Publication {pub.id}: {pub.state}.")


@post("/publishing/publish", sync_to_thread=True, guards=GUARDS)
def publish(request: Request, data: Form) -> Template | Redirect:
    pilot = [data["pilot"]] if data.get("pilot") else None
    return _step(request, "published", lambda c: pipeline.submit(
        c.office(), c.office().plan_content(), author=c.actor(request), pilot=pilot, client=c.client(request)))


@post("/publishing/{pub_id:int}/{action:str}", sync_to_thread=True, guards=GUARDS)
def step(request: Request, pub_id: FromPath[int], action: FromPath[str]) -> Template | Redirect:
    act = {"approve": pipeline.approve, "promote": pipeline.promote, "rollback": pipeline.rollback}.get(action)
    if act is None:
        return _page(request, status=404, error=f"No step {action!r}.")
    return _step(request, {"approve": "approved", "promote": "promoted", "rollback": "rolled back"}[action],
                 lambda c: act(c.office(), pub_id, by=c.actor(request), client=c.client(request)))


ROUTES = [publishing_page, publish, step]
