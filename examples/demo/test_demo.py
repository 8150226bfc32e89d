"""The demo site in headless Chromium, started as a user starts it: ``python app.py --port 0``.

Every page is visited at desktop and phone sizes; a console error or an uncaught
page error fails the test, and a screenshot of each page is saved in
examples/demo/screenshots/ (ignored by git) to look at. Then each part is used
as a visitor would: the form, signing in (with a password, and through a real
OpenID Connect provider on loopback, see conftest.py), an upload, the languages,
the chat between two browsers, the live feed, the RPC client, the static files,
Redis pub/sub between two demo processes, and Ctrl-C with live connections open.

Redis comes from a private ``redis-server`` on a free port (skipped without one,
and failing under CI=true, like the browser itself).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import pathlib
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

HERE = pathlib.Path(__file__).parent
APP = HERE / "app.py"
SCREENSHOTS = HERE / "screenshots"
REDIS_SERVER = os.environ.get("REDIS_SERVER", shutil.which("redis-server") or "")

#: Every page of the site: (name for the screenshot, path, text of its <h1>).
PAGES = [
    ("home", "/", "The Tornado web API, on Twisted."),
    ("templates", "/templates", "Templates and UI modules"),
    ("form", "/form", "Forms"),
    ("signin", "/signin", "Sign in"),
    ("upload", "/upload", "File upload"),
    ("locale", "/locale", "Languages"),
    ("chat", "/chat", "Chat"),
    ("feed", "/feed", "Live feed"),
    ("rpc", "/rpc", "XML-RPC and JSON-RPC"),
    ("static", "/static-files", "Static files"),
    ("redis", "/redis", "Redis pub/sub"),
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
#: Each page is shown at these sizes and colour schemes: (name, viewport, scheme).
VARIANTS = [("desktop", DESKTOP, "light"), ("phone", PHONE, "light"), ("dark", DESKTOP, "dark")]


# -- helpers ------------------------------------------------------------------------------


class Console:
    """Collects a page's console errors and uncaught exceptions."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> Any:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: uncaught {error}"))
        return page

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"{message.location.get('url')}: {message.text}")


@pytest.fixture
def console() -> Iterator[Console]:
    """Fails the test if any watched page logged an error."""
    collected = Console()
    yield collected
    assert collected.errors == [], "console errors:\n" + "\n".join(collected.errors)


def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky top bar lands mid-page
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A private redis-server on a free loopback port, in a temporary directory."""

    def __init__(self, directory: pathlib.Path) -> None:
        if not REDIS_SERVER or not os.access(REDIS_SERVER, os.X_OK):
            message = "redis-server not found (apt install redis-server, or set REDIS_SERVER)"
            if os.environ.get("CI") == "true":
                pytest.fail(message + ": the demo's Redis page must be tested under CI=true")
            pytest.skip(message)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not self._answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def redis_url(tmp_path: pathlib.Path) -> Iterator[str]:
    server = RedisServer(tmp_path)
    yield server.url
    server.stop()


@pytest.fixture
def demo(run_example: Any, redis_url: str) -> str:
    """The demo's base URL, with a private Redis."""
    return run_example(APP, "--redis", redis_url)


def xsrf_headers(page: Any) -> dict[str, str]:
    token = page.locator('meta[name="xsrf-token"]').get_attribute("content")
    return {"X-XSRFToken": token}


# -- every page ---------------------------------------------------------------------------


