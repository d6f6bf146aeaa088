"""Signage (admin, marketer): the week calendar of a store's or a region's schedule in its own time zone, computed
with the player's schedule code; the content items (text slides in every language side by side, pictures and videos
from the media library, product posters); the playlists (order, items, durations, weights), the layouts (zones,
drawn) and the schedule entries (dayparts, dates, priority, max plays per hour, default), each edited in a form
checked as you type (htmx) with the device's own check; drafts kept in the central store until they are published
(``central.signage_drafts``). Saving as ready runs that check on the scope's signage with the change in it. A live item
is removed by a removal draft, checked alike (a playlist a schedule plays cannot go), undone by discarding it. Every
save, removal and discard is in the audit log.

The catalogue's products and prices are drafted alike (``console.pages.catalog`` lists them and opens their forms):
these handlers check, save, discard and remove them too."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from central import signage_calendar, signage_drafts
from central.content_files import ContentProblem, Store, media_files
from central.offer_drafts import Live, lineage
from central.signage_drafts import CATALOGUE, NOUN, READS_CATALOGUE, SignageRefused
from signage.schedule import WEEKDAYS, ScheduleError
from sync.protocol.acceptance import Known

from .. import session, signage_form, signage_views
from ..preview_request import LANGUAGES
from ..render import SIGNAGE_ROLES, done, page
from .offers import MAX_DEPTH, _depth, _scopes
from .signin import Form

GUARDS = [session.allow(*SIGNAGE_ROLES)]
KINDS = {"content_items": "Content", "playlists": "Playlists", "layouts": "Layouts", "schedules": "Schedule"}
THING = {"content_items": "content item", "playlists": "playlist", "layouts": "layout", "schedules": "schedule entry",
         "products": "product", "prices": "price", "menus": "menu", "brand": "brand"}  # as a marketer says it
FILED_KINDS = ("content_items", "products", "brand")  # the kinds whose forms pick files of the media library
FIRST_YEAR, LAST_YEAR = 2000, 2200  # a week far outside would overflow the dates around it
CHANGE_WORDS = {"": "", "draft": "draft not ready", "ready": "change ready to publish", "new": "new, ready to publish",
                "removed": "removed when published"}


def _root(request: Request) -> Path:
    return Path(session.console(request).central.central.content_dir)


def _kind(kind: str) -> str:
    if kind not in THING:
        raise NotFoundException(f"There is no signage or catalogue section {kind!r}.")
    return kind


@dataclass(frozen=True)
class Files:
    """What the form offers and checks against: the stores, the signage the scope's devices will hold, and why head
    office's files could not be read (then nothing can be saved as ready)."""

    stores: list[Store]
    view: dict[str, list[dict]]
    problems: list[str]
    media: dict[str, Path] = field(default_factory=dict)  # the media library's files by name

    def ids(self, section: str) -> list[str]:
        return sorted(str(i.get("id")) for i in self.view.get(section, []))

    def content_items(self) -> list[tuple[str, str]]:
        """(id, what it shows) for the playlist's item picker."""
        return sorted((str(i.get("id")), _shows(i)) for i in self.view.get("content_items", []))

    def languages(self, item: dict) -> list[str]:
        """The chain's languages (those its product names use), then any other the item's words have."""
        chain = list(Known.of(self.view).languages) or ["en"]
        words = {lang for k in ("text", "name", "category_name", "tagline") if isinstance(item.get(k), dict)
                 for lang in item[k]}
        return chain + sorted(lang for lang in words if lang not in chain)

    def products(self) -> list[tuple[str, str]]:
        """(sku, its name) for a poster's product picker."""
        return sorted((str(p.get("sku")), _shows({"text": p.get("name")})) for p in self.view.get("products", []))


def _shows(item: dict) -> str:
    for key in ("text", "title"):
        words = item.get(key)
        if isinstance(words, dict) and words:
            return str(words.get("en") or next(iter(words.values())))
    return {"image": "Picture", "video": "Video", "menu_board": "Menu board", "offers": "Offers",
            "product": "Poster"}.get(
        str(item.get("kind")), str(item.get("kind", ""))) + (f" {item['media']}" if item.get("media") else "")


