"""Item drafts: head office's changes to signage (content items, playlists, layouts, schedule entries), to the
catalogue (products, their prices at a scope, the dayparts' menus) and to the brand, and removals of live ones, kept in
the central store until they are published (like the offer drafts of ``central.offer_drafts``). The module, its table
and its publication kind keep the name "signage" they were born with.

What is live is what head office's files hold (``<content_dir>/<scope>/signage.yaml`` and the like), except an item
a publication sent from a draft: that draft is the live item from then on (``central.drafts``), until a later
publication sends another or the publication is rolled back. A draft is one item of one section of one scope as it
will be, and whether it is **ready**: the device's own check (``sync.protocol.acceptance``, what the player runs
before it applies a bundle) accepted the signage that the scope's devices will hold with the draft in it. Only ready
drafts reach ``draft_signage`` and the publishing pipeline's input (``overlay``); a draft that is not ready stays in
the console and leaves the live item as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sync.protocol.acceptance import Known, check_content
from sync.protocol.brand import file_problems
from sync.protocol.content import SECTIONS, SHA256_RE, SHA_FIELDS, ContentError, validate

from .content_files import MediaUnknown, ScopeContent, Store, media_link, section_items
from .db import Database
from .offer_drafts import Live, OfferRefused, lineage
from .published_drafts import DraftTable, baseline, item_sha

SIGNAGE_EDITED = ("content_items", "playlists", "layouts", "schedules")
CATALOGUE = ("products", "prices", "menus")  # a menu lists products: its check reads them
BRAND = ("brand",)  # read alone: its check is the screens' contrast and its own files
EDITED = (*SIGNAGE_EDITED, *CATALOGUE, *BRAND)  # what the console edits
SIGNAGE = ("text_templates", *SIGNAGE_EDITED)  # what a device's signage check reads: the templates text slides use, too
# A content item's or the catalogue's check reads the products and prices as well: a poster's or a price's sku must
# be a product, and their names give the chain's languages (a chain's products may be many: the other sections'
# checks do without them).
CONTENT_CHECK = (*CATALOGUE, *SIGNAGE)
READS_CATALOGUE = ("content_items", *CATALOGUE)
NOUN = {"content_items": "content item", "playlists": "playlist", "layouts": "layout", "schedules": "schedule",
        "products": "product", "prices": "price", "menus": "menu", "brand": "brand"}
# A removal is a draft whose body is only the id and this marker: published, it leaves the item out. No bundle item
# holds a key starting with "#", so no item from the files is taken for one.
REMOVED = "#removed"

Key = tuple[str, str, str]  # (scope, section, item id)
Sections = dict[str, list[dict]]


def item_id_of(section: str, item: Mapping) -> str:
    """An item's id in its section: its key field (``id``, a product's or price's ``sku``)."""
    return str(item.get(SECTIONS[section].key[0]) or "")


def removal(section: str, item_id: str) -> dict:
    """The body of the draft that removes the item ``item_id`` of ``section``."""
    return {SECTIONS[section].key[0]: item_id, REMOVED: True}


def is_removal(body: Mapping) -> bool:
    return body.get(REMOVED) is True


class SignageRefused(OfferRefused):
    """A signage item a device would refuse, saved as ready; one line per problem (``problems``), in the device's
    words."""


@dataclass(frozen=True)
class Draft:
    scope: str
    section: str
    item_id: str
    body: dict
    ready: bool
    base_sha256: str | None  # the live item it started from; None for a new item
    updated_at: float
    updated_by: str
    published_in: int | None = None  # the publication that sent it: it is the live item, nothing waits


@dataclass(frozen=True)
class Row:
    scope: str
    section: str
    item_id: str
    body: dict  # the draft's when there is one, else the live item
    # "" (nothing waits), "draft" (not ready), "ready" (waits to be published), "new" (ready, never live), "removed"
    # (a removal waits to be published)
    change: str


TABLE = DraftTable("signage_drafts", ("scope", "section", "item_id"), ("body", "ready", "updated_at", "updated_by"))


def live_items(db: Database, root: Path, sections: tuple[str, ...] = EDITED) -> dict[Key, Live]:
    """(scope, section, id) -> the live item: from head office's files, or the draft a publication sent;
    ContentProblem when a file cannot be read."""
    return _published(db, {(scope, section, item_id_of(section, item)): Live(item, file, line)
                           for section in sections for scope, items in section_items(root, section).items()
                           for item, file, line in items}, sections)


def _published(db: Database, live: dict[Key, Live], sections: tuple[str, ...] = EDITED) -> dict[Key, Live]:
    """``live`` (the files' items) with the drafts publications sent laid over them."""
    for (scope, item), (pub, draft) in baseline(db, "signage").items():
        section, _, item_id = item.partition("/")
        if section in sections and is_removal(draft["body"]):
            live.pop((scope, section, item_id), None)
        elif section in sections:
            live[(scope, section, item_id)] = Live(draft["body"], f"publication {pub}", 0)
    return live


