"""The signed sign-in cookie: lifetime, forgery, and what a callback must bring back."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest_twisted
from auth_apps import COOKIE_SECRET, serve
from scripted_browser import ScriptedBrowser

from cyclone import signing
from cyclone.auth import login_state
from cyclone.web import RequestHandler


class Finish(RequestHandler):
    def get(self) -> None:
        try:
            login = login_state.finish(self, "_oauth2_state")
        except Exception as error:
            self.set_status(getattr(error, "status_code", 500))
            self.write({"error": str(error)})
            return
        self.write({"state": login.state})


def cookie(issued_at: float, state: str = "s" * 43, name: str = "_oauth2_state") -> str:
    value = json.dumps({"state": state, "redirect_uri": None, "issued_at": issued_at})
    return signing.create_signed_value(COOKIE_SECRET, name, value).decode()


async def callback(cookie_value: str | None, state: str = "s" * 43, **settings) -> dict:
    with serve([("/cb", Finish)], **settings) as url:
        browser = ScriptedBrowser()
        if cookie_value is not None:
            browser.cookies["127.0.0.1"] = {"_oauth2_state": cookie_value}
        response = await browser.request(url + "/cb?" + urllib.parse.urlencode({"state": state}))
    return {"code": response.code, **response.json()}


@pytest_twisted.ensureDeferred
async def test_fresh_cookie_with_matching_state_is_accepted() -> None:
    assert await callback(cookie(time.time())) == {"code": 200, "state": "s" * 43}


@pytest_twisted.ensureDeferred
async def test_sign_in_older_than_the_limit_is_refused() -> None:
    result = await callback(cookie(time.time() - 601))
    assert result["code"] == 403 and "longer than 600 seconds" in result["error"]
    result = await callback(cookie(time.time() - 100), oauth_state_max_age=60)
    assert result["code"] == 403 and "longer than 60 seconds" in result["error"]


@pytest_twisted.ensureDeferred
async def test_forged_or_renamed_cookie_is_refused() -> None:
    signed = cookie(time.time())
    forged = signed[:-1] + ("0" if signed[-1] != "0" else "1")
    assert "no sign-in in progress" in (await callback(forged))["error"]
    other_name = cookie(time.time(), name="_oauth2_github")
    assert "no sign-in in progress" in (await callback(other_name))["error"]
    assert (await callback(None))["code"] == 403


@pytest_twisted.ensureDeferred
async def test_state_must_match_exactly() -> None:
    result = await callback(cookie(time.time()), state="s" * 42)
    assert result == {
        "code": 403,
        "error": "the 'state' parameter does not match this browser's sign-in",
    }
