"""Emergency overrides (admin, technician; a store manager for their own stores and screens only): send one
after a confirmation that says what will happen, watch how many screens show it (htmx, every 2 s), and end one
(after a confirmation). Sending and ending go through ``HeadOffice.start_override`` / ``end_override``, which
publish and write the audit log; the checks and counts are ``central.overrides``, as for the command line."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from central import overrides
from central.content_files import Store
from central.overrides import OverrideError, Sent
from central.users import User
from sync.protocol.overrides import STYLES

from .. import session
from ..render import OVERRIDE_ROLES, done, page
from .signin import Form

GUARDS = [session.allow(*OVERRIDE_ROLES)]
UNITS = {"m": "minutes", "h": "hours"}
FIELDS = ("scope", "title", "body", "style", "expires_amount", "expires_unit", "override_id")
WIDE = "A store manager sends overrides to their own stores and screens only, not to a region or the whole chain."


def _check_scope(user: User, stores: list[Store], scope: str) -> None:
    """403 for a store manager aimed at a region, the chain, or a store or screen that is not theirs."""
    if user.role != "store_manager":
        return
    kind, _, name = scope.partition("/")
    if kind in ("chain", "region"):
        raise PermissionDeniedException(WIDE)
    owner = overrides.store_of(stores, name) if kind == "device" else None
    store = owner.store if owner else name if kind == "store" else ""
    if not store or not user.may_see_store(store):
        raise PermissionDeniedException(f"{'Screen' if kind == 'device' else 'Store'} {name} is not one of yours.")


def _may_manage(user: User, stores: list[Store], scope: str) -> bool:
    try:
        _check_scope(user, stores, scope)
    except PermissionDeniedException:
        return False
    return True


def _targets(user: User, stores: list[Store]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The scope choice: (group, [(scope, words)]), what this person may aim at only."""
    mine = [s for s in stores if user.may_see_store(s.store)]
    screens = [(f"device/{d}", f"{d} (store {st})") for st, d in overrides.screens_in(mine, "chain")]
    groups = [("Stores", [(f"store/{s.store}", f"{s.store} ({s.region})") for s in mine]), ("Screens", screens)]
    if user.role == "store_manager":
        return groups
    regions = sorted({s.region for s in stores})
    return [("Chain", [("chain", "The whole chain: every store")]),
            ("Regions", [(f"region/{r}", f"Region {r}") for r in regions]), *groups]


def _in_words(stores: list[Store], scope: str) -> str:
    kind, _, name = scope.partition("/")
    reached = overrides.stores_in(stores, scope)
    where = {"chain": "The whole chain", "region": f"Region {name}", "store": f"Store {name}",
             "device": f"Screen {name}"}.get(kind, scope)
    if kind in ("chain", "region"):
        where += f": {len(reached)} store{'' if len(reached) == 1 else 's'} ({', '.join(s.store for s in reached)})"
    elif kind == "device" and reached:
        where += f" in store {reached[0].store}"
    return where


def _form_page(request: Request, *, status: int = 200, error: str = "", form: dict | None = None) -> Template:
    c = session.console(request)
    user = request.state.user
    stores = c.stores()
    now = c.clock.time()
    visible = {s.store for s in stores if user.may_see_store(s.store)}
    rows = [(o, overrides.local_time(o.expires_at, overrides.zones_of(stores, o.scope)),
             overrides.screen_count(c.db, stores, o), _may_manage(user, stores, o.scope))
            for o in overrides.active(c.db, now)
            if user.role != "store_manager" or visible & {s.store for s in overrides.stores_in(stores, o.scope)}]
    return page(request, "overrides.html", status=status, error=error, form=form or {}, rows=rows,
                targets=_targets(user, stores), styles=STYLES, units=UNITS, max_title=overrides.MAX_TITLE,
                max_body=overrides.MAX_BODY, in_words=lambda scope: _in_words(stores, scope))


def _draft(request: Request, data: dict[str, str], override_id: str) -> overrides.Draft:
    c = session.console(request)
    stores = c.stores()
    scope = data.get("scope", "")
    _check_scope(request.state.user, stores, scope)
    amount, unit = data.get("expires_amount", "").strip(), data.get("expires_unit", "")
    if not amount:
        raise OverrideError("give the expiry: how many minutes or hours it stays on the screens")
    if unit not in UNITS:
        raise OverrideError("choose minutes or hours for the expiry")
    return overrides.draft(c.db, stores, scope=scope, expires_in=f"{amount}{unit}", title=data.get("title", ""),
                           body=data.get("body", ""), style=data.get("style", ""), override_id=override_id,
                           now=c.clock.time())