def _files(request: Request, scope: str, change: tuple[str, dict] | None = None) -> Files:
    c = session.console(request)
    try:
        stores = c.stores()
        root = _root(request)
        return Files(stores, signage_drafts.device_view(root, c.db, stores, scope, change), [], media_files(root))
    except ContentProblem as exc:
        return Files([], {}, [f"head office's files cannot be read: {p}" for p in exc.problems])


def _problems(parsed: signage_form.Parsed, files: Files) -> list[str]:
    if files.problems or parsed.typos:
        return files.problems or parsed.typos
    if _depth(parsed.item) > MAX_DEPTH:
        return [f"{NOUN[parsed.kind]} {parsed.item.get('id') or '(no id)'}: nested more than {MAX_DEPTH} levels deep"]
    return signage_drafts.check_item(parsed.kind, parsed.item, files.view, files.media)


def _view(request: Request, parsed: signage_form.Parsed, *, new: bool, problems: list[str] | None = None,
          error: str = "", status: int = 200, template: str = "") -> Template:
    c = session.console(request)
    files = _files(request, parsed.scope, (parsed.kind, parsed.item))
    if problems is None:
        problems = _problems(parsed, files)
    item_id = signage_drafts.item_id_of(parsed.kind, parsed.item)
    draft = None if new else signage_drafts.get_draft(c.db, parsed.scope, parsed.kind, item_id)
    if parsed.kind in CATALOGUE:  # saved through the signage handlers, shown under the catalogue's tab
        template, context = template or "catalog_item.html", {"path": "/catalog"}
    elif parsed.kind == "brand":
        template, context = template or "brand.html", {"path": "/brand"}
    else:
        template, context = template or "signage_item.html", {}
    return page(request, template, status=status, **context, kind=parsed.kind, kinds=KINDS, noun=THING[parsed.kind],
                new=new, parsed=parsed, f=parsed.values, rows=parsed.rows, problems=problems, error=error, draft=draft,
                scopes=_scopes(files.stores), orders=signage_form.ORDERS, content_items=files.content_items(),
                playlists=files.ids("playlists"), zone_kinds=signage_form.ZONE_KIND_WORDS, weekdays=WEEKDAYS,
                content_kinds=signage_form.CONTENT_KINDS, worded=signage_form.WORDED, filed=signage_form.FILED,
                language_names=LANGUAGES, weather_keys=signage_form.WEATHER_KEYS,
                languages=files.languages(parsed.item), products=files.products() if parsed.kind in READS_CATALOGUE
                else [], media=_showable(request, files) if parsed.kind in FILED_KINDS else [],
                **_drawn(parsed))


def _drawn(parsed: signage_form.Parsed) -> dict:
    """What a form draws of its item as it is typed: a layout's zones, a brand's sample."""
    return {"preview": signage_views.layout_view(parsed.item) if parsed.kind == "layouts" else None,
            "sample": signage_views.brand_sample(parsed.item) if parsed.kind == "brand" else None,
            "sample_name": str(parsed.item.get("name") or "")}


def _showable(request: Request, files: Files) -> list[str]:
    """The media library's files a screen can show (the devices' media check, kept per file), for the media picker."""
    checks = session.console(request).media_checks
    return [name for name, path in files.media.items() if not checks.get(path, checks.sha256(path)).refused]


