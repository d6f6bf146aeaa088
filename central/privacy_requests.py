"""Shoppers' privacy requests (access and erasure): when received, when due, when answered, and each
erasure's receipt (where it went and when each store confirmed it).

The due date follows the chain's jurisdiction (``[privacy] jurisdiction``):

- ``gdpr``: 30 calendar days after the day the request was received (GDPR art. 12(3) says "one month";
  30 days is never later than that);
- ``152-fz``: 10 working days after it (Russian Federal Law 152-FZ, art. 14 and 20). A working day is
  Monday to Friday; the day of receipt does not count, so a request received on a Friday is due on the
  Friday two weeks later. Public holidays are not known here and count as working days: the date shown
  is never later than the law's.

An access request is answered when its export is downloaded. An erasure request is answered when every
store sent the erase delta has confirmed it (a device's ``erasure_applied`` event, ``sync.protocol.erasure``),
or at once when no store held the person. Dates are days in UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sync.protocol.erasure import subject_hash

from .db import Database

KINDS = {"access": "access (a copy of their data)", "erasure": "erasure (forget them)"}
JURISDICTIONS = {"gdpr": "GDPR: 30 calendar days", "152-fz": "152-FZ: 10 working days"}
_COLUMNS = "id, kind, profile_id, jurisdiction, received_on, due_on, recorded_at, recorded_by, erasure_id," \
           " closed_at, answer"


class RequestError(ValueError):
    """A request that cannot be recorded as given; the message says what to fix."""


@dataclass(frozen=True)
class PrivacyRequest:
    id: int
    kind: str
    profile_id: str | None  # None once the person is erased
    jurisdiction: str
    received_on: date
    due_on: date
    recorded_at: float
    recorded_by: str
    erasure_id: int | None
    closed_at: float | None
    answer: str | None

    def overdue(self, today: date) -> bool:
        """Still open after its due day, or answered after it."""
        answered = datetime.fromtimestamp(self.closed_at, UTC).date() if self.closed_at is not None else today
        return answered > self.due_on


@dataclass(frozen=True)
class StoreConfirmation:
    store: str
    confirmed_at: float | None  # the first device of the store to confirm; None while none has
    devices: tuple[tuple[str, float], ...]  # every device that confirmed, with when head office heard it


@dataclass(frozen=True)
class Receipt:
    erasure_id: int
    erased_at: float
    requested_by: str
    profiles: int
    events_anonymised: int
    stores: tuple[StoreConfirmation, ...]
    republished: tuple[tuple[str, int], ...]
    files_removed: tuple[str, ...]

    @property
    def confirmed(self) -> bool:
        return all(s.confirmed_at is not None for s in self.stores)


def today(now: float) -> date:
    return datetime.fromtimestamp(now, UTC).date()


def due_on(received: date, jurisdiction: str) -> date:
    """The last day to answer a request received on ``received`` (see the module's rules)."""
    if jurisdiction == "gdpr":
        return received + timedelta(days=30)
    if jurisdiction == "152-fz":
        day, left = received, 10
        while left:
            day += timedelta(days=1)
            if day.weekday() < 5:
                left -= 1
        return day
    raise RequestError(f"unknown jurisdiction {jurisdiction!r}; one of {', '.join(JURISDICTIONS)}")


def parse_day(text: str, *, now: float) -> date:
    """A received date as typed (YYYY-MM-DD), not in the future; RequestError says what is wrong."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise RequestError(f"{text!r} is not a date like 2026-11-23") from None
    if day > today(now):
        raise RequestError("a request cannot be received after today")
    return day


def _request(row: tuple) -> PrivacyRequest:
    rid, kind, pid, jur, received, due, recorded_at, by, erasure_id, closed_at, answer = row
    return PrivacyRequest(rid, kind, pid, jur, date.fromisoformat(received), date.fromisoformat(due), recorded_at,
                          by, erasure_id, closed_at, answer)


def record(db: Database, kind: str, profile_id: str, *, received_on: date, jurisdiction: str, recorded_by: str,
           now: float) -> PrivacyRequest:
    if kind not in KINDS:
        raise RequestError(f"a request is one of {', '.join(KINDS)}, not {kind!r}")
    rid = db.scalar("INSERT INTO privacy_requests (kind, profile_id, jurisdiction, received_on, due_on, recorded_at,"
                    " recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (kind, profile_id, jurisdiction, received_on.isoformat(),
                     due_on(received_on, jurisdiction).isoformat(), now, recorded_by))
    return get(db, rid)


def get(db: Database, request_id: int) -> PrivacyRequest | None:
    row = db.query_one(f"SELECT {_COLUMNS} FROM privacy_requests WHERE id = ?", (request_id,))
    return _request(row) if row else None


def of_person(db: Database, profile_id: str) -> list[PrivacyRequest]:
    return [_request(r) for r in db.execute(f"SELECT {_COLUMNS} FROM privacy_requests WHERE profile_id = ?"
                                            " ORDER BY id DESC", (profile_id,))]


def open_requests(db: Database) -> list[PrivacyRequest]:
    """Every request not yet answered, the first due first."""
    return [_request(r) for r in db.execute(f"SELECT {_COLUMNS} FROM privacy_requests WHERE closed_at IS NULL"
                                            " ORDER BY due_on, id")]


def recent_answered(db: Database, limit: int = 20) -> list[PrivacyRequest]:
    return [_request(r) for r in db.execute(f"SELECT {_COLUMNS} FROM privacy_requests WHERE closed_at IS NOT NULL"
                                            " ORDER BY closed_at DESC, id DESC LIMIT ?", (limit,))]


def answer_access(db: Database, profile_id: str, *, jurisdiction: str, by: str, now: float) -> list[int]:
    """The export was given: every open access request of the person is answered now. With none open, one is
    recorded as received today and answered, so every export given is on the list."""
    with db.transaction():
        ids = [r[0] for r in db.execute("SELECT id FROM privacy_requests WHERE kind = 'access' AND profile_id = ?"
                                        " AND closed_at IS NULL", (profile_id,))]
        if not ids:
            ids = [record(db, "access", profile_id, received_on=today(now), jurisdiction=jurisdiction,
                          recorded_by=by, now=now).id]
        db.executemany("UPDATE privacy_requests SET closed_at = ?, answer = ? WHERE id = ?",
                       [(now, f"export given by {by}", rid) for rid in ids])
    return ids


def open_erasure(db: Database, profile_id: str, *, jurisdiction: str, by: str, now: float) -> list[int]:
    """Before erasing: the person's open erasure requests (one recorded as received today when none is), to
    be tied to the erasure with :func:`erasure_done` (the person's id is gone from them by then)."""
    with db.transaction():
        ids = [r[0] for r in db.execute("SELECT id FROM privacy_requests WHERE kind = 'erasure' AND profile_id = ?"
                                        " AND closed_at IS NULL ORDER BY id", (profile_id,))]
        return ids or [record(db, "erasure", profile_id, received_on=today(now), jurisdiction=jurisdiction,
                              recorded_by=by, now=now).id]


def erasure_done(db: Database, request_ids: list[int], erasure_id: int, *, now: float) -> None:
    db.executemany("UPDATE privacy_requests SET erasure_id = ? WHERE id = ?", [(erasure_id, r) for r in request_ids])
    close_confirmed(db, now=now)


def note_republished(db: Database, erasure_id: int, republished: tuple[tuple[str, int], ...],
                     files_removed: tuple[str, ...]) -> None:
    db.execute("UPDATE erasures SET republished = ?, files_removed = ? WHERE id = ?",
               (json.dumps([list(t) for t in republished]), json.dumps(list(files_removed)), erasure_id))


def confirm(db: Database, store: str, device: str, subjects: list[str], *, now: float) -> None:
    """A device of ``store`` applied the erase delta of these subject hashes (from its ``erasure_applied``
    event; ``store`` and ``device`` are its topic's). Erasure requests every store has now confirmed close."""
    g = db.dialect.greatest
    db.executemany("INSERT INTO erasure_confirmations (subject_hash, store, device, confirmed_at) VALUES (?, ?, ?, ?)"
                   f" ON CONFLICT (subject_hash, store, device) DO UPDATE SET confirmed_at ="
                   f" {g}(erasure_confirmations.confirmed_at, excluded.confirmed_at)",
                   [(s, store, device, now) for s in subjects])
    close_confirmed(db, now=now)


# A store's confirmation of an erasure: a device of it applied a delta deleting one of the erasure's ids, after
# the erasure began (a merge's earlier delta that deleted the same id does not count).
_CONFIRMED = """SELECT c.store, c.device, min(c.confirmed_at) FROM erasure_confirmations c
    JOIN erased_subjects e ON e.subject_hash = c.subject_hash JOIN erasures x ON x.id = e.erasure_id
    WHERE e.erasure_id = ? AND c.confirmed_at >= x.erased_at GROUP BY c.store, c.device"""


def close_confirmed(db: Database, *, now: float) -> int:
    """Close the erasure requests whose erasure every notified store has confirmed; returns how many."""
    rows = db.execute("SELECT id, erasure_id FROM privacy_requests WHERE kind = 'erasure' AND closed_at IS NULL"
                      " AND erasure_id IS NOT NULL")
    done = [rid for rid, eid in rows if (r := receipt(db, eid)) is not None and r.confirmed]
    db.executemany("UPDATE privacy_requests SET closed_at = ?, answer = ? WHERE id = ? AND closed_at IS NULL",
                   [(now, "erased; every store confirmed", rid) for rid in done])
    return len(done)


def receipt(db: Database, erasure_id: int) -> Receipt | None:
    row = db.query_one("SELECT erased_at, requested_by, profiles, events_anonymised, republished, files_removed"
                       " FROM erasures WHERE id = ?", (erasure_id,))
    if row is None:
        return None
    erased_at, by, profiles, anonymised, republished, files = row
    devices: dict[str, list[tuple[str, float]]] = {}
    for store, device, at in db.execute(_CONFIRMED, (erasure_id,)):
        devices.setdefault(store, []).append((device, at))
    stores = tuple(StoreConfirmation(s, min((at for _, at in devices.get(s, [])), default=None),
                                     tuple(sorted(devices.get(s, []), key=lambda d: d[1])))
                   for (s,) in db.execute("SELECT store FROM erasure_stores WHERE erasure_id = ? ORDER BY store",
                                          (erasure_id,)))
    return Receipt(erasure_id, erased_at, by, profiles, anonymised, stores,
                   tuple((t, v) for t, v in json.loads(republished or "[]")), tuple(json.loads(files or "[]")))


def person_ref(profile_id: str) -> str:
    """How the audit log names a person: the start of their subject hash, not their id."""
    return f"person/{subject_hash(profile_id)[:16]}"