def test_every_page_has_the_sites_design_and_no_console_error(
    browser: Any, demo: str, console: Console
) -> None:
    from playwright.sync_api import expect

    for variant, viewport, scheme in VARIANTS:
        context = browser.new_context(viewport=viewport, color_scheme=scheme)
        try:
            page = console.watch(context.new_page())
            for name, path, title in PAGES:
                response = page.goto(demo + path)
                assert response is not None and response.status == 200, (path, response)
                expect(page.locator("h1")).to_have_text(title)
                assert page.locator('meta[name="viewport"]').count() == 1
                assert page.locator('link[rel="icon"]').count() == 1
                expect(page.locator("nav.nav a")).to_have_count(10)
                if path != "/":
                    expect(page.locator("nav.nav a[aria-current=page]")).to_have_count(1)
                # The stylesheet applied: the top bar is sticky, the body is not Times.
                assert page.locator(".topbar").evaluate("e => getComputedStyle(e).position") == (
                    "sticky"
                )
                if path in ("/chat", "/feed"):
                    expect(page.locator(".pill")).to_have_attribute("data-state", "open")
                if path == "/redis":
                    expect(page.locator("#redis-status")).to_have_text("subscribed")
                if path == "/templates":
                    page.click(".source-file summary >> nth=0")  # show the highlighted code
                # Nothing wider than the screen: the layout is responsive.
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], (path, variant, width)
                shoot(page, f"{name}-{variant}")
        finally:
            context.close()


def test_unknown_paths_get_the_styled_404_page(browser: Any, demo: str) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP)
    console = Console()
    page = console.watch(context.new_page())
    try:
        response = page.goto(demo + "/no/such/page?x=<b>")
        assert response is not None and response.status == 404
        expect(page.locator("#error-title")).to_have_text("This page does not exist.")
        expect(page.locator(".error-code")).to_have_text("404")
        expect(page.locator(".lede")).to_have_text("No route matches /no/such/page.")
        assert page.locator("nav.nav a").count() == 10
        shoot(page, "404-desktop")
        # The only console line is Chromium reporting the page's own 404 status.
        assert [error.split(": ", 1)[1] for error in console.errors] == [
            "Failed to load resource: the server responded with a status of 404 (Not Found)"
        ]
        # The favicon a browser asks for by itself is served.
        assert page.request.get(demo + "/favicon.ico").status == 200
    finally:
        context.close()


# -- each part ----------------------------------------------------------------------------


def test_the_form_says_what_is_wrong_then_greets(
    context: Any, demo: str, console: Console
) -> None:
    from playwright.sync_api import expect

    page = console.watch(context.new_page())
    page.goto(demo + "/form")
    page.click("#greet-form button[type=submit]")  # everything empty
    expect(page.locator("#name-error")).to_have_text("Please tell us your name.")
    expect(page.locator("h1")).to_have_text("Forms")
    assert "Hello, !" not in page.content()

    page.fill("#name", "<b>Ana</b>")
    page.fill("#email", "not an address")
    page.fill("#age", "200")
    page.click("#greet-form button[type=submit]")
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#age-error")).to_have_text("A whole number between 1 and 130.")
    expect(page.locator("#name")).to_have_value("<b>Ana</b>")  # what was typed is kept
    shoot(page, "form-errors")

    page.fill("#email", "ana@example.org")
    page.fill("#age", "31")
    page.select_option("#favourite", "websocket")
    page.click("#greet-form button[type=submit]")
    expect(page.locator("#greeting")).to_have_text("Hello, <b>Ana</b>!")
    shoot(page, "form-greeting")

    # Without the XSRF token the same post is refused.
    refused = page.request.post(demo + "/form", form={"name": "Eve", "favourite": "rpc"})
    assert refused.status == 403


