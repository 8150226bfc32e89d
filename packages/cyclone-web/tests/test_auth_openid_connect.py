"""OpenIdConnectMixin against a real OpenID Connect provider (Authlib) on loopback."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import pytest_twisted
from auth_apps import (
    CLIENT_ID,
    CLIENT_SECRET,
    COOKIE_SECRET,
    OIDCLogin,
    OIDCLoginCallbacks,
    OIDCLoginInlineCallbacks,
    serve,
)
from scripted_browser import ScriptedBrowser
from twisted.logger import formatEvent, globalLogPublisher

from cyclone import signing
from cyclone.auth.pkce import code_challenge

PATHS = ("/auth/oidc", "/auth/oidc-inline", "/auth/oidc-callbacks")


@pytest.fixture
def results() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def app_url(oauth_provider: Any, results: list[dict[str, Any]]) -> Iterator[str]:
    settings = {
        "openid_connect": {"issuer": oauth_provider.url, "key": CLIENT_ID, "secret": CLIENT_SECRET}
    }
    handlers = [
        (PATHS[0], OIDCLogin, {"results": results}),
        (PATHS[1], OIDCLoginInlineCallbacks, {"results": results}),
        (PATHS[2], OIDCLoginCallbacks, {"results": results}),
    ]
    with serve(handlers, **settings) as url:
        oauth_provider.add_client(CLIENT_ID, CLIENT_SECRET, [url + path for path in PATHS])
        yield url


async def consent(
    browser: ScriptedBrowser,
    app_url: str,
    provider: Any,
    path: str = PATHS[0],
    decision: str = "allow",
) -> str:
    """Start a sign-in, go through the provider's consent page; the callback URL it sends back."""
    url, page = await browser.open(app_url + path)
    assert url.startswith(provider.url + "/authorize?"), url
    assert page is not None and page.code == 200, page and page.text
    callback, _ = await browser.submit(
        url, page, stop_at=app_url, username="alice", decision=decision
    )
    assert callback.startswith(app_url + path + "?"), callback
    return callback


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


@pytest_twisted.ensureDeferred
async def test_full_sign_in_returns_the_verified_user(app_url, oauth_provider, results) -> None:
    browser = ScriptedBrowser()
    callback = await consent(browser, app_url, oauth_provider)
    _, page = await browser.open(callback)
    assert page is not None and page.code == 200, page and page.text
    assert page.json() == {
        "sub": "248289761001",
        "email": "alice@example.org",
        "name": "Alice Liddell",
        "login": None,
        "username": None,
    }
    user = results[0]
    assert user["iss"] == oauth_provider.issuer and user["aud"] == [CLIENT_ID]
    assert user["access_token"] in oauth_provider.tokens
    assert user["id_token"].count(".") == 2
    assert user["token"]["token_type"].lower() == "bearer"
    # The state cookie is single-use: the same callback again is refused.
    _, again = await browser.open(callback)
    assert again is not None and again.code == 403
    assert "no sign-in in progress" in again.json()["error"]


@pytest_twisted.ensureDeferred
async def test_authorization_request_carries_state_nonce_and_s256_challenge(
    app_url, oauth_provider
) -> None:
    browser = ScriptedBrowser()
    url, _ = await browser.open(app_url + PATHS[0], stop_at=oauth_provider.url)
    sent = query(url)
    assert sent["code_challenge_method"] == "S256"
    assert len(sent["code_challenge"]) == 43
    assert len(sent["state"]) >= 43 and len(sent["nonce"]) >= 43
    assert sent["redirect_uri"] == app_url + PATHS[0]
    assert sent["scope"] == "openid profile email"
    set_cookie = next(h for h in browser.set_cookie_headers if h.startswith("_oidc_state="))
    assert (
        "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Max-Age=600" in set_cookie
    )
    remembered = json.loads(
        signing.decode_signed_value(
            COOKIE_SECRET, "_oidc_state", browser.cookies["127.0.0.1"]["_oidc_state"]
        )
    )
    assert remembered["state"] == sent["state"] and remembered["nonce"] == sent["nonce"]
    assert code_challenge(remembered["code_verifier"]) == sent["code_challenge"]


