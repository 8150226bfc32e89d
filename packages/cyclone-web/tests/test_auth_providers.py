"""Google, GitHub, Facebook and Twitter mixins pointed at a real provider on loopback.

The OAuth part (consent, codes, PKCE, tokens; OAuth 1.0a signatures) is done
by Authlib and oauthlib; the user API answers have the shape of each service's.
"""

from __future__ import annotations

from typing import Any

import pytest_twisted
from auth_apps import CLIENT_ID, CLIENT_SECRET, SignInPage, serve
from scripted_browser import ScriptedBrowser

from cyclone.auth import (
    FacebookGraphMixin,
    GitHubOAuth2Mixin,
    GoogleOAuth2Mixin,
    TwitterMixin,
)

CONSUMER_KEY = "cycloneconsumerkey0123"
CONSUMER_SECRET = "consumer-secret"


class GitHubLogin(SignInPage, GitHubOAuth2Mixin):
    async def get(self) -> None:
        if self.get_argument("code", None) or self.get_argument("error", None):
            self.succeed(await self.get_authenticated_user(redirect_uri="/auth/github"))
        else:
            self.authorize_redirect(redirect_uri="/auth/github", scope=["read:user", "user:email"])


class GoogleLogin(SignInPage, GoogleOAuth2Mixin):
    """Tornado's documented Google handler, unchanged but for the userinfo URL."""

    async def get(self) -> None:
        redirect_uri = self.settings["base_url"] + "/auth/google"
        if self.get_argument("code", False):
            access = await self.get_authenticated_user(
                redirect_uri=redirect_uri, code=self.get_argument("code")
            )
            user = await self.oauth2_request(
                self.settings["google_userinfo_url"], access_token=access["access_token"]
            )
            self.succeed(user)
        else:
            self.authorize_redirect(
                redirect_uri=redirect_uri,
                client_id=self.get_google_oauth_settings()["key"],
                scope=["openid", "profile", "email"],
                response_type="code",
                extra_params={"approval_prompt": "auto"},
            )


class FacebookLogin(SignInPage, FacebookGraphMixin):
    """Tornado's documented Facebook handler."""

    async def get(self) -> None:
        redirect_uri = self.settings["base_url"] + "/auth/facebook"
        if self.get_argument("code", False):
            user = await self.get_authenticated_user(
                redirect_uri=redirect_uri,
                client_id=self.settings["facebook_api_key"],
                client_secret=self.settings["facebook_secret"],
                code=self.get_argument("code"),
            )
            self.results.append(user)
            self.write({"name": user["name"], "id": user["id"]})
        else:
            self.authorize_redirect(
                redirect_uri=redirect_uri,
                client_id=self.settings["facebook_api_key"],
                extra_params={"scope": "profile"},
            )


class TwitterLogin(SignInPage, TwitterMixin):
    """Tornado's documented Twitter handler."""

    async def get(self) -> None:
        if self.get_argument("oauth_token", None):
            user = await self.get_authenticated_user()
            self.results.append(user)
            posted = await self.twitter_request(
                "/statuses/update",
                post_args={"status": "héllo & bye"},
                access_token=user["access_token"],
            )
            self.write({"username": user["username"], "posted": posted["text"]})
        else:
            await self.authorize_redirect(callback_uri="/auth/twitter")


class TwitterAuthenticate(SignInPage, TwitterMixin):
    async def get(self) -> None:
        await self.authenticate_redirect(callback_uri="/auth/twitter")


def provider_settings(provider: Any) -> dict[str, Any]:
    url = provider.url
    endpoints = {"authorize_url": url + "/authorize", "access_token_url": url + "/token"}
    return {
        "github_oauth": {
            "key": CLIENT_ID,
            "secret": CLIENT_SECRET,
            "api_url": url + "/api",
            **endpoints,
        },
        "google_oauth": {"key": CLIENT_ID, "secret": CLIENT_SECRET, **endpoints},
        "google_userinfo_url": url + "/userinfo",
        "facebook_oauth": {
            "authorize_url": url + "/authorize",
            "access_token_url": url + "/graph/oauth/access_token",
            "api_url": url + "/graph",
        },
        "facebook_api_key": CLIENT_ID,
        "facebook_secret": CLIENT_SECRET,
        "twitter_consumer_key": CONSUMER_KEY,
        "twitter_consumer_secret": CONSUMER_SECRET,
    }


