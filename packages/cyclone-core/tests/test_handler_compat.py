"""The handler API as Tornado 6 and cyclone 1.x applications use it, over real loopback sockets:
signed cookies shared with a running Tornado service and read from cyclone 1.3, Tornado 6.3's
``*_signed_cookie`` names, status codes outside the table, and 1.3's ``default()`` catch-all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer, threads

from cyclone import signing
from cyclone.handler import HTTPError, RequestHandler
from cyclone.routing import Router

TORNADO_SERVICE = Path(__file__).with_name("tornado_service.py")
#: A cookie cyclone 1.3's own create_signed_value made for "user" = "alice" with
#: cookie_secret "cyclone-1.3-secret" at 1700000000 (see test_signing.py).
SIGNED_BY_CYCLONE_1_3 = "YWxpY2U=|1700000000|d5f9ebacf6b8c8213d154837065ceeebd6555dbb"
#: Days between that timestamp and a few years from now: old enough to read it.
SINCE_THE_1_3_VECTOR = (time.time() - 1_700_000_000) / 86400 + 1


def request(method: bytes, target: bytes, *headers: bytes) -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: site.example", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def get(target: bytes, *headers: bytes) -> bytes:
    return request(b"GET", target, *headers)


async def exchange(listener, port: int, data: bytes, head: bool = False):
    client = await listener.connect(port)
    if head:
        client.head_requests = 1
    client.send(data)
    return (await client.wait_responses(1))[0]


def cookie_value(response, name: str) -> str:
    """The value of cookie ``name`` in a response's Set-Cookie headers, as a browser sends it back.

    Tornado quotes values holding ``=`` (http.cookies does); browsers keep the quotes.
    """
    for header in response.headers.get_list("Set-Cookie"):
        pair = header.split(";", 1)[0]
        if pair.startswith(name + "="):
            return pair[len(name) + 1 :]
    raise AssertionError(f"no {name} cookie in {response.headers.get_list('Set-Cookie')}")


# -- signed cookies --------------------------------------------------------------------------


class SignIn(RequestHandler):
    def get(self):
        version = self.get_argument("version", None)
        self.set_signed_cookie(
            "user", self.get_argument("name"), version=int(version) if version else None
        )


class WhoAmI(RequestHandler):
    def initialize(self, max_age_days=31):
        self.max_age_days = max_age_days

    def get(self):
        user = self.get_signed_cookie("user", max_age_days=self.max_age_days)
        self.write(
            {
                "user": user.decode() if user else None,
                "key_version": self.get_signed_cookie_key_version("user"),
            }
        )


class SecureNames(RequestHandler):
    """Only the names cyclone 1.x and Tornado before 6.3 had."""

    def get(self):
        self.set_secure_cookie("user", "carol")
        self.write({"read": (self.get_secure_cookie("user") or b"").decode()})


def cyclone_app(secret, **settings):
    return Router(
        [
            (r"/signin", SignIn),
            (r"/whoami", WhoAmI),
            (r"/whoami-1.3", WhoAmI, {"max_age_days": SINCE_THE_1_3_VECTOR}),
            (r"/secure-names", SecureNames),
        ],
        cookie_secret=secret,
        **settings,
    )


@pytest.fixture
def tornado_service():
    """Start the Tornado service of tornado_service.py; its port. Stopped after the test."""
    started = []

    def start(secret, key_version=None):
        arguments = [sys.executable, str(TORNADO_SERVICE), json.dumps(secret)]
        if key_version is not None:
            arguments.append(str(key_version))
        process = subprocess.Popen(arguments, stdout=subprocess.PIPE, text=True)
        started.append(process)
        return threads.deferToThread(lambda: int(process.stdout.readline()))

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


@pytest.mark.parametrize(
    ("secret", "key_version"),
    [("shared-secret", None), ({"1": "old-secret", "2": "new-secret"}, 2)],
    ids=["one-secret", "rotated-keys"],
)
@pytest_twisted.ensureDeferred
async def test_tornado_and_cyclone_services_with_one_cookie_secret_share_logins_both_ways(
    listener, tornado_service, secret, key_version
):
    tornado_port = await tornado_service(secret, key_version)
    cyclone_secret = (
        {int(version): key for version, key in secret.items()}
        if isinstance(secret, dict)
        else secret
    )
    settings = {"key_version": key_version} if key_version is not None else {}
    cyclone_port = listener.listen(cyclone_app(cyclone_secret, **settings))

    by_tornado = cookie_value(
        await exchange(listener, tornado_port, get(b"/signin?name=anna")), "user"
    )
    assert by_tornado.startswith('"2|')
    seen = await exchange(
        listener, cyclone_port, get(b"/whoami", f"Cookie: user={by_tornado}".encode())
    )
    assert json.loads(seen.body) == {"user": "anna", "key_version": key_version or 0}

    by_cyclone = cookie_value(
        await exchange(listener, cyclone_port, get(b"/signin?name=bobby")), "user"
    )
    assert by_cyclone.startswith("2|")
    seen = await exchange(
        listener, tornado_port, get(b"/whoami", f"Cookie: user={by_cyclone}".encode())
    )
    assert json.loads(seen.body) == {"user": "bobby", "key_version": key_version or 0}


@pytest_twisted.ensureDeferred
async def test_a_login_made_by_tornado_with_another_secret_is_not_accepted(
    listener, tornado_service
):
    tornado_port = await tornado_service("tornado-secret")
    cyclone_port = listener.listen(cyclone_app("cyclone-secret"))
    by_tornado = cookie_value(
        await exchange(listener, tornado_port, get(b"/signin?name=ana")), "user"
    )
    seen = await exchange(
        listener, cyclone_port, get(b"/whoami", f"Cookie: user={by_tornado}".encode())
    )
    assert json.loads(seen.body)["user"] is None


@pytest_twisted.ensureDeferred
async def test_a_user_signed_in_by_cyclone_1_3_stays_signed_in(listener):
    port = listener.listen(cyclone_app("cyclone-1.3-secret"))
    cookie = f"Cookie: user={SIGNED_BY_CYCLONE_1_3}".encode()
    seen = await exchange(listener, port, get(b"/whoami-1.3", cookie))
    assert json.loads(seen.body) == {"user": "alice", "key_version": None}
    other = listener.listen(cyclone_app("another-secret"))
    seen = await exchange(listener, other, get(b"/whoami-1.3", cookie))
    assert json.loads(seen.body)["user"] is None


@pytest_twisted.ensureDeferred
async def test_version_1_cookies_are_written_on_request_for_fleets_still_on_1_3(listener):
    port = listener.listen(cyclone_app("shared-secret"))
    response = await exchange(listener, port, get(b"/signin?name=ana&version=1"))
    value = cookie_value(response, "user")
    assert value.count("|") == 2
    assert signing.decode_signed_value("shared-secret", "user", value) == b"ana"


@pytest_twisted.ensureDeferred
async def test_the_secure_cookie_names_of_cyclone_1_and_older_tornado_still_work(listener):
    port = listener.listen(cyclone_app("shared-secret"))
    first = await exchange(listener, port, get(b"/secure-names"))
    value = cookie_value(first, "user")
    second = await exchange(
        listener, port, get(b"/secure-names", f"Cookie: user={value}".encode())
    )
    assert json.loads(second.body) == {"read": "carol"}


def test_the_signed_and_secure_names_are_the_same_methods_as_in_tornado():
    assert RequestHandler.set_secure_cookie is RequestHandler.set_signed_cookie
    assert RequestHandler.get_secure_cookie is RequestHandler.get_signed_cookie
    assert (
        RequestHandler.get_secure_cookie_key_version
        is RequestHandler.get_signed_cookie_key_version
    )


# -- status codes outside the table -----------------------------------------------------------


class Status(RequestHandler):
    def get(self, code):
        self.set_status(int(code))
        self.write("custom")


class RaiseStatus(RequestHandler):
    def get(self, code):
        raise HTTPError(int(code))


@pytest_twisted.ensureDeferred
async def test_a_status_code_outside_the_table_is_sent_with_the_reason_unknown(listener):
    port = listener.listen(Router([(r"/status/(\d+)", Status), (r"/raise/(\d+)", RaiseStatus)]))
    response = await exchange(listener, port, get(b"/status/299"))
    assert (response.status, response.reason, response.body) == (299, "Unknown", b"custom")
    response = await exchange(listener, port, get(b"/status/201"))
    assert (response.status, response.reason) == (201, "Created")
    response = await exchange(listener, port, get(b"/raise/599"))
    assert (response.status, response.reason) == (599, "Unknown")
    assert b"599: Unknown" in response.body
    response = await exchange(listener, port, get(b"/raise/1000"))
    assert response.status == 500


# -- default(): cyclone 1.x's catch-all ---------------------------------------------------------


class CatchAll(RequestHandler):
    SUPPORTED_METHODS = (*RequestHandler.SUPPORTED_METHODS, "PROPFIND")
    events: list[str] = []

    def prepare(self):
        self.events.append("prepare")

    def get(self, name):
        self.write(f"get {name}")

    async def default(self, name):
        await defer.succeed(None)
        self.events.append(f"default {self.request.method}")
        self.write(f"default {self.request.method} {name}")


class RefusesSome(RequestHandler):
    def get(self):
        self.write("get")

    def default(self):
        if self.request.method == "DELETE":
            raise HTTPError(405)
        self.set_status(202)


class OnlyGet(RequestHandler):
    def get(self):
        self.write("get")


@pytest.fixture
def catch_all_port(listener):
    CatchAll.events = []
    return listener.listen(
        Router([(r"/items/(\w+)", CatchAll), (r"/some", RefusesSome), (r"/only-get", OnlyGet)])
    )


@pytest.mark.parametrize("method", [b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"PROPFIND"])
@pytest_twisted.ensureDeferred
async def test_default_answers_every_supported_method_the_handler_does_not_define(
    listener, catch_all_port, method
):
    data = request(method, b"/items/box", b"Content-Length: 0")
    response = await exchange(listener, catch_all_port, data)
    assert (response.status, response.body) == (200, b"default " + method + b" box")
    assert CatchAll.events == ["prepare", f"default {method.decode()}"]


@pytest_twisted.ensureDeferred
async def test_get_and_head_still_go_to_get_when_default_is_defined(listener, catch_all_port):
    response = await exchange(listener, catch_all_port, get(b"/items/box"))
    assert response.body == b"get box"
    head = await exchange(listener, catch_all_port, request(b"HEAD", b"/items/box"), head=True)
    assert (head.status, head.headers["Content-Length"]) == (200, "7")
    assert CatchAll.events == ["prepare", "prepare"]


@pytest_twisted.ensureDeferred
async def test_methods_outside_supported_methods_are_405_before_default(listener, catch_all_port):
    response = await exchange(listener, catch_all_port, request(b"TRACE", b"/items/box"))
    assert response.status == 405
    assert CatchAll.events == []


@pytest_twisted.ensureDeferred
async def test_without_default_an_undefined_method_is_405_with_allow(listener, catch_all_port):
    response = await exchange(
        listener, catch_all_port, request(b"POST", b"/only-get", b"Content-Length: 0")
    )
    assert response.status == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}


@pytest_twisted.ensureDeferred
async def test_a_default_that_refuses_a_method_sends_405_with_allow(listener, catch_all_port):
    response = await exchange(listener, catch_all_port, request(b"DELETE", b"/some"))
    assert response.status == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD"}
    accepted = await exchange(
        listener, catch_all_port, request(b"PUT", b"/some", b"Content-Length: 0")
    )
    assert accepted.status == 202


class FormWithDefault(RequestHandler):
    """A 1.x form whose POST is answered by default()."""

    def get(self):
        self.write(self.xsrf_form_html())

    def default(self):
        self.write(f"default {self.request.method} {self.get_argument('name')}")


@pytest_twisted.ensureDeferred
async def test_default_receives_xsrf_protected_form_posts(listener):
    from urllib.parse import quote

    port = listener.listen(Router([(r"/form", FormWithDefault)], xsrf_cookies=True))
    page = await exchange(listener, port, get(b"/form"))
    cookie = cookie_value(page, "_xsrf")
    token = page.body.decode().split('value="')[1].split('"')[0]
    body = f"_xsrf={quote(token)}&name=ana".encode()
    headers = (
        f"Cookie: _xsrf={cookie}".encode(),
        b"Content-Type: application/x-www-form-urlencoded",
        b"Content-Length: " + str(len(body)).encode(),
    )
    client = await listener.connect(port)
    client.send(request(b"POST", b"/form", *headers) + body)
    answer = (await client.wait_responses(1))[0]
    assert (answer.status, answer.body) == (200, b"default POST ana")
    forged = await exchange(
        listener, port, request(b"POST", b"/form", *headers[:2], b"Content-Length: 0")
    )
    assert forged.status == 403
