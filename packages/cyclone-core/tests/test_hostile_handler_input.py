"""Handler-level attacks over a real loopback socket: what a hostile client or URL can make
the handler layer send (issue 13, faults 6-9).

Each test speaks raw HTTP to a server listening on 127.0.0.1 and asserts what a user
would see: the status, the Location or Set-Cookie header, and the log events (captured
with a twisted.logger observer) -- a hostile request must never log a traceback.
"""

from __future__ import annotations

import json

import pytest
import pytest_twisted
from twisted.logger import globalLogPublisher

from cyclone.handler import (
    RequestHandler,
    addslash,
    authenticated,
    is_safe_redirect_url,
    removeslash,
)
from cyclone.routing import Router


@pytest.fixture
def logged():
    """Every log event emitted during the test."""
    events: list[dict] = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def tracebacks(events: list[dict]) -> list[dict]:
    return [event for event in events if "log_failure" in event]


async def exchange(listener, application, request: bytes):
    """Send one raw request to ``application`` on a loopback port; its parsed response."""
    port = listener.listen(application)
    client = await listener.connect(port)
    client.send(request)
    return (await client.wait_responses(1))[0]


def get(target: bytes, *headers: bytes) -> bytes:
    lines = [b"GET " + target + b" HTTP/1.1", b"Host: site.example", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


# -- fault 6: redirects built from the request path stay on this host ------------------------


class CatchAllSlashes(RequestHandler):
    @removeslash
    def get(self, path):
        self.write("page")

    @addslash
    def head(self, path):
        pass


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "target, location",
    [
        (b"//evil.example/", "/evil.example"),
        (b"/\\evil.example/", "/evil.example"),
        (b"///evil.example/", "/evil.example"),
        (b"/\\/evil.example/?a=1", "/evil.example?a=1"),
        (b"/docs//", "/docs"),
        (b"/.//evil.example/", "/evil.example"),
        (b"/a/..//evil.example/", "/evil.example"),
        (b"/..//evil.example/", "/evil.example"),
    ],
)
async def test_removeslash_on_a_catch_all_route_redirects_to_this_host(
    listener, logged, target, location
):
    response = await exchange(listener, Router([(r"(.*)", CatchAllSlashes)]), get(target))
    assert (response.status, response.headers["Location"]) == (301, location)
    assert tracebacks(logged) == []


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "target, location",
    [
        (b"//evil.example", "/evil.example/"),
        (b"/\\evil.example", "/evil.example/"),
        (b"/\\\\evil.example?x=1", "/evil.example/?x=1"),
        (b"/.//evil.example", "/evil.example/"),
    ],
)
async def test_addslash_on_a_catch_all_route_redirects_to_this_host(listener, target, location):
    request = get(target).replace(b"GET ", b"HEAD ", 1)
    port = listener.listen(Router([(r"(.*)", CatchAllSlashes)]))
    client = await listener.connect(port)
    client.head_requests = 1
    client.send(request)
    response = (await client.wait_responses(1))[0]
    assert (response.status, response.headers["Location"]) == (301, location)


class RelativeRedirect(RequestHandler):
    def get(self, path):
        self.redirect(self.get_argument("to", "login"))


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "target, location",
    [
        (b"//evil.example/page", "/evil.example/login"),
        (b"/\\evil.example/page", "/evil.example/login"),
        (b"/page?to=.%2F%2Fevil.example", "/evil.example"),
        (b"/a/page?to=..%2F%2Fevil.example", "/evil.example"),
        (b"/page?to=%2F.%2F%2Fevil.example", "/evil.example"),
    ],
)
async def test_relative_redirect_from_a_double_slash_path_stays_on_this_host(
    listener, target, location
):
    response = await exchange(listener, Router([(r"(.*)", RelativeRedirect)]), get(target))
    assert (response.status, response.headers["Location"]) == (302, location)


class Private(RequestHandler):
    @authenticated
    def get(self, path):
        self.write("secret")


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "target, location",
    [
        (b"//evil.example/", "/login?next=%2Fevil.example%2F"),
        (b"/\\evil.example/", "/login?next=%2Fevil.example%2F"),
        (b"/account?tab=1", "/login?next=%2Faccount%3Ftab%3D1"),
    ],
)
async def test_authenticated_puts_a_local_path_in_next(listener, target, location):
    application = Router([(r"(.*)", Private)], login_url="/login")
    response = await exchange(listener, application, get(target))
    assert (response.status, response.headers["Location"]) == (302, location)


