"""The console's people and audit log in the central store, on SQLite and PostgreSQL: accounts, roles and
stores, the lockout by the test's clock, the append-only log and its CSV; ``users add`` from the command line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from central import audit, users
from central.__main__ import main
from central.db import Database, open_database
from central.users import UserError
from sync.clock import FixedClock

PASSWORD = "correct horse battery"


def test_accounts_roles_and_stores(db: Database, clock: FixedClock):
    users.add_user(db, "ada", "admin", PASSWORD, now=clock.time())
    sm = users.add_user(db, "sam", "store_manager", PASSWORD, stores=("s001", "s002"), now=clock.time())
    assert sm.may_see_store("s001") and not sm.may_see_store("s003")
    assert users.get_user(db, "ada").may_see_store("s003")
    assert [u.username for u in users.list_users(db)] == ["ada", "sam"]
    tech = users.set_role(db, "sam", "technician", ())
    assert (tech.role, tech.stores) == ("technician", ())
    assert not users.set_active(db, "sam", False).active
    stored = db.scalar("SELECT password_hash FROM console_users WHERE username = 'ada'")
    assert stored.startswith("scrypt$") and PASSWORD not in stored


@pytest.mark.parametrize(("args", "message"), [
    (("Bad Name", "admin", PASSWORD, ()), "user name"),
    (("bo", "owner", PASSWORD, ()), "role must be one of"),
    (("bo", "store_manager", PASSWORD, ()), "needs at least one store"),
    (("bo", "admin", PASSWORD, ("s001",)), "only a store manager"),
    (("bo", "admin", "short", ()), "at least 10 characters"),
])
def test_bad_accounts_are_refused_with_the_reason(db: Database, clock: FixedClock, args, message):
    name, role, password, stores = args
    with pytest.raises(UserError, match=message):
        users.add_user(db, name, role, password, stores=stores, now=clock.time())
    assert users.list_users(db) == []


def test_duplicates_and_unknown_users_and_store_ids(db: Database, clock: FixedClock):
    users.add_user(db, "ada", "admin", PASSWORD, now=clock.time())
    with pytest.raises(UserError, match="already a user"):
        users.add_user(db, "ada", "admin", PASSWORD, now=clock.time())
    with pytest.raises(UserError, match="no user 'nobody'"):
        users.unlock(db, "nobody")
    with pytest.raises(UserError, match="not a store id"):
        users.parse_stores("s001,<script>")
    assert users.parse_stores(" s001, s002,s001 ,") == ("s001", "s002")


def test_lockout_after_five_wrong_passwords_ends_by_the_clock(db: Database, clock: FixedClock):
    users.add_user(db, "ada", "admin", PASSWORD, now=clock.time())

    def attempt(password: str) -> users.Login:
        return users.authenticate(db, "ada", password, now=clock.time(), max_failures=5, lockout_s=900)

    for _ in range(4):
        assert attempt("wrong password").message == "That user name and password do not match."
    assert "locked for 15 minute(s)" in attempt("wrong password").message
    assert attempt(PASSWORD).user is None, "the right password does not open a locked account"
    clock.advance(899)
    assert "locked for 1 more minute(s)" in attempt(PASSWORD).message
    clock.advance(2)
    assert attempt(PASSWORD).user.username == "ada"
    assert users.get_user(db, "ada").failures == 0
    assert attempt("nope").user is None and users.authenticate(
        db, "ghost", PASSWORD, now=clock.time(), max_failures=5, lockout_s=900).message == attempt("nope").message


def test_unlock_and_switched_off_accounts(db: Database, clock: FixedClock):
    users.add_user(db, "ada", "admin", PASSWORD, now=clock.time())
    for _ in range(5):
        users.authenticate(db, "ada", "wrong", now=clock.time(), max_failures=5, lockout_s=900)
    assert users.get_user(db, "ada").locked(clock.time())
    users.unlock(db, "ada")
    assert users.authenticate(db, "ada", PASSWORD, now=clock.time(), max_failures=5, lockout_s=900).user
    with pytest.raises(UserError, match="at least 10 characters"):
        users.set_password(db, "ada", "short")
    users.set_password(db, "ada", "a new password")
    assert users.authenticate(db, "ada", "a new password", now=clock.time(), max_failures=5, lockout_s=900).user
    assert users.authenticate(db, "ada", PASSWORD, now=clock.time(), max_failures=5, lockout_s=900).user is None
    users.set_active(db, "ada", False)
    assert "switched off" in users.authenticate(db, "ada", "a new password", now=clock.time(), max_failures=5,
                                                lockout_s=900).message


def test_audit_log_filters_pages_and_csv(db: Database, clock: FixedClock):
    assert audit.to_csv(db).splitlines() == [",".join(audit.CSV_COLUMNS)], "a header row even when empty"
    for n in range(5):
        audit.record(db, at=clock.time() + n, actor="ada" if n % 2 else "sam", action="user.add" if n < 3
                     else "audit.view", scope=f"user/u{n}", detail="role admin, stores s001", client="10.0.0.7")
    assert audit.count(db) == 5 and audit.count(db, actor="ada") == 2 and audit.count(db, action="user.add") == 3
    newest = audit.entries(db, limit=2)
    assert [e.scope for e in newest] == ["user/u4", "user/u3"]
    assert [e.scope for e in audit.entries(db, limit=2, offset=4)] == ["user/u0"]
    rows = list(csv.reader(io.StringIO(audit.to_csv(db))))
    assert rows[1] == ["2026-11-23 06:30:00 UTC", "sam", "user.add", "user/u0", "role admin, stores s001", "10.0.0.7"]
    assert len(rows) == 6


def test_users_add_from_the_command_line(tmp_path: Path, clock: FixedClock, capsys):
    db_path = tmp_path / "central.db"
    config = tmp_path / "central.toml"
    config.write_text(f'[central]\ndsn = "{db_path}"\n')
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    argv = ["--config", str(config), "users", "add", "sam", "--role", "store_manager", "--stores", "s001,s002",
            "--password-file", str(secret)]
    assert main(argv, clock=clock) == 0
    assert "sam added as store_manager for s001,s002" in capsys.readouterr().out
    assert main(argv, clock=clock) == 1
    assert "already a user 'sam'" in capsys.readouterr().err
    assert main([*argv[:4], "bo", "--role", "admin", "--password-file", str(secret)], clock=clock) == 0
    assert main(["--config", str(config), "users", "list"], clock=clock) == 0
    assert "sam                  store_manager    s001,s002" in capsys.readouterr().out
    db = open_database(db_path)
    assert users.authenticate(db, "sam", PASSWORD, now=clock.time(), max_failures=5, lockout_s=900).user
    assert [e.action for e in audit.entries(db, limit=5)] == ["user.add", "user.add"]
    db.close()
