"""Output transforms (cyclone.transforms): user-written ones change what the client
receives, through the in-process client and over a real loopback socket."""

from __future__ import annotations

import asyncio
import http.client
import zlib

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, threads

import cyclone.web
from cyclone.compression import GZipContentEncoding
from cyclone.testing import Client
from cyclone.transforms import ChunkedTransferEncoding, OutputTransform
from cyclone.web import Application, RequestHandler

WAIT = 10.0


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


def socket_get(port, path, headers=None):
    """GET ``path`` with http.client in a thread: (status, headers, body, raw chunked?)."""

    def run():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    return threads.deferToThread(run)


class Hello(RequestHandler):
    def get(self):
        self.write("Hello, world")


class Streamed(RequestHandler):
    """Three pieces: two flushes, then finish."""

    async def get(self):
        self.write("one ")
        await self.flush()
        self.write("two ")
        await self.flush()
        self.finish("three")


class ServedBy(OutputTransform):
    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        headers["X-Served-By"] = "cyclone"
        return status_code, headers, chunk


class Shout(OutputTransform):
    """Upper-cases the body; fixes Content-Length as Tornado's contract asks."""

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        chunk = self.transform_chunk(chunk, finishing)
        if "Content-Length" in headers:
            headers["Content-Length"] = str(len(chunk))
        return status_code, headers, chunk

    def transform_chunk(self, chunk, finishing):
        return chunk.upper() + (b"!" if finishing else b"")


class Recorder(OutputTransform):
    """Remembers every call of its instance, for the contract test."""

    instances: list[Recorder] = []

    def __init__(self, request):
        self.request_path = request.path
        self.calls = []
        Recorder.instances.append(self)

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        self.calls.append(("first", status_code, headers.get("Content-Type"), chunk, finishing))
        return status_code, headers, chunk

    def transform_chunk(self, chunk, finishing):
        self.calls.append(("chunk", chunk, finishing))
        return chunk


# -- names -------------------------------------------------------------------------


def test_transform_names_are_importable_from_cyclone_web_and_gzip_is_one():
    assert cyclone.web.OutputTransform is OutputTransform
    assert cyclone.web.ChunkedTransferEncoding is ChunkedTransferEncoding
    assert issubclass(GZipContentEncoding, cyclone.web.OutputTransform)
    assert issubclass(ChunkedTransferEncoding, OutputTransform)


# -- user transforms, in process ---------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_transform_given_to_application_adds_a_header():
    client = Client(Application([(r"/", Hello)], transforms=[ServedBy]))
    response = await client.get("/")
    assert (response.code, response.body) == (200, b"Hello, world")
    assert response.headers["X-Served-By"] == "cyclone"


@pytest_twisted.ensureDeferred
async def test_a_transform_rewriting_the_body_changes_what_the_client_reads():
    client = Client(Application([(r"/", Hello)], transforms=[Shout]))
    response = await client.get("/")
    assert response.body == b"HELLO, WORLD!"
    assert response.headers["Content-Length"] == "13"


@pytest_twisted.ensureDeferred
async def test_add_transform_applies_to_later_requests_in_order():
    app = Application([(r"/", Hello)])
    client = Client(app)
    assert "X-Served-By" not in (await client.get("/")).headers
    app.add_transform(ServedBy)
    app.add_transform(Shout)
    response = await client.get("/")
    assert response.headers["X-Served-By"] == "cyclone"
    assert response.body == b"HELLO, WORLD!"


@pytest_twisted.ensureDeferred
async def test_first_chunk_gets_status_and_headers_and_later_chunks_only_data():
    Recorder.instances.clear()
    client = Client(Application([(r"/s", Streamed), (r"/", Hello)], transforms=[Recorder]))
    assert (await client.get("/s")).body == b"one two three"
    assert (await client.get("/")).body == b"Hello, world"
    streamed, whole = Recorder.instances
    assert streamed.request_path == "/s"
    assert streamed.calls == [
        ("first", 200, "text/html; charset=UTF-8", b"one ", False),
        ("chunk", b"two ", False),
        ("chunk", b"three", True),
    ]
    assert whole.calls == [("first", 200, "text/html; charset=UTF-8", b"Hello, world", True)]


@pytest_twisted.ensureDeferred
async def test_error_pages_go_through_the_transforms_too():
    client = Client(Application([(r"/", Hello)], transforms=[ServedBy]))
    response = await client.get("/missing")
    assert response.code == 404
    assert response.headers["X-Served-By"] == "cyclone"


