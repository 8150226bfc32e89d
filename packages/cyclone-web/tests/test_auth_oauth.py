"""OAuthMixin (OAuth 1.0a) against oauthlib's provider endpoints on loopback."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest_twisted
from auth_apps import SignInPage, serve
from scripted_browser import ScriptedBrowser

from cyclone.auth import AuthError, OAuthMixin

CONSUMER_KEY = "cycloneoauth1consumer"
CONSUMER_SECRET = "oauth1 consumer secret & more"


class Login(SignInPage, OAuthMixin):
    def _oauth_consumer_token(self) -> dict[str, Any]:
        return {"key": CONSUMER_KEY, "secret": self.settings["consumer_secret"]}

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any]:
        return await self.oauth_request(
            self.settings["provider"] + "/1.1/account/verify_credentials.json", access_token
        )

    async def get(self) -> None:
        try:
            if self.get_argument("oauth_token", None) or self.get_argument("denied", None):
                self.succeed(await self.get_authenticated_user())
            else:
                await self.authorize_redirect(callback_uri="/auth/oauth1")
        except AuthError as error:
            self.fail(error)


def handler_for(provider_url: str) -> type:
    return type(
        "Login",
        (Login,),
        {
            "_OAUTH_REQUEST_TOKEN_URL": provider_url + "/oauth1/request_token",
            "_OAUTH_AUTHORIZE_URL": provider_url + "/oauth1/authorize",
            "_OAUTH_ACCESS_TOKEN_URL": provider_url + "/oauth1/access_token",
        },
    )


async def run(
    provider: Any, secret: str = CONSUMER_SECRET, decision: str = "allow", tamper: Any = None
) -> Any:
    results: list[dict[str, Any]] = []
    handlers = [("/auth/oauth1", handler_for(provider.url), {"results": results})]
    with serve(handlers, provider=provider.url, consumer_secret=secret) as url:
        provider.add_consumer(CONSUMER_KEY, CONSUMER_SECRET, [url + "/auth/oauth1"])
        browser = ScriptedBrowser()
        start, page = await browser.open(url + "/auth/oauth1")
        assert page is not None
        if page.code != 200:
            return page, results
        callback, _ = await browser.submit(
            start, page, stop_at=url, username="bob", decision=decision
        )
        if tamper is not None:
            callback = tamper(callback)
        _, result = await browser.open(callback)
    return result, results


@pytest_twisted.ensureDeferred
async def test_sign_in_is_verified_by_oauthlib_at_every_step(oauth_provider) -> None:
    page, results = await run(oauth_provider)
    assert page.code == 200, page.text
    assert page.json()["login"] is None and results[0]["screen_name"] == "bob"
    assert results[0]["access_token"]["key"] in oauth_provider.access_tokens
    assert oauth_provider.request_tokens == {}  # the request token was used up


@pytest_twisted.ensureDeferred
async def test_wrong_consumer_secret_fails_oauthlibs_signature_check(oauth_provider) -> None:
    page, results = await run(oauth_provider, secret="not the secret")
    assert page.code == 403
    assert "request-token request was refused by the provider: HTTP 401" in page.json()["error"]
    assert results == []


@pytest_twisted.ensureDeferred
async def test_returned_token_must_match_the_browsers_request_token(oauth_provider) -> None:
    def swap(callback: str) -> str:
        parts = urllib.parse.urlsplit(callback)
        query = dict(urllib.parse.parse_qsl(parts.query))
        query["oauth_token"] = "x" * 30
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

    page, _ = await run(oauth_provider, tamper=swap)
    assert page.code == 403
    assert "does not match this browser's sign-in" in page.json()["error"]


@pytest_twisted.ensureDeferred
async def test_denied_authorization_is_an_auth_error(oauth_provider) -> None:
    page, _ = await run(oauth_provider, decision="deny")
    assert page.code == 403
    assert page.json() == {
        "error": "the user did not authorize the sign-in",
        "provider_error": "access_denied",
    }


@pytest_twisted.ensureDeferred
async def test_callback_without_the_cookie_is_refused(oauth_provider) -> None:
    with serve(
        [("/auth/oauth1", handler_for(oauth_provider.url))], provider=oauth_provider.url
    ) as url:
        _, page = await ScriptedBrowser().open(
            url + "/auth/oauth1?oauth_token=abc&oauth_verifier=v"
        )
    assert page is not None and page.code == 403
    assert "no sign-in in progress" in page.json()["error"]
