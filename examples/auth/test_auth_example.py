"""The sign-in example in headless Chromium against the local OpenID Connect provider."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import socket
from typing import Any

import pytest

HERE = pathlib.Path(__file__).parent

CLIENT_ID = "cyclone-example"
CLIENT_SECRET = "example-secret-0123456789"


@pytest.fixture
def signin(run_example: Any) -> tuple[str, str]:
    """app.py and provider.py, each knowing the other; returns (app URL, provider URL)."""
    if importlib.util.find_spec("authlib") is None:
        why = "the local provider needs Authlib: pip install -r examples/requirements.txt"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    with socket.socket() as probe:  # the app must know the provider's URL before it starts
        probe.bind(("127.0.0.1", 0))
        provider_port = probe.getsockname()[1]
    issuer = f"http://127.0.0.1:{provider_port}"
    app = run_example(
        HERE / "app.py",
        "--issuer",
        issuer,
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
    )
    provider = run_example(
        HERE / "provider.py",
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--redirect-uri",
        app + "/auth/oidc",
        port=provider_port,
    )
    return app, provider


def test_sign_in_consent_and_sign_out(context: Any, signin: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    app, provider = signin
    page = context.new_page()
    page.goto(app + "/")
    expect(page.locator("#who")).to_have_text("You are not signed in.")
    page.click("text=Sign in with OpenID Connect")
    expect(page).to_have_url(re.compile(re.escape(provider) + r"/authorize\?"))
    page.fill("input[name=username]", "alice")
    page.click("button[value=allow]")
    expect(page).to_have_url(app + "/")
    expect(page.locator("#who")).to_contain_text(
        "Signed in as Alice Liddell (alice@example.org) via OpenID Connect"
    )
    page.click("#logout")
    expect(page.locator("#who")).to_have_text("You are not signed in.")


def test_denied_consent_shows_the_providers_answer(context: Any, signin: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    app, _ = signin
    page = context.new_page()
    page.goto(app + "/")
    page.click("text=Sign in with OpenID Connect")
    page.click("button[value=deny]")
    expect(page.locator("#error")).to_contain_text("access_denied")
    expect(page.locator("#who")).to_have_text("You are not signed in.")


def test_a_forged_callback_is_refused(context: Any, signin: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    app, _ = signin
    page = context.new_page()
    response = page.goto(app + "/auth/oidc?code=stolen&state=forged")
    assert response is not None and response.status == 403
    expect(page.locator("#error")).to_contain_text("no sign-in in progress")
