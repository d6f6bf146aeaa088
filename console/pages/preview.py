"""Preview (admin, marketer; a store manager for their own stores): what a store's signage screen and its kiosk's
offers and menu would show at a moment in the store's time and a weather, drawn by the player's and the engine's
own code in the preview's worker (``console.preview_renderer``), from the bundles head office would publish for
that device, live or with the offer drafts; and the schedule's day with each playlist's span and why."""

from __future__ import annotations

from datetime import timedelta

from litestar import Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.response import Template

from central.content_files import ContentProblem
from central.device_view import device_view
from decisions.context import WEATHER_CODES
from signage.schedule import ScheduleError

from .. import session
from ..preview_renderer import PreviewUnavailable
from ..preview_request import LANGUAGES, WEATHER_WORDS, BadPreview, active_now, png_data, read_ask, store_zone, timeline
from ..render import DRAFT_ROLES, PREVIEW_ROLES, page
from .signin import Form

GUARDS = [session.allow(*PREVIEW_ROLES)]
UNAVAILABLE = "Preview unavailable, try again."


def _stores(request: Request):
    user = request.state.user
    return [s for s in session.console(request).stores() if user.may_see_store(s.store)]


def _form(request: Request, filled: dict[str, str] | None = None) -> dict:
    """The form's lists and values: as sent, else the first store's next morning at 08:30 in its own time."""
    c = session.console(request)
    stores = _stores(request)
    tomorrow = (c.clock.now().astimezone(store_zone(stores[0])) if stores else c.clock.now()) + timedelta(days=1)
    f = {"date": tomorrow.date().isoformat(), "time": "08:30", "weather": "clear", "temperature": "12",
         "content": "live", "lang": "en", "where": stores[0].store if stores else "", **(filled or {})}
    return {"stores": stores, "weathers": [(w, WEATHER_WORDS[w]) for w in WEATHER_CODES], "languages": LANGUAGES,
            "may_draft": request.state.user.role in DRAFT_ROLES, "f": f}


@get("/preview", sync_to_thread=True, guards=GUARDS)
def preview_page(request: Request) -> Template:
    session.console(request).preview.warm()  # the worker starts while the person fills the form
    return page(request, "preview.html", **_form(request))


# Not POST /preview: Litestar 2.25 wraps a GET handler to a thread twice when a POST one shares its path.
@post("/preview/show", sync_to_thread=True, guards=GUARDS)
def preview_render(request: Request, data: Form) -> Template:
    c = session.console(request)
    user = request.state.user
    try:
        ask = read_ask(data, c.stores(), may_draft=user.role in DRAFT_ROLES)
    except BadPreview as exc:
        return _result(request, data, status=400, error=f"Not previewed: {exc}")
    except ContentProblem:
        return _result(request, data, status=503, error="Not previewed: head office's stores list cannot be read.")
    if not user.may_see_store(ask.store.store):
        raise PermissionDeniedException(f"Store {ask.store.store} is not one of yours.")
    try:
        view = device_view(c.central, c.db, ask.store, ask.device, drafts=ask.drafts)
    except ContentProblem as exc:
        return _result(request, data, status=400, ask=ask, problems=exc.problems,
                       error="Not previewed: a device would refuse head office's files (the Publishing page lists"
                             " the same problems).")
    try:
        shown = c.preview.render(ask.job(view, c.central.central.chain))
    except PreviewUnavailable:
        return _result(request, data, status=503, ask=ask, error=UNAVAILABLE)
    try:
        stretches, marker = timeline(shown["schedules"], ask)
        playing, why = active_now(shown["schedules"], ask)
    except ScheduleError as exc:
        stretches, marker, playing, why = [], 0.0, (), f"the schedules do not load ({exc})"
    return _result(request, data, ask=ask, signage=png_data(shown["signage_png"]), kiosk=png_data(shown["kiosk_png"]),
                   stretches=stretches, marker=marker, playing=playing, why=why, menu=shown["menu"],
                   offers=shown["offers"])


def _result(request: Request, data: dict[str, str], *, status: int = 200, **context: object) -> Template:
    """The result alone for htmx (it swaps it in under the form); the whole page, form as sent, without script."""
    if request.headers.get("HX-Request"):
        return page(request, "_preview_result.html", status=status, **context)
    return page(request, "preview.html", status=status, result=True, **_form(request, data), **context)


ROUTES = [preview_page, preview_render]
