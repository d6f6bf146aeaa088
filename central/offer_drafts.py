"""Offer drafts: head office's changes to the offer playbook, kept in the central store until they are published.

What is live is what head office's files hold (``<content_dir>/<scope>/offers.yaml`` and the like), except an offer
a publication sent from a draft: that draft is the live offer from then on (``central.drafts``), until a later
publication sends another or the publication is rolled back. A draft is one offer of one scope as it will be: its
whole body, whether it is **ready** (the device's own check passed when it was saved: ``check_offer``) and whether
head office **pauses** it (the playbook leaves it out, and the draft keeps it so that it can be resumed). Only ready
drafts reach the draft playbook (``draft_playbook``), which the publishing pipeline lays over the files
(``overlay``); a draft that is not ready stays in the console and leaves the live offer as it is.

An offer's state in the list: **live** (in the files, its schedule not over), **ended** (in the files, its
schedule's last day before today), **paused** (only in a paused draft) and **draft** (only in a draft: never
published). A change waiting to be published is the draft's own mark beside that state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sync.protocol.acceptance import Known, check_content
from sync.protocol.content import ContentError, validate

from .content_files import ScopeContent, Store, section_items
from .db import Database
from .published_drafts import DraftTable, baseline
from .published_drafts import item_sha as offer_sha

DEFAULT_LANGUAGES = ("en", "bg", "ru")  # the copy columns when no product names a language yet


class OfferRefused(ValueError):
    """An offer a device would refuse, saved as ready; one line per problem, in the device's words."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Draft:
    scope: str
    offer_id: str
    body: dict
    ready: bool
    paused: bool
    base_sha256: str | None  # the live offer it started from; None for a new offer
    held_experiment: dict | None  # a paused experiment, out of the body until it is resumed
    updated_at: float
    updated_by: str
    published_in: int | None = None  # the publication that sent it: it is the live offer, nothing waits


@dataclass(frozen=True)
class Live:
    body: dict
    file: str
    line: int


@dataclass(frozen=True)
class OfferRow:
    scope: str
    offer_id: str
    body: dict  # the draft's when there is one, else the live offer
    state: str  # draft, live, paused, ended
    change: str  # "" (nothing waits), "draft" (not ready) or "ready" (waits to be published)
    paused: bool  # the draft pauses it (published or not yet)
    experiment: str  # "" (none), "running" (in the body) or "paused" (held by the draft)
    impressions: int
    redemptions: int


def live_offers(db: Database, root: Path) -> dict[tuple[str, str], Live]:
    """(scope, offer id) -> the live offer: from head office's files, or the draft a publication sent (a paused one:
    not live); ContentProblem when a file cannot be read."""
    return _published(db, {(scope, str(item.get("id"))): Live(item, file, line)
                           for scope, items in section_items(root, "offers").items() for item, file, line in items})


def _published(db: Database, live: dict[tuple[str, str], Live]) -> dict[tuple[str, str], Live]:
    """``live`` (the files' offers) with the drafts publications sent laid over them."""
    for key, (pub, draft) in baseline(db, "offers").items():
        if draft["paused"]:
            live.pop(key, None)
        else:
            live[key] = Live(draft["body"], f"publication {pub}", 0)
    return live


def lineage(stores: list[Store], scope: str) -> list[str]:
    """The scopes whose content a device that holds ``scope`` holds too, least specific first."""
    kind, _, name = scope.partition("/")
    for store in stores:
        if (kind == "store" and store.store == name) or (kind == "device" and name in store.devices):
            return ["chain", f"region/{store.region}", f"store/{store.store}", *([scope] if kind == "device" else [])]
    return ["chain", scope] if kind == "region" else ["chain"]


def known_for(root: Path, stores: list[Store], scope: str) -> Known:
    """What an offer of ``scope`` may name: the products of its scope and those above it (every device it reaches
    holds them), and the chain's languages, those the product names use; ContentProblem when a products file
    cannot be read."""
    products = section_items(root, "products")
    merged: dict[str, dict] = {}
    for s in lineage(stores, scope):
        merged.update((str(item.get("sku")), item) for item, _, _ in products.get(s, ()))
    return Known.of({"products": list(merged.values())})


def languages(known: Known) -> tuple[str, ...]:
    """The copy columns: the chain's languages, English first."""
    return tuple(sorted(known.languages or DEFAULT_LANGUAGES, key=lambda lang: (lang != "en", lang)))