@get("/signage", sync_to_thread=True, guards=GUARDS)
def calendar_page(request: Request, where: Annotated[str, QueryParameter(name="where", max_length=200)] = "",
                  week: Annotated[date | None, QueryParameter(name="week")] = None,
                  zone: Annotated[str, QueryParameter(name="zone", max_length=100)] = "main") -> Template:
    """The week calendar of a store (or a region) in its time zone, and its schedule entries."""
    c = session.console(request)
    stores = _stores(request)
    places = [*((f"store/{s.store}", f"Store {s.display_name}") for s in stores),
              *((f"region/{r}", f"Region {r}") for r in sorted({s.region for s in stores}))]
    where = where or (places[0][0] if places else "chain")
    if places and where not in dict(places):
        raise NotFoundException(f"There is no store or region {where!r}.")
    if week is not None and not FIRST_YEAR <= week.year <= LAST_YEAR:
        raise ValidationException(f"week: {week} is not a week the calendar shows")
    timezone = _timezone(stores, where, c.central.central.timezone)
    now = c.clock.now().astimezone(ZoneInfo(timezone))
    monday = signage_calendar.monday_of(week or now.date())
    files = _files(request, where)
    docs = files.view.get("schedules", [])
    zones = sorted({str(d.get("zone") or "main") for d in docs} | {"main"})
    error = "; ".join(files.problems)
    calendar = None
    try:
        days = signage_calendar.week(docs, timezone, monday, zone)
        # Every playlist the screens hold keeps its colour from week to week.
        names = sorted({*files.ids("playlists"), *(p for d in days for b in d.blocks for p in b.playlists)})
        calendar = signage_views.week_view(days, names, now.date(), now)
    except ScheduleError as exc:
        error = f"The schedule cannot be read: {exc}"
    scopes = lineage(stores, where)
    rows = [r for r in _rows(request, "schedules", error_out=[]) if r.scope in scopes]
    # A block opens the entry that plays it: the most specific scope's, as on the device.
    opens = {r.item_id: r.scope for r in sorted(rows, key=lambda r: scopes.index(r.scope))}
    return page(request, "signage_calendar.html", kinds=KINDS, kind="schedules", places=places, where=where,
                timezone=timezone, monday=monday, sunday=monday + timedelta(days=6), zones=zones, zone=zone,
                calendar=calendar, error=error, rows=rows, changes=CHANGE_WORDS, opens=opens, noun=THING["schedules"],
                prev_week=monday - timedelta(days=7), next_week=monday + timedelta(days=7), this_week=now.date(),
                words=_entry_words)


def _stores(request: Request) -> list[Store]:
    try:
        return session.console(request).stores()
    except ContentProblem:
        return []


def _timezone(stores: list[Store], where: str, fallback: str) -> str:
    """The store's own zone (stores.csv), a region's first store's that has one, else head office's."""
    kind, _, name = where.partition("/")
    zones = [s.timezone for s in stores if s.timezone and (s.store == name if kind == "store" else s.region == name)]
    return zones[0] if zones else fallback


def _entry_words(doc: dict) -> str:
    try:
        return signage_calendar.entry_words(signage_calendar.Entry.from_doc(doc))
    except ScheduleError as exc:
        return f"cannot be read: {exc}"


def _rows(request: Request, kind: str, *, error_out: list[str]) -> list[signage_drafts.Row]:
    try:
        return signage_drafts.rows(session.console(request).db, _root(request), kind)
    except ContentProblem as exc:
        error_out.append("Head office's files cannot be read: " + "; ".join(exc.problems))
        return []


@get("/signage/list", sync_to_thread=True, guards=GUARDS)
def list_page(request: Request, kind: Annotated[str, QueryParameter(name="kind", max_length=20)] = "playlists"
              ) -> Template | Redirect:
    if _kind(kind) == "schedules":
        return Redirect("/signage", status_code=303)  # listed under the calendar
    errors: list[str] = []
    rows = _rows(request, kind, error_out=errors)
    return page(request, "signage_list.html", kinds=KINDS, kind=kind, noun=THING[kind], rows=rows,
                error="; ".join(errors), changes=CHANGE_WORDS, words=_entry_words,
                content_kinds=dict(signage_form.CONTENT_KINDS))


@get("/signage/new", sync_to_thread=True, guards=GUARDS)
def new_item(request: Request, kind: Annotated[str, QueryParameter(name="kind", max_length=20)] = "playlists"
             ) -> Template:
    blank = {"content_items": {"id": "", "kind": "text", "text": {}},
             "playlists": {"id": "", "order": "sequential", "items": []},
             "layouts": {"id": "", "orientation": "landscape",
                         "zones": [{"id": "main", "kind": "playlist", "x": 0, "y": 0, "w": 1, "h": 1}]},
             "schedules": {"id": "", "playlist": "", "priority": 10}}[_kind(kind)]
    return _view(request, signage_form.form_of(kind, "chain", blank), new=True, problems=[])