@pytest.mark.parametrize("path", PATHS[1:])
@pytest_twisted.ensureDeferred
async def test_inline_callbacks_and_plain_callbacks_handlers_sign_in(
    app_url, oauth_provider, results, path
) -> None:
    browser = ScriptedBrowser()
    callback = await consent(browser, app_url, oauth_provider, path)
    _, page = await browser.open(callback)
    assert page is not None and page.code == 200, page and page.text
    assert page.json()["sub"] == "248289761001"


@pytest_twisted.ensureDeferred
async def test_userinfo_is_merged_when_asked(oauth_provider, results) -> None:
    settings = {
        "openid_connect": {
            "issuer": oauth_provider.url,
            "key": CLIENT_ID,
            "secret": CLIENT_SECRET,
        },
        "fetch_userinfo": True,
    }
    with serve([(PATHS[0], OIDCLogin, {"results": results})], **settings) as url:
        oauth_provider.add_client(CLIENT_ID, CLIENT_SECRET, [url + PATHS[0]])
        browser = ScriptedBrowser()
        _, page = await browser.open(await consent(browser, url, oauth_provider))
    assert page is not None and page.code == 200, page and page.text
    assert results[0]["preferred_username"] == "alice"
    assert results[0]["email_verified"] is True


@pytest_twisted.ensureDeferred
async def test_stolen_code_injected_into_another_session_is_refused_by_pkce(
    app_url, oauth_provider
) -> None:
    victim, attacker = ScriptedBrowser(), ScriptedBrowser()
    stolen_code = query(await consent(victim, app_url, oauth_provider))["code"]
    # The attacker starts a sign-in of their own, so their state cookie and state match...
    url, _ = await attacker.open(app_url + PATHS[0], stop_at=oauth_provider.url)
    attacker_state = query(url)["state"]
    injected = (
        app_url
        + PATHS[0]
        + "?"
        + urllib.parse.urlencode({"code": stolen_code, "state": attacker_state})
    )
    _, page = await attacker.open(injected)
    # ...but the provider checks the attacker's PKCE verifier against the victim's challenge.
    assert page is not None and page.code == 403
    assert page.json()["provider_error"] == "invalid_grant"
    assert "(Code challenge failed.)" in page.json()["error"]


@pytest_twisted.ensureDeferred
async def test_state_mismatch_is_refused_before_redeeming_the_code(
    app_url, oauth_provider
) -> None:
    browser = ScriptedBrowser()
    callback = await consent(browser, app_url, oauth_provider)
    params = query(callback)
    params["state"] = "forged-" + params["state"][7:]
    _, page = await browser.open(app_url + PATHS[0] + "?" + urllib.parse.urlencode(params))
    assert page is not None and page.code == 403
    assert "'state' parameter does not match" in page.json()["error"]
    # The code was not spent: nobody redeemed it.
    assert params["code"] in oauth_provider.codes


@pytest_twisted.ensureDeferred
async def test_callback_in_a_browser_that_did_not_start_the_sign_in_is_refused(
    app_url, oauth_provider
) -> None:
    callback = await consent(ScriptedBrowser(), app_url, oauth_provider)
    _, page = await ScriptedBrowser().open(callback)  # login CSRF: a link sent to a victim
    assert page is not None and page.code == 403
    assert "no sign-in in progress" in page.json()["error"]


@pytest_twisted.ensureDeferred
async def test_denied_consent_is_an_auth_error_with_the_providers_message(
    app_url, oauth_provider
) -> None:
    browser = ScriptedBrowser()
    callback = await consent(browser, app_url, oauth_provider, decision="deny")
    assert query(callback)["error"] == "access_denied"
    _, page = await browser.open(callback)
    assert page is not None and page.code == 403
    assert page.json()["provider_error"] == "access_denied"
    assert "the provider refused the sign-in: access_denied" in page.json()["error"]


