"""The HTTP/1.1 server end to end: real loopback sockets (TCP, TLS, unix) and Clock-driven timeouts."""

from __future__ import annotations

import os
import socket
import tempfile

import pytest
import pytest_twisted
from twisted.internet import defer, endpoints, protocol, reactor, ssl, task
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from cyclone.handler import RequestHandler, stream_request_body
from cyclone.httpserver import HTTPConnection, HTTPServer
from cyclone.httputil import HTTPHeaders
from cyclone.routing import Router

GOOD = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def echo(request):
    """Answer with the method, the path and the body, so tests see what arrived."""
    request.write(f"{request.method} {request.uri} ".encode() + request.body)
    request.finish()


class Recorder:
    """A plain request callback that keeps every request it saw."""

    def __init__(self, answer=echo):
        self.requests = []
        self.answer = answer

    def __call__(self, request):
        self.requests.append(request)
        self.answer(request)


async def get_one(listener, factory, data=GOOD):
    port = listener.listen(factory)
    client = await listener.connect(port)
    client.send(data)
    return client, (await client.wait_responses(1))[0]


def _sleep(seconds):
    return task.deferLater(reactor, seconds, lambda: None)


# -- keep-alive, pipelining and connection management ----------------------------------


@pytest_twisted.ensureDeferred
async def test_keep_alive_serves_two_requests_on_one_connection(listener):
    recorder = Recorder()
    port = listener.listen(HTTPServer(recorder))
    client = await listener.connect(port)
    client.send(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
    await client.wait_responses(1)
    client.send(b"GET /two HTTP/1.1\r\nHost: a\r\n\r\n")
    first, second = await client.wait_responses(2)
    assert first.body == b"GET /one "
    assert second.body == b"GET /two "
    assert not client.is_closed
    assert recorder.requests[0].connection.stream is recorder.requests[1].connection.stream


@pytest_twisted.ensureDeferred
async def test_pipelined_requests_are_answered_in_order_even_if_the_first_is_slow(listener):
    def answer(request):
        if request.path == "/slow":
            reactor.callLater(0.05, echo, request)
        else:
            echo(request)

    port = listener.listen(HTTPServer(Recorder(answer)))
    client = await listener.connect(port)
    client.send(
        b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"
        b"POST /fast HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
        b"GET /last HTTP/1.1\r\nHost: a\r\n\r\n"
    )
    responses = await client.wait_responses(3)
    assert [r.body for r in responses] == [b"GET /slow ", b"POST /fast body", b"GET /last "]


@pytest_twisted.ensureDeferred
async def test_http_1_0_without_keep_alive_closes_after_the_response(listener):
    client, response = await get_one(listener, HTTPServer(echo), b"GET /x HTTP/1.0\r\n\r\n")
    await client.wait_closed()
    assert response.status == 200
    assert response.body == b"GET /x "


@pytest_twisted.ensureDeferred
async def test_http_1_0_with_keep_alive_keeps_the_connection(listener):
    request = b"GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    client, response = await get_one(listener, HTTPServer(echo), request)
    assert response.headers["Connection"].lower() == "keep-alive"
    client.send(request)
    assert len(await client.wait_responses(2)) == 2
    assert not client.is_closed


@pytest_twisted.ensureDeferred
async def test_connection_close_closes_after_the_response(listener):
    request = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    client, response = await get_one(listener, HTTPServer(echo), request)
    assert response.headers["Connection"] == "close"
    await client.wait_closed()


@pytest_twisted.ensureDeferred
async def test_no_keep_alive_setting_closes_every_connection(listener):
    client, response = await get_one(listener, HTTPServer(echo, no_keep_alive=True))
    assert response.headers["Connection"] == "close"
    await client.wait_closed()


@pytest_twisted.ensureDeferred
async def test_head_response_has_content_length_but_no_body(listener):
    port = listener.listen(HTTPServer(echo))
    client = await listener.connect(port)
    client.head_requests = 1
    client.send(b"HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /g HTTP/1.1\r\nHost: a\r\n\r\n")
    head, get = await client.wait_responses(2)
    assert head.headers["Content-Length"] == str(len(b"HEAD /h "))
    assert head.body == b""
    assert get.body == b"GET /g "


@pytest_twisted.ensureDeferred
async def test_expect_100_continue_gets_100_then_the_response(listener):
    port = listener.listen(HTTPServer(echo))
    client = await listener.connect(port)
    client.send(
        b"POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    )
    await client.wait_until(lambda: b"\r\n\r\n" in client.data)
    assert bytes(client.data) == b"HTTP/1.1 100 Continue\r\n\r\n"
    client.send(b"hello")
    interim, final = await client.wait_responses(2)
    assert interim.status == 100
    assert final.status == 200
    assert final.body == b"POST /e hello"


@pytest_twisted.ensureDeferred
async def test_too_large_body_is_refused_with_413_before_it_is_sent(listener):
    recorder = Recorder()
    port = listener.listen(HTTPServer(recorder, max_body_size=1024))
    client = await listener.connect(port)
    client.send(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n"
    )
    (response,) = await client.wait_responses(1)
    assert response.status == 413
    assert b"100 Continue" not in client.data
    assert response.headers["Connection"] == "close"
    await client.wait_closed()
    assert recorder.requests == []


@pytest_twisted.ensureDeferred
async def test_chunked_request_body_is_reassembled(listener):
    _, response = await get_one(
        listener,
        HTTPServer(echo),
        b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n",
    )
    assert response.body == b"POST /c hello world"


@pytest_twisted.ensureDeferred
async def test_form_body_is_parsed_into_arguments(listener):
    recorder = Recorder()
    await get_one(
        listener,
        HTTPServer(recorder),
        b"POST /f?q=1 HTTP/1.1\r\nHost: a\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2",
    )
    request = recorder.requests[0]
    assert request.body_arguments == {"a": [b"1"], "b": [b"2"]}
    assert request.arguments == {"q": [b"1"], "a": [b"1"], "b": [b"2"]}


@pytest_twisted.ensureDeferred
async def test_malformed_multipart_body_is_a_400(listener):
    recorder = Recorder()
    _, response = await get_one(
        listener,
        HTTPServer(recorder),
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=xyz\r\n"
        b"Content-Length: 5\r\n\r\nhello",
    )
    assert response.status == 400
    assert recorder.requests == []


@pytest_twisted.ensureDeferred
async def test_streamed_response_without_length_is_chunked(listener):
    class Streamer(RequestHandler):
        async def get(self):
            self.write("first,")
            await self.flush()
            self.write("second")
            await self.flush()

    client, response = await get_one(listener, Router([("/", Streamer)]))
    assert response.status == 200
    assert response.chunked
    assert "Content-Length" not in response.headers
    assert response.body == b"first,second"
    assert response.raw_body.startswith(b"6\r\nfirst,\r\n")
    client.send(GOOD)
    assert len(await client.wait_responses(2)) == 2


@pytest_twisted.ensureDeferred
async def test_streamed_response_to_http_1_0_is_close_delimited(listener):
    def stream(request):
        request.connection.write_headers(200, "OK", HTTPHeaders())
        request.connection.write(b"abc")
        request.connection.write(b"def")
        request.connection.finish()

    port = listener.listen(HTTPServer(stream))
    client = await listener.connect(port)
    client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    await client.wait_closed()
    (response,) = client.responses()
    assert "Transfer-Encoding" not in response.headers
    assert response.body == b"abcdef"


@pytest_twisted.ensureDeferred
async def test_absolute_form_target_sets_host_and_path(listener):
    recorder = Recorder()
    _, response = await get_one(
        listener,
        HTTPServer(recorder),
        b"GET http://example.com:8080/p?x=1 HTTP/1.1\r\nHost: ignored\r\n\r\n",
    )
    request = recorder.requests[0]
    assert request.host == "example.com:8080"
    assert request.uri == "/p?x=1"
    assert request.path == "/p"
    assert request.query_arguments == {"x": [b"1"]}
    assert response.body == b"GET /p?x=1 "


@pytest_twisted.ensureDeferred
async def test_request_fields_describe_the_connection(listener):
    recorder = Recorder()
    await get_one(listener, HTTPServer(recorder), b"GET /a?b=c HTTP/1.1\r\nHost: h:1\r\n\r\n")
    request = recorder.requests[0]
    assert request.remote_ip == "127.0.0.1"
    assert request.protocol == "http"
    assert request.host == "h:1"
    assert request.host_name == "h"
    assert request.full_url() == "http://h:1/a?b=c"
    assert request.supports_http_1_1()
    assert request.request_time() >= 0


# -- X-headers ----------------------------------------------------------------------------


async def _seen_by(listener, headers: bytes, **options):
    recorder = Recorder()
    await get_one(
        listener,
        HTTPServer(recorder, **options),
        b"GET / HTTP/1.1\r\nHost: a\r\n" + headers + b"\r\n",
    )
    request = recorder.requests[0]
    return request.remote_ip, request.protocol


@pytest_twisted.ensureDeferred
async def test_x_real_ip_sets_remote_ip_with_xheaders(listener):
    assert await _seen_by(listener, b"X-Real-Ip: 10.1.2.3\r\n", xheaders=True) == (
        "10.1.2.3",
        "http",
    )


@pytest_twisted.ensureDeferred
async def test_xheaders_are_ignored_unless_enabled(listener):
    headers = b"X-Real-Ip: 10.1.2.3\r\nX-Scheme: https\r\n"
    assert await _seen_by(listener, headers) == ("127.0.0.1", "http")


@pytest_twisted.ensureDeferred
async def test_x_forwarded_for_skips_trusted_downstream_proxies(listener):
    headers = b"X-Forwarded-For: 1.2.3.4, 5.6.7.8, 10.0.0.1\r\n"
    seen = await _seen_by(listener, headers, xheaders=True, trusted_downstream=["10.0.0.1"])
    assert seen[0] == "5.6.7.8"
    seen = await _seen_by(
        listener, headers, xheaders=True, trusted_downstream=["10.0.0.1", "5.6.7.8"]
    )
    assert seen[0] == "1.2.3.4"


@pytest_twisted.ensureDeferred
async def test_x_forwarded_for_ipv6_is_accepted(listener):
    seen = await _seen_by(listener, b"X-Forwarded-For: 2001:db8::1\r\n", xheaders=True)
    assert seen[0] == "2001:db8::1"


@pytest_twisted.ensureDeferred
async def test_x_scheme_and_x_forwarded_proto_set_the_protocol(listener):
    assert (await _seen_by(listener, b"X-Scheme: https\r\n", xheaders=True))[1] == "https"
    seen = await _seen_by(listener, b"X-Forwarded-Proto: HTTPS\r\n", xheaders=True)
    assert seen[1] == "https"


@pytest_twisted.ensureDeferred
async def test_invalid_xheader_values_are_ignored(listener):
    headers = b"X-Real-Ip: not-an-ip\r\nX-Scheme: gopher\r\n"
    assert await _seen_by(listener, headers, xheaders=True) == ("127.0.0.1", "http")
    headers = b"X-Forwarded-For: <script>\r\nX-Forwarded-Proto: javascript\r\n"
    assert await _seen_by(listener, headers, xheaders=True) == ("127.0.0.1", "http")


# -- finish notifications and disconnects -------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_notify_finish_fires_when_the_response_finishes(listener):
    fired = []

    def answer(request):
        request.notifyFinish().addCallback(fired.append)
        assert fired == []
        echo(request)

    await get_one(listener, HTTPServer(answer))
    assert fired == [None]


@pytest_twisted.ensureDeferred
async def test_notify_finish_fires_when_the_client_disconnects(listener):
    started = defer.Deferred()
    held = []

    def answer(request):
        held.append(request)
        started.callback(request.notifyFinish())

    port = listener.listen(HTTPServer(answer))
    client = await listener.connect(port)
    client.send(GOOD)
    finished = await started
    client.transport.loseConnection()
    await finished
    assert held[0].connection.client_disconnected
    held[0].write(b"ignored")
    held[0].finish()


@pytest_twisted.ensureDeferred
async def test_on_connection_close_is_called_when_the_client_leaves_mid_handler(listener):
    started = defer.Deferred()
    closed = defer.Deferred()
    never = defer.Deferred()
    finished_after = []

    class Waiting(RequestHandler):
        async def get(self):
            self.notifyFinish().addCallback(finished_after.append)
            started.callback(None)
            await never

        def on_connection_close(self):
            closed.callback(None)

    port = listener.listen(Router([("/", Waiting)]))
    client = await listener.connect(port)
    client.send(GOOD)
    await started
    client.transport.loseConnection()
    await closed
    assert finished_after == [None]
    never.callback(None)  # the handler goes on and finishes into a closed socket
    other = await listener.connect(port)
    other.send(b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (await other.wait_responses(1))[0].status == 404


# -- backpressure -----------------------------------------------------------------------------


def _small_socket_buffers(client, server_transport=None) -> None:
    """Fix the kernel buffers small: autotuning would otherwise absorb tens of MiB."""
    client.transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    if server_transport is not None:
        server_transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)


def _buffered(transport) -> int:
    """Bytes the Twisted transport holds that the kernel has not taken yet."""
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


class _StreamProgress:
    """Shared between a streaming server loop and the test that watches it stall.

    The kernel's socket buffers grow (TCP autotuning), so the first time a
    write has to wait may be followed by more progress; a stall that lasts is
    one where nothing was written for a while.
    """

    def __init__(self) -> None:
        self.written = 0
        self.max_buffered = 0
        self.stop = False
        self.done: defer.Deferred[None] = defer.Deferred()
        self.stalls = 0
        self._waiter: defer.Deferred[None] | None = None

    def waiting(self) -> None:
        """The loop is about to wait for a write Deferred that has not fired."""
        self.stalls += 1
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.callback(None)

    async def lasting_stall(self) -> None:
        for _ in range(100):
            if not self.stalls:
                self._waiter = defer.Deferred()
                await self._waiter
            before = self.written
            await _sleep(0.2)
            if self.written == before:
                return
        raise AssertionError("the writer never stalled")


@pytest_twisted.ensureDeferred
async def test_streaming_to_a_client_that_does_not_read_stalls_and_resumes(listener):
    chunk = b"x" * 65536
    progress = _StreamProgress()

    async def stream(request):
        connection = request.connection
        _small_socket_buffers(client, connection.transport)
        await connection.write_headers(200, "OK", HTTPHeaders({"Content-Type": "text/plain"}))
        while not progress.stop:
            d = connection.write(chunk)
            progress.written += len(chunk)
            progress.max_buffered = max(progress.max_buffered, _buffered(connection.transport))
            if not d.called:
                progress.waiting()
            await d
        connection.finish()
        progress.done.callback(None)

    port = listener.listen(HTTPServer(lambda request: defer.ensureDeferred(stream(request))))
    client = await listener.connect(port)
    client.transport.pauseProducing()
    _small_socket_buffers(client)
    client.send(GOOD)
    await progress.lasting_stall()
    assert not progress.done.called
    assert progress.max_buffered <= 4 * len(chunk)
    progress.stop = True
    client.transport.resumeProducing()
    await progress.done
    (response,) = await client.wait_responses(1)
    assert len(response.body) == progress.written


@pytest_twisted.ensureDeferred
async def test_handler_flush_waits_for_the_client_to_read(listener):
    progress = _StreamProgress()

    class Producer(RequestHandler):
        async def get(self):
            _small_socket_buffers(client, self.request.connection.transport)
            while not progress.stop:
                self.write(b"y" * 65536)
                progress.written += 65536
                d = self.flush()
                if not d.called:
                    progress.waiting()
                await d

    port = listener.listen(Router([("/", Producer)]))
    client = await listener.connect(port)
    _small_socket_buffers(client)
    client.transport.pauseProducing()
    client.send(GOOD)
    await progress.lasting_stall()
    progress.stop = True
    client.transport.resumeProducing()
    (response,) = await client.wait_responses(1)
    assert len(response.body) == progress.written


# -- malformed input over the wire -----------------------------------------------------------


@pytest.mark.parametrize(
    "data,status",
    [
        (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"b" * 70000 + b"\r\n\r\n", 431),
    ],
    ids=lambda value: str(value) if isinstance(value, int) else repr(value[:40]),
)
@pytest_twisted.ensureDeferred
async def test_malformed_request_gets_its_status_and_a_close_while_others_are_served(
    listener, data, status
):
    port = listener.listen(HTTPServer(echo))
    good = await listener.connect(port)
    bad = await listener.connect(port)
    bad.send(data)
    (response,) = await bad.wait_responses(1)
    assert response.status == status
    assert response.headers["Connection"] == "close"
    await bad.wait_closed()
    good.send(GOOD)
    assert (await good.wait_responses(1))[0].status == 200


@pytest_twisted.ensureDeferred
async def test_malformed_chunk_after_the_response_started_aborts(listener):
    started = defer.Deferred()

    def answer(request):
        request.connection.write_headers(200, "OK", HTTPHeaders())
        started.callback(None)

    class Streaming:
        def start_request(self, request):
            return self

        def headers_received(self, request):
            answer(request)

        def data_received(self, chunk):
            pass

        def finish(self):
            pass

        def on_connection_close(self):
            pass

    port = listener.listen(HTTPServer(Streaming()))
    client = await listener.connect(port)
    client.send(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
    await started
    client.send(b"zz\r\n")
    await client.wait_closed()
    assert client.data.startswith(b"HTTP/1.1 200 OK\r\n")


# -- timeouts, over real sockets and with a Clock ------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_slow_header_trickle_gets_408_after_the_total_deadline(listener):
    port = listener.listen(HTTPServer(echo, header_timeout=0.5))
    client = await listener.connect(port)
    trickle = iter(b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"z" * 1000)
    sender = task.LoopingCall(lambda: client.send(bytes([next(trickle)])))
    sender.start(0.05)
    try:
        (response,) = await client.wait_responses(1)
    finally:
        sender.stop()
    assert response.status == 408
    await client.wait_closed()


def _clock_connection(server):
    connection = server.buildProtocol(IPv4Address("TCP", "127.0.0.1", 50000))
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 50000))
    connection.makeConnection(transport)
    return connection, transport


def test_header_timeout_is_a_total_deadline_despite_activity():
    clock = task.Clock()
    server = HTTPServer(echo, header_timeout=1.0, clock=clock)
    connection, transport = _clock_connection(server)
    for byte in b"GET / HTTP/1.1\r\nHost: a":
        connection.dataReceived(bytes([byte]))
        clock.advance(0.1)
        if transport.value():
            break
    assert transport.value().startswith(b"HTTP/1.1 408 ")
    assert transport.disconnecting
    server.stopFactory()


def test_idle_connection_timeout_closes_a_silent_connection():
    clock = task.Clock()
    server = HTTPServer(echo, idle_connection_timeout=2.0, clock=clock)
    connection, transport = _clock_connection(server)
    clock.advance(1.5)
    assert not transport.disconnecting
    clock.advance(1.0)
    assert transport.disconnecting
    assert transport.value() == b""
    server.stopFactory()


def test_idle_connection_timeout_restarts_after_each_response():
    clock = task.Clock()
    server = HTTPServer(echo, idle_connection_timeout=2.0, clock=clock)
    connection, transport = _clock_connection(server)
    clock.advance(1.5)
    connection.dataReceived(GOOD)
    assert transport.value().startswith(b"HTTP/1.1 200 ")
    clock.advance(1.5)
    assert not transport.disconnecting
    clock.advance(1.0)
    assert transport.disconnecting
    server.stopFactory()


def test_body_timeout_answers_408_when_the_body_stops_arriving():
    clock = task.Clock()
    recorder = Recorder()
    server = HTTPServer(recorder, body_timeout=1.0, clock=clock)
    connection, transport = _clock_connection(server)
    connection.dataReceived(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
    clock.advance(0.5)
    assert not transport.disconnecting
    clock.advance(1.0)
    assert transport.value().startswith(b"HTTP/1.1 408 ")
    assert transport.disconnecting
    assert recorder.requests == []
    server.stopFactory()


def test_a_handler_taking_its_time_is_not_a_timeout():
    clock = task.Clock()
    held = []
    server = HTTPServer(
        held.append, header_timeout=1.0, body_timeout=1.0, idle_connection_timeout=1.0, clock=clock
    )
    connection, transport = _clock_connection(server)
    connection.dataReceived(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok")
    clock.advance(10)
    assert not transport.disconnecting
    echo(held[0])
    assert transport.value().startswith(b"HTTP/1.1 200 ")
    server.stopFactory()


def test_router_settings_configure_the_server_limits():
    clock = task.Clock()
    router = Router(
        [],
        max_body_size=10,
        max_header_size=2048,
        header_timeout=1.0,
        body_timeout=2.0,
        idle_connection_timeout=3.0,
        clock=clock,
    )
    assert (router.max_body_size, router.max_header_size) == (10, 2048)
    assert (router.header_timeout, router.body_timeout, router.idle_connection_timeout) == (
        1.0,
        2.0,
        3.0,
    )
    connection, transport = _clock_connection(router)
    connection.dataReceived(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n")
    assert transport.value().startswith(b"HTTP/1.1 413 ")
    connection, transport = _clock_connection(router)
    connection.dataReceived(b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * 3000 + b"\r\n\r\n")
    assert transport.value().startswith(b"HTTP/1.1 431 ")
    connection, transport = _clock_connection(router)
    connection.dataReceived(b"GET / HT")
    clock.advance(1.5)
    assert transport.value().startswith(b"HTTP/1.1 408 ")
    router.stopFactory()


# -- TLS and unix sockets ----------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_https_requests_have_protocol_https(listener, tls_certificate):
    certificate = tls_certificate
    recorder = Recorder()
    port = reactor.listenSSL(0, HTTPServer(recorder), certificate.options(), interface="127.0.0.1")
    listener.track(port)
    trust = ssl.optionsForClientTLS("localhost", ssl.Certificate(certificate.original))
    endpoint = endpoints.wrapClientTLS(
        trust, endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
    )
    client = await listener.connect_endpoint(endpoint)
    client.send(b"GET /tls HTTP/1.1\r\nHost: localhost\r\n\r\n")
    (response,) = await client.wait_responses(1)
    assert response.body == b"GET /tls "
    assert recorder.requests[0].protocol == "https"
    assert recorder.requests[0].full_url() == "https://localhost/tls"


@pytest_twisted.ensureDeferred
async def test_router_is_served_over_a_unix_socket(listener):
    class Hello(RequestHandler):
        def get(self):
            self.write({"remote_ip": self.request.remote_ip, "host": self.request.host})

    # AF_UNIX paths are limited to ~100 bytes: pytest's tmp_path can be longer.
    directory = tempfile.mkdtemp(prefix="cyclone-", dir="/tmp")
    path = os.path.join(directory, "http.sock")
    port = await endpoints.serverFromString(reactor, f"unix:{path}").listen(
        Router([("/hello", Hello)])
    )
    listener.track(port)
    endpoint = endpoints.clientFromString(reactor, f"unix:path={path}")
    client = await listener.connect_endpoint(endpoint)
    client.send(b"GET /hello HTTP/1.1\r\nHost: unix\r\n\r\n")
    (response,) = await client.wait_responses(1)
    assert response.status == 200
    assert b'"host":"unix"' in response.body


# -- more connection behaviour ------------------------------------------------------------------


@pytest.fixture
def logged_failures():
    """Every failure logged through twisted.logger while the test runs."""
    from twisted.logger import globalLogPublisher

    failures = []

    def observer(event):
        if event.get("log_failure") is not None:
            failures.append(event)

    globalLogPublisher.addObserver(observer)
    try:
        yield failures
    finally:
        globalLogPublisher.removeObserver(observer)


@pytest_twisted.ensureDeferred
async def test_client_leaving_during_a_streamed_response_ends_the_handler_loop(listener):
    streaming = defer.Deferred()
    closed = defer.Deferred()
    outcome = defer.Deferred()

    class Streamer(RequestHandler):
        async def get(self):
            try:
                while True:
                    self.write(b"z" * 65536)
                    await self.flush()
                    if not streaming.called:
                        streaming.callback(None)
            except Exception as error:
                outcome.callback(error)
                raise

        def on_connection_close(self):
            closed.callback(None)

    port = listener.listen(Router([("/", Streamer)]))
    client = await listener.connect(port)
    _small_socket_buffers(client)
    client.send(GOOD)
    await streaming
    client.transport.abortConnection()
    await closed
    error = await outcome
    # The flush it waits on is cancelled (cancel_on_disconnect); ConnectionLost without it.
    assert isinstance(error, defer.CancelledError)


@pytest_twisted.ensureDeferred
async def test_detach_hands_the_socket_and_buffered_bytes_to_another_protocol(listener):
    class Echo(protocol.Protocol):
        def dataReceived(self, data):
            self.transport.write(data.upper())

    def upgrade(request):
        headers = HTTPHeaders({"Upgrade": "echo", "Connection": "Upgrade"})
        request.connection.write_headers(101, "Switching Protocols", headers)
        request.connection.detach(Echo())

    port = listener.listen(HTTPServer(upgrade))
    client = await listener.connect(port)
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly")
    await client.wait_until(lambda: client.data.endswith(b"EARLY"))
    client.send(b"later")
    await client.wait_until(lambda: client.data.endswith(b"LATER"))
    assert client.data.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")


@pytest_twisted.ensureDeferred
async def test_answering_before_the_body_is_read_closes_the_connection(listener):
    class Early:
        def start_request(self, request):
            return self

        def headers_received(self, request):
            headers = HTTPHeaders({"Content-Length": "2"})
            request.connection.write_headers(403, "Forbidden", headers, b"no")
            request.connection.finish()

        def data_received(self, chunk):
            raise AssertionError("the body of a refused request must not be delivered")

        def finish(self):
            pass

        def on_connection_close(self):
            pass

    port = listener.listen(HTTPServer(Early()))
    client = await listener.connect(port)
    client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n")
    (response,) = await client.wait_responses(1)
    assert response.status == 403
    assert response.headers["Connection"] == "close"
    await client.wait_closed()


@pytest_twisted.ensureDeferred
async def test_no_body_statuses_send_no_body(listener):
    def answer(request):
        status = int(request.path[1:])
        request.connection.write_headers(status, None, HTTPHeaders())
        request.connection.finish()

    port = listener.listen(HTTPServer(answer))
    client = await listener.connect(port)
    client.send(b"GET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\n")
    first, second = await client.wait_responses(2)
    assert (first.status, second.status) == (204, 304)
    assert "Transfer-Encoding" not in first.headers
    client.send(b"GET /200 HTTP/1.1\r\nHost: a\r\n\r\n")
    third = (await client.wait_responses(3))[2]
    assert third.status == 200
    assert third.chunked and third.body == b""


@pytest_twisted.ensureDeferred
async def test_pipelined_flood_from_a_client_that_does_not_read_is_not_buffered(listener):
    connections = []

    def answer(request):
        connections.append(request.connection.stream)
        request.write(b"r" * 8192)
        request.finish()

    server = HTTPServer(answer)
    port = listener.listen(server)
    client = await listener.connect(port)
    _small_socket_buffers(client)
    client.transport.pauseProducing()
    flood = GOOD * 20000  # 700 KB of requests, 160 MB of answers
    client.send(flood)
    await _sleep(0.3)
    served = len(connections)
    assert served < 20000
    connection = connections[0]
    assert connection._parser.buffered <= server.max_header_size + 256 * 1024
    assert _buffered(connection.transport) <= 256 * 1024
    client.transport.abortConnection()


@pytest_twisted.ensureDeferred
async def test_a_plain_callback_that_raises_gets_a_500_and_is_logged(listener, logged_failures):
    def broken(request):
        raise RuntimeError("boom")

    client, response = await get_one(listener, HTTPServer(broken))
    assert response.status == 500
    assert b"boom" not in response.body
    assert any(isinstance(e["log_failure"].value, RuntimeError) for e in logged_failures)
    await client.wait_closed()


@pytest_twisted.ensureDeferred
async def test_close_callback_runs_when_the_client_leaves_before_the_answer(listener):
    called = defer.Deferred()

    def answer(request):
        request.connection.set_close_callback(lambda: called.callback(request))

    port = listener.listen(HTTPServer(answer))
    client = await listener.connect(port)
    client.send(GOOD)
    await client.wait_until(lambda: True)
    await _sleep(0.05)
    client.transport.loseConnection()
    request = await called
    assert request.connection.client_disconnected


@pytest_twisted.ensureDeferred
async def test_malformed_request_over_tls_gets_its_status_and_a_close(listener, tls_certificate):
    certificate = tls_certificate
    port = reactor.listenSSL(0, HTTPServer(echo), certificate.options(), interface="127.0.0.1")
    listener.track(port)
    trust = ssl.optionsForClientTLS("localhost", ssl.Certificate(certificate.original))
    endpoint = endpoints.wrapClientTLS(
        trust, endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
    )
    client = await listener.connect_endpoint(endpoint)
    client.send(GOOD + b"GET / HTTP/2.0\r\nHost: a\r\n\r\n")
    ok, error = await client.wait_responses(2)
    assert (ok.status, error.status) == (200, 505)
    await client.wait_closed()


@pytest_twisted.ensureDeferred
async def test_streaming_handler_refused_with_413_hears_the_connection_close(listener):
    events = []
    closed = defer.Deferred()

    @stream_request_body
    class Upload(RequestHandler):
        def prepare(self):
            events.append("prepare")

        def data_received(self, chunk):
            events.append("data")

        def put(self):
            events.append("put")

        def on_connection_close(self):
            events.append("close")
            closed.callback(None)

    port = listener.listen(Router([("/", Upload)], max_body_size=10))
    client = await listener.connect(port)
    client.send(b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
    (response,) = await client.wait_responses(1)
    assert response.status == 413
    await closed
    assert events == ["prepare", "close"]


@pytest_twisted.ensureDeferred
async def test_streaming_handler_may_raise_the_body_limit_in_prepare(listener):
    received = []

    @stream_request_body
    class Upload(RequestHandler):
        def prepare(self):
            self.request.connection.set_max_body_size(1000)

        def data_received(self, chunk):
            received.append(chunk)

        def put(self):
            self.write(str(sum(map(len, received))))

    _, response = await get_one(
        listener,
        Router([("/", Upload)], max_body_size=10),
        b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + b"u" * 100,
    )
    assert (response.status, response.body) == (200, b"100")


def test_header_timeout_of_a_kept_alive_connection_counts_from_the_next_first_byte():
    clock = task.Clock()
    server = HTTPServer(echo, header_timeout=1.0, idle_connection_timeout=10.0, clock=clock)
    connection, transport = _clock_connection(server)
    connection.dataReceived(GOOD)
    transport.clear()
    clock.advance(5)
    connection.dataReceived(b"GET /second HTTP/1.1\r\n")
    clock.advance(0.5)
    assert not transport.disconnecting
    connection.dataReceived(b"Host: a\r\n\r\n")
    assert transport.value().startswith(b"HTTP/1.1 200 ")
    transport.clear()
    connection.dataReceived(b"GET /third HTTP/1.1\r\n")
    clock.advance(1.5)
    assert transport.value().startswith(b"HTTP/1.1 408 ")
    server.stopFactory()


def test_pipelined_request_waiting_behind_a_slow_answer_is_not_timed_out():
    clock = task.Clock()
    held = []
    server = HTTPServer(held.append, header_timeout=1.0, clock=clock)
    connection, transport = _clock_connection(server)
    connection.dataReceived(GOOD + b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
    clock.advance(5)
    assert not transport.disconnecting
    echo(held[0])
    echo(held[1])
    responses = transport.value().count(b"HTTP/1.1 200 ")
    assert responses == 2
    server.stopFactory()


@pytest.mark.parametrize(
    "name,value,reason",
    [
        ("X-A", "a\r\nSet-Cookie: evil=1", None),
        ("X-A", "a\nb", None),
        ("X-A", "a\rb", None),
        ("X-A\r\nX-B", "c", None),
        ("X-A", "ok", "OK\r\nSet-Cookie: evil=1"),
    ],
)
def test_write_headers_refuses_cr_and_lf_inside_header_lines(name, value, reason):
    errors = []

    def answer(request):
        headers = HTTPHeaders()
        headers.add(name, value)
        with pytest.raises(ValueError, match="CR or LF"):
            request.connection.write_headers(200, reason, headers)
        errors.append(True)
        request.connection.write_headers(200, "OK", HTTPHeaders({"Content-Length": "0"}))
        request.connection.finish()

    server = HTTPServer(answer, clock=task.Clock())
    connection, transport = _clock_connection(server)
    connection.dataReceived(GOOD)
    assert errors == [True]
    assert b"evil" not in transport.value()
    assert transport.value().startswith(b"HTTP/1.1 200 OK\r\n")
    server.stopFactory()


class _StreamingDelegate:
    """A minimal delegate (like a WebSocket or RPC layer) whose body hooks can fail."""

    def __init__(self, fail_in: str, answer_first: bool = False):
        self.fail_in = fail_in
        self.answer_first = answer_first
        self.events: list[str] = []

    def start_request(self, request):
        self.request = request
        return self

    def headers_received(self, request):
        if self.answer_first:
            request.connection.write_headers(200, "OK", HTTPHeaders())
            request.connection.write(b"partial")

    def data_received(self, chunk):
        if self.fail_in == "data_received":
            raise RuntimeError("data_received failed")
        if self.fail_in == "deferred":
            return defer.fail(RuntimeError("async data_received failed"))
        return None

    def finish(self):
        if self.fail_in == "finish":
            raise RuntimeError("finish failed")

    def on_connection_close(self):
        self.events.append("close")


@pytest.mark.parametrize("fail_in", ["data_received", "deferred", "finish"])
def test_a_delegate_that_fails_before_answering_gets_a_500(fail_in, logged_failures):
    delegate = _StreamingDelegate(fail_in)
    server = HTTPServer(delegate, clock=task.Clock())
    connection, transport = _clock_connection(server)
    connection.dataReceived(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
    assert transport.value().startswith(b"HTTP/1.1 500 ")
    assert transport.disconnecting
    assert delegate.events == ["close"]
    assert logged_failures
    delegate.request.connection.write(b"ignored")
    server.stopFactory()


@pytest.mark.parametrize("fail_in", ["data_received", "deferred", "finish"])
def test_a_delegate_that_fails_after_answering_aborts_without_a_second_head(fail_in):
    delegate = _StreamingDelegate(fail_in, answer_first=True)
    server = HTTPServer(delegate, clock=task.Clock())
    connection, transport = _clock_connection(server)
    connection.dataReceived(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
    assert transport.value().count(b"HTTP/1.1 ") == 1
    assert b"500" not in transport.value()
    assert transport.disconnecting
    server.stopFactory()


def test_max_body_size_zero_refuses_any_body():
    server = HTTPServer(echo, max_body_size=0, clock=task.Clock())
    assert server.max_body_size == 0
    connection, transport = _clock_connection(server)
    connection.dataReceived(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")
    assert transport.value().startswith(b"HTTP/1.1 413 ")
    server.stopFactory()


def test_limits_left_unset_get_the_documented_defaults():
    server = HTTPServer(echo)
    assert (server.max_header_size, server.max_body_size) == (64 * 1024, 100 * 1024 * 1024)


# -- what the direct-send optimisation relies on ----------------------------------------------


class _FakeSocket:
    """A socket whose send/sendmsg take ``accept`` bytes (or raise ``error``), recording calls."""

    def __init__(self, accept: int | None = None, error: Exception | None = None):
        self.accept = accept
        self.error = error
        self.calls: list[list[bytes]] = []

    def _take(self, parts: list[bytes]) -> int:
        self.calls.append(list(parts))
        if self.error is not None:
            raise self.error
        total = sum(map(len, parts))
        return total if self.accept is None else min(self.accept, total)

    def send(self, data: bytes) -> int:
        return self._take([data])

    def sendmsg(self, parts: list[bytes]) -> int:
        return self._take(parts)


class _WriteBufferTransport:
    """The fields of Twisted's FileDescriptor that `_transport_idle` reads, and its writes."""

    def __init__(self, queued: bytes = b""):
        self._tempDataLen = 0
        self.offset = 0
        self.dataBuffer = queued
        self.connected = True
        self.disconnecting = False
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def writeSequence(self, parts: list[bytes]) -> None:
        self.written.extend(parts)


def _direct_connection(sock: _FakeSocket, queued: bytes = b"") -> HTTPConnection:
    connection = HTTPConnection()
    connection.transport = _WriteBufferTransport(queued)
    connection._socket = sock
    return connection


@pytest.mark.parametrize(
    "accepted,left_for_the_transport",
    [
        (0, [b"abc", b"defg", b"hi"]),
        (2, [b"c", b"defg", b"hi"]),
        (3, [b"defg", b"hi"]),
        (5, [b"fg", b"hi"]),
        (8, [b"i"]),
        (9, []),
    ],
)
def test_scatter_gather_send_gives_the_transport_exactly_what_the_kernel_did_not_take(
    accepted, left_for_the_transport
):
    connection = _direct_connection(_FakeSocket(accept=accepted))
    connection._send_sequence([b"abc", b"defg", b"hi"])
    assert connection.transport.written == left_for_the_transport
    assert connection._handed == sum(map(len, left_for_the_transport))


@pytest.mark.parametrize("error", [BlockingIOError(), InterruptedError(), OSError("reset")])
def test_a_send_the_kernel_refuses_goes_whole_to_the_transport(error):
    connection = _direct_connection(_FakeSocket(error=error))
    connection._send_sequence([b"abc", b"de"])
    connection._send(b"fgh")
    assert connection.transport.written == [b"abc", b"de", b"fgh"]
    assert connection._handed == 8


def test_a_partial_plain_send_leaves_the_rest_to_the_transport():
    connection = _direct_connection(_FakeSocket(accept=2))
    connection._send(b"hello")
    assert connection.transport.written == [b"llo"]
    assert connection._handed == 3


def test_nothing_is_sent_directly_while_the_transport_has_bytes_queued():
    sock = _FakeSocket()
    connection = _direct_connection(sock, queued=b"earlier")
    connection._send(b"later")
    connection._send_sequence([b"a", b"b"])
    assert sock.calls == []  # sending now would overtake the queued bytes
    assert connection.transport.written == [b"later", b"a", b"b"]


@pytest_twisted.ensureDeferred
async def test_twisted_tcp_transports_still_have_the_fields_direct_sends_read(listener):
    """Fails loudly if a Twisted release renames FileDescriptor's write-buffer fields."""
    from cyclone.httpserver import _direct_socket, _unsent_bytes

    seen: list = []

    def answer(request):
        transport = request.connection.transport
        seen.append((_direct_socket(transport), transport.socket, _unsent_bytes(transport)))
        request.finish()

    client = await listener.connect(listener.listen(HTTPServer(answer)))
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await client.wait_responses(1)
    [(direct, sock, unsent)] = seen
    assert direct is sock is not None
    assert unsent == 0


@pytest_twisted.ensureDeferred
async def test_twisted_tls_transports_still_show_their_queue(listener, tls_certificate):
    """The write timeout reads the TLS layer's cleartext queue (``_appSendBuffer``)."""
    from cyclone.httpserver import _direct_socket, _unsent_bytes

    seen: list = []

    def answer(request):
        transport = request.connection.transport
        seen.append((_direct_socket(transport), _unsent_bytes(transport)))
        request.finish()

    port = reactor.listenSSL(
        0, HTTPServer(answer), tls_certificate.options(), interface="127.0.0.1"
    )
    listener.track(port)
    trust = ssl.optionsForClientTLS("localhost", ssl.Certificate(tls_certificate.original))
    endpoint = endpoints.wrapClientTLS(
        trust, endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
    )
    client = await listener.connect_endpoint(endpoint)
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    await client.wait_responses(1)
    [(direct, unsent)] = seen
    assert direct is None  # TLS always goes through transport.write
    assert isinstance(unsent, int)


def test_a_transport_without_twisteds_write_buffer_fields_gets_every_byte_by_write():
    from cyclone.httpserver import _direct_socket, _unsent_bytes

    server = HTTPServer(echo, clock=task.Clock())
    connection, transport = _clock_connection(server)
    assert _direct_socket(transport) is None and connection._socket is None
    assert _unsent_bytes(transport) is None
    connection.dataReceived(GOOD)
    assert transport.value().startswith(b"HTTP/1.1 200 OK\r\n")
    server.stopFactory()


# -- cyclone 1.3's names ------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_requests_are_cyclone_1_3_http_request_objects_with_its_attributes(listener):
    from cyclone.httpserver import HTTPRequest

    seen = {}

    def answer(request):
        seen.update(
            is_http_request=isinstance(request, HTTPRequest),
            method=request.method,
            uri=request.uri,
            path=request.path,
            query=request.query,
            version=request.version,
            content_type=request.headers["Content-Type"],
            body=request.body,
            remote_ip=request.remote_ip,
            protocol=request.protocol,
            host=request.host,
            arguments=request.arguments,
            files=request.files,
            has_connection=request.connection is not None,
            http_1_1=request.supports_http_1_1(),
            full_url=request.full_url(),
            cookie=request.cookies["session"].value,
        )
        elapsed = request.request_time()
        seen["request_time_is_seconds"] = 0 <= elapsed < 60
        request.notifyFinish().addCallback(lambda _: seen.setdefault("notified", True))
        request.write(b"written,")
        request.finish()

    body = b"name=value"
    client, response = await get_one(
        listener,
        HTTPServer(answer),
        b"POST /form?q=1&q=2 HTTP/1.1\r\nHost: example.com:8080\r\nCookie: session=abc\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\n" + body,
    )
    assert (response.status, response.body) == (200, b"written,")
    assert seen == {
        "is_http_request": True,
        "method": "POST",
        "uri": "/form?q=1&q=2",
        "path": "/form",
        "query": "q=1&q=2",
        "version": "HTTP/1.1",
        "content_type": "application/x-www-form-urlencoded",
        "body": body,
        "remote_ip": "127.0.0.1",
        "protocol": "http",
        "host": "example.com:8080",
        "arguments": {"q": [b"1", b"2"], "name": [b"value"]},
        "files": {},
        "has_connection": True,
        "http_1_1": True,
        "full_url": "http://example.com:8080/form?q=1&q=2",
        "cookie": "abc",
        "request_time_is_seconds": True,
        "notified": True,
    }


# -- client certificates (Tornado's get_ssl_certificate) --------------------------------------


async def _tls_exchange(listener, server_options, client_options, answer):
    port = reactor.listenSSL(0, HTTPServer(answer), server_options, interface="127.0.0.1")
    listener.track(port)
    endpoint = endpoints.wrapClientTLS(
        client_options, endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
    )
    client = await listener.connect_endpoint(endpoint)
    client.send(b"GET /whoami HTTP/1.1\r\nHost: localhost\r\n\r\n")
    (response,) = await client.wait_responses(1)
    return response


def _certificate_answer(seen):
    def answer(request):
        seen["dict"] = request.get_ssl_certificate()
        seen["der"] = request.get_ssl_certificate(binary_form=True)
        request.write(b"ok")
        request.finish()

    return answer


@pytest_twisted.ensureDeferred
async def test_get_ssl_certificate_returns_the_verified_client_certificate(
    listener, tls_certificate, client_certificate, tmp_path
):
    import ssl as stdlib_ssl

    from cryptography.hazmat.primitives import serialization

    server_options = ssl.CertificateOptions(
        privateKey=tls_certificate.privateKey.original,
        certificate=tls_certificate.original,
        verify=True,
        requireCertificate=True,
        caCerts=[client_certificate.original],
    )
    client_options = ssl.optionsForClientTLS(
        "localhost",
        trustRoot=ssl.Certificate(tls_certificate.original),
        clientCertificate=client_certificate,
    )
    seen = {}
    response = await _tls_exchange(
        listener, server_options, client_options, _certificate_answer(seen)
    )
    assert (response.status, response.body) == (200, b"ok")
    sent = client_certificate.original.to_cryptography()
    assert seen["der"] == sent.public_bytes(serialization.Encoding.DER)
    pem = tmp_path / "client.pem"
    pem.write_bytes(sent.public_bytes(serialization.Encoding.PEM))
    # What Python's ssl module (and so Tornado) makes of the same certificate.
    assert seen["dict"] == stdlib_ssl._ssl._test_decode_cert(str(pem))
    assert seen["dict"]["subject"] == ((("commonName", "client one"),),)


@pytest_twisted.ensureDeferred
async def test_get_ssl_certificate_is_none_without_a_client_certificate_or_without_tls(
    listener, tls_certificate
):
    seen = {}
    trust = ssl.optionsForClientTLS("localhost", ssl.Certificate(tls_certificate.original))
    response = await _tls_exchange(
        listener, tls_certificate.options(), trust, _certificate_answer(seen)
    )
    assert response.status == 200
    assert seen == {"dict": None, "der": None}
    seen.clear()
    _, response = await get_one(listener, HTTPServer(_certificate_answer(seen)))
    assert response.status == 200
    assert seen == {"dict": None, "der": None}
