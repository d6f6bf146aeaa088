"""Drafts on their way to the devices: the publishing pipeline's input is head office's files with every ready draft
laid over them (``draft_content``), and a publication keeps the drafts it took (``publication_drafts``).

Source of truth: the files hold what head office wrote by hand; a draft that a publication sent becomes the live
item from then on, recorded with that publication (its row here), and its draft is marked published, so that it is
not sent twice and its next edit starts from it. A rolled-back publication's rows no longer count: each item it took
is live as the publication before it left it (or as the files hold it), and its draft goes back to that.

A kind of draft (offers, signage, the programme setting) is one :class:`DraftKind` in ``KINDS``: its overlay on the
files' content, the ready drafts a publication takes, and what sending or rolling back does to them (offers and
signage share that: ``published_drafts.DraftTable``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import offer_drafts, programme, signage_drafts
from .content_files import ScopeContent, Store, load_stores, load_tree
from .db import Database
from .published_drafts import baseline, taken


@dataclass(frozen=True)
class DraftKind:
    name: str
    # Lays the published drafts, and the ready ones waiting when asked (``waiting``), over the files' content, scope
    # by scope, in place.
    overlay: Callable[[Database, dict[str, ScopeContent], bool], None]
    # (scope, item id) -> the draft as JSON, for every ready draft waiting to be published in these scopes; None
    # for a kind that is a setting (it is sent as it stands, and nothing of it is kept with a publication).
    waiting: Callable[[Database, set[str]], dict[tuple[str, str], dict]] | None = None
    # A publication with these drafts reached the stores: they are live now, nothing of them waits.
    sent: Callable[[Database, int, Mapping[tuple[str, str], dict]], None] | None = None
    # A publication with these drafts was rolled back: each item's draft as the baseline before it
    # ((publication, draft)) or None when no draft of it had been published before.
    rolled_back: Callable[[Database, int, Mapping[tuple[str, str], tuple[int, dict] | None]], None] | None = None


KINDS = (
    DraftKind("offers", offer_drafts.overlay, offer_drafts.waiting, offer_drafts.TABLE.sent,
              offer_drafts.TABLE.rolled_back),
    DraftKind("signage", signage_drafts.overlay, signage_drafts.waiting, signage_drafts.TABLE.sent,
              signage_drafts.TABLE.rolled_back),
    DraftKind("programme", programme.overlay),
)


def draft_content(db: Database, root: Path, base_url: str, *,
                  waiting: bool = True) -> tuple[list[Store], dict[str, ScopeContent]]:
    """The stores and every scope's content as the next publish sends it: the files with each kind's drafts laid
    over them, then checked as each device will hold it; ContentProblem listing every problem. ``waiting=False``:
    what is live, the ready drafts no publication took left out (a store page's publish outside the pipeline must
    not send them without their approval)."""

    def with_drafts(tree: dict[str, ScopeContent]) -> None:
        for kind in KINDS:
            kind.overlay(db, tree, waiting)

    stores = load_stores(root)
    return stores, load_tree(root, base_url, stores, with_drafts)


def take(db: Database, publication: int, scopes: Iterable[str]) -> int:
    """Record with ``publication`` the ready drafts of ``scopes`` it carries; how many."""
    taken, scopes = 0, set(scopes)  # every kind takes from the same scopes
    for kind in (k for k in KINDS if k.waiting):
        rows = kind.waiting(db, scopes)
        db.executemany("INSERT INTO publication_drafts (publication, kind, scope, item_id, draft)"
                       " VALUES (?, ?, ?, ?, ?)", [(publication, kind.name, s, i, json.dumps(d, ensure_ascii=False))
                                                   for (s, i), d in rows.items()])
        taken += len(rows)
    return taken


def sent(db: Database, publication: int) -> None:
    """The publication reached stores: its drafts are live."""
    for kind in (k for k in KINDS if k.sent):
        kind.sent(db, publication, taken(db, publication, kind.name))


def rolled_back(db: Database, publication: int) -> None:
    """The publication is rolled back (its state already says so): its drafts go back to the baseline before it."""
    for kind in (k for k in KINDS if k.rolled_back):
        before = baseline(db, kind.name, before=publication)
        kind.rolled_back(db, publication, {key: before.get(key) for key in taken(db, publication, kind.name)})
