"""cyclone.inmemory: one HTTP exchange with a server factory, without a socket."""

from __future__ import annotations

import subprocess
import sys

import pytest
import pytest_twisted
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Factory, Protocol
from twisted.web.resource import Resource
from twisted.web.server import Site

from cyclone.handler import RequestHandler
from cyclone.inmemory import MemoryTransport, ResponseReader, exchange
from cyclone.routing import Router


class Chunks(RequestHandler):
    def get(self):
        self.write("one ")
        self.flush()
        self.write("two")


class Plain(Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"Content-Type", b"text/plain")
        return b"twisted.web says " + request.uri


@pytest_twisted.ensureDeferred
async def test_a_chunked_response_from_a_router_is_reassembled():
    raw = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    response = await exchange(Router([(r"/", Chunks)]), raw)
    assert response.code == 200
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.text == "one two"


@pytest_twisted.ensureDeferred
async def test_a_twisted_web_site_answers_through_the_memory_transport():
    site = Site(Plain())
    site.noisy = False
    raw = b"GET /page?q=1 HTTP/1.0\r\nHost: x\r\nConnection: close\r\n\r\n"
    response = await exchange(site, raw)
    assert (response.code, response.body) == (200, b"twisted.web says /page?q=1")


@pytest_twisted.ensureDeferred
async def test_head_only_response_ends_after_the_headers():
    raw = b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
    response = await exchange(Router([(r"/", Chunks)]), raw, head_only=True)
    assert response.code == 200 and response.body == b""


class Hangup(Protocol):
    def dataReceived(self, data):
        self.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_a_server_closing_without_an_answer_fails_the_exchange():
    with pytest.raises(ConnectionDone, match="closed without a response"):
        await exchange(Factory.forProtocol(Hangup), b"GET / HTTP/1.1\r\n\r\n")


def test_the_reader_skips_interim_responses_and_reads_a_close_delimited_body():
    reader = ResponseReader(head_only=False)
    reader.feed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nbody ")
    reader.feed(b"continues")
    assert not reader.complete
    reader.connection_closed()
    assert reader.complete
    response = reader.response()
    assert (response.code, response.reason, response.headers["X-A"]) == (200, "OK", "1")
    assert response.body == b"body continues"


def test_the_transport_refuses_text_and_a_second_producer():
    written = []
    transport = MemoryTransport(written.append, lambda: None)
    transport.write(b"ok")
    with pytest.raises(TypeError, match="not str"):
        transport.write("text")  # type: ignore[arg-type]
    transport.registerProducer(object(), True)
    with pytest.raises(RuntimeError, match="is registered"):
        transport.registerProducer(object(), True)
    assert written == [b"ok"]


def test_importing_inmemory_loads_no_test_framework():
    code = "import sys, cyclone.inmemory; print('twisted.trial' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
