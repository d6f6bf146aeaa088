"""Stores and their staff. Everyone here sees stores read-only (a store manager only their own); an admin adds
and changes stores; an admin, or a store manager for their own stores, adds staff, changes a name or role, sets
a PIN and switches a member off or on. Every change goes through ``central.stores``, is audited, and is
published to the store's devices at once (``central.stores.publish_store``)."""

from __future__ import annotations

from pathlib import Path

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from central import stores
from central.content_files import ContentProblem, Store
from central.fleet import fleet
from central.stores import STAFF_ROLES, StoreEditError

from .. import session
from ..render import STAFF_EDIT_ROLES, STORE_EDIT_ROLES, STORES_ROLES, ago, done, page, when
from .signin import Form

VIEW = [session.allow(*STORES_ROLES)]
EDIT_STORES = [session.allow(*STORE_EDIT_ROLES)]
EDIT_STAFF = [session.allow(*STAFF_EDIT_ROLES)]


def _root(request: Request) -> Path:
    return Path(session.console(request).central.central.content_dir)


def _visible(request: Request) -> tuple[list[Store], str]:
    """The stores this person may see, and the problem with stores.csv when it cannot be read."""
    try:
        every = session.console(request).stores()
    except ContentProblem as exc:
        return [], "stores.csv cannot be read: " + "; ".join(exc.problems)
    return [s for s in every if request.state.user.may_see_store(s.store)], ""


def _list(request: Request, *, status: int = 200, error: str = "", form: dict | None = None) -> Template:
    visible, problem = _visible(request)
    root = _root(request)
    staff = {s.store: sum(m.active for m in stores.list_staff(root, s.store)) for s in visible}
    return page(request, "stores.html", status=status, stores=visible, staff=staff, error=error or problem,
                form=form or {}, may_edit=request.state.user.role in STORE_EDIT_ROLES)


def _store(request: Request, store_id: str, *, status: int = 200, error: str = "",
           form: dict | None = None) -> Template:
    c = session.console(request)
    user = request.state.user
    session.check_store(user, store_id)
    root = _root(request)
    try:
        store = stores.find_store(root, store_id)
    except ContentProblem as exc:
        return page(request, "error.html", status=400, title="stores.csv cannot be read",
                    detail="; ".join(exc.problems))
    if store is None:
        raise NotFoundException(f"There is no store {store_id}.")
    now = c.clock.time()
    devices = [r for r in fleet(c.db, now=now, stale_after_s=c.central.central.stale_after_s, stores=[store])
               if r.store == store_id]
    return page(request, "store.html", status=status, store=store, devices=devices, now=now, ago=ago, when=when,
                staff=stores.list_staff(root, store_id), roles=STAFF_ROLES, error=error, form=form or {},
                may_edit=user.role in STORE_EDIT_ROLES, may_staff=user.role in STAFF_EDIT_ROLES)


@get("/stores", sync_to_thread=True, guards=VIEW)
def stores_page(request: Request) -> Template:
    return _list(request)


@get("/stores/{store_id:str}", sync_to_thread=True, guards=VIEW)
def store_page(request: Request, store_id: FromPath[str]) -> Template:
    return _store(request, store_id)


@post("/stores/add", sync_to_thread=True, guards=EDIT_STORES)
def add_store(request: Request, data: Form) -> Template | Redirect:
    try:
        store = stores.save_store(_root(request), data, new=True)
    except StoreEditError as exc:
        return _list(request, status=400, error=f"Not added: {exc}.", form=data)
    return _changed(request, store.store, "store.add", f"store/{store.store}", _described(store),
                    f"{store.display_name} ({store.store}) is added.")


@post("/stores/{store_id:str}/edit", sync_to_thread=True, guards=EDIT_STORES)
def edit_store(request: Request, store_id: FromPath[str], data: Form) -> Template | Redirect:
    try:
        store = stores.save_store(_root(request), {**data, "store": store_id}, new=False)
    except StoreEditError as exc:
        return _store(request, store_id, status=400, error=f"Not saved: {exc}.", form=data)
    return _changed(request, store_id, "store.edit", f"store/{store_id}", _described(store),
                    f"{store.display_name} is saved.")


