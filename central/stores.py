"""Stores and their staff in head office's files: the console's and the command line's way to change them.

Stores are the rows of ``stores.csv`` (``content_files.load_stores``); a store's staff are the rows of
``store/<store>/staff.csv`` (``id,name,role,pin_hash,active``): the store bundle's ``staff`` section, with
head office's own ``active`` column (a switched-off member stays in the file and goes to no device).

Every change is checked first (a store with the same checks its devices run, a PIN with the tablet's rule),
then written atomically (a temporary file, then a rename) under a lock, so that two people saving at
once both keep their change. Only the changed row is rewritten: the file's other rows, their order,
quoting and blank lines stay as they were. A PIN is hashed at once with the tablet's scheme
(``decisions.identity.pins.hash_pin``); it is never written, logged or returned in clear.

After a change the store's scope is published (``publish_store``), so that its devices get it in the next
signed store bundle; a change saved while the broker is down goes out with the next publish.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import re
import stat
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from decisions.identity import staff_roles
from decisions.identity.pins import hash_pin
from decisions.identity.staff_roles import STAFF_ROLES
from sync.clock import Clock

from .config import CentralConfig
from .content_files import STAFF_ACTIVE, STORE_COLUMNS, ContentProblem, Store, load_stores, stores_from_csv
from .db import Database
from .headoffice import HeadOffice
from .keys import Keyring, NoSigningKey
from .mqtt import BrokerLink

STAFF_COLUMNS = ("id", "name", "role", "pin_hash", STAFF_ACTIVE)
NEW_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
NAME_MAX = 60
_lock = threading.Lock()


class StoreEditError(ValueError):
    """The change was not made; the message says why, in words."""


@dataclass(frozen=True)
class StaffMember:
    id: str
    name: str
    role: str
    active: bool
    has_pin: bool

    @property
    def role_name(self) -> str:
        return staff_roles.role_name(self.role) if self.role else "-"


@dataclass(frozen=True)
class Published:
    sent: bool
    message: str  # for the person who made the change


# --- stores -------------------------------------------------------------------------------------------------
def list_stores(root: Path) -> list[Store]:
    return load_stores(root) if (root / "stores.csv").exists() else []


def find_store(root: Path, store: str) -> Store | None:
    return next((s for s in list_stores(root) if s.store == store), None)


def save_store(root: Path, form: Mapping[str, str], *, new: bool) -> Store:
    """Add (``new``) or change one store from a form's fields (``STORE_COLUMNS``; devices separated by spaces,
    commas or '|'). Raises StoreEditError naming what is wrong."""
    row = {k: str(form.get(k, "")).strip() for k in STORE_COLUMNS}
    row["devices"] = "|".join(d for d in re.split(r"[\s,|]+", row["devices"]) if d)
    if new and not NEW_ID_RE.fullmatch(row["store"]):
        raise StoreEditError(f"store id {row['store']!r}: use 1-32 lowercase letters, digits and '-', like s014")
    path = root / "stores.csv"
    with _locked(path):
        table = _Table.read(path, STORE_COLUMNS)
        at = table.find("store", row["store"])
        if new and at is not None:
            raise StoreEditError(f"there is already a store {row['store']}")
        if not new and at is None:
            raise StoreEditError(f"there is no store {row['store']}")
        for other in table.rows():
            taken = set(other.get("devices", "").split("|")) & set(row["devices"].split("|")) - {""}
            if other.get("store") != row["store"] and taken:
                raise StoreEditError(f"device {sorted(taken)[0]!r} is already in store {other['store']}")
        table.put(at, row)
        try:
            stores = stores_from_csv(table.text(), "stores.csv")
        except ContentProblem as exc:
            raise StoreEditError("; ".join(p.split(": ", 1)[-1] for p in exc.problems)) from None
        table.write()
    return next(s for s in stores if s.store == row["store"])


# --- staff --------------------------------------------------------------------------------------------------
def list_staff(root: Path, store: str) -> list[StaffMember]:
    path = _staff_file(root, store)
    if not path.exists():
        return []
    return [StaffMember(r.get("id", ""), r.get("name", ""), r.get("role", ""), _active(r), bool(r.get("pin_hash")))
            for r in _Table.read(path, STAFF_COLUMNS).rows()]


def add_staff(root: Path, store: str, name: str, role: str, pin: str) -> StaffMember:
    """A new staff member with a PIN; their id is the next free ``st-NN`` of the store."""
    fields = {"name": _name(name), "role": _role(role), "pin_hash": _hash(pin), STAFF_ACTIVE: "true"}
    with _staff_table(root, store) as table:
        taken = {r.get("id") for r in table.rows()}
        sid = next(f"st-{n:02d}" for n in range(1, len(taken) + 2) if f"st-{n:02d}" not in taken)
        table.put(None, {"id": sid, **fields})
    return StaffMember(sid, fields["name"], fields["role"], True, True)


def change_staff(root: Path, store: str, staff_id: str, *, name: str | None = None, role: str | None = None,
                 pin: str | None = None, active: bool | None = None) -> StaffMember:
    """Change what is given of one staff member: name, role, a new PIN (hashed here), switched on or off."""
    update = {}
    if name is not None:
        update["name"] = _name(name)
    if role is not None:
        update["role"] = _role(role)
    if pin is not None:
        update["pin_hash"] = _hash(pin)
    if active is not None:
        update[STAFF_ACTIVE] = "true" if active else "false"
    with _staff_table(root, store) as table:
        at = table.find("id", staff_id)
        if at is None:
            raise StoreEditError(f"store {store} has no staff member {staff_id}")
        row = {**table.row(at), **update}
        table.put(at, row)
    return StaffMember(staff_id, row.get("name", ""), row.get("role", ""), _active(row), bool(row.get("pin_hash")))


def _name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise StoreEditError("a staff member needs a name")
    if len(name) > NAME_MAX:
        raise StoreEditError(f"a name has at most {NAME_MAX} characters")
    return name


def _role(role: str) -> str:
    if role not in STAFF_ROLES:
        raise StoreEditError(f"role {role!r} is not one of {', '.join(STAFF_ROLES)}")
    return role


def _hash(pin: str) -> str:
    try:
        return hash_pin(str(pin))
    except ValueError as exc:  # the tablet's own rule, in its words; the PIN itself is never in a message
        raise StoreEditError(str(exc).rstrip(".")) from None


def _active(row: Mapping[str, str]) -> bool:
    return str(row.get(STAFF_ACTIVE) or "true").strip().lower() not in ("false", "no", "0")


def _staff_file(root: Path, store: str) -> Path:
    return root / "store" / store / "staff.csv"


@contextmanager
def _staff_table(root: Path, store: str) -> Iterator[_Table]:
    if find_store(root, store) is None:
        raise StoreEditError(f"there is no store {store}")
    path = _staff_file(root, store)
    others = sorted(p.name for p in path.parent.glob("staff.*") if p.name != path.name) if path.parent.is_dir() else []
    if others:
        raise StoreEditError(f"store/{store}/{others[0]} holds this store's staff; the console edits staff.csv"
                             " only: move them there first")
    with _locked(path):
        table = _Table.read(path, STAFF_COLUMNS)
        yield table
        table.write()


# --- publishing ---------------------------------------------------------------------------------------------
def publish_store(config: CentralConfig, db: Database, clock: Clock, store: str) -> Published:
    """The store's scope published now (only if its content changed), over a broker connection of its own."""
    scope = f"store/{store}"
    later = "Saved; the devices get it at the next publish"
    try:
        keys = Keyring(config.central.keys_dir)
        keys.active_id  # noqa: B018 - no signing key: say so before connecting
    except (NoSigningKey, OSError, ValueError) as exc:
        return Published(False, f"{later} ({exc}).")
    try:
        link = BrokerLink(config.broker, f"central-{config.central.chain}-stores-{os.urandom(4).hex()}",
                          session_expiry_s=0).start()
    except OSError:  # ConnectionError included
        return Published(False, f"{later} (the broker at {config.broker.host}:{config.broker.port} cannot be"
                                " reached now).")
    try:
        sent = HeadOffice(config, db, keys, link, clock=clock).publish_content([scope])
    except (ContentProblem, NoSigningKey, ConnectionError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Published(False, f"Saved; not sent to the devices yet: {first}")
    finally:
        link.stop()
    if not sent:
        return Published(True, "The devices already have it.")
    return Published(True, f"Sent to the store's devices ({scope} v{sent[0]['version']}).")


# --- the files ----------------------------------------------------------------------------------------------
@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time: threads of this process, and other processes (the command line, a second console)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@dataclass
class _Record:
    first: int  # index of its first line in _Table.lines
    end: int  # one past its last line (a quoted cell may span lines)
    cells: list[str]


class _Table:
    """A CSV file as its lines, so that a change rewrites one record's lines and keeps every other byte."""

    def __init__(self, path: Path, lines: list[str], header: list[str], records: list[_Record]):
        self.path, self.lines, self.header, self.records = path, lines, header, records

    @classmethod
    def read(cls, path: Path, columns: tuple[str, ...]) -> _Table:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        lines = text.splitlines(keepends=True)
        reader = csv.reader(io.StringIO(text, newline=""))
        records, start = [], 0
        for cells in reader:
            if cells:
                records.append(_Record(start, reader.line_num, [c.strip() for c in cells]))
            start = reader.line_num
        if not records:
            lines.insert(0, _line(list(columns)))
            return cls(path, lines, list(columns), [])
        header, body = records[0].cells, records[1:]
        table = cls(path, lines, header, body)
        missing = [c for c in columns if c not in header]
        if missing:  # older files: the new columns go at the end; rows without them read as empty there
            table.header = header + missing
            lines[records[0].first:records[0].end] = [_line(table.header)]
            table._shift(records[0].end, 1 - (records[0].end - records[0].first))
        return table

    def _shift(self, after: int, by: int) -> None:
        for r in self.records:
            if r.first >= after:
                r.first, r.end = r.first + by, r.end + by

    def rows(self) -> list[dict[str, str]]:
        return [self.row(i) for i in range(len(self.records))]

    def row(self, at: int) -> dict[str, str]:
        cells = self.records[at].cells
        return {k: (cells[i] if i < len(cells) else "") for i, k in enumerate(self.header)}

    def find(self, column: str, value: str) -> int | None:
        return next((i for i, r in enumerate(self.rows()) if r.get(column) == value), None)

    def put(self, at: int | None, row: Mapping[str, str]) -> None:
        """Replace record ``at`` (its cells in columns this change does not name are kept), or append (None)."""
        old = self.row(at) if at is not None else {}
        cells = [str(row.get(k, old.get(k, ""))) for k in self.header]
        if at is None:
            self.records.append(_Record(len(self.lines), len(self.lines) + 1, cells))
            self.lines.append(_line(cells))
            return
        record = self.records[at]
        self.lines[record.first:record.end] = [_line(cells)]
        self._shift(record.end, 1 - (record.end - record.first))
        record.end, record.cells = record.first + 1, cells

    def text(self) -> str:
        return "".join(self.lines)

    def write(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        mode = stat.S_IMODE(self.path.stat().st_mode) if self.path.exists() else 0o640
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w", encoding="utf-8",
                       newline="") as f:
            os.fchmod(f.fileno(), mode)  # a temporary file left by a crash keeps its mode otherwise
            f.write(self.text())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def _line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()