def check_offer(offer: Mapping, known: Known) -> list[str]:
    """What a device would say about this offer, in its words: the bundle schema (``validate``), then the content
    check it runs before it applies a bundle (``check_content``: the engine's own load of the offer, its products,
    discount and every language of its copy)."""
    try:
        validate({"offers": [dict(offer)]})
    except ContentError as exc:
        where, _, what = str(exc).partition(": ")
        return [f"offer {offer.get('id') or '(no id)'}: {what or where}"]
    return [str(p) for p in check_content({"offers": [dict(offer)]}, known)]


def _draft(row: tuple) -> Draft:
    scope, offer_id, body, ready, paused, base, held, at, by, published_in = row
    return Draft(scope, offer_id, json.loads(body), bool(ready), bool(paused), base, json.loads(held) if held else None,
                 at, by, published_in)


_COLUMNS = "scope, offer_id, body, ready, paused, base_sha256, held_experiment, updated_at, updated_by, published_in"


def drafts(db: Database) -> dict[tuple[str, str], Draft]:
    return {(d.scope, d.offer_id): d for d in map(_draft, db.execute(
        f"SELECT {_COLUMNS} FROM offer_drafts ORDER BY scope, offer_id"))}


def get_draft(db: Database, scope: str, offer_id: str) -> Draft | None:
    row = db.query_one(f"SELECT {_COLUMNS} FROM offer_drafts WHERE scope = ? AND offer_id = ?", (scope, offer_id))
    return _draft(row) if row else None


def save_draft(db: Database, scope: str, offer: Mapping, *, ready: bool, known: Known, live: Live | None, by: str,
               now: float, paused: bool = False) -> Draft:
    """Keep ``offer`` as the draft of its id in ``scope``. As ready only when the device's check finds nothing:
    OfferRefused (nothing saved) otherwise. A draft that is not ready may hold anything the form could read, and a
    paused one goes to no device, so neither is checked."""
    offer_id = str(offer.get("id") or "")
    if not offer_id:
        raise OfferRefused(["offer (no id): give the offer an id"])
    if ready and not paused:
        problems = check_offer(offer, known)
        if problems:
            raise OfferRefused(problems)
    previous = get_draft(db, scope, offer_id)
    base = previous.base_sha256 if previous else offer_sha(live.body) if live else None
    db.execute(f"INSERT INTO offer_drafts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL) ON CONFLICT"
               " (scope, offer_id) DO UPDATE SET body = excluded.body, ready = excluded.ready,"
               " paused = excluded.paused, updated_at = excluded.updated_at, updated_by = excluded.updated_by,"
               " published_in = NULL",
               (scope, offer_id, json.dumps(offer, ensure_ascii=False), int(ready), int(paused), base, now, by))
    return get_draft(db, scope, offer_id)


def hold_experiment(db: Database, scope: str, offer: Mapping, *, hold: bool, known: Known, live: Live | None, by: str,
                    now: float) -> Draft:
    """Pause (``hold``) or resume an offer's experiment. Paused, the offer goes out without it (everyone gets the
    offer's copy, nobody is held out) and the draft keeps it; resumed, it comes back with the same salt and arms, so
    every shopper returns to the arm they had. Either way the draft is ready when the device would take it."""
    previous = get_draft(db, scope, str(offer.get("id")))
    body = dict(offer)
    held = previous.held_experiment if previous else None
    if hold:
        held = body.pop("experiment", None) or held
    elif held is not None:
        body["experiment"], held = held, None
    draft = save_draft(db, scope, body, ready=not check_offer(body, known), known=known, live=live, by=by, now=now,
                       paused=previous.paused if previous else False)
    db.execute("UPDATE offer_drafts SET held_experiment = ? WHERE scope = ? AND offer_id = ?",
               (json.dumps(held, ensure_ascii=False) if held else None, scope, draft.offer_id))
    return get_draft(db, scope, draft.offer_id)


def discard(db: Database, scope: str, offer_id: str) -> bool:
    """Drop the draft: the offer is what is live again (a new offer is gone). False when there was none."""
    return bool(db.execute("DELETE FROM offer_drafts WHERE scope = ? AND offer_id = ? RETURNING offer_id",
                           (scope, offer_id)))


def effective(draft: Draft | None, live: Live | None) -> dict | None:
    """What the next publish sends for one offer: a ready draft (nothing when it is paused), else the live offer."""
    if draft is not None and draft.ready:
        return None if draft.paused else draft.body
    return live.body if live else None


