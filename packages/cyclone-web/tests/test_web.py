"""cyclone.web.Application end to end: routing, virtual hosts, the bundled handlers,
XSRF, gzip, the access log, limits and disconnecting clients.

Protocol-level behaviour goes over real loopback sockets (http.client and
urllib in a thread, or a raw Twisted client); the rest uses the in-process
`cyclone.testing.Client`, which speaks the same HTTP bytes without a socket.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import re
import subprocess
import sys
import urllib.parse
import urllib.request
import zlib

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor, task, threads
from twisted.logger import globalLogPublisher
from twisted.web.resource import Resource

import cyclone.web
from cyclone.testing import Client
from cyclone.util import ObjectDict
from cyclone.web import (
    Application,
    ErrorHandler,
    FallbackHandler,
    RedirectHandler,
    RequestHandler,
    asynchronous,
    url,
)

#: Seconds a test waits for the server before failing instead of hanging.
WAIT = 10.0


# -- helpers -------------------------------------------------------------------------


@pytest.fixture
def serve():
    """``serve(app) -> port``: listen on a free loopback port, stopped after the test."""
    ports = []

    def listen(factory):
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        ports.append(port)
        return port.getHost().port

    yield listen
    for port in ports:
        pytest_twisted.blockon(defer.maybeDeferred(port.stopListening))


def http_request(port, method, path, body=None, headers=None):
    """One request with http.client in a thread: (status, headers, body)."""

    def run():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    return threads.deferToThread(run)


class RawClient(protocol.Protocol):
    """A socket client for tests that need to hang up in the middle of a request."""

    def __init__(self):
        self.data = b""
        self.closed = defer.Deferred()

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason=None):
        self.closed.callback(None)


async def connect_raw(port):
    return await protocol.ClientCreator(reactor, RawClient).connectTCP("127.0.0.1", port)


@pytest.fixture
def log_events():
    """Every twisted.logger event emitted during the test."""
    events = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def failures(events):
    return [event for event in events if "log_failure" in event]


class Hello(RequestHandler):
    def get(self):
        self.write("Hello, world")


class Echo(RequestHandler):
    """Writes the path arguments it was called with, as JSON."""

    def initialize(self, tag="none"):
        self.tag = tag

    def get(self, *args, **kwargs):
        self.write({"args": list(args), "kwargs": kwargs, "tag": self.tag})


# -- the application as a Twisted factory --------------------------------------------


def test_application_is_a_server_factory_and_calling_it_returns_itself():
    app = Application([(r"/", Hello)])
    assert isinstance(app, protocol.ServerFactory)
    assert app.buildProtocol(None) is not None
    assert app() is app


def test_settings_are_an_object_dict_equal_to_the_keyword_arguments():
    settings = {"debug": True, "cookie_secret": "s3cret", "login_url": "/login", "custom": [1]}
    app = Application([(r"/", Hello)], **settings)
    assert isinstance(app.settings, ObjectDict)
    assert app.settings == settings
    assert app.settings.login_url == "/login"


def test_cyclone_web_re_exports_the_public_api():
    for name in (
        "RequestHandler",
        "HTTPError",
        "HTTPAuthenticationRequired",
        "authenticated",
        "asynchronous",
        "addslash",
        "removeslash",
        "Application",
        "URLSpec",
        "url",
        "StaticFileHandler",
        "RedirectHandler",
        "ErrorHandler",
        "FallbackHandler",
        "UIModule",
        "MissingArgumentError",
        "stream_request_body",
        "OutputTransform",
        "ChunkedTransferEncoding",
        "URLReverseError",
        "create_signed_value",
        "decode_signed_value",
    ):
        assert hasattr(cyclone.web, name), name


@pytest_twisted.ensureDeferred
async def test_application_serves_over_listen_tcp(serve):
    port = serve(Application([(r"/", Hello)]))
    status, headers, body = await http_request(port, "GET", "/")
    assert (status, body) == (200, b"Hello, world")
    assert headers["Content-Type"] == "text/html; charset=UTF-8"


@pytest_twisted.ensureDeferred
async def test_tac_idiom_tcp_server_with_app_call_serves(serve):
    from twisted.application import internet, service

    foobar = Application([(r"/", Hello)])
    application = service.Application("foobar")
    server = internet.TCPServer(0, foobar(), interface="127.0.0.1")
    server.setServiceParent(application)
    service.IService(application).startService()
    try:
        port = server._port.getHost().port
        status, _, body = await http_request(port, "GET", "/")
        assert (status, body) == (200, b"Hello, world")
    finally:
        await service.IService(application).stopService()


# -- routes ----------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_routes_as_tuples_pass_initialize_kwargs_and_positional_groups():
    app = Application([(r"/plain", Echo), (r"/tagged/(\d+)/(\w+)", Echo, {"tag": "t"}, "tagged")])
    client = Client(app)
    assert (await client.get("/plain")).json() == {"args": [], "kwargs": {}, "tag": "none"}
    assert (await client.get("/tagged/12/ab")).json() == {
        "args": ["12", "ab"],
        "kwargs": {},
        "tag": "t",
    }
    assert app.reverse_url("tagged", 7, "x") == "/tagged/7/x"


@pytest_twisted.ensureDeferred
async def test_url_spec_with_named_groups_passes_keyword_arguments():
    app = Application([url(r"/user/(?P<name>[^/]+)/(?P<page>\d+)", Echo, {"tag": "u"}, name="u")])
    body = (await Client(app).get("/user/ann/3")).json()
    assert body == {"args": [], "kwargs": {"name": "ann", "page": "3"}, "tag": "u"}
    assert app.reverse_url("u", "bob", 4) == "/user/bob/4"


@pytest_twisted.ensureDeferred
async def test_path_groups_are_url_unescaped_including_slash_and_unicode():
    app = Application([(r"/p/([^/]+)", Echo), (r"/n/(?P<word>[^/]+)", Echo)])
    client = Client(app)
    assert (await client.get("/p/a%2Fb")).json()["args"] == ["a/b"]
    assert (await client.get("/p/%C3%A9t%C3%A9%20x")).json()["args"] == ["été x"]
    assert (await client.get("/p/a+b")).json()["args"] == ["a+b"]
    assert (await client.get("/n/%E2%9C%93")).json()["kwargs"] == {"word": "✓"}


def test_reverse_url_escapes_arguments_and_refuses_unknown_names():
    app = Application([url(r"/files/([^/]+)", Echo, name="file")])
    assert app.reverse_url("file", "a b/c") == "/files/a%20b%2Fc"
    with pytest.raises(KeyError, match="nope"):
        app.reverse_url("nope")


def test_reverse_url_raises_url_reverse_error_as_1_3_and_the_old_types_still_catch_it():
    app = Application([url(r"/files/([^/]+)/(\d+)", Echo, name="file")])
    with pytest.raises(cyclone.web.URLReverseError, match="nope"):
        app.reverse_url("nope")
    with pytest.raises(KeyError):
        app.reverse_url("nope")
    with pytest.raises(cyclone.web.URLReverseError, match="takes 2 arguments, got 1"):
        app.reverse_url("file", "a")
    with pytest.raises(ValueError):
        app.reverse_url("file", "a", 1, 2)
    assert app.reverse_url("file", "a", 1) == "/files/a/1"


def test_signed_values_from_cyclone_web_take_1_3s_positional_arguments():
    import base64
    import hashlib
    import hmac
    import time

    import tornado.web

    signed = cyclone.web.create_signed_value("secret", "user", "alice")
    assert cyclone.web.decode_signed_value("secret", "user", signed, 31) == b"alice"
    assert cyclone.web.decode_signed_value("secret", "admin", signed, 31) is None
    assert tornado.web.decode_signed_value("secret", "user", signed) == b"alice"
    # A value as cyclone 1.3's create_signed_value made it: value|timestamp|HMAC-SHA1.
    encoded, timestamp = base64.b64encode(b"bob").decode(), str(int(time.time()) - 86400)
    mac = hmac.new(b"secret", ("user" + encoded + timestamp).encode(), hashlib.sha1)
    old = "|".join([encoded, timestamp, mac.hexdigest()])
    assert cyclone.web.decode_signed_value("secret", "user", old, 31) == b"bob"
    assert cyclone.web.decode_signed_value("secret", "user", old, 0.5) is None


@pytest_twisted.ensureDeferred
async def test_handler_reverse_url_uses_the_application_routes():
    class Link(RequestHandler):
        def get(self):
            self.write(self.reverse_url("file", "x.txt"))

    app = Application([(r"/", Link), url(r"/files/([^/]+)", Echo, name="file")])
    assert (await Client(app).get("/")).body == b"/files/x.txt"


@pytest_twisted.ensureDeferred
async def test_unmatched_path_is_404():
    response = await Client(Application([(r"/", Hello)])).get("/missing")
    assert response.code == 404


@pytest_twisted.ensureDeferred
async def test_add_handlers_selects_routes_by_host_header():
    class Api(RequestHandler):
        def get(self):
            self.write("api")

    app = Application([(r"/", Hello)])
    app.add_handlers(r"api\.example\.com", [(r"/", Api)])
    assert (await Client(app, host="api.example.com").get("/")).body == b"api"
    assert (await Client(app, host="API.example.com:8080").get("/")).body == b"api"
    assert (await Client(app, host="www.example.com").get("/")).body == b"Hello, world"


@pytest_twisted.ensureDeferred
async def test_paths_fall_through_to_later_host_patterns_as_in_tornado():
    """Tornado >= 4.5 tries every matching host pattern in order until a path matches.

    So ``add_handlers(r".*$", more)`` adds routes instead of hiding the first
    ones, and a virtual host still reaches the catch-all host's routes.
    """

    class Api(RequestHandler):
        def get(self):
            self.write("api")

    app = Application([(r"/", Hello)])
    app.add_handlers(r".*$", [(r"/api", Api)])
    client = Client(app)
    assert (await client.get("/api")).body == b"api"
    assert (await client.get("/")).body == b"Hello, world"
    app.add_handlers(r"www\.example\.com", [(r"/www", Api)])
    assert (await Client(app, host="www.example.com").get("/")).body == b"Hello, world"


@pytest_twisted.ensureDeferred
async def test_default_host_answers_requests_for_unknown_hosts():
    app = Application([], default_host="main.example")
    app.add_handlers(r"main\.example", [(r"/", Hello)])
    assert (await Client(app, host="unknown.example").get("/")).body == b"Hello, world"
    assert (await Client(app, host="main.example").get("/")).body == b"Hello, world"


@pytest_twisted.ensureDeferred
async def test_default_handler_class_answers_unmatched_paths():
    class NotFound(RequestHandler):
        def initialize(self, message="not here"):
            self.message = message

        def prepare(self):
            self.set_status(404)
            self.finish(self.message)

    app = Application(
        [(r"/", Hello)],
        default_handler_class=NotFound,
        default_handler_args={"message": "custom 404"},
    )
    response = await Client(app).get("/nowhere")
    assert (response.code, response.body) == (404, b"custom 404")


# -- bundled handlers ------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_redirect_handler_substitutes_groups_and_keeps_the_query():
    app = Application(
        [
            (r"/old/(\d+)", RedirectHandler, {"url": "/new/{0}"}),
            (r"/tmp/(?P<slug>\w+)", RedirectHandler, {"url": "/t/{slug}", "permanent": False}),
            (r"/fixed", RedirectHandler, {"url": "/target?x=1"}),
        ]
    )
    client = Client(app)
    response = await client.get("/old/42?a=1&b=2")
    assert response.code == 301
    assert response.headers["Location"] == "/new/42?a=1&b=2"
    response = await client.get("/tmp/abc")
    assert (response.code, response.headers["Location"]) == (302, "/t/abc")
    response = await client.get("/fixed?y=2")
    assert response.headers["Location"] == "/target?x=1"
    response = await client.head("/old/1")
    assert (response.code, response.headers["Location"]) == (301, "/new/1")


@pytest_twisted.ensureDeferred
async def test_error_handler_answers_its_status_for_every_method():
    app = Application([(r"/gone", ErrorHandler, {"status_code": 410})])
    client = Client(app)
    assert (await client.get("/gone")).code == 410
    assert (await client.post("/gone", data={"a": "1"})).code == 410


class LegacyResource(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setResponseCode(203)
        request.setHeader(b"X-Legacy", b"yes")
        request.setHeader(b"Content-Type", b"text/plain")
        return b"legacy " + request.uri

    def render_POST(self, request):
        request.setHeader(b"Content-Type", b"text/plain")
        return b"posted " + request.content.read()


@pytest_twisted.ensureDeferred
async def test_fallback_handler_serves_a_twisted_web_resource(serve):
    app = Application([(r"/legacy/.*", FallbackHandler, {"fallback": LegacyResource()})])
    port = serve(app)
    status, headers, body = await http_request(port, "GET", "/legacy/page?q=1")
    assert status == 203
    assert headers["X-Legacy"] == "yes"
    assert headers["Content-Type"] == "text/plain"
    assert body == b"legacy /legacy/page?q=1"
    status, _, body = await http_request(
        port, "POST", "/legacy/form", body=b"a=1&b=2", headers={"Content-Type": "text/plain"}
    )
    assert (status, body) == (200, b"posted a=1&b=2")


def wsgi_app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    received = environ["wsgi.input"].read(length)
    body = (
        f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} ?{environ['QUERY_STRING']} "
        f"type={environ.get('CONTENT_TYPE', '')} agent={environ.get('HTTP_X_AGENT', '')} "
    ).encode() + received
    start_response(
        "201 Created", [("Content-Type", "text/plain"), ("X-Wsgi", "1"), ("Set-Cookie", "w=1")]
    )
    return [body]


@pytest_twisted.ensureDeferred
async def test_fallback_handler_serves_a_wsgi_app(serve):
    app = Application([(r"/wsgi/.*", FallbackHandler, {"fallback": wsgi_app})])
    port = serve(app)
    status, headers, body = await http_request(
        port, "GET", "/wsgi/a%20b?x=1", headers={"X-Agent": "t"}
    )
    assert status == 201
    assert headers["X-Wsgi"] == "1"
    assert headers["Content-Type"] == "text/plain"
    assert headers["Set-Cookie"] == "w=1"
    assert body == b"GET /wsgi/a b ?x=1 type= agent=t "
    status, _, body = await http_request(
        port,
        "POST",
        "/wsgi/post",
        body=b"field=value",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 201
    assert body == b"POST /wsgi/post ? type=application/x-www-form-urlencoded agent= field=value"


def wsgi_server_address(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['SERVER_NAME']} {environ['SERVER_PORT']}".encode()]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", b"example.com 80"),
        ("example.com:8080", b"example.com 8080"),
        ("[::1]:8080", b"::1 8080"),
        ("[2001:db8::1]", b"2001:db8::1 80"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_fallback_wsgi_server_name_and_port_come_from_the_host_header(host, expected):
    app = Application([(r"/.*", FallbackHandler, {"fallback": wsgi_server_address})])
    assert (await Client(app, host=host).get("/")).body == expected


# -- XSRF ----------------------------------------------------------------------------------


class FormPage(RequestHandler):
    def get(self):
        self.write(f'<form method="post">{self.xsrf_form_html()}<input name="text"></form>')

    def post(self):
        self.write("saved " + self.get_argument("text"))


@pytest_twisted.ensureDeferred
async def test_xsrf_browser_flow_over_a_socket_with_a_cookie_jar(serve):
    port = serve(Application([(r"/form", FormPage)], xsrf_cookies=True))
    base = f"http://127.0.0.1:{port}/form"

    def browse():
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(base, timeout=WAIT).read().decode()
        token = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
        cookie_names = {cookie.name for cookie in jar}
        posted = opener.open(
            base, urllib.parse.urlencode({"_xsrf": token, "text": "hi"}).encode(), timeout=WAIT
        ).read()
        try:
            opener.open(base, b"text=forged", timeout=WAIT)
        except urllib.error.HTTPError as error:
            forged_status = error.code
        else:
            forged_status = 200
        # A page from another site can submit the form but cannot read the cookie.
        stranger = urllib.request.build_opener()
        try:
            stranger.open(base, urllib.parse.urlencode({"_xsrf": token}).encode(), timeout=WAIT)
        except urllib.error.HTTPError as error:
            stranger_status = error.code
        else:
            stranger_status = 200
        return cookie_names, posted, forged_status, stranger_status

    cookie_names, posted, forged_status, stranger_status = await threads.deferToThread(browse)
    assert "_xsrf" in cookie_names
    assert posted == b"saved hi"
    assert forged_status == 403
    assert stranger_status == 403


@pytest_twisted.ensureDeferred
async def test_xsrf_token_accepted_in_header_for_ajax_requests():
    client = Client(Application([(r"/form", FormPage)], xsrf_cookies=True))
    await client.get("/form")
    token = client.cookies["_xsrf"]
    response = await client.post("/form", data={"text": "ajax"}, headers={"X-XSRFToken": token})
    assert (response.code, response.body) == (200, b"saved ajax")
    response = await client.post("/form", data={"text": "x"}, headers={"X-XSRFToken": "2|00|zz|1"})
    assert response.code == 403


# -- gzip ----------------------------------------------------------------------------------


class Text(RequestHandler):
    def get(self, size):
        self.write("cyclone " * (int(size) // 8))


class Png(RequestHandler):
    def get(self):
        self.set_header("Content-Type", "image/png")
        self.write(b"\x89PNG" + b"\x00" * 4000)


def gzip_app():
    return Application([(r"/text/(\d+)", Text), (r"/png", Png)], compress_response=True)


@pytest_twisted.ensureDeferred
async def test_gzip_compresses_text_when_accepted_and_always_sends_vary(serve):
    port = serve(gzip_app())
    status, headers, body = await http_request(
        port, "GET", "/text/4000", headers={"Accept-Encoding": "gzip, deflate"}
    )
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Vary"] == "Accept-Encoding"
    assert int(headers["Content-Length"]) == len(body) < 4000
    assert zlib.decompress(body, 16 + zlib.MAX_WBITS) == b"cyclone " * 500
    status, headers, body = await http_request(port, "GET", "/text/4000")
    assert "Content-Encoding" not in headers
    assert headers["Vary"] == "Accept-Encoding"
    assert body == b"cyclone " * 500


@pytest_twisted.ensureDeferred
async def test_gzip_leaves_small_bodies_and_binary_types_alone():
    client = Client(gzip_app())
    small = await client.get("/text/80", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers
    assert small.headers["Vary"] == "Accept-Encoding"
    assert small.body == b"cyclone " * 10
    png = await client.get("/png", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in png.headers
    assert png.body.startswith(b"\x89PNG")


@pytest.mark.parametrize("header", ["gzip;q=0", "identity", "deflate, gzip;q=0.0", "br"])
@pytest_twisted.ensureDeferred
async def test_gzip_not_used_when_the_client_refuses_it(header):
    response = await Client(gzip_app()).get("/text/4000", headers={"Accept-Encoding": header})
    assert "Content-Encoding" not in response.headers
    assert response.body == b"cyclone " * 500


@pytest.mark.parametrize("header", ["*", "gzip;q=0.5", "br, GZIP"])
@pytest_twisted.ensureDeferred
async def test_gzip_used_for_wildcard_and_positive_quality(header):
    response = await Client(gzip_app()).get("/text/4000", headers={"Accept-Encoding": header})
    assert response.headers["Content-Encoding"] == "gzip"


@pytest_twisted.ensureDeferred
async def test_gzip_setting_alias_enables_compression():
    app = Application([(r"/text/(\d+)", Text)], gzip=True)
    response = await Client(app).get("/text/4000", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"


@pytest_twisted.ensureDeferred
async def test_gzip_streaming_flushes_are_decodable_as_they_arrive(serve):
    """Each flush() is compressed with a sync flush, so the client can decode it at once."""
    proceed = []

    class Stream(RequestHandler):
        async def get(self):
            for index in range(3):
                self.write(f"part {index};" * 50)
                await self.flush()
                waiter = defer.Deferred()
                proceed.append(waiter)
                await waiter
            self.write("end")

    port = serve(Application([(r"/", Stream)], compress_response=True))

    def read_parts():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        connection.request("GET", "/", headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        headers = dict(response.headers)
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        parts = []
        for index in range(3):
            expected = (f"part {index};" * 50).encode()
            decoded = b""
            while len(decoded) < len(expected):
                decoded += decoder.decompress(response.read1(65536))
            parts.append(decoded)
            reactor.callFromThread(lambda: proceed[-1].callback(None))
        rest = decoder.decompress(response.read()) + decoder.flush()
        connection.close()
        return headers, parts, rest, decoder.eof

    headers, parts, rest, finished = await threads.deferToThread(read_parts)
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Transfer-Encoding"] == "chunked"
    assert parts == [(f"part {i};" * 50).encode() for i in range(3)]
    assert rest == b"end"
    assert finished


# -- access log ----------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_each_request_is_logged_through_twisted_logger(log_events):
    client = Client(Application([(r"/", Hello)]))
    await client.get("/?x=1")
    await client.get("/missing")
    access = [e for e in log_events if e.get("log_namespace") == "cyclone.access"]
    assert [(e["status"], e["method"], e["uri"]) for e in access] == [
        (200, "GET", "/?x=1"),
        (404, "GET", "/missing"),
    ]
    assert access[0]["remote_ip"] == "127.0.0.1"
    assert access[0]["duration_ms"] >= 0


@pytest_twisted.ensureDeferred
async def test_log_function_setting_replaces_the_access_log(log_events):
    seen = []
    app = Application(
        [(r"/", Hello)], log_function=lambda handler: seen.append(handler.get_status())
    )
    await Client(app).get("/")
    assert seen == [200]
    assert not [e for e in log_events if e.get("log_namespace") == "cyclone.access"]


# -- limits and connections ---------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_max_body_size_setting_answers_413(serve):
    class Sink(RequestHandler):
        def post(self):
            self.write(str(len(self.request.body)))

    port = serve(Application([(r"/", Sink)], max_body_size=100))
    status, _, body = await http_request(port, "POST", "/", body=b"x" * 100)
    assert (status, body) == (200, b"100")
    status, _, _ = await http_request(port, "POST", "/", body=b"x" * 101)
    assert status == 413


@pytest_twisted.ensureDeferred
async def test_max_header_size_setting_answers_431(serve):
    port = serve(Application([(r"/", Hello)], max_header_size=1024))
    status, _, body = await http_request(port, "GET", "/", headers={"X-Small": "a" * 100})
    assert (status, body) == (200, b"Hello, world")
    status, _, _ = await http_request(port, "GET", "/", headers={"X-Big": "a" * 2000})
    assert status == 431


@pytest_twisted.ensureDeferred
async def test_header_timeout_setting_closes_a_slow_client_with_408(serve):
    clock = task.Clock()
    port = serve(Application([(r"/", Hello)], header_timeout=5, clock=clock))
    client = await connect_raw(port)
    client.transport.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
    await wait_for_server(port)
    clock.advance(4)
    assert client.data == b""
    clock.advance(2)
    await client.closed.addTimeout(WAIT, reactor)
    assert client.data.startswith(b"HTTP/1.1 408 ")


async def wait_for_server(port):
    """Let the reactor deliver what a raw client wrote (one request round trip later)."""
    await http_request(port, "GET", "/")


@pytest_twisted.ensureDeferred
async def test_client_disconnecting_mid_handler_fires_close_hooks_without_errors(
    serve, log_events
):
    started = defer.Deferred()
    closed = defer.Deferred()
    finished = defer.Deferred()

    class Slow(RequestHandler):
        @asynchronous
        def get(self):
            self.notifyFinish().addBoth(finished.callback)
            started.callback(self)

        def on_connection_close(self):
            closed.callback(None)

    port = serve(Application([(r"/", Slow)]))
    client = await connect_raw(port)
    client.transport.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    handler = await started.addTimeout(WAIT, reactor)
    client.transport.loseConnection()
    await closed.addTimeout(WAIT, reactor)
    await finished.addTimeout(WAIT, reactor)
    # The handler finishing late (its data came in after the client left) is harmless.
    handler.write("too late")
    handler.finish()
    assert client.data == b""
    assert failures(log_events) == []


@pytest_twisted.ensureDeferred
async def test_coroutine_handler_outliving_its_client_finishes_quietly(serve, log_events):
    started = defer.Deferred()
    release = defer.Deferred()
    done = defer.Deferred()

    class Waiting(RequestHandler):
        async def get(self):
            started.callback(None)
            await release
            self.write("late")
            await self.flush()
            self.write("later")

        def on_finish(self):
            done.callback(None)

    port = serve(Application([(r"/", Waiting)]))
    client = await connect_raw(port)
    client.transport.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await started.addTimeout(WAIT, reactor)
    client.transport.loseConnection()
    await client.closed
    release.callback(None)
    await done.addTimeout(WAIT, reactor)
    assert failures(log_events) == []


# -- what importing cyclone.web costs ------------------------------------------------

_IMPORT_PROBE = """
import importlib.abc, json, sys