@pytest_twisted.ensureDeferred
async def test_uncaught_auth_error_answers_403_without_a_traceback(
    app_url, oauth_provider
) -> None:
    browser = ScriptedBrowser()
    callback = await consent(browser, app_url, oauth_provider, PATHS[1], decision="deny")
    _, page = await browser.open(callback)
    assert page is not None and page.code == 403
    assert "Traceback" not in page.text


@pytest.mark.parametrize(
    ("misbehaviour", "message"),
    [
        ({"id_token_audience": ["someone-else"]}, "does not include 'cyclone-test-client'"),
        ({"id_token_audience": [CLIENT_ID, "someone-else"]}, "untrusted audiences"),
        ({"id_token_lifetime": -600}, "ID token expired"),
        ({"id_token_issued_offset": 3600}, "seconds in the future"),
        ({"id_token_nonce": "a-nonce-from-another-sign-in"}, "nonce does not match"),
        ({"sign_with_unpublished_key": True}, "signature does not verify"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_bad_id_tokens_are_refused(
    app_url, oauth_provider, results, misbehaviour, message
) -> None:
    for name, value in misbehaviour.items():
        setattr(oauth_provider, name, value)
    browser = ScriptedBrowser()
    _, page = await browser.open(await consent(browser, app_url, oauth_provider))
    assert page is not None and page.code == 403, page and page.text
    assert message in page.json()["error"]
    assert results == []


@pytest_twisted.ensureDeferred
async def test_discovery_document_for_another_issuer_is_refused(oauth_provider) -> None:
    settings = {
        "openid_connect": {
            "issuer": oauth_provider.url.replace("127.0.0.1", "localhost"),
            "key": CLIENT_ID,
            "secret": CLIENT_SECRET,
        }
    }
    with serve([(PATHS[0], OIDCLogin)], **settings) as url:
        _, page = await ScriptedBrowser().open(url + PATHS[0])
    assert page is not None and page.code == 502


@pytest_twisted.ensureDeferred
async def test_no_token_or_secret_reaches_the_log(oauth_provider, results) -> None:
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        settings = {
            "openid_connect": {
                "issuer": oauth_provider.url,
                "key": CLIENT_ID,
                "secret": CLIENT_SECRET,
            },
            "access_log": True,
            "debug": True,
        }
        handlers = [
            (PATHS[0], OIDCLogin, {"results": results}),
            (PATHS[1], OIDCLoginInlineCallbacks),
        ]
        with serve(handlers, **settings) as url:
            oauth_provider.add_client(CLIENT_ID, CLIENT_SECRET, [url + path for path in PATHS])
            browser = ScriptedBrowser()
            callback = await consent(browser, url, oauth_provider)
            cookie = browser.cookies["127.0.0.1"]["_oidc_state"]
            remembered = json.loads(
                signing.decode_signed_value(COOKIE_SECRET, "_oidc_state", cookie)
            )
            _, page = await browser.open(callback)
            assert page is not None and page.code == 200
            # Failures log too: a bad ID token and a denial, left uncaught.
            oauth_provider.id_token_audience = ["someone-else"]
            other = ScriptedBrowser()
            _, failed = await other.open(await consent(other, url, oauth_provider, PATHS[1]))
            assert failed is not None and failed.code == 403
    finally:
        globalLogPublisher.removeObserver(events.append)
    logged = "\n".join(formatEvent(event) + repr(event) for event in events)
    assert "403" in logged  # the failure was logged...
    user = results[0]
    secrets = [user["access_token"], user["id_token"], CLIENT_SECRET, *oauth_provider.tokens]
    secrets += [remembered["code_verifier"], remembered["nonce"], cookie]
    secrets += [sent["code_challenge"] for sent in oauth_provider.authorization_requests]
    for secret in secrets:
        assert secret not in logged  # ...but no token, secret or PKCE value