class Login(RequestHandler):
    def get(self):
        self.redirect(self.get_safe_next_url())


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "next_url, location",
    [
        (b"%2Faccount%3Ftab%3D1", "/account?tab=1"),
        (b"%2F%2Fevil.example", "/"),
        (b"%2F%5Cevil.example", "/"),
        (b"%5C%5Cevil.example", "/"),
        (b"%2F%09%2Fevil.example", "/"),
        (b"https%3A%2F%2Fevil.example%2F", "/"),
        (b"https%3A%2F%2Fsite.example%40evil.example%2F", "/"),
        (b"javascript%3Aalert(1)", "/"),
        (b"http%3A%2F%2Fsite.example%2Fhome", "http://site.example/home"),
        (b"https%3A%2F%2Fdocs.example%2Fpage", "https://docs.example/page"),
    ],
)
async def test_login_redirects_only_to_a_next_url_on_this_site(listener, next_url, location):
    application = Router([(r"/login", Login)], allowed_redirect_hosts=["docs.example"])
    response = await exchange(listener, application, get(b"/login?next=" + next_url))
    assert (response.status, response.headers["Location"]) == (302, location)


# -- fault 7: a header refused at write time is a logged 500 ----------------------------------


class NonLatin1Header(RequestHandler):
    def get(self):
        self.set_header("X-Title", "snowman \u2603")
        self.write("body")


class NonLatin1HeaderStreamed(RequestHandler):
    async def get(self):
        self.set_header("X-Title", "snowman \u2603")
        self.write("first part")
        await self.flush()
        self.write("second part")


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize("handler", [NonLatin1Header, NonLatin1HeaderStreamed])
async def test_a_header_that_cannot_be_sent_is_a_logged_500(listener, logged, handler):
    response = await exchange(listener, Router([(r"/", handler)]), get(b"/"))
    assert response.status == 500
    assert b"500" in response.body
    assert "X-Title" not in response.headers
    failures = tracebacks(logged)
    assert len(failures) == 1
    assert failures[0]["log_failure"].check(ValueError)


class BadDefaultHeaders(RequestHandler):
    def set_default_headers(self):
        self.set_header("X-Everywhere", "\u2603")

    def get(self):
        self.write("body")


@pytest_twisted.ensureDeferred
async def test_an_error_page_that_cannot_be_sent_either_falls_back_to_a_bare_500(listener, logged):
    response = await exchange(listener, Router([(r"/", BadDefaultHeaders)]), get(b"/"))
    assert response.status == 500
    assert "X-Everywhere" not in response.headers
    assert tracebacks(logged) != []


class RedirectTo(RequestHandler):
    def get(self):
        self.redirect(self.get_argument("to"))


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "to, location",
    [
        ("/café/ü?q=é#frag", "/caf%C3%A9/%C3%BC?q=%C3%A9#frag"),
        ("/a%20b/ü", "/a%20b/%C3%BC"),
        ("/100%/x y", "/100%/x%20y"),
        ("http://bücher.example/straße", "http://xn--bcher-kva.example/stra%C3%9Fe"),
        ("https://user@bücher.example:8443/", "https://user@xn--bcher-kva.example:8443/"),
    ],
)
async def test_redirect_to_a_non_ascii_url_is_percent_encoded(listener, logged, to, location):
    from urllib.parse import quote

    request = get(b"/?to=" + quote(to, safe="").encode())
    response = await exchange(listener, Router([(r"/", RedirectTo)]), request)
    assert (response.status, response.headers["Location"]) == (302, location)
    assert tracebacks(logged) == []


# -- fault 8: hostile numbers in cookies -------------------------------------------------------


class WhoAmI(RequestHandler):
    def get(self):
        user = self.get_secure_cookie("user")
        version = self.get_secure_cookie_key_version("user")
        self.write({"user": user.decode() if user else None, "version": version})


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "cookie, version",
    [
        (b"user=2|" + b"9" * 5000 + b"|1700000000|YWxpY2U=|" + b"0" * 64, None),
        (b"user=2|1|" + b"9" * 5000 + b"|YWxpY2U=|" + b"0" * 64, 1),
    ],
)
async def test_a_signed_cookie_with_a_huge_number_reads_as_missing(
    listener, logged, cookie, version
):
    application = Router([(r"/", WhoAmI)], cookie_secret={1: "s" * 32})
    response = await exchange(listener, application, get(b"/", b"Cookie: " + cookie))
    assert response.status == 200
    assert json.loads(response.body) == {"user": None, "version": version}
    assert tracebacks(logged) == []


