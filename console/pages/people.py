"""People (admin only): list, add, change role and stores, switch off and on, unlock. Every change is audited."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from central import users
from central.users import ROLE_NAMES, UserError

from .. import session
from ..render import USERS_ROLES, done, page, when
from .signin import Form

GUARDS = [session.allow(*USERS_ROLES)]


def _people(request: Request, *, status: int = 200, error: str = "", form: dict | None = None) -> Template:
    c = session.console(request)
    return page(request, "users.html", status=status, people=users.list_users(c.db), roles=ROLE_NAMES,
                now=c.clock.time(), when=when, error=error, form=form or {})


@get("/users", sync_to_thread=True, guards=GUARDS)
def people_page(request: Request) -> Template:
    return _people(request)


@post("/users/add", sync_to_thread=True, guards=GUARDS)
def add(request: Request, data: Form) -> Template | Redirect:
    c = session.console(request)
    name = data.get("username", "").strip().lower()
    try:
        stores = users.parse_stores(data.get("stores"))
        user = users.add_user(c.db, name, data.get("role", ""), data.get("password", ""), stores=stores,
                              now=c.clock.time())
    except UserError as exc:
        return _people(request, status=400, error=f"Not added: {exc}.", form=data)
    c.record(request, "user.add", f"user/{user.username}", f"role {user.role}" + _stores(user.stores))
    return done(request, "/users", f"{user.username} can sign in now as {ROLE_NAMES[user.role]}.")


def _stores(stores: tuple[str, ...]) -> str:
    return f", stores {','.join(stores)}" if stores else ""


@post("/users/{username:str}/role", sync_to_thread=True, guards=GUARDS)
def change_role(request: Request, username: FromPath[str], data: Form) -> Template | Redirect:
    c = session.console(request)
    if username == request.state.user.username:
        return _people(request, status=400, error="You cannot change your own role: ask another admin.")
    try:
        user = users.set_role(c.db, username, data.get("role", ""), users.parse_stores(data.get("stores")))
    except UserError as exc:
        return _people(request, status=400, error=f"{username} not changed: {exc}.")
    c.record(request, "user.role", f"user/{username}", f"role {user.role}" + _stores(user.stores))
    return done(request, "/users", f"{username} is {ROLE_NAMES[user.role]} now{_stores(user.stores)}.")


@post("/users/{username:str}/active", sync_to_thread=True, guards=GUARDS)
def switch(request: Request, username: FromPath[str], data: Form) -> Template | Redirect:
    c = session.console(request)
    active = data.get("active") == "1"
    if not active and username == request.state.user.username:
        return _people(request, status=400, error="You cannot switch off your own account.")
    try:
        users.set_active(c.db, username, active)
    except UserError as exc:
        return _people(request, status=400, error=f"Not changed: {exc}.")
    c.record(request, "user.activate" if active else "user.deactivate", f"user/{username}")
    return done(request, "/users", f"{username} {'can sign in again' if active else 'is switched off'}.")


@post("/users/{username:str}/unlock", sync_to_thread=True, guards=GUARDS)
def unlock(request: Request, username: FromPath[str]) -> Template | Redirect:
    c = session.console(request)
    try:
        users.unlock(c.db, username)
    except UserError as exc:
        return _people(request, status=400, error=f"Not unlocked: {exc}.")
    c.record(request, "user.unlock", f"user/{username}")
    return done(request, "/users", f"{username} is unlocked.")


@post("/users/{username:str}/password", sync_to_thread=True, guards=GUARDS)
def reset_password(request: Request, username: FromPath[str], data: Form) -> Template | Redirect:
    """A new password for someone who forgot theirs; it also lifts a lockout."""
    c = session.console(request)
    try:
        users.set_password(c.db, username, data.get("password", ""))
        users.unlock(c.db, username)
    except UserError as exc:
        return _people(request, status=400, error=f"Password not set: {exc}.")
    c.record(request, "user.password", f"user/{username}")
    return done(request, "/users", f"{username} has a new password; tell them in person.")


ROUTES = [people_page, add, change_role, switch, unlock, reset_password]
