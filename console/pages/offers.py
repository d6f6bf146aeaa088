"""Offers (admin, marketer): the list with each offer's state, channels, dayparts and last week's impressions and
redemptions; the offer form with the condition builder and its text view, the copy per language side by side,
checked as you type (htmx) with the device's own check; drafts kept in the central store until they are
published (``central.offer_drafts``). Saving as ready runs that check again: what a device would refuse is not
saved as ready. Every save, pause, resume and discard is in the audit log."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Annotated

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from central import experiment_results, offer_drafts, programme, reports, rollups
from central.content_files import ContentProblem, Store
from central.offer_drafts import Live, OfferRefused
from decisions.conditions import LEAVES
from decisions.context import CHANNELS, WEEKDAYS
from decisions.experiments import MAX_GLOBAL_HOLDOUT_PCT
from decisions.playbook import CAP_KEYS
from sync.protocol.acceptance import Known

from .. import offer_form, session
from ..render import OFFERS_ROLES, done, page
from .signin import Form

GUARDS = [session.allow(*OFFERS_ROLES)]
WEEK_DAYS = 7
RESULT_DAYS = 30  # the experiment's figures on the offer's page: the last 30 of the stores' days
MAX_DEPTH = 12  # deeper than any playbook needs; a deeper tree is refused before anything walks it
STATE_WORDS = {"live": "Live", "draft": "Draft", "paused": "Paused", "ended": "Ended"}
CAP_WORDS = {"per_customer_per_day": "Per customer per day", "per_customer_per_week": "Per customer per week",
             "per_device_per_hour": "Per screen per hour"}
LEAF_HINTS = {"segment": "coffee_lover", "tier": "[champions, loyal]", "customer": "new", "days_since_visit":
              "{min: 30, max: 90}", "bought": "{sku: COF-003, min_times: 3, within_days: 30}", "bought_category":
              "pastry", "identified": "true", "store": "s001", "region": "south", "daypart": "morning",
              "weekday": "[sat, sun]", "temperature_band": "cold", "temperature_c": "{max: 8}", "weather": "rain",
              "precipitation": "true", "basket_contains": "COF-003", "basket_category": "coffee",
              "in_stock": "PAS-001", "stock_at_least": "{sku: PAS-001, units: 5}"}


def _root(request: Request) -> Path:
    return Path(session.console(request).central.central.content_dir)


@dataclass(frozen=True)
class Files:
    """What head office's files tell the form: the stores, what an offer of the scope may name, and why they
    could not be read (then nothing can be saved as ready: the check would have nothing to check against)."""

    stores: list[Store]
    known: Known
    problems: list[str]

    @property
    def languages(self) -> tuple[str, ...]:
        return offer_drafts.languages(self.known)


def _files(request: Request, scope: str) -> Files:
    try:
        stores = session.console(request).stores()
        return Files(stores, offer_drafts.known_for(_root(request), stores, scope), [])
    except ContentProblem as exc:
        return Files([], Known.of({}), [f"head office's files cannot be read: {p}" for p in exc.problems])


def _scopes(stores: list[Store]) -> list[tuple[str, str]]:
    """Where an offer may live: the chain, a region, a store (a device's own offers stay in the files)."""
    return [("chain", "The whole chain"), *((f"region/{r}", f"Region {r}") for r in sorted({s.region for s in stores})),
            *((f"store/{s.store}", f"Store {s.display_name}") for s in stores)]


def _depth(value: object) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            todo += [(v, level + 1) for v in (item.values() if isinstance(item, dict) else
                                              item if isinstance(item, list) else ())]
    return deepest


def _view(request: Request, parsed: offer_form.Parsed, *, new: bool, problems: list[str] | None = None,
          error: str = "", status: int = 200, template: str = "offer.html", **results: object) -> Template:
    """The form for ``parsed`` with the device's verdict on it."""
    c = session.console(request)
    files = _files(request, parsed.scope)
    known, langs = files.known, files.languages
    if problems is None:
        problems = _problems(parsed, files)
    values = offer_form.form_values(parsed.offer)
    draft = offer_drafts.get_draft(c.db, parsed.scope, parsed.offer.get("id", "")) if not new else None
    live = _live(request, parsed.scope, str(parsed.offer.get("id", ""))) if draft else None
    # The files changed under the draft (someone edited them, or a publish took another draft): say so before saving.
    moved = bool(draft and live and draft.base_sha256 != offer_drafts.offer_sha(live.body))
    products = sorted(known.keys.get("products", ()))
    return page(request, template, status=status, new=new, f=values, parsed=parsed, problems=problems, error=error,
                langs=langs, missing=_missing(parsed.offer, langs), scopes=_scopes(files.stores), channels=CHANNELS,
                weekdays=WEEKDAYS, caps=[(k, CAP_WORDS[k]) for k in CAP_KEYS], leaf_kinds=sorted(LEAVES),
                hints=LEAF_HINTS, benefit_types=offer_form.BENEFIT_TYPES, products=products, draft=draft, moved=moved,
                variants=range(sum(1 for k in values if k.endswith(".id") and k.startswith("variant."))),
                arm_names=offer_form.arm_ids(parsed.offer),
                tree=None if parsed.text_mode else offer_form.builder(parsed.condition),
                condition_text=offer_form.condition_text(parsed.condition), **results)


def _problems(parsed: offer_form.Parsed, files: Files) -> list[str]:
    if parsed.problems or files.problems:
        return [*files.problems, *parsed.problems]
    if _depth(parsed.offer) > MAX_DEPTH:
        return [f"offer {parsed.offer.get('id') or '(no id)'}: nested more than {MAX_DEPTH} levels deep"]
    return offer_drafts.check_offer(parsed.offer, files.known)


def _missing(offer: dict, langs: tuple[str, ...]) -> list[str]:
    title = offer.get("title") if isinstance(offer.get("title"), dict) else {}
    return [lang for lang in langs if not title.get(lang)]


def _read(request: Request, data: dict[str, str]) -> tuple[offer_form.Parsed, Files]:
    files = _files(request, data.get("scope", "chain") or "chain")
    return offer_form.read_form(data, files.languages), files


def _check_scope(files: Files, scope: str) -> None:
    if scope not in {s for s, _ in _scopes(files.stores)}:
        raise NotFoundException(f"There is no scope {scope!r} for offers.")


@get("/offers", sync_to_thread=True, guards=GUARDS)
def offers_page(request: Request) -> Template:
    return _list(request)


def _list(request: Request, *, status: int = 200, refused: str = "") -> Template:
    c = session.console(request)
    today = c.clock.now().astimezone(UTC).date()
    first = today - timedelta(days=WEEK_DAYS - 1)
    week = rollups.offer_days(c.db, first.isoformat(), today.isoformat())
    try:
        rows = offer_drafts.offer_rows(c.db, _root(request), today=today, week=week)
        error = ""
    except ContentProblem as exc:
        rows, error = [], "Head office's offers files cannot be read: " + "; ".join(exc.problems)
    return page(request, "offers.html", status=status, rows=rows, error=refused or error, states=STATE_WORDS,
                first=first, today=today, dayparts=offer_drafts.dayparts_of, holdout=programme.global_holdout(c.db),
                lift=experiment_results.programme_lift(c.db, _results_period(request)),
                lift_period=_results_period(request).period_text())


@post("/offers/global-holdout", sync_to_thread=True, guards=GUARDS)
def global_holdout(request: Request, data: Form) -> Template | Redirect:
    c = session.console(request)
    try:
        share = float(data.get("share_pct", ""))
        holdout = programme.set_global_holdout(c.db, share, by=c.actor(request), now=c.clock.time())
    except ValueError:  # SettingRefused among them
        return _list(request, status=400, refused="The global holdout is not saved: the share of customers is a"
                     f" number of per cent from 0 to {MAX_GLOBAL_HOLDOUT_PCT:g}.")
    c.record(request, "programme.global_holdout", "chain", f"{holdout.share_pct:g} % of customers")
    return done(request, "/offers", f"The global holdout is {holdout.share_pct:g} % of customers from the next"
                " publication.")


@get("/offers/new", sync_to_thread=True, guards=GUARDS)
def new_offer(request: Request) -> Template:
    blank = offer_form.Parsed("chain", {"id": "", "channels": ["kiosk"]}, [], None, False)
    return _view(request, blank, new=True, problems=[])


@get("/offers/edit", sync_to_thread=True, guards=GUARDS)
def offer_page(request: Request, offer_id: Annotated[str, QueryParameter(name="id", max_length=200)],
               where: Annotated[str, QueryParameter(name="scope", max_length=200)] = "chain") -> Template:
    """An offer's form (its draft, else the live offer), and its experiment's results. (``scope`` is a name Litestar
    keeps for itself: the parameter is ``where`` here and ``scope`` in the address.)"""
    body, _ = _current(request, where, offer_id)
    cond = body.get("conditions")
    parsed = offer_form.Parsed(where, body, [], cond, not offer_form.drawable(cond))
    return _view(request, parsed, new=False, **_experiment(request, offer_id))


def _results_period(request: Request) -> reports.Filters:
    """The last ``RESULT_DAYS`` of the stores' days."""
    c = session.console(request)
    zone = c.central.central.timezone
    last = reports.today(c.clock.now(), zone)
    return reports.Filters(last - timedelta(days=RESULT_DAYS - 1), last, zone)


def _experiment(request: Request, offer_id: str) -> dict:
    """The offer's arms and holdout over the last ``RESULT_DAYS`` of the stores' days, with the chart."""
    c = session.console(request)
    f = _results_period(request)
    arms = experiment_results.arm_results(c.db, offer_id, f)
    if len(arms) < 2:  # one arm and no holdout: nothing to compare
        return {}
    png = experiment_results.chart_png(offer_id, arms, f)
    return {"arms": arms, "results_period": f.period_text(), "results_chart": base64.b64encode(png).decode()}


def _live(request: Request, scope: str, offer_id: str) -> Live | None:
    try:
        return offer_drafts.live_offers(session.console(request).db, _root(request)).get((scope, offer_id))
    except ContentProblem:
        return None  # the page says why the files cannot be read


def _current(request: Request, scope: str, offer_id: str) -> tuple[dict, Live | None]:
    """The offer as the console shows it (its draft, else the live one) and the live one; 404 when neither."""
    c = session.console(request)
    live = _live(request, scope, offer_id)
    draft = offer_drafts.get_draft(c.db, scope, offer_id)
    if draft is None and live is None:
        raise NotFoundException(f"There is no offer {offer_id} in {scope}.")
    return (draft.body if draft else live.body), live


@post("/offers/form", sync_to_thread=True, guards=GUARDS)
def form_edit(request: Request, data: Form) -> Template:
    """A builder button (add, group, remove, the text view and back): the form again, as typed, with the change."""
    parsed, _ = _read(request, data)
    edit = data.get("edit", "")
    if edit.startswith("variant:"):
        offer_form.edit_variants(parsed.offer, edit)
    elif edit == "text":
        parsed.text_mode = True
    elif edit == "builder" and not parsed.problems and offer_form.drawable(parsed.condition):
        parsed.text_mode = False
    elif edit and not parsed.problems and _depth(parsed.condition) <= MAX_DEPTH:
        try:
            parsed.condition = offer_form.edit_condition(parsed.condition, edit)
        except (IndexError, KeyError, AttributeError, TypeError, StopIteration, ValueError):
            pass  # a button from a stale form: the form as it is
        if parsed.condition is None:
            parsed.offer.pop("conditions", None)
        else:
            parsed.offer["conditions"] = parsed.condition
    new = data.get("new") == "1"
    template = "_offer_form.html" if request.headers.get("HX-Request") else "offer.html"
    return _view(request, parsed, new=new, template=template)


@post("/offers/check", sync_to_thread=True, guards=GUARDS)
def check(request: Request, data: Form) -> Template:
    """As you type: the device's verdict on the form as it stands, and which languages have no copy."""
    parsed, files = _read(request, data)
    return page(request, "_offer_problems.html", problems=_problems(parsed, files), langs=files.languages,
                missing=_missing(parsed.offer, files.languages), oob=True)


@post("/offers/save", sync_to_thread=True, guards=GUARDS)
def save(request: Request, data: Form) -> Template | Redirect:
    c = session.console(request)
    parsed, files = _read(request, data)
    new = data.get("new") == "1"
    ready = data.get("save") == "ready"
    _check_scope(files, parsed.scope)
    offer_id = str(parsed.offer.get("id", ""))
    live = _live(request, parsed.scope, offer_id)
    if new and (live is not None or offer_drafts.get_draft(c.db, parsed.scope, offer_id)):
        return _view(request, parsed, new=True, status=400,
                     error=f"Not saved: there is already an offer {offer_id} in {parsed.scope}; open it from the list.")
    unreadable = parsed.problems or (_problems(parsed, files) if _depth(parsed.offer) > MAX_DEPTH else [])
    try:
        if unreadable or (ready and files.problems):
            raise OfferRefused(unreadable or files.problems)
        draft = offer_drafts.save_draft(c.db, parsed.scope, parsed.offer, ready=ready, known=files.known, live=live,
                                        by=c.actor(request), now=c.clock.time())
    except OfferRefused as exc:
        error = ("Not saved: part of the form cannot be read. Fix what is listed below." if unreadable else
                 "Not saved as ready: head office's files cannot be read, so the offer cannot be checked. Save it as"
                 " a draft, or fix the files first." if files.problems else
                 "Not saved as ready: a device would refuse this offer. Fix what is listed below, or save it as a"
                 " draft.")
        return _view(request, parsed, new=new, status=400, problems=exc.problems, error=error)
    c.record(request, "offer.ready" if ready else "offer.draft", f"offer/{parsed.scope}/{offer_id}",
             "ready to publish" if ready else "draft")
    words = "is ready to publish" if draft.ready else "is saved as a draft (not ready to publish)"
    return done(request, "/offers", f"Offer {offer_id} {words}.")


def _action(request: Request, data: dict[str, str], action: str) -> Redirect:
    c = session.console(request)
    scope, offer_id = data.get("scope", "chain") or "chain", data.get("id", "")
    files = _files(request, scope)
    _check_scope(files, scope)
    body, live = _current(request, scope, offer_id)
    draft = offer_drafts.get_draft(c.db, scope, offer_id)
    if action in ("experiment.pause", "experiment.resume"):
        offer_drafts.hold_experiment(c.db, scope, body, hold=action == "experiment.pause", known=files.known,
                                     live=live, by=c.actor(request), now=c.clock.time())
        notice = (f"The experiment of {offer_id} is paused: it goes out without it at the next publish, and comes"
                  " back with the same arms when resumed." if action == "experiment.pause" else
                  f"The experiment of {offer_id} is resumed with the same salt and arms.")
    elif action == "discard":
        offer_drafts.discard(c.db, scope, offer_id)
        notice = f"The draft of {offer_id} is discarded" + ("; the live offer stays as it is." if live else ".")
    else:
        paused = action == "pause"
        # Resumed, it is ready again only if it was and the device would still take it.
        ready = paused or ((draft.ready if draft else True) and not files.problems
                           and not offer_drafts.check_offer(body, files.known))
        offer_drafts.save_draft(c.db, scope, body, ready=ready, known=files.known, live=live, by=c.actor(request),
                                now=c.clock.time(), paused=paused)
        notice = (f"Offer {offer_id} will be paused at the next publish." if paused else
                  f"Offer {offer_id} is resumed in the draft playbook.")
    c.record(request, f"offer.{action}", f"offer/{scope}/{offer_id}")
    return done(request, "/offers", notice)


@post("/offers/pause", sync_to_thread=True, guards=GUARDS)
def pause(request: Request, data: Form) -> Redirect:
    return _action(request, data, "pause")


@post("/offers/resume", sync_to_thread=True, guards=GUARDS)
def resume(request: Request, data: Form) -> Redirect:
    return _action(request, data, "resume")


@post("/offers/discard", sync_to_thread=True, guards=GUARDS)
def discard(request: Request, data: Form) -> Redirect:
    return _action(request, data, "discard")


@post("/offers/experiment/pause", sync_to_thread=True, guards=GUARDS)
def pause_experiment(request: Request, data: Form) -> Redirect:
    return _action(request, data, "experiment.pause")


@post("/offers/experiment/resume", sync_to_thread=True, guards=GUARDS)
def resume_experiment(request: Request, data: Form) -> Redirect:
    return _action(request, data, "experiment.resume")


ROUTES = [offers_page, new_offer, form_edit, check, save, offer_page, pause, resume, discard, pause_experiment,
          resume_experiment, global_holdout]