def _local_twitter(handler: type, provider_url: str) -> type:
    attributes = {
        "_OAUTH_REQUEST_TOKEN_URL": provider_url + "/oauth1/request_token",
        "_OAUTH_AUTHORIZE_URL": provider_url + "/oauth1/authorize",
        "_OAUTH_AUTHENTICATE_URL": provider_url + "/oauth1/authorize",
        "_OAUTH_ACCESS_TOKEN_URL": provider_url + "/oauth1/access_token",
        "_TWITTER_BASE_URL": provider_url + "/1.1",
    }
    return type(handler.__name__, (handler,), attributes)


async def sign_in(provider: Any, path: str, handler: type, **extra: Any) -> tuple[Any, list]:
    results: list[dict[str, Any]] = []
    settings = provider_settings(provider)
    handlers: list[Any] = [(path, handler, {"results": results})]
    handlers += extra.pop("handlers", [])
    with serve(handlers, **settings) as url:
        settings["base_url"] = url
        provider.add_client(CLIENT_ID, CLIENT_SECRET, [url + path])
        provider.add_consumer(CONSUMER_KEY, CONSUMER_SECRET, [url + "/auth/twitter"])
        browser = ScriptedBrowser()
        start, page = await browser.open(url + extra.get("start", path))
        assert page is not None and page.code == 200, (start, page and page.text)
        callback, _ = await browser.submit(
            start, page, stop_at=url, username="alice", decision=extra.get("decision", "allow")
        )
        _, result = await browser.open(callback)
    assert result is not None
    return result, results


def _with_base_url(handler: type) -> type:
    """Handlers that read settings["base_url"] get it from the request."""

    class WithBase(handler):  # type: ignore[misc, valid-type]
        def prepare(self) -> None:
            self.settings["base_url"] = f"{self.request.protocol}://{self.request.host}"

    return WithBase


@pytest_twisted.ensureDeferred
async def test_github_user_with_the_primary_verified_email(oauth_provider) -> None:
    page, results = await sign_in(oauth_provider, "/auth/github", GitHubLogin)
    assert page.code == 200, page.text
    user = results[0]
    assert (user["login"], user["id"], user["email"]) == ("alice", 1001, "alice@example.org")
    assert user["access_token"] in oauth_provider.tokens
    assert oauth_provider.authorization_requests[-1]["code_challenge_method"] == "S256"


@pytest_twisted.ensureDeferred
async def test_google_handler_written_for_tornado_signs_in(oauth_provider) -> None:
    page, results = await sign_in(oauth_provider, "/auth/google", _with_base_url(GoogleLogin))
    assert page.code == 200, page.text
    assert results[0]["email"] == "alice@example.org"
    assert oauth_provider.authorization_requests[-1]["approval_prompt"] == "auto"


@pytest_twisted.ensureDeferred
async def test_facebook_handler_written_for_tornado_signs_in_with_appsecret_proof(
    oauth_provider,
) -> None:
    page, results = await sign_in(oauth_provider, "/auth/facebook", _with_base_url(FacebookLogin))
    assert page.code == 200, page.text
    assert page.json() == {"name": "Alice Liddell", "id": "1001"}
    user = results[0]
    assert user["first_name"] == "Alice"
    assert user["access_token"] in oauth_provider.tokens
    assert user["session_expires"] == "864000"  # the provider's expires_in, as a string (Tornado)


@pytest_twisted.ensureDeferred
async def test_twitter_oauth1a_sign_in_and_signed_post(oauth_provider) -> None:
    twitter = _local_twitter(TwitterLogin, oauth_provider.url)
    page, results = await sign_in(oauth_provider, "/auth/twitter", twitter)
    assert page.code == 200, page.text
    assert page.json() == {"username": "alice", "posted": "héllo & bye"}
    access_token = results[0]["access_token"]
    assert access_token["key"] in oauth_provider.access_tokens
    assert {"key", "secret"} <= set(access_token)


@pytest_twisted.ensureDeferred
async def test_twitter_authenticate_redirect_uses_the_authenticate_url(oauth_provider) -> None:
    page, results = await sign_in(
        oauth_provider,
        "/auth/twitter",
        _local_twitter(TwitterLogin, oauth_provider.url),
        handlers=[
            ("/auth/twitter/start", _local_twitter(TwitterAuthenticate, oauth_provider.url))
        ],
        start="/auth/twitter/start",
    )
    assert page.code == 200, page.text