@get("/signage/edit", sync_to_thread=True, guards=GUARDS)
def edit_item(request: Request, kind: Annotated[str, QueryParameter(name="kind", max_length=20)],
              item_id: Annotated[str, QueryParameter(name="id", max_length=200)],
              where: Annotated[str, QueryParameter(name="scope", max_length=200)] = "chain") -> Template:
    """A playlist's, layout's or schedule entry's form: its draft, else the live item. (``scope`` is a name Litestar
    keeps for itself: the parameter is ``where`` here and ``scope`` in the address.)"""
    body = _current(request, where, _kind(kind), item_id)
    return _view(request, signage_form.form_of(kind, where, body), new=False)


def _current(request: Request, scope: str, kind: str, item_id: str) -> dict:
    c = session.console(request)
    draft = signage_drafts.get_draft(c.db, scope, kind, item_id)
    if draft is not None and not signage_drafts.is_removal(draft.body):
        return draft.body
    live = _live(request, scope, kind, item_id)
    if live is None:
        raise NotFoundException(f"There is no {THING[kind]} {item_id} in {scope}.")
    return live.body


def _live(request: Request, scope: str, kind: str, item_id: str) -> Live | None:
    """The live item (None when there is none, or head office's files cannot be read)."""
    try:
        return signage_drafts.live_items(session.console(request).db, _root(request), (kind,)).get(
            (scope, kind, item_id))
    except ContentProblem:
        return None


def _read(data: dict[str, str]) -> signage_form.Parsed:
    return signage_form.read_form(_kind(data.get("kind", "")), data)


@post("/signage/form", sync_to_thread=True, guards=GUARDS)
def form_edit(request: Request, data: Form) -> Template:
    """A row button (add, remove, move up or down), or another kind of content item: the form again, as typed, with
    the change."""
    parsed = _read(data)
    if parsed.kind in ("playlists", "layouts", "menus"):
        signage_form.edit_rows(parsed, data.get("edit", ""))
    partial = "_catalog_form.html" if parsed.kind in CATALOGUE else "_signage_form.html"
    template = partial if request.headers.get("HX-Request") else ""
    return _view(request, parsed, new=data.get("new") == "1", template=template)


@post("/signage/check", sync_to_thread=True, guards=GUARDS)
def check(request: Request, data: Form) -> Template:
    """As you type: the device's verdict on the form as it stands (and a layout's drawing)."""
    parsed = _read(data)
    files = _files(request, parsed.scope, (parsed.kind, parsed.item))
    taken = _taken(request, parsed) if data.get("new") == "1" else ""
    return page(request, "_signage_problems.html", problems=[taken] if taken else _problems(parsed, files),
                noun=THING[parsed.kind], oob=True, kind=parsed.kind, **_drawn(parsed))


def _taken(request: Request, parsed: signage_form.Parsed) -> str:
    """What a new item's id clashes with: a live item or a draft of the same id in its scope ("" when none)."""
    item_id = signage_drafts.item_id_of(parsed.kind, parsed.item)
    if not item_id or (_live(request, parsed.scope, parsed.kind, item_id) is None and signage_drafts.get_draft(
            session.console(request).db, parsed.scope, parsed.kind, item_id) is None):
        return ""
    return f"{NOUN[parsed.kind]} {item_id}: there is already one in {parsed.scope}; give the new one its own id"


