"""The drafts each publication took (``publication_drafts``), from them the live baseline of every item a published
draft changed, and what sending or rolling back a publication does to a kind's table of drafts (``DraftTable``:
offers and signage share it; ``central.drafts`` says how drafts and the files share the truth)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .db import Database

SENT_STATES = ("piloting", "promoted")  # central.pipeline's states of a publication that reached stores

Taken = tuple[str, str]  # (scope, item id) as publication_drafts keys an item


def item_sha(item: Mapping) -> str:
    """The sha256 of an item's body: what a draft started from."""
    return hashlib.sha256(json.dumps(item, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def taken(db: Database, publication: int, kind: str) -> dict[Taken, dict]:
    return {(s, i): json.loads(d) for s, i, d in db.execute(
        "SELECT scope, item_id, draft FROM publication_drafts WHERE publication = ? AND kind = ?"
        " ORDER BY scope, item_id", (publication, kind))}


def baseline(db: Database, kind: str, *, before: int | None = None) -> dict[Taken, tuple[int, dict]]:
    """(scope, item id) -> (publication, draft): the last published draft of each item, from publications that
    reached stores and are not rolled back (before publication ``before``)."""
    out: dict[Taken, tuple[int, dict]] = {}
    for pub, scope, item, draft in db.execute(
            "SELECT d.publication, d.scope, d.item_id, d.draft FROM publication_drafts d"
            " JOIN publications p ON p.id = d.publication WHERE d.kind = ? AND p.state IN (?, ?)"
            " AND d.publication < ? ORDER BY d.publication", (kind, *SENT_STATES, before or 2**62)):
        out[(scope, item)] = (int(pub), json.loads(draft))
    return out


@dataclass(frozen=True)
class DraftTable:
    """A kind's drafts table: ``keys`` are its key columns, scope first, which its draft dataclass names alike; it
    has ``base_sha256``, ``ready``, ``updated_at`` and ``published_in`` columns, and ``restored``: the columns a
    rollback puts back as the draft published before held them (``body`` among them). A publication records a draft
    as its dataclass's fields (``published_in`` left out), under the item id its keys after the scope make, joined
    by "/"."""

    table: str
    keys: tuple[str, ...]
    restored: tuple[str, ...]

    def item_id(self, draft: Any) -> str:
        return "/".join(str(getattr(draft, k)) for k in self.keys[1:])

    def _where(self, key: Taken) -> tuple[str, tuple[str, ...]]:
        scope, item = key
        return " AND ".join(f"{k} = ?" for k in self.keys), (scope, *item.split("/", len(self.keys) - 2))

    def waiting(self, drafts: Iterable[Any], scopes: set[str]) -> dict[Taken, dict]:
        """The ready drafts of ``scopes`` not yet published, as a publication records them."""
        return {(d.scope, self.item_id(d)): {k: v for k, v in asdict(d).items() if k != "published_in"}
                for d in drafts if d.ready and d.published_in is None and d.scope in scopes}

    def sent(self, db: Database, publication: int, taken: Mapping[Taken, dict]) -> None:
        """These drafts went out with ``publication``: each is the live item now, and the start of its next edit. A
        draft edited since the publication took it still waits."""
        for key, d in taken.items():
            where, args = self._where(key)
            db.execute(f"UPDATE {self.table} SET published_in = ?, base_sha256 = ? WHERE {where}"
                       " AND updated_at = ? AND published_in IS NULL",
                       (publication, item_sha(d["body"]), *args, d["updated_at"]))

    def rolled_back(self, db: Database, publication: int, before: Mapping[Taken, tuple[int, dict] | None]) -> None:
        """``publication`` is rolled back: each draft it sent goes back to the one published before it; with none,
        the files' item (or no item) is live again and the draft stays, not ready, so that nothing is lost and nothing
        is sent again until someone saves it ready. A draft edited since is left waiting."""
        for key, earlier in before.items():
            where, args = self._where(key)
            if earlier is None:
                db.execute(f"UPDATE {self.table} SET ready = 0, published_in = NULL WHERE {where}"
                           " AND published_in = ?", (*args, publication))
                continue
            pub, d = earlier
            db.execute(f"UPDATE {self.table} SET {', '.join(f'{k} = ?' for k in self.restored)}, base_sha256 = ?,"
                       f" published_in = ? WHERE {where} AND published_in = ?",
                       (*(_column(d[k]) for k in self.restored), item_sha(d["body"]), pub, *args, publication))


def _column(value: object) -> object:
    """A draft's field as its column holds it: JSON for a structure, 0/1 for a flag."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return int(value) if isinstance(value, bool) else value