def test_signing_in_sets_a_signed_cookie_that_cannot_be_edited(
    context: Any, demo: str, console: Console
) -> None:
    from playwright.sync_api import expect

    page = console.watch(context.new_page())
    page.goto(demo + "/account")
    expect(page).to_have_url(demo + "/signin?next=%2Faccount")
    page.fill("#signin-name", "ana")
    page.fill("#signin-password", "wrong")
    page.click("#signin-form button")
    expect(page.locator("#signin-error")).to_have_text("Unknown user name or wrong password.")

    page.fill("#signin-password", "cyclone")
    page.click("#signin-form button")
    expect(page).to_have_url(demo + "/account")
    expect(page.locator("#account-title")).to_have_text("Signed in as ana")
    expect(page.locator(".user-chip")).to_have_text("ana")
    expect(page.locator("#account-via")).to_have_text("You signed in with a password.")
    # The table takes the signed value apart: the cookie's name, then "ana" in base64.
    parts = page.locator(".cookie-parts tr")
    expect(parts.locator("th")).to_have_text(
        ["format", "key version", "timestamp", "name", "value (base64)", "signature"]
    )
    expect(parts.nth(3).locator("td")).to_have_text("user")
    expect(parts.nth(4).locator("td")).to_have_text("YW5h")
    (cookie,) = [c for c in context.cookies() if c["name"] == "user"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    shoot(page, "account")

    # One character changed in the value: the signature no longer matches.
    forged = dict(cookie, value=cookie["value"].replace("YW5h", "Ym9i"))
    context.add_cookies([forged])
    page.goto(demo + "/account")
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    context.add_cookies([cookie])

    page.goto(demo + "/account")
    page.click("#signout-form button")
    expect(page).to_have_url(demo + "/signin")
    assert [c for c in context.cookies() if c["name"] == "user"] == []


def test_sign_in_never_redirects_to_another_site(context: Any, demo: str) -> None:
    page = context.new_page()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        page.goto(demo + "/signin?next=" + target.replace("/", "%2F").replace("\\", "%5C"))
        page.fill("#signin-name", "bob")
        page.fill("#signin-password", "twisted")
        page.click("#signin-form button")
        assert page.url == demo + "/account", target
        page.click("#signout-form button")


def test_without_a_provider_the_sign_in_page_says_so_and_offers_no_button(
    context: Any, demo: str, console: Console
) -> None:
    from playwright.sync_api import expect

    page = console.watch(context.new_page())
    page.goto(demo + "/signin")
    expect(page.locator("#external-none")).to_contain_text("No identity provider is configured")
    expect(page.locator("#external-panel a")).to_have_count(0)
    assert page.request.get(demo + "/auth/oidc").status == 404
    assert page.request.get(demo + "/auth/github").status == 404


def consent(page: Any, provider: str, decision: str = "allow", user: str = "alice") -> None:
    """On the provider's page: sign in as ``user`` and allow or deny."""
    from playwright.sync_api import expect

    expect(page).to_have_url(re.compile(re.escape(provider) + r"/authorize\?"))
    page.fill("input[name=username]", user)
    page.click(f"button[value={decision}]")


def test_signing_in_with_openid_connect_comes_back_to_next(
    context: Any, signin_demo: Any, console: Console
) -> None:
    from playwright.sync_api import expect

    demo, provider = signin_demo.url, signin_demo.provider
    page = console.watch(context.new_page())
    page.goto(demo + "/signin?next=%2Flocale%3Fcount%3D2")
    expect(page.locator("#external-sign-in a")).to_have_text(
        ["Sign in with OpenID Connect", "Sign in with GitHub"]
    )
    shoot(page, "signin-providers")
    with page.expect_request(re.compile(re.escape(provider) + r"/authorize\?")) as sent:
        page.click("#signin-oidc")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(sent.value.url).query)
    assert query["redirect_uri"] == [demo + "/auth/oidc"]
    assert query["code_challenge_method"] == ["S256"]
    assert {"state", "nonce", "code_challenge"} <= set(query)
    # While the visitor is at the provider, next waits in a signed HttpOnly cookie.
    (waiting,) = [c for c in context.cookies() if c["name"] == "signin_next"]
    assert waiting["httpOnly"] and waiting["sameSite"] == "Lax"
    consent(page, provider)

    expect(page).to_have_url(demo + "/locale?count=2")
    expect(page.locator(".user-chip")).to_have_text("Alice Liddell")
    names = {c["name"] for c in context.cookies()}
    assert "user" in names and "signin_next" not in names and "_oidc_state" not in names
    page.goto(demo + "/account")
    expect(page.locator("#account-title")).to_have_text("Signed in as Alice Liddell")
    expect(page.locator("#account-via")).to_contain_text("You signed in with OpenID Connect")
    shoot(page, "account-oidc")
    page.click("#signout-form button")
    expect(page).to_have_url(demo + "/signin")

    # A next leading to another site, given to /auth/oidc directly, still lands here.
    for target in ("//evil.example/", "https://evil.example/"):
        page.goto(demo + "/auth/oidc?" + urllib.parse.urlencode({"next": target}))
        consent(page, provider, user="bob")
        expect(page).to_have_url(demo + "/account")
        expect(page.locator("#account-title")).to_have_text("Signed in as Bob")
        page.click("#signout-form button")


