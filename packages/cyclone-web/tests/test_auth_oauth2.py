"""OAuth2Mixin against a real OAuth 2.0 provider (Authlib, PKCE required) on loopback."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import pytest_twisted
from auth_apps import CLIENT_ID, CLIENT_SECRET, SignInPage, serve
from scripted_browser import ScriptedBrowser

from cyclone.auth import AuthError, OAuth2Mixin
from cyclone.httpclient import HTTPClientError


class ProviderLogin(SignInPage, OAuth2Mixin):
    """Tornado style: authorize_redirect is not awaited; the token, then an API call."""

    _OAUTH_SETTINGS_KEY = "test_oauth"

    async def get(self) -> None:
        if self.get_argument("code", None) or self.get_argument("error", None):
            try:
                token = await self.get_authenticated_user(redirect_uri="/auth/oauth2")
            except AuthError as error:
                self.fail(error)
                return
            user = await self.oauth2_request(
                self.settings["api_url"] + "/user", access_token=token["access_token"]
            )
            self.succeed({**user, "token": token})
        else:
            self.authorize_redirect(redirect_uri="/auth/oauth2", scope=["read:user"])


class NoPKCELogin(ProviderLogin):
    _OAUTH_PKCE = False


class BasicAuthLogin(ProviderLogin):
    _OAUTH_CLIENT_AUTHENTICATION = "client_secret_basic"


class Redirects(SignInPage, OAuth2Mixin):
    """authorize_redirect with the redirect_uri from the query, to check the validation."""

    _OAUTH_AUTHORIZE_URL = "https://provider.example/authorize"

    def get(self) -> None:
        try:
            self.authorize_redirect(redirect_uri=self.get_argument("to"), client_id="x")
        except ValueError as error:
            self.set_status(400)
            self.write({"error": str(error)})


def settings_for(provider: Any, secret: str = CLIENT_SECRET) -> dict[str, Any]:
    return {
        "test_oauth": {
            "key": CLIENT_ID,
            "secret": secret,
            "authorize_url": provider.url + "/authorize",
            "access_token_url": provider.url + "/token",
        },
        "api_url": provider.url + "/api",
    }


@pytest.fixture
def results() -> list[dict[str, Any]]:
    return []


def serve_login(provider: Any, handler: type, results: list, **settings: Any) -> Any:
    merged = {**settings_for(provider), **settings}
    return serve([("/auth/oauth2", handler, {"results": results}), ("/go", Redirects)], **merged)


@pytest.fixture
def app_url(oauth_provider: Any, results: list) -> Iterator[str]:
    with serve_login(oauth_provider, ProviderLogin, results) as url:
        oauth_provider.add_client(CLIENT_ID, CLIENT_SECRET, [url + "/auth/oauth2"])
        yield url


async def sign_in(url: str, provider: Any, decision: str = "allow") -> Any:
    browser = ScriptedBrowser()
    start, page = await browser.open(url + "/auth/oauth2")
    assert page is not None and page.code == 200, (start, page and page.text)
    callback, _ = await browser.submit(start, page, stop_at=url, username="bob", decision=decision)
    _, result = await browser.open(callback)
    assert result is not None
    return result


@pytest_twisted.ensureDeferred
async def test_code_flow_returns_the_token_and_oauth2_request_uses_it(
    app_url, oauth_provider, results
) -> None:
    page = await sign_in(app_url, oauth_provider)
    assert page.code == 200, page.text
    assert page.json()["login"] == "bob"
    token = results[0]["token"]
    assert token["access_token"] in oauth_provider.tokens
    assert token["scope"] == "read:user"
    sent = oauth_provider.authorization_requests[-1]
    assert sent["code_challenge_method"] == "S256" and sent["state"]
    assert "nonce" not in sent


@pytest_twisted.ensureDeferred
async def test_client_secret_basic_is_accepted_by_the_provider(oauth_provider, results) -> None:
    with serve_login(oauth_provider, BasicAuthLogin, results) as url:
        oauth_provider.add_client(CLIENT_ID, CLIENT_SECRET, [url + "/auth/oauth2"])
        page = await sign_in(url, oauth_provider)
    assert page.code == 200, page.text


@pytest_twisted.ensureDeferred
async def test_provider_requiring_pkce_refuses_a_client_without_it(
    oauth_provider, results
) -> None:
    with serve_login(oauth_provider, NoPKCELogin, results) as url:
        oauth_provider.add_client(CLIENT_ID, CLIENT_SECRET, [url + "/auth/oauth2"])
        browser = ScriptedBrowser()
        _, page = await browser.open(url + "/auth/oauth2")
    assert page is not None and page.code == 502
    assert page.json()["provider_error"] == "invalid_request"
    assert "code_challenge" in page.json()["error"]


@pytest_twisted.ensureDeferred
async def test_wrong_client_secret_is_a_502_naming_invalid_client(oauth_provider, results) -> None:
    with serve_login(
        oauth_provider, ProviderLogin, results, **settings_for(oauth_provider, "nope")
    ) as url:
        oauth_provider.add_client(CLIENT_ID, CLIENT_SECRET, [url + "/auth/oauth2"])
        page = await sign_in(url, oauth_provider)
    assert page.code == 502
    assert page.json()["provider_error"] == "invalid_client"
    assert "nope" not in page.text


@pytest_twisted.ensureDeferred
async def test_denial_seen_by_a_tornado_style_handler_is_an_error_not_a_loop(
    oauth_provider,
) -> None:
    class TornadoStyle(SignInPage, OAuth2Mixin):
        _OAUTH_SETTINGS_KEY = "test_oauth"

        async def get(self) -> None:
            if self.get_argument("code", None):  # Tornado's examples test only for code
                await self.get_authenticated_user(redirect_uri="/auth/oauth2")
            else:
                self.authorize_redirect(redirect_uri="/auth/oauth2")

    with serve([("/auth/oauth2", TornadoStyle)], **settings_for(oauth_provider)) as url:
        oauth_provider.add_client(CLIENT_ID, CLIENT_SECRET, [url + "/auth/oauth2"])
        page = await sign_in(url, oauth_provider, decision="deny")
    assert page.code == 403
    assert "Location" not in page.headers


@pytest_twisted.ensureDeferred
async def test_provider_unreachable_is_a_502(oauth_provider, results) -> None:
    settings = settings_for(oauth_provider)
    settings["test_oauth"]["access_token_url"] = "http://127.0.0.1:9/token?client_secret=leak"
    with serve_login(oauth_provider, ProviderLogin, results, **settings) as url:
        oauth_provider.add_client(CLIENT_ID, CLIENT_SECRET, [url + "/auth/oauth2"])
        page = await sign_in(url, oauth_provider)
    assert page.code == 502
    assert "cannot reach the provider at http://127.0.0.1:9/token" in page.json()["error"]
    assert "leak" not in page.text


@pytest.mark.parametrize(
    ("to", "accepted"),
    [
        ("/auth/oauth2", True),
        ("http://localhost:8000/cb", True),
        ("http://[::1]:8000/cb", True),
        ("https://app.example.org/cb", True),
        ("http://app.example.org/cb", False),
        ("https://app.example.org/cb#fragment", False),
        ("https://user:pw@app.example.org/cb", False),
        ("javascript:alert(1)", False),
        ("ftp://app.example.org/cb", False),
    ],
)
@pytest_twisted.ensureDeferred
async def test_redirect_uris_are_validated(oauth_provider, to, accepted) -> None:
    with serve_login(oauth_provider, ProviderLogin, []) as url:
        browser = ScriptedBrowser()
        response = await browser.request(url + "/go?" + urllib.parse.urlencode({"to": to}))
    if accepted:
        assert response.code == 302
        location = response.headers["Location"]
        sent = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        assert sent["redirect_uri"] == urllib.parse.urljoin(url + "/go", to)
    else:
        assert response.code == 400
        assert "redirect_uri" in response.json()["error"]


@pytest_twisted.ensureDeferred
async def test_http_redirect_uri_allowed_by_setting(oauth_provider) -> None:
    with serve_login(oauth_provider, ProviderLogin, [], oauth_allow_http_redirect_uri=True) as url:
        response = await ScriptedBrowser().request(url + "/go?to=http://app.example.org/cb")
    assert response.code == 302


@pytest_twisted.ensureDeferred
async def test_oauth2_request_raises_http_client_error_on_4xx(app_url, oauth_provider) -> None:
    class Caller(OAuth2Mixin):
        pass

    with pytest.raises(HTTPClientError) as raised:
        await Caller().oauth2_request(oauth_provider.url + "/api/user", access_token="wrong")
    assert raised.value.code == 401
