"""Who is signed in: the session cookie's contents, its expiry by the head office's clock, and the role guards.

The cookie (encrypted and signed by Litestar with ``[console] secret_file``) holds only the user name,
when the session was last used (to the minute: ``SEEN_STEP_S``) and a page's one-time notice; it is set only
by a reply that changed it. Expiry is checked here against the clock the entry point handed
down, so a test moves a :class:`sync.clock.FixedClock` past ``session_max_age_s`` instead of waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.types import Message, ScopeSession

from central import users
from central.users import User

from .state import Console

ENDED = "Your session has ended. Please sign in again."
# How far "last used" may lag: it moves at most this often, so that most replies leave the cookie as it is (below).
SEEN_STEP_S = 60
_LOADED = "store_edge.session_loaded"  # the scope's copy of the session as the request brought it


class _ChangedOnlyBackend(ClientSideSessionBackend):
    """Sets the cookie only on a reply that changed the session. Replies race: a form's check as you type, sent
    just before its save, can come back after the save's reply and would put back the cookie from before the save
    (its one-time "saved" notice lost)."""

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope[_LOADED] = dict(data)  # type: ignore[literal-required]
        return data

    async def store_in_message(self, scope_session: ScopeSession, message: Message,
                               connection: ASGIConnection) -> None:
        loaded = connection.scope.get(_LOADED)
        if loaded and scope_session == loaded:
            return
        await super().store_in_message(scope_session, message, connection)


class SessionCookies(CookieBackendConfig):
    """The console's encrypted session cookie, set only when its contents change."""

    _backend_class = _ChangedOnlyBackend


def console(connection: ASGIConnection) -> Console:
    return connection.app.state.console


def start(connection: ASGIConnection, user: User) -> None:
    connection.set_session({"user": user.username, "seen": console(connection).clock.time()})


def signed_in(connection: ASGIConnection) -> User:
    """The user of this request, or NotAuthorizedException (the handlers send them to the sign-in page)."""
    c = console(connection)
    session = connection.session or {}
    name, seen = session.get("user"), session.get("seen")
    if not isinstance(name, str) or not isinstance(seen, int | float):
        raise NotAuthorizedException("Please sign in.")  # a first visit: the sign-in page says nothing more
    now = c.clock.time()
    user = users.get_user(c.db, name)
    if now - seen > c.config.session_max_age_s or user is None or not user.active:
        connection.clear_session()
        raise NotAuthorizedException(ENDED)
    if now - seen >= SEEN_STEP_S:
        connection.set_session({**session, "seen": now})
    connection.state.user = user
    return user


def allow(*roles: str) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A guard: signed in, and one of ``roles``."""
    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if signed_in(connection).role not in roles:
            raise PermissionDeniedException("Your role does not include this page.")
    guard.roles = roles  # read by the role-matrix test: every route, every role
    return guard


def check_store(user: User, store: str) -> None:
    """A store manager asking for another store's data gets a 403."""
    if store and not user.may_see_store(store):
        raise PermissionDeniedException(f"Store {store} is not one of yours.")