WATCHED = ("treq", "OpenSSL", "twisted.trial")
importers = {}


class Watch(importlib.abc.MetaPathFinder):
    # Records which module first asked for a watched one, then lets the import go on.
    def find_spec(self, name, path=None, target=None):
        if name in WATCHED and name not in importers:
            caller = sys._getframe(1)
            while caller is not None and caller.f_globals.get("__name__", "").startswith(
                ("importlib", "_frozen_importlib")
            ):
                caller = caller.f_back
            importers[name] = caller.f_globals.get("__name__") if caller else None
        return None


sys.meta_path.insert(0, Watch())
import cyclone.web

print(json.dumps({"loaded": [m for m in WATCHED if m in sys.modules], "importers": importers}))
"""


def test_importing_cyclone_web_loads_no_http_client_tls_or_test_framework():
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert "treq" not in report["loaded"]
    assert "twisted.trial" not in report["loaded"]
    # Twisted's TCP transport imports pyOpenSSL whenever it is installed (for startTLS);
    # cyclone.web itself must never be the importer. tools/check_wheels.py checks that
    # OpenSSL stays unloaded where cyclone-web is installed alone beside cyclone-core.
    if "OpenSSL" in report["loaded"]:
        assert report["importers"]["OpenSSL"].startswith("twisted."), report


def test_importing_cyclone_web_loads_neither_the_template_engine_nor_locales():
    # An application that renders no template and reads no locale does not carry them;
    # the first render() or self.locale imports them (the template tests cover that).
    code = (
        "import sys, cyclone.web\n"
        "print([m for m in ('cyclone.template', 'cyclone.locale') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