@post("/signage/save", sync_to_thread=True, guards=GUARDS)
def save(request: Request, data: Form) -> Template | Redirect:
    c = session.console(request)
    parsed = _read(data)
    new, ready = data.get("new") == "1", data.get("save") == "ready"
    files = _files(request, parsed.scope, (parsed.kind, parsed.item))
    if parsed.scope not in {s for s, _ in _scopes(files.stores)}:
        raise NotFoundException(f"There is no scope {parsed.scope!r}.")
    item_id = signage_drafts.item_id_of(parsed.kind, parsed.item)
    live = _live(request, parsed.scope, parsed.kind, item_id)
    noun = THING[parsed.kind]
    if new and _taken(request, parsed):
        return _view(request, parsed, new=True, status=400, problems=[_taken(request, parsed)],
                     error=f"Not saved: there is already a {noun} {item_id} in {parsed.scope}; open it from the list.")
    try:
        if _depth(parsed.item) > MAX_DEPTH or (ready and files.problems):
            raise SignageRefused(_problems(parsed, files))
        draft = signage_drafts.save_draft(c.db, parsed.scope, parsed.kind, parsed.item, ready=ready, view=files.view,
                                          live=live, by=c.actor(request), now=c.clock.time(), media=files.media)
    except SignageRefused as exc:
        error = (f"Not saved as ready: head office's files cannot be read, so the {noun} cannot be checked."
                 if files.problems else
                 f"Not saved as ready: a device would refuse this {noun}. Fix what is listed below, or save it as a"
                 " draft.")
        return _view(request, parsed, new=new, status=400, problems=exc.problems, error=error)
    c.record(request, f"{_area(parsed.kind)}.{'ready' if ready else 'draft'}",
             f"{NOUN[parsed.kind]}/{parsed.scope}/{item_id}", "ready to publish" if ready else "draft")
    words = "is ready to publish" if draft.ready else "is saved as a draft (not ready to publish)"
    return done(request, _back(parsed.kind), f"{noun.capitalize()} {item_id} {words}.")


@post("/signage/discard", sync_to_thread=True, guards=GUARDS)
def discard(request: Request, data: Form) -> Redirect:
    c = session.console(request)
    kind, scope, item_id = _kind(data.get("kind", "")), data.get("scope", "chain"), data.get("id", "")
    noun = THING[kind]
    if not signage_drafts.discard(c.db, scope, kind, item_id):
        raise NotFoundException(f"There is no draft of {noun} {item_id} in {scope}.")
    c.record(request, f"{_area(kind)}.discard", f"{NOUN[kind]}/{scope}/{item_id}")
    return done(request, _back(kind), f"The draft of {noun} {item_id} is discarded.")


@post("/signage/remove", sync_to_thread=True, guards=GUARDS)
def remove(request: Request, data: Form) -> Template | Redirect:
    """A live item goes when the next publication goes out: a removal draft, refused when a device would refuse the
    signage without it (a playlist a schedule plays)."""
    c = session.console(request)
    kind, scope, item_id = _kind(data.get("kind", "")), data.get("scope", "chain"), data.get("id", "")
    noun, body = THING[kind], signage_drafts.removal(kind, item_id)
    live = _live(request, scope, kind, item_id)
    if live is None:
        raise NotFoundException(f"There is no live {noun} {item_id} in {scope}.")
    files = _files(request, scope, (kind, body))
    try:
        if files.problems:
            raise SignageRefused(files.problems)
        signage_drafts.save_draft(c.db, scope, kind, body, ready=True, view=files.view, live=live,
                                  by=c.actor(request), now=c.clock.time())
    except SignageRefused as exc:
        return _view(request, signage_form.form_of(kind, scope, live.body), new=False, status=400,
                     problems=exc.problems, error=f"Not removed: a device would refuse the {_area(kind)} without {noun}"
                     f" {item_id}. Change what is listed below first.")
    c.record(request, f"{_area(kind)}.remove", f"{NOUN[kind]}/{scope}/{item_id}", "removed when published")
    return done(request, _back(kind), f"{noun.capitalize()} {item_id} will be removed when the next publication goes"
                " out. Discard the removal to keep it.")


def _back(kind: str) -> str:
    """Where a kind's items are listed: schedule entries under the calendar, products and prices together."""
    if kind in CATALOGUE:
        return "/catalog/menus" if kind == "menus" else "/catalog"
    if kind == "brand":
        return "/brand"
    return "/signage" if kind == "schedules" else f"/signage/list?kind={kind}"


def _area(kind: str) -> str:
    """The audit log's word for the page a change was made on, and a refusal's for what it was made to."""
    return "catalog" if kind in CATALOGUE else "brand" if kind == "brand" else "signage"


ROUTES = [calendar_page, list_page, new_item, edit_item, form_edit, check, save, discard, remove]
