"""The chain's programme settings for every store: the **global holdout**, the share of customers who never get
personal offers, so that head office can measure the whole programme's lift against them (``experiment_results``).

A setting is kept in ``chain_settings`` and goes out with the next publication, in the chain bundle as the chain's
own item of the ``stores`` section (``sync.protocol.content.PROGRAMME_ID``), checked by the device's content check
like any item. The salt is drawn once and kept: a larger share keeps everyone the smaller one held.
"""

from __future__ import annotations

import json
import secrets

from decisions.experiments import GlobalHoldout
from sync.protocol.content import PROGRAMME_ID

from .content_files import ScopeContent
from .db import Database

GLOBAL_HOLDOUT = "global_holdout"


class SettingRefused(ValueError):
    """A value a device would refuse; the message says which and why."""


def global_holdout(db: Database) -> GlobalHoldout | None:
    row = db.query_one("SELECT value FROM chain_settings WHERE name = ?", (GLOBAL_HOLDOUT,))
    return GlobalHoldout.from_raw(json.loads(row[0])) if row else None


def set_global_holdout(db: Database, share_pct: float, *, by: str, now: float) -> GlobalHoldout:
    """Hold ``share_pct`` % of the customers out of personal offers from the next publication (0: nobody)."""
    previous = global_holdout(db)
    raw = {"share_pct": share_pct, "salt": previous.salt if previous else f"programme-{secrets.token_hex(4)}"}
    try:
        holdout = GlobalHoldout.from_raw(raw)
    except ValueError as exc:
        raise SettingRefused(str(exc)) from None
    db.execute("INSERT INTO chain_settings (name, value, updated_at, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT"
               " (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,"
               " updated_by = excluded.updated_by", (GLOBAL_HOLDOUT, json.dumps(raw), now, by))
    return holdout


def overlay(db: Database, tree: dict[str, ScopeContent], waiting: bool = True) -> None:
    """The chain bundle carries the settings as the chain's own item (none set: nothing added). A setting is sent
    as it stands: ``waiting`` changes nothing."""
    holdout = global_holdout(db)
    if holdout is None:
        return
    chain = tree.setdefault("chain", ScopeContent("chain"))
    item = {"id": PROGRAMME_ID, "name": "every store",
            GLOBAL_HOLDOUT: {"share_pct": holdout.share_pct, "salt": holdout.salt}}
    kept = [(s, at) for s, at in zip(chain.content.get("stores", []), chain.origins.get("stores", []), strict=True)
            if s.get("id") != PROGRAMME_ID]
    chain.content["stores"] = [s for s, _ in kept] + [item]
    chain.origins["stores"] = [at for _, at in kept] + [("the console's programme settings", 0, {})]
