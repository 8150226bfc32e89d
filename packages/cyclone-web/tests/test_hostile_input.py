"""Web-layer attacks over a real loopback socket (issue 13, faults 6 and 8): hostile
numbers in Range, If-Modified-Since, Digest credentials and Host, and redirects built
from the request path.

Each test sends raw bytes from a plain socket (in a thread) to an Application listening
on 127.0.0.1 and asserts what a user would see: the status, the headers, the body, and
that no traceback was logged (events captured with a twisted.logger observer).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import os
import re
import socket
import time
from dataclasses import dataclass

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, threads
from twisted.logger import globalLogPublisher

from cyclone import httpauth
from cyclone.httputil import HTTPHeaders
from cyclone.staticfiles import StaticFileHandler
from cyclone.web import Application, FallbackHandler, RedirectHandler, RequestHandler

#: Seconds a socket waits for the server before the test fails instead of hanging.
WAIT = 10.0
CONTENT = bytes(range(256)) * 4
REALM = "hostile tests"


@dataclass
class Response:
    status: int
    headers: HTTPHeaders
    body: bytes


def parse(raw: bytes) -> Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = HTTPHeaders()
    for line in lines:
        name, _, value = line.partition(":")
        headers.add(name, value.strip())
    return Response(int(status_line.split(" ")[1]), headers, body)


@pytest.fixture
def serve():
    """Listen with an application on a loopback port; send raw requests to it."""
    ports = []

    async def send(application, request: bytes) -> Response:
        if not ports or ports[-1][0] is not application:
            ports.append((application, reactor.listenTCP(0, application, interface="127.0.0.1")))
        number = ports[-1][1].getHost().port

        def exchange() -> bytes:
            with socket.create_connection(("127.0.0.1", number), timeout=WAIT) as connection:
                connection.sendall(request)
                received = []
                while chunk := connection.recv(65536):
                    received.append(chunk)
            return b"".join(received)

        return parse(await threads.deferToThread(exchange))

    yield send
    for _, port in ports:
        pytest_twisted.blockon(defer.maybeDeferred(port.stopListening))


@pytest.fixture
def logged():
    events: list[dict] = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def tracebacks(events: list[dict]) -> list[dict]:
    return [event for event in events if "log_failure" in event]


def get(target: bytes, *headers: bytes, method: bytes = b"GET") -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: site.example", *headers]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n"


@pytest.fixture
def static_app(tmp_path):
    (tmp_path / "data.bin").write_bytes(CONTENT)
    past = time.time() - 3600
    os.utime(tmp_path / "data.bin", (past, past))
    return Application(static_path=str(tmp_path))


def http_date(timestamp: float) -> bytes:
    return email.utils.formatdate(timestamp, usegmt=True).encode()


# -- Range with huge numbers --------------------------------------------------------------


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "range_header, status, content_range, body",
    [
        (b"bytes=" + b"9" * 5000 + b"-", 416, "bytes */1024", b""),
        (b"bytes=" + b"9" * 5000 + b"-" + b"9" * 5000, 416, "bytes */1024", b""),
        (b"bytes=0-" + b"9" * 5000, 206, "bytes 0-1023/1024", CONTENT),
        (b"bytes=-" + b"9" * 5000, 206, "bytes 0-1023/1024", CONTENT),
        (
            b"bytes=" + b"0" * 5000 + b"1-" + b"0" * 5000 + b"2",
            206,
            "bytes 1-2/1024",
            CONTENT[1:3],
        ),
    ],
)
async def test_range_with_a_5000_digit_number_is_answered_without_a_traceback(
    serve, logged, static_app, range_header, status, content_range, body
):
    response = await serve(static_app, get(b"/static/data.bin", b"Range: " + range_header))
    assert response.status == status
    assert response.headers["Content-Range"] == content_range
    assert response.body == body
    assert tracebacks(logged) == []


# -- If-Modified-Since / If-Range with absurd or future dates -------------------------------


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "date",
    [
        b"Mon, 01 Jan 99999999999 00:00:00 GMT",
        b"Mon, 01 Jan 10000 00:00:00 GMT",
        b"Mon, 01 Jan 2000 99999999999:00:00 GMT",
        b"Mon, 01 Jan 2000 00:00:00 +99999999",
    ],
)
async def test_if_modified_since_with_an_impossible_date_is_ignored(
    serve, logged, static_app, date
):
    response = await serve(static_app, get(b"/static/data.bin", b"If-Modified-Since: " + date))
    assert response.status == 200
    assert response.body == CONTENT
    assert tracebacks(logged) == []


@pytest_twisted.ensureDeferred
async def test_if_modified_since_in_the_future_is_ignored(serve, static_app):
    tomorrow = http_date(time.time() + 86400)
    response = await serve(static_app, get(b"/static/data.bin", b"If-Modified-Since: " + tomorrow))
    assert response.status == 200
    assert response.body == CONTENT


@pytest_twisted.ensureDeferred
async def test_if_modified_since_at_last_modified_is_still_304(serve, static_app):
    first = await serve(static_app, get(b"/static/data.bin"))
    since = first.headers["Last-Modified"].encode()
    response = await serve(static_app, get(b"/static/data.bin", b"If-Modified-Since: " + since))
    assert response.status == 304


@pytest_twisted.ensureDeferred
async def test_if_range_with_an_impossible_date_sends_the_whole_file(serve, logged, static_app):
    request = get(
        b"/static/data.bin",
        b"Range: bytes=0-9",
        b"If-Range: Mon, 01 Jan 99999999999 00:00:00 GMT",
    )
    response = await serve(static_app, request)
    assert (response.status, response.body) == (200, CONTENT)
    assert tracebacks(logged) == []


# -- Digest credentials with non-ASCII or oversized fields ------------------------------------


def digest_app():
    class Private(RequestHandler):
        @httpauth.digest_auth(lambda handler, user: "secret", realm=REALM, algorithms=("MD5",))
        def get(self):
            self.write(f"hello {self.current_user}")

    return Application([(r"/private", Private)])


def digest_header(nonce: str, response: str, nc: str = "00000001") -> bytes:
    return (
        f'Authorization: Digest username="ann", realm="{REALM}", nonce="{nonce}", '
        f'uri="/private", response="{response}", qop=auth, nc={nc}, cnonce="abc", '
        "algorithm=MD5"
    ).encode()


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


async def fresh_nonce(serve, application) -> str:
    challenge = await serve(application, get(b"/private"))
    return re.search(r'nonce="([^"]+)"', challenge.headers["WWW-Authenticate"]).group(1)


@pytest_twisted.ensureDeferred
async def test_digest_with_a_non_ascii_response_is_401(serve, logged):
    application = digest_app()
    nonce = await fresh_nonce(serve, application)
    response = await serve(application, get(b"/private", digest_header(nonce, "é" * 32)))
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Digest ")
    assert tracebacks(logged) == []


@pytest_twisted.ensureDeferred
async def test_digest_with_a_non_ascii_nonce_is_401(serve, logged):
    application = digest_app()
    forged = base64.b64encode(f"{int(time.time())}:{'é' * 32}".encode()).decode()
    response = await serve(application, get(b"/private", digest_header(forged, "0" * 32)))
    assert response.status == 401
    raw_non_ascii = get(b"/private", digest_header("é" * 20, "0" * 32))
    assert (await serve(application, raw_non_ascii)).status == 401
    assert tracebacks(logged) == []


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize("nc", ["0" * 5000 + "1", "1" * 5000, "+1", "0x1", "1_0"])
async def test_digest_nonce_count_that_is_not_8_hex_digits_is_401(serve, logged, nc):
    application = digest_app()
    nonce = await fresh_nonce(serve, application)
    ha1, ha2 = md5(f"ann:{REALM}:secret"), md5("GET:/private")
    answer = md5(f"{ha1}:{nonce}:{nc}:abc:auth:{ha2}")
    response = await serve(application, get(b"/private", digest_header(nonce, answer, nc)))
    assert response.status == 401
    assert tracebacks(logged) == []


@pytest_twisted.ensureDeferred
async def test_digest_with_a_valid_nonce_count_still_logs_in(serve):
    application = digest_app()
    nonce = await fresh_nonce(serve, application)
    ha1, ha2 = md5(f"ann:{REALM}:secret"), md5("GET:/private")
    answer = md5(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}")
    response = await serve(application, get(b"/private", digest_header(nonce, answer)))
    assert (response.status, response.body) == (200, b"hello ann")


# -- a Host port of 5000 digits -------------------------------------------------------------


def wsgi_hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}".encode()]


@pytest_twisted.ensureDeferred
async def test_a_host_port_of_5000_digits_does_not_break_the_wsgi_fallback(serve, logged):
    application = Application([(r"/.*", FallbackHandler, {"fallback": wsgi_hello})])
    request = get(b"/").replace(b"Host: site.example", b"Host: site.example:" + b"9" * 5000)
    response = await serve(application, request)
    assert response.status == 200
    assert tracebacks(logged) == []


# -- redirects built from the request path ---------------------------------------------------


@pytest_twisted.ensureDeferred
@pytest.mark.parametrize(
    "target, location",
    [
        (b"/old//evil.example", "/evil.example"),
        (b"/old/%2F%2Fevil.example", "/evil.example"),
        (b"/old/\\evil.example", "/%5Cevil.example"),
        (b"/old/%5C%5Cevil.example", "/%5C%5Cevil.example"),
        (b"/old/%09%2Fevil.example", "/%09/evil.example"),
        (b"/old/%0D%0Aevil.example", "/%0D%0Aevil.example"),
        (b"/old/a%3Fb%23c?x=1", "/a%3Fb%23c?x=1"),
        (b"/old/caf%C3%A9", "/caf%C3%A9"),
        (b"/old/page", "/page"),
    ],
)
async def test_redirect_handler_to_a_path_stays_on_this_host(serve, logged, target, location):
    application = Application([(r"/old/(.*)", RedirectHandler, {"url": "/{0}"})])
    response = await serve(application, get(target))
    assert (response.status, response.headers["Location"]) == (301, location)
    assert tracebacks(logged) == []


@pytest_twisted.ensureDeferred
async def test_redirect_handler_to_another_host_keeps_the_host_of_its_template(serve):
    application = Application(
        [(r"/docs/(.*)", RedirectHandler, {"url": "https://docs.example/{0}"})]
    )
    response = await serve(application, get(b"/docs//guide"))
    assert response.headers["Location"] == "https://docs.example//guide"


@pytest_twisted.ensureDeferred
async def test_static_directory_redirect_stays_on_this_host(serve, tmp_path):
    # A directory whose name is a host, served from the root: "/.//evil.example"
    # was redirected to "//evil.example/" once urljoin had resolved the dot.
    (tmp_path / "evil.example").mkdir()
    (tmp_path / "evil.example" / "index.html").write_bytes(b"index")
    application = Application(
        [(r"/(.*)", StaticFileHandler, {"path": str(tmp_path), "default_filename": "index.html"})]
    )
    response = await serve(application, get(b"/.//evil.example"))
    assert (response.status, response.headers["Location"]) == (301, "/evil.example/")
