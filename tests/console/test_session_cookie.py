"""The session cookie is set only by a reply that changed the session: a form's check as you type that comes back
after the form's save cannot put back the cookie from before the save and lose its "saved" notice."""

from __future__ import annotations

import re

import requests
from console_support import Server
from test_roles import _sign_in
from test_schema import _cookies

from console.session import SEEN_STEP_S

CHECK = {"new": "1", "scope": "chain", "kind": "playlists", "id": "pl-race", "order": "sequential",
         "item.0.id": "txt-wifi"}


def _session_cookie(r: requests.Response) -> str | None:
    return _cookies(r).get("console_session")


def test_a_check_that_overtakes_the_save_keeps_the_saved_notice(server: Server):
    headers = _sign_in(server, "mia")
    check = requests.post(server.url + "/signage/check", data=CHECK, timeout=10,
                          headers={**headers, "HX-Request": "true"})
    assert check.status_code == 200 and _session_cookie(check) is None  # nothing in the session changed
    save = requests.post(server.url + "/signage/save", data={**CHECK, "save": "draft"}, headers=headers,
                         allow_redirects=False, timeout=10)
    assert save.status_code == 303 and _session_cookie(save)  # the notice, for the page it goes to
    after = {**headers, "Cookie": re.sub(r"console_session=[^;]*", f"console_session={_session_cookie(save)}",
                                         headers["Cookie"])}
    late_check = requests.post(server.url + "/signage/check", data=CHECK, timeout=10,
                               headers={**headers, "HX-Request": "true"})  # sent before the save, answered after
    assert _session_cookie(late_check) is None
    landed = requests.get(server.url + save.headers["location"], headers=after, timeout=10)
    assert landed.status_code == 200 and 'role="status"' in landed.text


def test_the_last_use_moves_once_a_minute_and_the_session_still_ends(server: Server):
    headers = _sign_in(server, "mia")
    server.clock.advance(SEEN_STEP_S - 1)
    assert _session_cookie(requests.get(server.url + "/offers", headers=headers, timeout=10)) is None
    server.clock.advance(1)
    moved = requests.get(server.url + "/offers", headers=headers, timeout=10)
    assert moved.status_code == 200 and _session_cookie(moved)  # last used: now
    server.clock.advance(server.config.console.session_max_age_s + 1)
    ended = requests.get(server.url + "/offers", headers=headers, allow_redirects=False, timeout=10)
    assert ended.status_code == 303 and ended.headers["location"] == "/login"