_COLUMNS = "scope, section, item_id, body, ready, base_sha256, updated_at, updated_by, published_in"


def _draft(row: tuple) -> Draft:
    scope, section, item_id, body, ready, base, at, by, published_in = row
    return Draft(scope, section, item_id, json.loads(body), bool(ready), base, at, by, published_in)


def drafts(db: Database) -> dict[Key, Draft]:
    return {(d.scope, d.section, d.item_id): d for d in map(_draft, db.execute(
        f"SELECT {_COLUMNS} FROM signage_drafts ORDER BY scope, section, item_id"))}


def get_draft(db: Database, scope: str, section: str, item_id: str) -> Draft | None:
    row = db.query_one(f"SELECT {_COLUMNS} FROM signage_drafts WHERE scope = ? AND section = ? AND item_id = ?",
                       (scope, section, item_id))
    return _draft(row) if row else None


def effective_items(live: Mapping[Key, Live], pending: Mapping[Key, Draft]) -> dict[str, Sections]:
    """Scope -> section -> its items as the next publish should send them: each live item replaced by its ready draft,
    ready new items after the scope's live ones, ready removals leaving the item out; drafts that are not ready
    leave the live item as it is."""
    out: dict[str, Sections] = {}
    for key in [*live, *(k for k in pending if k not in live)]:
        draft = pending.get(key)
        if draft is not None and draft.ready:
            if is_removal(draft.body):
                continue
            body = draft.body
        elif key in live:
            body = live[key].body
        else:
            continue
        out.setdefault(key[0], {}).setdefault(key[1], []).append(body)
    return out


def draft_signage(db: Database, root: Path) -> dict[str, Sections]:
    """Scope -> its playlists, layouts and schedules as the next publish should send them (a section only where the
    files or a ready draft hold it), shaped as ``offer_drafts.draft_playbook``; ContentProblem when head office's
    signage files cannot be read."""
    return effective_items(live_items(db, root), drafts(db))


def overlay(db: Database, tree: dict[str, ScopeContent], waiting: bool = True) -> None:
    """Each scope's playlists, layouts and schedules in ``tree`` (the files' content) as the publications sent them,
    with the ready drafts waiting laid over them (``waiting=False``: as they are live); an item the files hold keeps
    its file and line for the devices' check, one from a draft is named as a draft."""
    origins: dict[Key, tuple[str, int, dict[str, int]]] = {}
    files: dict[Key, Live] = {}
    for scope, sc in tree.items():
        for section in EDITED:
            for item, at in zip(sc.content.get(section, []), sc.origins.get(section, []), strict=True):
                origins[(scope, section, item_id_of(section, item))] = at
                files[(scope, section, item_id_of(section, item))] = Live(item, *at[:2])
    effective = effective_items(_published(db, files), drafts(db) if waiting else {})
    # A section whose last item a removal took stays in the scope's bundle, empty: the devices drop what it held.
    for scope, section, _ in files:
        effective.setdefault(scope, {}).setdefault(section, [])
    for scope, sections in effective.items():
        sc = tree.setdefault(scope, ScopeContent(scope))
        for section, items in sections.items():
            sc.content[section] = items
            sc.origins[section] = [origins.get((scope, section, item_id_of(section, i)),
                                               (f"the console's {NOUN[section]} draft ({scope})", 0, {}))
                                   for i in items]


def waiting(db: Database, scopes: set[str]) -> dict[tuple[str, str], dict]:
    """The ready drafts of ``scopes`` not yet published, as a publication records them."""
    return TABLE.waiting(drafts(db).values(), scopes)


def device_view(root: Path, db: Database, stores: list[Store], scope: str,
                change: tuple[str, dict] | None = None) -> Sections:
    """What a device of ``scope`` will hold after the next publish of the sections the check of ``change``'s section
    reads (its scope and those above it merged, the most specific winning), with ``change`` (section, item; a removal
    leaves the scope's item out) in it; ContentProblem when the files cannot be read."""
    section = change[0] if change is not None else ""
    read = BRAND if section == "brand" else CONTENT_CHECK if section in READS_CATALOGUE else SIGNAGE
    pending = {k: d for k, d in drafts(db).items() if k[1] in read}
    if change is not None:
        item = change[1]
        key = (scope, section, item_id_of(section, item))
        pending[key] = Draft(*key, dict(item), True, None, 0.0, "")
    by_scope = effective_items(live_items(db, root, read), pending)
    merged: dict[str, dict[str, dict]] = {}
    for s in lineage(stores, scope):
        for section, items in by_scope.get(s, {}).items():
            merged.setdefault(section, {}).update((item_id_of(section, i), i) for i in items)
    return {section: list(items.values()) for section, items in merged.items()}


