"""The audit log: every change made in the console and every access to personal data, with who, what,
which scope, when and from where. Append-only: this module adds and reads rows and nothing changes them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime

from .db import Database

_WHERE = " WHERE (? = '' OR actor = ?) AND (? = '' OR action = ?)"
# Every action the console records, in words for the page; the CSV keeps the codes.
ACTIONS = {
    "login": "signed in", "login.failed": "sign-in refused", "logout": "signed out",
    "user.add": "added a person", "user.role": "changed a role or stores", "user.deactivate": "switched an account off",
    "user.activate": "switched an account on", "user.unlock": "unlocked an account", "user.password": "set a password",
    "audit.view": "read the audit log", "audit.export": "downloaded the audit log",
    "store.add": "added a store", "store.edit": "changed a store", "staff.add": "added a staff member",
    "staff.edit": "changed a staff member", "staff.pin": "set a staff PIN",
    "staff.deactivate": "switched a staff member off", "staff.activate": "switched a staff member on",
    "privacy.requests": "read privacy requests", "privacy.search": "looked for a person",
    "privacy.view": "looked at a person's data", "privacy.export": "downloaded a person's data",
    "privacy.request": "recorded a privacy request", "privacy.erase": "erased a person",
    "privacy.merge": "merged two profiles",
    "report.staff": "read staff KPIs", "report.staff.export": "downloaded staff KPIs",
    "device.command": "sent a command to a device",
    "override.start": "sent an emergency override", "override.end": "ended an emergency override",
    "offer.draft": "saved an offer as a draft", "offer.ready": "saved an offer as ready to publish",
    "offer.pause": "paused an offer", "offer.resume": "resumed an offer", "offer.discard": "discarded an offer's draft",
    "offer.experiment.pause": "paused an offer's experiment",
    "offer.experiment.resume": "resumed an offer's experiment",
    "signage.draft": "saved a playlist, layout or schedule entry as a draft",
    "signage.ready": "saved a playlist, layout or schedule entry as ready to publish",
    "signage.discard": "discarded a signage draft",
    "publish.validate": "checked a publication", "publish.approve": "approved a publication",
    "publish.pilot": "sent a publication to its pilot stores", "publish.pilot.passed": "saw a pilot pass",
    "publish.pilot.failed": "saw a pilot fail", "publish.promote": "sent a publication to every store",
    "publish.rollback": "rolled a publication back",
    "media.upload": "uploaded a media file", "media.replace": "replaced a media file",
    "media.delete": "deleted a media file",
}
CSV_COLUMNS = ("at_utc", "actor", "action", "scope", "detail", "client")


@dataclass(frozen=True)
class Entry:
    id: int
    at: float
    actor: str
    action: str  # e.g. user.add, user.role, audit.export, login.failed
    scope: str  # what it touched: user/<name>, store/<id>, chain
    detail: str
    client: str  # the client's address as the console saw it


def record(db: Database, *, at: float, actor: str, action: str, scope: str, detail: str = "",
           client: str = "") -> None:
    db.execute("INSERT INTO audit_log (at, actor, action, scope, detail, client) VALUES (?, ?, ?, ?, ?, ?)",
               (at, actor, action, scope, detail, client))


def entries(db: Database, *, limit: int, offset: int = 0, actor: str = "", action: str = "") -> list[Entry]:
    """Newest first; ``actor`` and ``action`` filter when given."""
    rows = db.execute("SELECT id, at, actor, action, scope, detail, client FROM audit_log" + _WHERE
                      + " ORDER BY id DESC LIMIT ? OFFSET ?", (*_filters(actor, action), limit, offset))
    return [Entry(*r) for r in rows]


def count(db: Database, *, actor: str = "", action: str = "") -> int:
    return db.scalar("SELECT count(*) FROM audit_log" + _WHERE, _filters(actor, action))


def _filters(actor: str, action: str) -> tuple[str, ...]:
    return actor, actor, action, action


def utc_text(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def to_csv(db: Database) -> str:
    """Every entry, oldest first, with a header row even when there are none."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for r in db.stream("SELECT at, actor, action, scope, detail, client FROM audit_log ORDER BY id"):
        w.writerow((utc_text(r[0]), *r[1:]))
    return out.getvalue()
