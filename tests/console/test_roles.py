"""Every route of the console against every role, read from the application itself, so a page added later is
covered without being listed here: a route without a role guard fails (only signing in and out, the static
files and the schema are open); a role outside the guard gets a 403 page in words for GET and POST alike; a
role inside it never gets a 500. A store manager aimed at another store's id is tested page by page."""

from __future__ import annotations

import re

import pytest
import requests
from console_support import PASSWORD, PEOPLE, Server
from test_schema import _cookies

from central import users
from console import pages

OPEN = {"/login", "/logout"}  # the sign-in page and signing out; the static files and schema are routers
FORBIDDEN = "You do not have access to this"
ROLE_REFUSED = "Your role does not include this page."  # console/session.py: the guard's own words
# Path parameters, by name; zed is a person of this test's own, so that the admin's changes touch nobody else.
SAMPLE = {"store": "s002", "store_id": "s002", "device": "kiosk-2", "username": "zed"}


def _sign_in(server: Server, name: str) -> dict[str, str]:
    login = requests.get(server.url + "/login", timeout=10)
    cookies = _cookies(login)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
    r = requests.post(server.url + "/login", data={"username": name, "password": PASSWORD, "_csrf_token": token},
                      headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 303, r.text
    cookies.update(_cookies(r))
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "X-CSRFToken": token}


def _routes() -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(method, path with sample parameters, the roles its guard allows; None for no guard). The sample store,
    s002, is not the store manager's (s001)."""
    found = []
    for handler in pages.ROUTES:
        roles = next((g.roles for g in handler.guards or () if hasattr(g, "roles")), None)
        for path in handler.paths:
            concrete = re.sub(r"\{(\w+)(?::(\w+))?\}",
                              lambda m: SAMPLE.get(m.group(1), "1" if m.group(2) == "int" else "x"), path)
            found.extend((method, concrete, roles) for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}))
    return found


def test_every_route_but_signing_in_and_out_has_a_role_guard():
    unguarded = sorted({path for _, path, roles in _routes() if roles is None} - OPEN)
    assert not unguarded, f"routes open to anyone signed in or not: {unguarded}"
    assert len(_routes()) >= 10


@pytest.fixture(scope="module")
def zed(server: Server) -> None:
    users.add_user(server.db, "zed", "technician", PASSWORD, now=server.clock.time())


@pytest.mark.parametrize("role", list(PEOPLE))
def test_each_role_is_refused_every_route_outside_its_guard(server: Server, zed: None, role: str):
    headers = _sign_in(server, PEOPLE[role])
    refused, served = 0, 0
    for method, path, roles in _routes():
        if roles is None:
            continue
        r = requests.request(method, server.url + path, headers=headers, data={}, allow_redirects=False, timeout=10)
        assert r.status_code < 500, f"{role}: {method} {path} -> {r.status_code}"
        if role in roles and role == "store_manager" and "/s002" in path:
            assert r.status_code == 403 and "Store s002 is not one of yours" in r.text, f"{method} {path}"
        elif role in roles:  # past the guard (a store manager may still be refused the chain's scope, say)
            served += 1
            assert ROLE_REFUSED not in r.text, f"{role}: {method} {path} refused by the guard"
        else:
            refused += 1
            assert r.status_code == 403 and FORBIDDEN in r.text, f"{role}: {method} {path} -> {r.status_code}"
    assert served and (refused or role == "admin")


def test_a_nul_character_is_refused_in_words_before_any_handler(server: Server):
    headers = _sign_in(server, PEOPLE["admin"])
    for method, path, data in (("GET", "/audit?actor=a%00b", {}), ("GET", "/fleet?store=s0%0001", {}),
                               ("POST", "/users/add", {"username": "nul\x00l", "role": "admin", "password": "x" * 12})):
        r = requests.request(method, server.url + path, headers=headers, data=data, allow_redirects=False,
                             timeout=10)
        assert r.status_code == 400 and "That request was not understood" in r.text, (method, path)
    assert users.get_user(server.db, "nul\x00l") is None