@get("/overrides", sync_to_thread=True, guards=GUARDS)
def overrides_page(request: Request) -> Template:
    return _form_page(request)


@post("/overrides/edit", sync_to_thread=True, guards=GUARDS)
def edit(request: Request, data: Form) -> Template:
    """Back from the confirmation to the form, as it was filled in."""
    return _form_page(request, form={k: data.get(k, "") for k in FIELDS})


@post("/overrides/check", sync_to_thread=True, guards=GUARDS)
def check(request: Request, data: Form) -> Template:
    """The confirmation step: what will happen, where, until when in the stores' own time; then Send."""
    c = session.console(request)
    form = {k: data.get(k, "") for k in FIELDS}
    try:
        d = _draft(request, data, "")
    except OverrideError as exc:
        return _form_page(request, status=400, error=f"Not sent: {exc}.", form=form)
    stores = c.stores()
    ends = c.clock.time() + d.expires_in_s
    return page(request, "override_confirm.html", draft=d, form={**form, "override_id": d.override_id},
                where=_in_words(stores, d.scope), screens=len(overrides.screens_in(stores, d.scope)),
                ends=overrides.local_time(ends, overrides.zones_of(stores, d.scope)),
                lasts=overrides.in_words(d.expires_in_s), style_words=STYLES[d.message["style"]])


@post("/overrides/send", sync_to_thread=True, guards=GUARDS)
def send(request: Request, data: Form) -> Template | Redirect:
    c = session.console(request)
    form = {k: data.get(k, "") for k in FIELDS}
    try:
        d = _draft(request, data, data.get("override_id", ""))
        sent = c.office().start_override(d, actor=c.actor(request), client=c.client(request))
    except OverrideError as exc:
        return _form_page(request, status=400, error=f"Not sent: {exc}.", form=form)
    except ConnectionError as exc:
        return _form_page(request, status=503, form=form,
                          error=f"Not sent: head office cannot reach the broker ({exc}). Try again in a moment.")
    return done(request, f"/overrides/{sent.override_id}", f"Override {sent.override_id} sent to "
                f"{_in_words(c.stores(), sent.scope)}.")


def _sent(request: Request, override_id: str) -> tuple[Sent, list[Store]]:
    c = session.console(request)
    found = overrides.find(c.db, override_id)
    if found is None:
        raise NotFoundException(f"no override {override_id}")
    stores = c.stores()
    _check_scope(request.state.user, stores, found.scope)
    return found, stores


def _screens_view(request: Request, override_id: str) -> dict:
    c = session.console(request)
    o, stores = _sent(request, override_id)
    count = overrides.screen_count(c.db, stores, o)
    zones = overrides.zones_of(stores, o.scope)
    return {"o": o, "count": count, "missing": [s for s in count.screens if s not in count.showing],
            "on": o.active_at(c.clock.time()), "ends": overrides.local_time(o.expires_at, zones),
            "ended": overrides.local_time(o.ended_at, zones) if o.ended_at else "",
            "where": _in_words(stores, o.scope), "updated": overrides.local_time(c.clock.time(), zones)}


@get("/overrides/{override_id:str}", sync_to_thread=True, guards=GUARDS)
def override_page(request: Request, override_id: FromPath[str]) -> Template:
    return page(request, "override.html", **_screens_view(request, override_id))


@get("/overrides/{override_id:str}/screens", sync_to_thread=True, guards=GUARDS)
def override_screens(request: Request, override_id: FromPath[str]) -> Template:
    """The count alone, for the page's htmx poll every 2 s."""
    return page(request, "_override_screens.html", **_screens_view(request, override_id))


@get("/overrides/{override_id:str}/confirm-end", sync_to_thread=True, guards=GUARDS)
def end_confirm(request: Request, override_id: FromPath[str]) -> Template:
    return page(request, "override_end.html", **_screens_view(request, override_id))


@post("/overrides/{override_id:str}/end", sync_to_thread=True, guards=GUARDS)
def end(request: Request, override_id: FromPath[str]) -> Template | Redirect:
    c = session.console(request)
    found = overrides.find(c.db, override_id)
    if found is not None:
        _check_scope(request.state.user, c.stores(), found.scope)
    try:
        c.office().end_override(override_id, actor=c.actor(request), client=c.client(request))
    except OverrideError as exc:
        return _form_page(request, status=400, error=f"Not ended: {exc}.")
    except ConnectionError as exc:
        return _form_page(request, status=503,
                          error=f"Not ended: head office cannot reach the broker ({exc}). Try again in a moment.")
    return done(request, f"/overrides/{override_id}", f"Override {override_id} ended: the screens go back to their"
                " schedules.")


ROUTES = [overrides_page, edit, check, send, override_page, override_screens, end_confirm, end]
