"""The privacy desk (privacy officer only): find a person, see their consent ledger and data, give them their
export, erase them with a receipt, merge duplicates, and the shoppers' requests with their due dates.

A person is found by a POST (a phone number never goes in an address); the person found is kept in the
encrypted session cookie, so that their page is a plain GET and each action a POST that names nobody in
its address. Every look at a person, every export, erasure and merge is in the audit log, naming them by
the start of their subject hash (``central.privacy_requests.person_ref``), never by a phone number.
"""

from __future__ import annotations

import json
import logging

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from central import find_person
from central import privacy_requests as requests
from central.erasure import export_profile
from central.keys import NoSigningKey
from central.merge import MergeError
from central.profiles import resolve

from .. import session
from ..render import PRIVACY_ROLES, done, page, when
from .signin import Form

GUARDS = [session.allow(*PRIVACY_ROLES)]
PERSON = "privacy_person"  # the session key of the person open at the desk
log = logging.getLogger("store_edge.console")


def _cannot(exc: Exception) -> str:
    """Why an erasure or merge could not start, in words; the technical reason goes to the log."""
    log.warning("privacy desk: head office cannot act on the stores: %s", exc)
    if isinstance(exc, NoSigningKey):
        return ("Head office has no key to sign the stores' update with, so nothing was changed. A technician sets"
                " one up with 'store-edge-central keys'.")
    return ("Head office cannot reach the stores right now, so nothing was changed. Try again in a minute; if it"
            " goes on, ask a technician to check the broker.")


def _desk(request: Request, *, status: int = 200, error: str = "", kind: str = "phone") -> Template:
    c = session.console(request)
    today = requests.today(c.clock.time())
    waiting = requests.open_requests(c.db)
    return page(request, "privacy.html", status=status, error=error, kind=kind, kinds=find_person.KINDS,
                open_requests=waiting, overdue=sum(r.overdue(today) for r in waiting),
                answered=requests.recent_answered(c.db), today=today, when=when,
                jurisdiction=requests.JURISDICTIONS[c.central.privacy.jurisdiction])


def _person_id(request: Request) -> str | None:
    """The person open at the desk, as they are now (merged into someone, or gone)."""
    pid = (request.scope.get("session") or {}).get(PERSON)
    return resolve(session.console(request).db, "profile_id", pid) if isinstance(pid, str) else None


def _nobody_open(request: Request) -> Redirect:
    return done(request, "/privacy", "Find a person first: nobody is open at the desk.")


def _open(request: Request, profile_id: str) -> Redirect:
    request.set_session({**(request.scope.get("session") or {}), PERSON: profile_id})
    return Redirect("/privacy/person", status_code=303)


@get("/privacy", sync_to_thread=True, guards=GUARDS)
def desk(request: Request) -> Template:
    c = session.console(request)
    c.record(request, "privacy.requests", "chain", "the privacy desk's requests")
    return _desk(request)


@post("/privacy/find", sync_to_thread=True, guards=GUARDS)
def find(request: Request, data: Form) -> Template | Redirect:
    c = session.console(request)
    kind = data.get("kind", "")
    try:
        pid = find_person.find(c.db, kind, data.get("value", ""), c.central.privacy)
    except find_person.FindError as exc:
        return _desk(request, status=400, error=f"Not searched: {exc}.", kind=kind)
    how = find_person.KINDS[kind].lower()
    if pid is None:
        c.record(request, "privacy.search", "-", f"by {how}: nobody found")
        return _desk(request, status=404, error=f"Nobody has that {how}.", kind=kind)
    c.record(request, "privacy.search", requests.person_ref(pid), f"by {how}: found")
    return _open(request, pid)


@post("/privacy/requests/{request_id:int}/open", sync_to_thread=True, guards=GUARDS)
def open_request_person(request: Request, request_id: FromPath[int]) -> Template | Redirect:
    c = session.console(request)
    asked = requests.get(c.db, request_id)
    pid = resolve(c.db, "profile_id", asked.profile_id) if asked and asked.profile_id else None
    if pid is None:
        return _desk(request, status=404, error=f"Request {request_id} names nobody held here (erased, or no such"
                                                " request).")
    c.record(request, "privacy.search", requests.person_ref(pid), f"from request {request_id}")
    return _open(request, pid)


def _person(request: Request, pid: str | None, *, status: int = 200, error: str = "") -> Template | Redirect:
    """The person's page (a look at them, so audited); ``error`` when an action on them was refused."""
    c = session.console(request)
    data = export_profile(c.db, pid) if pid else None
    if data is None:
        return _nobody_open(request)
    c.record(request, "privacy.view", requests.person_ref(pid), "profile, consent ledger, identifiers, stores,"
             " purchases and events")
    return page(request, "person.html", status=status, error=error, person=data, ref=requests.person_ref(pid),
                when=when, person_requests=requests.of_person(c.db, pid), today=requests.today(c.clock.time()),
                request_kinds=requests.KINDS)


@get("/privacy/person", sync_to_thread=True, guards=GUARDS)
def person(request: Request) -> Template | Redirect:
    return _person(request, _person_id(request))