def check_item(section: str, item: Mapping, view: Sections, media: Mapping[str, Path] | None = None) -> list[str]:
    """What a device would say, in its words: the bundle schema on the item (``validate``; a media file named as the
    files name it, looked up in ``media``, the library's files by name), then the content check it runs before it
    applies a bundle (``check_content``) on ``view``, the signage its scope will hold with the item (or without it,
    for a removal)."""
    if is_removal(item):
        return [str(p) for p in check_content(view)]
    item = dict(item)
    name = f"{NOUN[section]} {item_id_of(section, item) or '(no id)'}"
    for field in SHA_FIELDS[section]:
        ref = item.get(field)
        if isinstance(ref, str) and not SHA256_RE.match(ref):
            try:
                item[field], file = media_link(media or {}, ref)
            except MediaUnknown as exc:
                return [f"{name}: field {field!r}: "
                        + str(exc).replace("in media/ (and not a sha256)", "in the media library")]
            if section == "brand" and file_problems(field, file):  # a logo no picture, a font short of letters
                return [f"{name}: {p}" for p in file_problems(field, file)]
    try:
        validate({section: [item]})
    except ContentError as exc:
        where, _, what = str(exc).partition(": ")
        return [f"{name}: {what or where}"]
    return [*_untranslated(section, item, view), *map(str, check_content(view))]


def _untranslated(section: str, item: Mapping, view: Sections) -> list[str]:
    """A text slide is read by shoppers in the screen's language: it needs each of the chain's languages (those its
    product names use), as a poster's line does in the device's check."""
    if section != "content_items" or item.get("kind") != "text" or not isinstance(item.get("text"), dict):
        return []
    languages = Known.of(view).languages
    missing = [lang for lang in languages if not str(item["text"].get(lang) or "").strip()]
    if not missing:
        return []
    return [f"content item {item.get('id')}: field 'text': no text in {', '.join(missing)} (the chain's languages:"
            f" {', '.join(languages)})"]


def save_draft(db: Database, scope: str, section: str, item: Mapping, *, ready: bool, view: Sections,
               live: Live | None, by: str, now: float, media: Mapping[str, Path] | None = None) -> Draft:
    """Keep ``item`` as the draft of its id in ``scope``'s ``section``. As ready only when the device's check accepts
    ``view`` (the scope's signage with the item in it): SignageRefused (nothing saved) otherwise. A draft that is not
    ready may hold anything the form could read: it goes to no device. A removal (``removal``) removes a live item
    only."""
    item_id = item_id_of(section, item)
    if section not in EDITED:
        raise ValueError(f"signage drafts hold {', '.join(EDITED)}, not {section!r}")
    if not item_id:
        raise SignageRefused([f"{NOUN[section]} (no id): give it an id"])
    if is_removal(item) and live is None:
        raise SignageRefused([f"{NOUN[section]} {item_id}: there is no live {NOUN[section]} {item_id} to remove"])
    if ready:
        problems = check_item(section, item, view, media)
        if problems:
            raise SignageRefused(problems)
    previous = get_draft(db, scope, section, item_id)
    base = previous.base_sha256 if previous else item_sha(live.body) if live else None
    db.execute(f"INSERT INTO signage_drafts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT"
               " (scope, section, item_id) DO UPDATE SET body = excluded.body, ready = excluded.ready,"
               " updated_at = excluded.updated_at, updated_by = excluded.updated_by, published_in = NULL",
               (scope, section, item_id, json.dumps(item, ensure_ascii=False), int(ready), base, now, by))
    return get_draft(db, scope, section, item_id)


def discard(db: Database, scope: str, section: str, item_id: str) -> bool:
    """Drop the draft: the item is what is live again (a new item is gone). False when there was none."""
    return bool(db.execute("DELETE FROM signage_drafts WHERE scope = ? AND section = ? AND item_id = ?"
                           " RETURNING item_id", (scope, section, item_id)))


def rows(db: Database, root: Path, section: str) -> list[Row]:
    """Every item of ``section``, live or drafted, with the change waiting; ContentProblem when the files cannot be
    read."""
    live = live_items(db, root, (section,))
    pending = {k: d for k, d in drafts(db).items() if k[1] == section}
    out = []
    for key in sorted({*live, *pending}):
        d, lv = pending.get(key), live.get(key)
        if d is not None and lv is None and is_removal(d.body):
            continue  # removed by a publication (or nothing left to remove)
        if d is None:
            change = ""
        elif not d.ready:
            change = "draft"
        elif is_removal(d.body):
            change = "removed"
        elif lv is None:
            change = "new"
        else:
            change = "ready" if d.body != lv.body else ""
        out.append(Row(key[0], section, key[2], lv.body if lv and (d is None or is_removal(d.body)) else d.body,
                       change))
    return out