class Form(RequestHandler):
    def get(self):
        self.write(self.xsrf_form_html())


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize("timestamp", [b"inf", b"1e999", b"nan", b"9" * 5000, b"-1", b"1_0"])
async def test_an_xsrf_cookie_with_a_hostile_timestamp_is_replaced(listener, logged, timestamp):
    cookie = b"Cookie: _xsrf=2|01020304|0a0b0c0d0e0f1011|" + timestamp
    response = await exchange(listener, Router([(r"/", Form)]), get(b"/", cookie))
    assert response.status == 200
    assert b'name="_xsrf"' in response.body
    assert response.headers["Set-Cookie"].startswith("_xsrf=2|")
    assert tracebacks(logged) == []


class LastModified(RequestHandler):
    def get(self):
        self.set_header("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
        self.write("fresh")


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "since",
    [b"Fri, 01 Jan 2100 00:00:00 GMT", b"Mon, 01 Jan 99999999999 00:00:00 GMT"],
)
async def test_a_handler_answers_a_future_or_absurd_if_modified_since_with_the_body(
    listener, logged, since
):
    # The handler base revalidates with ETags only (as Tornado's); a client's
    # date, future or impossible, never turns into a 304 or an error.
    request = get(b"/", b"If-Modified-Since: " + since)
    response = await exchange(listener, Router([(r"/", LastModified)]), request)
    assert (response.status, response.body) == (200, b"fresh")
    assert tracebacks(logged) == []


# -- fault 9: cookie attributes cannot be injected ----------------------------------------------


class CookieFromQuery(RequestHandler):
    def get(self):
        self.set_cookie(
            "session",
            "v",
            path=self.get_argument("path", "/"),
            domain=self.get_argument("domain", None),
        )
        self.write("set")


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "query",
    [
        b"path=%2F%3B%20Domain%3Devil.example",
        b"domain=site.example%3B%20Domain%3Devil.example",
        b"path=%2F%0D%0AX-Injected%3A%201",
        b"domain=site.example%20Secure",
    ],
)
async def test_a_cookie_attribute_with_separators_is_refused(listener, logged, query):
    response = await exchange(listener, Router([(r"/", CookieFromQuery)]), get(b"/?" + query))
    assert response.status == 500
    assert "Set-Cookie" not in response.headers
    assert "X-Injected" not in response.headers
    failures = tracebacks(logged)
    assert len(failures) == 1
    assert failures[0]["log_failure"].check(ValueError)


# -- the next-URL helper as a function -----------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/", "/account", "/a/b?c=d#e", "/caf%C3%A9", "/ü", "/a\\b", "/a//b", "/:colon"],
)
def test_paths_on_this_site_are_safe_redirects(url):
    assert is_safe_redirect_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "\\/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        " /account",
        "/account ",
        "/a\x00b",
        "/a\x7fb",
        "/\u3000/evil.example",
        "/.//evil.example",
        "/a/..//evil.example",
        "account",
        "?next=1",
        "http://evil.example/",
        "https:evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "data:text/html,x",
        "https://site.example@evil.example/",
        "https://site.example:443@evil.example/",
        "ftp://site.example/",
    ],
)
def test_other_hosts_and_tricks_are_not_safe_redirects(url):
    assert not is_safe_redirect_url(url, allowed_hosts=["site.example"])


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("https://site.example/home", ["site.example"]),
        ("http://SITE.example/home", ["site.example"]),
        ("https://site.example:8443/", ["site.example:8443"]),
        ("https://site.example", ["site.example"]),
    ],
)
def test_absolute_urls_on_an_allowed_host_are_safe_redirects(url, allowed):
    assert is_safe_redirect_url(url, allowed_hosts=allowed)


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("https://site.example:8443/", ["site.example"]),
        ("https://site.example/", ["site.example:8443"]),
        ("https://site.example.evil.example/", ["site.example"]),
        ("https://site.example/", []),
    ],
)
def test_absolute_urls_on_other_hosts_or_ports_are_not_safe_redirects(url, allowed):
    assert not is_safe_redirect_url(url, allowed_hosts=allowed)


def test_is_safe_redirect_url_refuses_non_strings():
    assert not is_safe_redirect_url(None)  # type: ignore[arg-type]
    assert not is_safe_redirect_url(b"/")  # type: ignore[arg-type]