@pytest_twisted.ensureDeferred
async def test_transforms_argument_replaces_the_gzip_that_compress_response_adds():
    class Long(RequestHandler):
        def get(self):
            self.write("x" * 4000)

    gzip_headers = {"Accept-Encoding": "gzip"}
    compressing = Client(Application([(r"/", Long)], compress_response=True))
    assert (await compressing.get("/", headers=gzip_headers)).headers.get(
        "Content-Encoding"
    ) == "gzip"
    replaced = Client(Application([(r"/", Long)], compress_response=True, transforms=[ServedBy]))
    response = await replaced.get("/", headers=gzip_headers)
    assert "Content-Encoding" not in response.headers
    assert response.headers["X-Served-By"] == "cyclone"


# -- over a real socket --------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_user_transforms_apply_over_a_real_socket(serve):
    port = serve(Application([(r"/", Hello), (r"/s", Streamed)], transforms=[ServedBy, Shout]))
    status, headers, body = await socket_get(port, "/")
    assert (status, body) == (200, b"HELLO, WORLD!")
    assert headers["X-Served-By"] == "cyclone"
    assert headers["Content-Length"] == "13"
    status, headers, body = await socket_get(port, "/s")
    assert (status, body) == (200, b"ONE TWO THREE!")
    assert headers["Transfer-Encoding"] == "chunked"
    assert headers["X-Served-By"] == "cyclone"


@pytest_twisted.ensureDeferred
async def test_chunked_transfer_encoding_from_cyclone_1_does_not_frame_twice(serve):
    class Long(RequestHandler):
        async def get(self):
            self.write("a" * 3000)
            await self.flush()
            self.finish("b" * 3000)

    app = Application(
        [(r"/", Hello), (r"/long", Long)],
        transforms=[GZipContentEncoding, ChunkedTransferEncoding],
    )
    port = serve(app)
    status, headers, body = await socket_get(port, "/")
    assert (status, body, headers["Content-Length"]) == (200, b"Hello, world", "12")
    status, headers, body = await socket_get(port, "/long", {"Accept-Encoding": "gzip"})
    assert headers["Transfer-Encoding"] == "chunked"
    assert headers["Content-Encoding"] == "gzip"
    assert zlib.decompress(body, 16 + zlib.MAX_WBITS) == b"a" * 3000 + b"b" * 3000


# -- the same transform on Tornado and on cyclone --------------------------------------


def _recording_app(web_module, calls):
    """Handlers and a transform written once against Tornado's API, for either framework."""

    class Streamed(web_module.RequestHandler):
        async def get(self):
            self.write("one ")
            await self.flush()
            self.write("two ")
            await self.flush()
            self.finish("three")

    class Whole(web_module.RequestHandler):
        def get(self):
            self.write("Hello, world")

    class Record(web_module.OutputTransform):
        def __init__(self, request):
            self.calls = []
            calls.append((request.path, self.calls))

        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            self.calls.append(
                ("first", status_code, "Content-Length" in headers, chunk, finishing)
            )
            headers["X-Seen"] = "yes"
            return status_code, headers, chunk.upper()

        def transform_chunk(self, chunk, finishing):
            self.calls.append(("chunk", chunk, finishing))
            return chunk.upper()

    return web_module.Application([(r"/s", Streamed), (r"/", Whole)], transforms=[Record])


def _script(port):
    return [socket_get_blocking(port, path) for path in ("/", "/s")]


def socket_get_blocking(port, path):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.headers.get("X-Seen"), response.read()
    finally:
        connection.close()


def _run_on_tornado():
    import tornado.httpserver
    import tornado.netutil
    import tornado.web

    calls = []

    async def main():
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(_recording_app(tornado.web, calls))
        server.add_sockets(sockets)
        try:
            return await asyncio.to_thread(_script, sockets[0].getsockname()[1])
        finally:
            server.stop()
            await server.close_all_connections()

    return asyncio.run(main()), calls


@pytest_twisted.ensureDeferred
async def test_transforms_are_called_as_tornado_calls_them(serve):
    tornado_answers, tornado_calls = await threads.deferToThread(_run_on_tornado)
    cyclone_calls = []
    port = serve(_recording_app(cyclone.web, cyclone_calls))
    cyclone_answers = await threads.deferToThread(_script, port)
    assert (
        cyclone_answers
        == tornado_answers
        == [
            (200, "yes", b"HELLO, WORLD"),
            (200, "yes", b"ONE TWO THREE"),
        ]
    )
    assert cyclone_calls == tornado_calls
    assert dict(cyclone_calls)["/s"] == [
        ("first", 200, False, b"one ", False),
        ("chunk", b"two ", False),
        ("chunk", b"three", True),
    ]
