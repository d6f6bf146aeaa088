"""The console's people: local accounts with a role, the stores they may see, an scrypt password hash
and a lockout after repeated wrong passwords (``[console] max_failures`` and ``lockout_s``).

Time is an argument (``now``, from the entry point's clock), so a test decides when a lockout ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from decisions.identity.pins import hash_secret, secret_matches

from .db import Database

ROLES = ("admin", "marketer", "store_manager", "technician", "privacy_officer")
ROLE_NAMES = {"admin": "Admin", "marketer": "Marketer", "store_manager": "Store manager",
              "technician": "Technician", "privacy_officer": "Privacy officer"}
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,39}")
STORE_RE = re.compile(r"[A-Za-z0-9._-]{1,40}")
MIN_PASSWORD = 10
_COLUMNS = "username, role, stores, active, failures, locked_until, created_at"


class UserError(ValueError):
    """Bad input for an account (a name, a role, stores, a password); the message says what to fix."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    stores: tuple[str, ...]  # a store manager's stores; empty for every other role
    active: bool
    failures: int
    locked_until: float
    created_at: float

    def locked(self, now: float) -> bool:
        return now < self.locked_until

    def may_see_store(self, store: str) -> bool:
        return self.role != "store_manager" or store in self.stores


@dataclass(frozen=True)
class Login:
    user: User | None  # set only when the password was right and the account may sign in
    message: str  # what to tell the person when it was not


def _user(row: tuple) -> User:
    username, role, stores, active, failures, locked_until, created_at = row
    return User(username, role, tuple(s for s in stores.split(",") if s), bool(active), failures, locked_until,
                created_at)


def parse_stores(text: str | None) -> tuple[str, ...]:
    """``s001,s002`` -> ("s001", "s002"); UserError names the first store id that is not one."""
    stores = tuple(dict.fromkeys(s.strip() for s in (text or "").split(",") if s.strip()))
    for s in stores:
        if not STORE_RE.fullmatch(s):
            raise UserError(f"{s!r} is not a store id (letters, digits, '.', '_' or '-')")
    return stores


def _check(role: str, stores: tuple[str, ...]) -> None:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "store_manager" and not stores:
        raise UserError("a store manager needs at least one store")
    if role != "store_manager" and stores:
        raise UserError("only a store manager is limited to stores")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")


def get_user(db: Database, username: str) -> User | None:
    row = db.query_one(f"SELECT {_COLUMNS} FROM console_users WHERE username = ?", (username,))
    return _user(row) if row else None


def list_users(db: Database) -> list[User]:
    return [_user(r) for r in db.execute(f"SELECT {_COLUMNS} FROM console_users ORDER BY username")]


def add_user(db: Database, username: str, role: str, password: str, *, stores: tuple[str, ...] = (),
             now: float) -> User:
    if not USERNAME_RE.fullmatch(username):
        raise UserError("a user name is 2-40 characters: lower-case letters, digits, '.', '_' or '-'")
    _check(role, stores)
    _check_password(password)
    with db.transaction():
        if get_user(db, username):
            raise UserError(f"there is already a user {username!r}")
        db.execute("INSERT INTO console_users (username, role, stores, password_hash, active, failures,"
                   " locked_until, created_at) VALUES (?, ?, ?, ?, 1, 0, 0, ?)",
                   (username, role, ",".join(stores), hash_secret(password.encode()), now))
    return get_user(db, username)


def _existing(db: Database, username: str) -> User:
    user = get_user(db, username)
    if user is None:
        raise UserError(f"there is no user {username!r}")
    return user


def set_role(db: Database, username: str, role: str, stores: tuple[str, ...]) -> User:
    _existing(db, username)
    _check(role, stores)
    db.execute("UPDATE console_users SET role = ?, stores = ? WHERE username = ?", (role, ",".join(stores), username))
    return get_user(db, username)


def set_active(db: Database, username: str, active: bool) -> User:
    _existing(db, username)
    db.execute("UPDATE console_users SET active = ? WHERE username = ?", (int(active), username))
    return get_user(db, username)


def unlock(db: Database, username: str) -> User:
    _existing(db, username)
    db.execute("UPDATE console_users SET failures = 0, locked_until = 0 WHERE username = ?", (username,))
    return get_user(db, username)


def set_password(db: Database, username: str, password: str) -> None:
    _existing(db, username)
    _check_password(password)
    db.execute("UPDATE console_users SET password_hash = ? WHERE username = ?",
               (hash_secret(password.encode()), username))


def authenticate(db: Database, username: str, password: str, *, now: float, max_failures: int,
                 lockout_s: float) -> Login:
    """Check one sign-in. A wrong password counts; the ``max_failures``-th in a row locks the account for
    ``lockout_s``, and while locked nothing is checked. The message never says whether the name exists."""
    wrong = "That user name and password do not match."
    row = db.query_one("SELECT password_hash FROM console_users WHERE username = ?", (username,))
    user = get_user(db, username) if row else None
    if user is None:
        return Login(None, wrong)
    if user.locked(now):
        minutes = max(1, round((user.locked_until - now) / 60))
        return Login(None, f"Too many wrong passwords: this account is locked for {minutes} more minute(s),"
                           " or until an admin unlocks it.")
    if not secret_matches(row[0], password.encode()):
        failures = user.failures + 1
        locked_until = now + lockout_s if failures >= max_failures else user.locked_until
        db.execute("UPDATE console_users SET failures = ?, locked_until = ? WHERE username = ?",
                   (0 if locked_until > now else failures, locked_until, username))
        if locked_until > now:
            return Login(None, f"Too many wrong passwords: this account is locked for {round(lockout_s / 60)}"
                               " minute(s), or until an admin unlocks it.")
        return Login(None, wrong)
    if not user.active:
        return Login(None, "This account is switched off. Ask an admin.")
    if user.failures:
        db.execute("UPDATE console_users SET failures = 0 WHERE username = ?", (username,))
    return Login(user, "")
