"""schemathesis against the console's OpenAPI schema (/schema/openapi.json), signed in as an admin with a valid
CSRF token, so requests reach the handlers: whatever it sends, no answer may be a 500."""

from __future__ import annotations

import re

import pytest
import requests
import schemathesis
from console_support import PASSWORD, Server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _cookies(response: requests.Response) -> dict[str, str]:
    # The cookies are Secure, which requests keeps for HTTPS; over the test's plain loopback they are read by hand.
    return dict(re.findall(r"(console_\w+)=([^;]*)", ", ".join(response.raw.headers.getlist("Set-Cookie"))))


@pytest.fixture(scope="module")
def signed_in(server: Server) -> dict[str, str]:
    """Headers that make a request the admin's, with the CSRF token."""
    login = requests.get(server.url + "/login", timeout=10)
    cookies = _cookies(login)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text).group(1)
    jar = "; ".join(f"{k}={v}" for k, v in cookies.items())
    r = requests.post(server.url + "/login", data={"username": "ada", "password": PASSWORD, "_csrf_token": token},
                      headers={"Cookie": jar}, allow_redirects=False, timeout=10)
    assert r.status_code == 303, r.text
    cookies.update(_cookies(r))
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()), "X-CSRFToken": token}


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_no_request_gets_a_500(server: Server, signed_in: dict[str, str]):
    schema = schemathesis.openapi.from_url(server.url + "/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures = []

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(data=st.data())
    def run(data) -> None:
        for operation in operations:
            case = data.draw(operation.as_strategy())
            response = case.call(headers=signed_in, timeout=10)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r}:"
                                f" {response.status_code}")

    run()
    assert not failures, "\n".join(failures)