@post("/stores/{store_id:str}/staff/add", sync_to_thread=True, guards=EDIT_STAFF)
def add_staff(request: Request, store_id: FromPath[str], data: Form) -> Template | Redirect:
    session.check_store(request.state.user, store_id)
    try:
        member = stores.add_staff(_root(request), store_id, data.get("name", ""), data.get("role", ""),
                                  data.get("pin", ""))
    except StoreEditError as exc:
        return _store(request, store_id, status=400, error=f"Not added: {exc}.",
                      form={k: v for k, v in data.items() if k != "pin"})
    return _changed(request, store_id, "staff.add", f"store/{store_id}/staff/{member.id}", f"role {member.role}",
                    f"{member.name} is added as {member.role_name}.")


@post("/stores/{store_id:str}/staff/{staff_id:str}/edit", sync_to_thread=True, guards=EDIT_STAFF)
def edit_staff(request: Request, store_id: FromPath[str], staff_id: FromPath[str], data: Form) -> Template | Redirect:
    session.check_store(request.state.user, store_id)
    try:
        member = stores.change_staff(_root(request), store_id, staff_id, name=data.get("name", ""),
                                     role=data.get("role", ""))
    except StoreEditError as exc:
        return _store(request, store_id, status=400, error=f"{staff_id} not changed: {exc}.")
    return _changed(request, store_id, "staff.edit", f"store/{store_id}/staff/{staff_id}", f"role {member.role}",
                    f"{member.name} is saved.")


@post("/stores/{store_id:str}/staff/{staff_id:str}/pin", sync_to_thread=True, guards=EDIT_STAFF)
def set_pin(request: Request, store_id: FromPath[str], staff_id: FromPath[str], data: Form) -> Template | Redirect:
    """A new PIN, hashed at once; the audit entry says that it was set, never what it is."""
    session.check_store(request.state.user, store_id)
    try:
        member = stores.change_staff(_root(request), store_id, staff_id, pin=data.get("pin", ""))
    except StoreEditError as exc:
        return _store(request, store_id, status=400, error=f"PIN not set: {exc}.")
    return _changed(request, store_id, "staff.pin", f"store/{store_id}/staff/{staff_id}", "",
                    f"{member.name} has a new PIN; tell them in person.")


@post("/stores/{store_id:str}/staff/{staff_id:str}/active", sync_to_thread=True, guards=EDIT_STAFF)
def switch_staff(request: Request, store_id: FromPath[str], staff_id: FromPath[str],
                 data: Form) -> Template | Redirect:
    session.check_store(request.state.user, store_id)
    active = data.get("active") == "1"
    try:
        member = stores.change_staff(_root(request), store_id, staff_id, active=active)
    except StoreEditError as exc:
        return _store(request, store_id, status=400, error=f"Not changed: {exc}.")
    return _changed(request, store_id, "staff.activate" if active else "staff.deactivate",
                    f"store/{store_id}/staff/{staff_id}", "",
                    f"{member.name} {'can sign in on the tablet again' if active else 'is switched off'}.")


def _changed(request: Request, store_id: str, action: str, scope: str, detail: str, notice: str) -> Redirect:
    """Audit the change, send it to the store's devices, and say both."""
    c = session.console(request)
    c.record(request, action, scope, detail)
    published = stores.publish_store(c.central, c.db, c.clock, store_id)
    return done(request, f"/stores/{store_id}", f"{notice} {published.message}")


def _described(store: Store) -> str:
    return ", ".join(f"{k} {v}" for k, v in (("name", store.name), ("region", store.region),
                                            ("devices", "|".join(store.devices)), ("timezone", store.timezone),
                                            ("country", store.country), ("lat", store.lat), ("lon", store.lon))
                     if v not in ("", None))


ROUTES = [stores_page, add_store, store_page, edit_store, add_staff, edit_staff, set_pin, switch_staff]