def test_a_denied_sign_in_says_why_and_keeps_next_for_the_password_form(
    context: Any, signin_demo: Any
) -> None:
    from playwright.sync_api import expect

    demo, provider = signin_demo.url, signin_demo.provider
    console = Console()
    page = console.watch(context.new_page())
    page.goto(demo + "/signin?next=%2Fform")
    page.click("#signin-oidc")
    consent(page, provider, decision="deny")
    expect(page.locator("#signin-error")).to_contain_text(
        "Sign-in with OpenID Connect failed: the provider refused the sign-in: access_denied"
    )
    expect(page.locator("#signin-next")).to_have_value("/form")
    shoot(page, "signin-denied")
    # The only console line is Chromium reporting the page's own 403 status.
    assert [error.split(": ", 1)[1] for error in console.errors] == [
        "Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]
    page.fill("#signin-name", "ana")
    page.fill("#signin-password", "cyclone")
    page.click("#signin-form button")
    expect(page).to_have_url(demo + "/form")


def test_signing_in_with_github_uses_its_oauth_flow_and_api(
    context: Any, signin_demo: Any, console: Console
) -> None:
    from playwright.sync_api import expect

    demo, provider = signin_demo.url, signin_demo.provider
    page = console.watch(context.new_page())
    page.goto(demo + "/account")
    expect(page).to_have_url(demo + "/signin?next=%2Faccount")
    page.click("#signin-github")
    consent(page, provider)
    expect(page).to_have_url(demo + "/account")
    expect(page.locator("#account-title")).to_have_text("Signed in as Alice Liddell")
    expect(page.locator("#account-via")).to_contain_text("You signed in with GitHub")


def test_http_basic_and_digest_accept_the_demo_accounts(
    browser: Any, demo: str, console: Console
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(http_credentials={"username": "ana", "password": "cyclone"})
    try:
        page = console.watch(context.new_page())
        for path, scheme in (("/auth/basic", "Basic"), ("/auth/digest", "Digest")):
            page.goto(demo + path)
            expect(page.locator("#httpauth-title")).to_have_text("Hello, ana!")
            expect(page.locator(".lede")).to_contain_text(f"HTTP {scheme}")
        shoot(page, "httpauth-digest")
    finally:
        context.close()
    anonymous = browser.new_context()
    try:
        response = anonymous.request.get(demo + "/auth/digest")
        assert response.status == 401
        assert "Digest" in response.headers["www-authenticate"]
    finally:
        anonymous.close()


def test_an_upload_is_streamed_hashed_and_limited(
    context: Any, demo: str, console: Console
) -> None:
    from playwright.sync_api import expect

    page = console.watch(context.new_page())
    page.goto(demo + "/upload")
    expect(page.locator("#upload-result")).to_be_hidden()
    payload = os.urandom(3 * 1024 * 1024 + 17)
    page.set_input_files(
        "#upload-file", {"name": "random.bin", "mimeType": "application/x-demo", "buffer": payload}
    )
    page.click("#upload-button")
    expect(page.locator("#result-sha256")).to_have_text(hashlib.sha256(payload).hexdigest())
    expect(page.locator("#result-size")).to_have_text(str(len(payload)))
    expect(page.locator("#result-type")).to_have_text("application/x-demo")
    expect(page.locator("#upload-percent")).to_have_text("100%")
    shoot(page, "upload-done")

    too_big = b"\0" * (8 * 1024 * 1024 + 1)
    page.set_input_files(
        "#upload-file", {"name": "big.bin", "mimeType": "application/x-demo", "buffer": too_big}
    )
    page.click("#upload-button")
    expect(page.locator("#upload-status")).to_contain_text("over the 8.0 MiB limit")

    # The server's own limit: 413 as soon as the headers announce too much.
    token = xsrf_headers(page)["X-XSRFToken"]
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in context.cookies())
    host, port = demo.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest("PUT", "/upload/file?name=big.bin")
        connection.putheader("Content-Length", str(len(too_big)))
        connection.putheader("X-XSRFToken", token)
        connection.putheader("Cookie", cookies)
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()


def test_the_language_switcher_translates_the_site_with_plurals(
    context: Any, demo: str, console: Console
) -> None:
    from playwright.sync_api import expect

    page = console.watch(context.new_page())
    page.goto(demo + "/locale")
    plurals = page.locator("#plurals td:nth-child(2)")
    expect(plurals).to_have_text(
        ["0 new messages", "1 new message", "2 new messages", "5 new messages"]
    )
    page.click("#language-form button[value=pt_BR]")
    expect(page.locator("h1")).to_have_text("Idiomas")
    expect(page.locator("html")).to_have_attribute("lang", "pt-BR")
    expect(page.locator("nav.nav a[href='/form']")).to_have_text("Formulários")
    # Portuguese counts zero as singular.
    expect(plurals).to_have_text(
        ["0 nova mensagem", "1 nova mensagem", "2 novas mensagens", "5 novas mensagens"]
    )
    expect(page.locator("#current-language")).to_have_text("Você está lendo Português (Brasil).")
    expect(page.locator("main")).to_contain_text("Na cesta: maçãs, peras e figos.")
    shoot(page, "locale-pt_BR")

    # The header's picker works from any page and comes back to it.
    page.goto(demo + "/chat")
    page.click(".languages button[value=es_ES]")
    expect(page).to_have_url(demo + "/chat")
    expect(page.locator("h1")).to_have_text("Chat")
    expect(page.locator("nav.nav a[href='/feed']")).to_have_text("En directo")
    page.goto(demo + "/locale?count=0")
    expect(page.locator("#count-result")).to_have_text("0 mensajes nuevos")
    page.goto(demo + "/")
    expect(page.locator("h1")).to_have_text("La API web de Tornado, sobre Twisted.")
    shoot(page, "home-es_ES")


def test_two_browsers_chat_over_websocket(browser: Any, demo: str, console: Console) -> None:
    from playwright.sync_api import expect

    alice_context, bob_context = browser.new_context(), browser.new_context()
    try:
        alice = console.watch(alice_context.new_page())
        alice.goto(demo + "/chat")
        expect(alice.locator("#chat-status")).to_have_text("connected")
        bob = console.watch(bob_context.new_page())
        bob.goto(demo + "/chat")
        for page in (alice, bob):
            expect(page.locator("#chat-online")).to_have_text("2")

        alice.fill("#chat-name", "alice")
        alice.fill("#chat-text", "hi bob")
        alice.press("#chat-text", "Enter")
        bob.fill("#chat-name", "bob")
        bob.fill("#chat-text", "<img src=x onerror=alert(1)> hi")
        bob.press("#chat-text", "Enter")
        for page in (alice, bob):
            expect(page.locator("#messages .text")).to_have_text(
                ["hi bob", "<img src=x onerror=alert(1)> hi"]
            )
            assert page.locator("#messages img").count() == 0
        shoot(bob, "chat-two-people")

        bob.close()
        expect(alice.locator("#chat-online")).to_have_text("1")
        # A newcomer gets the history.
        carol = console.watch(alice_context.new_page())
        carol.goto(demo + "/chat")
        expect(carol.locator("#messages .name")).to_have_text(["alice", "bob"])
    finally:
        alice_context.close()
        bob_context.close()


def test_the_live_feed_ticks_and_delivers_notes_to_every_page(
    browser: Any, demo: str, console: Console
) -> None:
    from playwright.sync_api import expect

    first_context, second_context = browser.new_context(), browser.new_context()
    try:
        first = console.watch(first_context.new_page())
        with first.expect_response(re.compile(r"/feed/events$")) as events:
            first.goto(demo + "/feed")
        headers = events.value.all_headers()
        assert headers["content-type"] == "text/event-stream; charset=utf-8"
        assert "content-encoding" not in headers  # pages are gzipped, the stream never
        second = console.watch(second_context.new_page())
        second.goto(demo + "/feed")
        for page in (first, second):
            expect(page.locator("#feed-clock")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
            expect(page.locator("#feed-listeners")).to_have_text("2")

        first.fill("#note-text", "deploy at noon")
        first.press("#note-text", "Enter")
        for page in (first, second):
            expect(page.locator("#notes .text")).to_have_text(["deploy at noon"])
        shoot(second, "feed-live")

        # A page opened later gets the notes it missed.
        third = console.watch(second_context.new_page())
        third.goto(demo + "/feed")
        expect(third.locator("#notes .text")).to_have_text(["deploy at noon"])
    finally:
        first_context.close()
        second_context.close()


def test_the_rpc_client_calls_both_endpoints(context: Any, demo: str, console: Console) -> None:
    from playwright.sync_api import expect

    page = console.watch(context.new_page())
    page.goto(demo + "/rpc")
    cases = [
        ("json", "add", "[2, 3]", "5"),
        ("xml", "add", "[2, 3]", "5"),
        ("json", "divide", "[1, 0]", "error -32000: division by zero"),
        ("xml", "divide", "[1, 0]", "fault 20: division by zero"),
        ("xml", "echo", '[{"a": [1, 2.5, true, "x"]}]', '{"a":[1,2.5,true,"x"]}'),
        ("json", "slow_upper", '["twisted"]', '"TWISTED"'),
    ]
    for protocol, method, params, expected in cases:
        page.select_option("#rpc-protocol", protocol)
        page.select_option("#rpc-method", method)
        page.fill("#rpc-params", params)
        page.click("#rpc-form button")
        expect(page.locator("#rpc-result")).to_have_text(expected)
    expect(page.locator("#rpc-request")).to_contain_text('"method": "slow_upper"')
    page.select_option("#rpc-protocol", "xml")
    page.select_option("#rpc-method", "system.listMethods")
    page.fill("#rpc-params", "[]")
    page.click("#rpc-form button")
    expect(page.locator("#rpc-result")).to_contain_text('"add"')
    expect(page.locator("#rpc-response")).to_contain_text("<methodResponse>")
    shoot(page, "rpc-xml")


def test_static_files_have_versioned_urls_cached_for_a_year(
    context: Any, demo: str, console: Console
) -> None:
    from playwright.sync_api import expect

    page = console.watch(context.new_page())
    page.goto(demo + "/static-files")
    stylesheet = page.locator('link[rel="stylesheet"]').first.get_attribute("href")
    assert re.fullmatch(r"/static/demo\.css\?v=[0-9a-f]+", stylesheet)
    row = page.locator("#static-files tbody tr").first
    row.locator("[data-mode=plain]").click()
    headers = page.locator("#static-headers")
    expect(headers).to_contain_text("200 OK")
    expect(headers).to_contain_text("max-age=31536000")
    row.locator("[data-mode=etag]").click()
    expect(headers).to_contain_text("304 Not Modified")
    row.locator("[data-mode=range]").click()
    expect(headers).to_contain_text("206 Partial Content")
    expect(headers).to_contain_text(re.compile(r"bytes 0-99/\d+"))
    shoot(page, "static-range")


def test_redis_messages_cross_between_two_demo_processes(
    browser: Any, run_example: Any, redis_url: str, console: Console
) -> None:
    from playwright.sync_api import expect

    first = run_example(APP, "--redis", redis_url)
    second = run_example(APP, "--redis", redis_url)
    context = browser.new_context()
    try:
        on_first = console.watch(context.new_page())
        on_first.goto(first + "/redis")
        on_second = console.watch(context.new_page())
        on_second.goto(second + "/redis")
        for page in (on_first, on_second):
            expect(page.locator("#redis-status")).to_have_text("subscribed")
        on_second.fill("#redis-text", "through Redis")
        on_second.press("#redis-text", "Enter")
        for page in (on_first, on_second):
            expect(page.locator("#redis-messages .text")).to_have_text(["through Redis"])
        shoot(on_first, "redis-live")
    finally:
        context.close()


def test_without_redis_the_page_says_so_and_the_rest_works(
    context: Any, run_example: Any, console: Console
) -> None:
    from playwright.sync_api import expect

    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    url = run_example(APP, "--redis", nowhere)
    page = console.watch(context.new_page())
    page.goto(url + "/redis")
    expect(page.locator("#redis-unavailable h2")).to_have_text("No Redis server here")
    expect(page.locator("#redis-unavailable")).to_contain_text(nowhere)
    # The reason is the real one, even when the page asks while the first attempt runs.
    expect(page.locator("#redis-unavailable .muted")).to_contain_text("Connection refused")
    shoot(page, "redis-unavailable")
    page.goto(url + "/")
    expect(page.locator(".card[href='/redis'] .status")).to_have_text("no server: see the page")


def test_ctrl_c_closes_websockets_with_1001_and_ends_event_streams(
    browser: Any, redis_url: str, console: Console
) -> None:
    from playwright.sync_api import expect

    process = subprocess.Popen(
        [sys.executable, str(APP), "--port", "0", "--redis", redis_url],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    listening: queue.Queue[str] = queue.Queue()

    def read() -> None:  # all along, so the demo never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if match:
                listening.put(f"http://127.0.0.1:{match.group(1)}")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    context = browser.new_context()
    try:
        url = listening.get(timeout=30)
        chat = console.watch(context.new_page())
        chat.goto(url + "/chat")
        expect(chat.locator("#chat-status")).to_have_text("connected")
        feed = console.watch(context.new_page())
        feed.goto(url + "/feed")
        expect(feed.locator("#feed-status")).to_have_text("live")
        redis = console.watch(context.new_page())
        redis.goto(url + "/redis")
        expect(redis.locator("#redis-status")).to_have_text("subscribed")

        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        expect(chat.locator("#chat-status")).to_have_text("the server stopped (1001 Going Away)")
        expect(chat.locator("#chat-text")).to_be_disabled()
        expect(feed.locator("#feed-status")).to_have_text("the server stopped")
        expect(redis.locator("#redis-status")).to_have_text("the server stopped")
        shoot(chat, "chat-after-ctrl-c")
        assert process.wait(30) == 0
    finally:
        context.close()
        if process.poll() is None:
            process.kill()
            process.wait(10)
        reader.join(10)
    text = "".join(output)
    assert "Traceback" not in text, text
    assert text.rstrip().endswith("cyclone demo stopped"), text


def test_the_json_the_upload_answers_is_what_the_page_shows(demo: str) -> None:
    """Outside a browser too: the receiver is an API with a JSON answer."""
    host, port = demo.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", "/upload")
        page = connection.getresponse()
        cookie = page.getheader("Set-Cookie").split(";")[0]
        token = cookie.split("=", 1)[1]
        page.read()
        body = b"hello, cyclone"
        connection.request(
            "PUT",
            "/upload/file?name=hello.txt",
            body=body,
            headers={"X-XSRFToken": token, "Cookie": cookie, "Content-Type": "text/plain"},
        )
        answer = connection.getresponse()
        assert answer.status == 200
        data = json.loads(answer.read())
    finally:
        connection.close()
    assert data["name"] == "hello.txt"
    assert data["size"] == len(body)
    assert data["sha256"] == hashlib.sha256(body).hexdigest()
