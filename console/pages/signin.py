"""Sign in, sign out, and the start page (links to what the role may use)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException
from litestar.params import Body
from litestar.response import Redirect, Template

from central import users

from .. import session
from ..render import done, page

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


@get("/login", sync_to_thread=False, include_in_schema=True)
def login_page(request: Request) -> Template:
    return page(request, "login.html")


@post("/login", sync_to_thread=True)
def login(request: Request, data: Form) -> Template | Redirect:
    c = session.console(request)
    name = str(data.get("username", "")).strip().lower()
    result = users.authenticate(c.db, name, str(data.get("password", "")), now=c.clock.time(),
                                max_failures=c.config.max_failures, lockout_s=c.config.lockout_s)
    if result.user is None:
        c.record(request, "login.failed", f"user/{name}", result.message, actor=name or "-")
        return page(request, "login.html", status=401, error=result.message, username=name)
    session.start(request, result.user)
    request.state.user = result.user
    c.record(request, "login", f"user/{name}")
    return Redirect("/", status_code=303)


@post("/logout", sync_to_thread=True)
def logout(request: Request) -> Redirect:
    try:
        user = session.signed_in(request)
        session.console(request).record(request, "logout", f"user/{user.username}")
    except NotAuthorizedException:
        pass  # signing out of a session that has already ended is still signing out
    request.clear_session()
    return done(request, "/login", "You are signed out.")


@get("/", sync_to_thread=True, guards=[session.allow(*users.ROLES)])
def home(request: Request) -> Template:
    return page(request, "home.html")


ROUTES = [login_page, login, logout, home]
