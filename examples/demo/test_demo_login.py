"""The demo's sign-in over a real socket: ``python app.py --port N`` and http.client.

The attack is the open redirect of issue 13: a link to the sign-in page whose ``next``
points at another site must land the signed-in user on this one (the demo's
handlers redirect only through ``get_safe_next_url()``).
"""

from __future__ import annotations

import http.client
import os
import pathlib
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

HERE = pathlib.Path(__file__).parent
WAIT = 10.0


class Browser:
    """Just enough of a browser: one connection per request, a cookie jar, form posts."""

    def __init__(self, base_url: str) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, target: str, form: dict[str, str] | None = None) -> Any:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=WAIT)
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            response.text = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";")[0]
        return response

    def sign_in(self, name: str, password: str, next_url: str) -> Any:
        page = self.request("GET", "/signin?" + urllib.parse.urlencode({"next": next_url}))
        token = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
        hidden = re.search(r'id="signin-next" name="next" value="([^"]*)"', page.text)
        hidden_next = hidden.group(1)
        form = {"_xsrf": token, "name": name, "password": password, "next": next_url}
        return page, hidden_next, self.request("POST", "/signin", form)


@pytest.fixture
def browser_for_demo(run_example: Callable[..., str]) -> Browser:
    return Browser(run_example(HERE / "app.py", "--redis", ""))


def test_account_page_sends_visitors_to_sign_in_with_a_local_next(browser_for_demo):
    response = browser_for_demo.request("GET", "/account")
    assert response.status == 302
    assert response.headers["Location"] == "/signin?next=%2Faccount"


def test_signing_in_returns_to_next_and_shows_the_account(browser_for_demo):
    _, hidden_next, response = browser_for_demo.sign_in("ana", "cyclone", "/account?tab=1")
    assert hidden_next == "/account?tab=1"
    assert (response.status, response.headers["Location"]) == (302, "/account?tab=1")
    account = browser_for_demo.request("GET", "/account")
    assert account.status == 200
    assert "Signed in as ana" in account.text


@pytest.mark.parametrize(
    "next_url",
    ["//evil.example/", "/\\evil.example/", "https://evil.example/", "/\t/evil.example"],
)
def test_a_next_pointing_at_another_site_lands_on_this_one(browser_for_demo, next_url):
    page, hidden_next, response = browser_for_demo.sign_in("ana", "cyclone", next_url)
    assert "evil.example" not in page.text
    assert hidden_next == "/account"
    assert (response.status, response.headers["Location"]) == (302, "/account")


def test_a_wrong_password_shows_the_form_again_without_a_cookie(browser_for_demo):
    page, _, response = browser_for_demo.sign_in("ana", "guess", "/account")
    assert response.status == 200
    assert "Unknown user name or wrong password." in response.text
    assert "user" not in browser_for_demo.cookies


def test_signing_out_clears_the_cookie_and_stays_on_this_site(browser_for_demo):
    browser_for_demo.sign_in("ana", "cyclone", "/account")
    account = browser_for_demo.request("GET", "/account")
    token = re.search(r'name="_xsrf" value="([^"]+)"', account.text).group(1)
    response = browser_for_demo.request(
        "POST", "/signout", {"_xsrf": token, "next": "//evil.example/"}
    )
    assert (response.status, response.headers["Location"]) == (302, "/signin")
    assert browser_for_demo.cookies["user"] == ""
    assert browser_for_demo.request("GET", "/account").status == 302


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--oidc-issuer", "http://127.0.0.1:9"], "--oidc-issuer needs --oidc-client-id"),
        (["--oidc-client-id", "demo"], "--oidc-client-id needs --oidc-issuer"),
        (["--github-client-id", "demo"], "--github-client-id needs --github-client-secret"),
    ],
)
def test_a_provider_configured_by_half_is_refused_at_start(arguments, message):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    result = subprocess.run(
        [sys.executable, str(HERE / "app.py"), "--redis", "", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