@post("/privacy/export", sync_to_thread=True, guards=GUARDS)
def export(request: Request) -> Response | Redirect:
    c = session.console(request)
    pid = _person_id(request)
    data = export_profile(c.db, pid) if pid else None
    if data is None:
        return _nobody_open(request)
    ref = requests.person_ref(pid)
    answered = requests.answer_access(c.db, pid, jurisdiction=c.central.privacy.jurisdiction,
                                      by=request.state.user.username, now=c.clock.time())
    c.record(request, "privacy.export", ref, f"JSON download; answers request {', '.join(map(str, answered))}")
    name = f"personal-data-{ref.removeprefix('person/')}-{requests.today(c.clock.time()).isoformat()}.json"
    return Response(json.dumps(data, indent=1, ensure_ascii=False), media_type="application/json; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@post("/privacy/requests", sync_to_thread=True, guards=GUARDS)
def record_request(request: Request, data: Form) -> Template | Redirect:
    c = session.console(request)
    pid = _person_id(request)
    if pid is None:
        return _nobody_open(request)
    try:
        received = requests.parse_day(data.get("received_on", ""), now=c.clock.time())
        asked = requests.record(c.db, data.get("kind", ""), pid, received_on=received,
                                jurisdiction=c.central.privacy.jurisdiction, recorded_by=request.state.user.username,
                                now=c.clock.time())
    except requests.RequestError as exc:
        return _person(request, pid, status=400, error=f"Request not recorded: {exc}.")
    c.record(request, "privacy.request", requests.person_ref(pid),
             f"request {asked.id}: {asked.kind}, received {asked.received_on}, due {asked.due_on}")
    return done(request, "/privacy/person", f"Request {asked.id} recorded: {asked.kind}, due {asked.due_on}.")


@post("/privacy/erase", sync_to_thread=True, guards=GUARDS)
def erase(request: Request, data: Form) -> Template | Redirect:
    c = session.console(request)
    pid = _person_id(request)
    if pid is None:
        return _nobody_open(request)
    if data.get("confirm") != "yes":
        return _person(request, pid, status=400, error="Not erased: tick the box to confirm that this person is"
                                                        " to be erased everywhere.")
    ref, by = requests.person_ref(pid), request.state.user.username
    try:
        office = c.office()
        ids = requests.open_erasure(c.db, pid, jurisdiction=c.central.privacy.jurisdiction, by=by, now=c.clock.time())
        erasure = office.erase(pid, requested_by=f"console {by}", request_ids=ids)
    except (ConnectionError, NoSigningKey, OSError) as exc:
        return _person(request, pid, status=503, error=_cannot(exc))
    if erasure is None:  # erased by someone else a moment ago
        return done(request, "/privacy", "Nobody to erase: that person is no longer held here.")
    request.set_session({k: v for k, v in (request.scope.get("session") or {}).items() if k != PERSON})
    c.record(request, "privacy.erase", ref, f"erasure {erasure.erasure_id}: {len(erasure.profile_ids)} profile(s),"
             f" {len(erasure.stores)} store(s) told; request {', '.join(map(str, ids))}")
    return done(request, f"/privacy/requests/{ids[0]}", "Erased. The receipt below fills in as each store confirms.")


@post("/privacy/merge", sync_to_thread=True, guards=GUARDS)
def merge(request: Request, data: Form) -> Template | Redirect:
    c = session.console(request)
    pid = _person_id(request)
    if pid is None:
        return _nobody_open(request)
    other = data.get("other", "").strip()
    if data.get("confirm") != "yes":
        return _person(request, pid, status=400, error="Not merged: tick the box to confirm that both are one"
                                                        " person.")
    try:
        merged = c.office().merge(pid, other)
    except MergeError as exc:
        return _person(request, pid, status=400, error=f"Not merged: {exc}.")
    except (ConnectionError, NoSigningKey, OSError) as exc:
        return _person(request, pid, status=503, error=_cannot(exc))
    c.record(request, "privacy.merge", requests.person_ref(merged.winner),
             f"{requests.person_ref(merged.loser)} merged into it; {len(merged.stores)} store(s) updated")
    request.set_session({**(request.scope.get("session") or {}), PERSON: merged.winner})
    return done(request, "/privacy/person", f"Merged: {merged.loser} is now part of {merged.winner} (the older"
                                            " profile), and its stores were told.")


@get("/privacy/requests/{request_id:int}", sync_to_thread=True, guards=GUARDS)
def receipt(request: Request, request_id: FromPath[int]) -> Template:
    c = session.console(request)
    asked = requests.get(c.db, request_id)
    if asked is None:
        raise NotFoundException()
    c.record(request, "privacy.requests", f"request/{request_id}", "a request and its receipt")
    return page(request, "receipt.html", asked=asked, receipt=requests.receipt(c.db, asked.erasure_id)
                if asked.erasure_id else None, when=when, today=requests.today(c.clock.time()),
                request_kinds=requests.KINDS)


ROUTES = [desk, find, open_request_person, person, export, record_request, erase, merge, receipt]