def draft_playbook(db: Database, root: Path) -> dict[str, list[dict]]:
    """Scope -> its offers as the next publish should send them: the live offers with every ready draft applied
    (a paused one left out, a new one added after the scope's live offers), those that are not ready left as they
    are live. The publishing pipeline's input; ContentProblem when head office's offers files cannot be read."""
    return _playbook(live_offers(db, root), drafts(db))


def _playbook(live: Mapping[tuple[str, str], Live], pending: Mapping[tuple[str, str], Draft]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for key in [*live, *(k for k in pending if k not in live)]:
        body = effective(pending.get(key), live.get(key))
        out.setdefault(key[0], [])
        if body is not None:
            out[key[0]].append(body)
    return out


def overlay(db: Database, tree: dict[str, ScopeContent], waiting: bool = True) -> None:
    """Each scope's offers in ``tree`` (the files' content, an offer the files' check refused already left out) as
    the draft playbook has them (``waiting=False``: as they are live, the drafts not yet published left out); an
    offer the files hold keeps its file and line for the devices' check, one from a draft is named as a draft."""
    origins = {(scope, str(o.get("id"))): at for scope, sc in tree.items()
               for o, at in zip(sc.content.get("offers", []), sc.origins.get("offers", []), strict=True)}
    files = {(scope, str(o.get("id"))): Live(o, *origins[(scope, str(o.get("id")))][:2])
             for scope, sc in tree.items() for o in sc.content.get("offers", [])}
    pending = drafts(db) if waiting else {}
    for scope, offers in _playbook(_published(db, files), pending).items():
        sc = tree.setdefault(scope, ScopeContent(scope))
        if not offers and "offers" not in sc.content:
            continue
        sc.content["offers"] = offers
        sc.origins["offers"] = [origins.get((scope, str(o["id"])), (f"the console's offer draft ({scope})", 0, {}))
                                for o in offers]


TABLE = DraftTable("offer_drafts", ("scope", "offer_id"),
                   ("body", "ready", "paused", "held_experiment", "updated_at", "updated_by"))


def waiting(db: Database, scopes: set[str]) -> dict[tuple[str, str], dict]:
    """The ready drafts of ``scopes`` not yet published, as a publication records them."""
    return TABLE.waiting(drafts(db).values(), scopes)


def _ended(offer: Mapping, today: date) -> bool:
    last = (offer.get("schedule") or {}).get("to") if isinstance(offer.get("schedule"), dict) else None
    try:
        return isinstance(last, str) and date.fromisoformat(last) < today
    except ValueError:
        return False


def offer_rows(db: Database, root: Path, *, today: date, week: Mapping[str, tuple[int, int]]) -> list[OfferRow]:
    """Every offer, live or drafted, with its state, the change waiting and ``week``'s impressions and redemptions
    (``central.rollups.offer_days``); ContentProblem when head office's offers files cannot be read."""
    live = live_offers(db, root)
    pending = drafts(db)
    rows = []
    for key in sorted({*live, *pending}):
        d, lv = pending.get(key), live.get(key)
        if lv is not None:
            state = "ended" if _ended(lv.body, today) else "live"
        else:
            state = "paused" if d is not None and d.paused else "draft"
        if d is None:
            change = ""
        elif not d.ready:
            change = "draft"
        else:
            change = "ready" if effective(d, lv) != (lv.body if lv else None) else ""
        body = d.body if d is not None else lv.body
        shown, redeemed = week.get(key[1], (0, 0))
        experiment = "paused" if d and d.held_experiment else "running" if isinstance(body.get("experiment"),
                                                                                          dict) else ""
        rows.append(OfferRow(key[0], key[1], body, state, change, d is not None and d.paused, experiment, shown,
                             redeemed))
    return rows


def dayparts_of(condition: object, negated: bool = False) -> list[str]:
    """The dayparts a condition names, in words (``not evening``), for the list."""
    if not isinstance(condition, dict) or len(condition) != 1:
        return []
    (kind, value), = condition.items()
    if kind in ("all", "any") and isinstance(value, list):
        return [p for child in value for p in dayparts_of(child, negated)]
    if kind == "not":
        return dayparts_of(value, not negated)
    if kind == "daypart":
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [f"{'not ' if negated else ''}{n}" for n in names if isinstance(n, str)]
    return []

