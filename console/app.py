"""The Litestar application: routes, templates, static files, the encrypted session cookie, CSRF,
security headers, and error pages in words (a person never sees a stack trace or a 500 in JSON)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path

from litestar import Litestar, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders, State
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from . import pages, session
from .render import page
from .state import Console

log = logging.getLogger("store_edge.console")
HERE = Path(__file__).parent
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:;"
                               " frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
NO_STORE = {"Cache-Control": "no-store"}  # pages hold people's data; the static files may be cached
MESSAGES = {  # status -> (title, what to do); a 403 says what is not yours instead
    400: ("That request was not understood", "Please check the address or the form."),
    403: ("You do not have access to this", ""),
    404: ("There is no such page", "Please check the address, or start again from the start page."),
    405: ("That page cannot be used this way", "Please use the page's own links and buttons."),
    411: ("That upload was not understood", ""),  # the detail says what to do
    413: ("That file is too big", ""),
}
OTHER = ("That did not work", "Please try again from the start page.")
PUBLIC_NAMES = {"status": "state", "page_number": "page"}  # the handlers' argument names for the query's
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CSRF_REFUSED = "This form has expired or did not come from this console. Reload the page and try again."


def _error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotAuthorizedException):
        if exc.detail == session.ENDED:
            request.set_session({"notice": session.ENDED})
        if request.headers.get("HX-Request"):
            return Response("", status_code=401, headers={"HX-Redirect": "/login"})
        return Redirect("/login", status_code=303)
    if not isinstance(exc, HTTPException):
        log.exception("console request %s %s failed", request.method, request.url.path, exc_info=exc)
        return page(request, "error.html", status=500, title="Something went wrong on our side",
                    detail="It has been logged. Please try again.")
    title, detail = MESSAGES.get(exc.status_code, OTHER)
    if isinstance(exc, ValidationException):
        fields = sorted({str(PUBLIC_NAMES.get(e.get("key"), e.get("key"))) for e in exc.extra or []
                         if isinstance(e, dict)})
        if fields:
            detail = f"Please check the address or the form: {', '.join(fields)} cannot be used as given."
    elif exc.status_code == 403:
        detail = CSRF_REFUSED if "CSRF" in str(exc.detail) else str(exc.detail)
    elif exc.status_code in (411, 413):
        detail = str(exc.detail) if str(exc.detail).startswith("Not uploaded") else \
            "Not uploaded: the file is bigger than the console takes."
    return page(request, "error.html", status=exc.status_code, title=title, detail=detail)


async def _refuse_nul(request: Request) -> None:
    """No person types a NUL character, and PostgreSQL's text cannot hold one: a request carrying one in its
    address or form is a 400 in words before any handler sees it."""
    values = [request.url.path, *(v for _, v in request.query_params.multi_items())]
    if request.method == "POST" and request.headers.get("content-type", "").startswith(FORM_TYPES):
        values += [v for _, v in (await request.form()).multi_items() if isinstance(v, str)]
    if any("\x00" in v for v in values):
        raise ValidationException("a NUL character in the request")


def _security_headers(app: ASGIApp) -> ASGIApp:
    """On every response, the error pages and static files included."""
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                static = scope["path"].startswith("/static/")
                for name, value in (HEADERS if static else {**HEADERS, **NO_STORE}).items():
                    headers[name] = value
            await send(message)
        await app(scope, receive, send_with_headers)
    return middleware


def create_app(console: Console, session_key: bytes, *, secure_cookies: bool = True) -> Litestar:
    """The console over ``console`` (the store, the clock, the configuration); ``session_key`` is 32 bytes."""
    csrf_secret = hmac.new(session_key, b"store-edge console csrf", hashlib.sha256).hexdigest()
    sessions = session.SessionCookies(secret=session_key, key="console_session",
                                      max_age=console.config.session_max_age_s, secure=secure_cookies, httponly=True,
                                      samesite="lax")
    return Litestar(
        route_handlers=[*pages.ROUTES,
                        create_static_files_router("/static", directories=[HERE / "static"], include_in_schema=False)],
        state=State({"console": console}),
        template_config=TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine),
        csrf_config=CSRFConfig(secret=csrf_secret, cookie_name="console_csrf", cookie_secure=secure_cookies,
                               cookie_samesite="strict"),
        middleware=[_security_headers, pages.media.upload_limit, sessions.middleware],
        exception_handlers={Exception: _error},
        before_request=_refuse_nul,
        on_shutdown=[console.close],  # head office's broker link, if the console made one
        openapi_config=OpenAPIConfig(title="store-edge head-office console", version="1",
                                     render_plugins=[JsonRenderPlugin()]),  # no HTML viewer: it loads from CDNs
        logging_config=None,  # the process's own logging (JSON lines) stays; Litestar would replace its format
        debug=False,
    )
