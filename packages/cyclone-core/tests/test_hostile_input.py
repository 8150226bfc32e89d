"""Attacks on the HTTP server over real sockets: each test performs one and checks what is left.

Where memory or sockets are the point, the tests look at what the server holds
(bytes queued, buffered, open file descriptors, socket states), never at how
long something took.
"""

from __future__ import annotations

import gc
import socket
import tracemalloc

import pytest
import pytest_twisted
from twisted.internet import defer, endpoints, protocol, reactor, ssl, task
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionLost
from twisted.internet.testing import StringTransport

from cyclone.handler import RequestHandler
from cyclone.httpserver import HTTPServer, _unsent_bytes
from cyclone.httputil import HTTPHeaders
from cyclone.routing import Router

#: What hostile_server.py's /big answers by default.
BIG = 1 << 20
#: Seconds a blocking socket (or a wait for the server) lasts before the test fails.
WAIT_TIMEOUT = 10.0
#: A kernel send buffer small enough that a few MiB of response always wait in Twisted.
SMALL_KERNEL_BUFFER = 64 * 1024
GOOD = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def echo(request):
    request.write(f"{request.method} {request.uri} ".encode() + request.body)
    request.finish()


async def _until(predicate, what: str) -> None:
    """Let the reactor run until ``predicate()`` holds; fail after WAIT_TIMEOUT seconds."""
    for _ in range(int(WAIT_TIMEOUT / 0.01)):
        if predicate():
            return
        await task.deferLater(reactor, 0.01, lambda: None)
    raise AssertionError(f"timed out waiting until {what}")


def _clock_connection(server):
    """A connection of ``server`` over a StringTransport (deadlines driven by the server's Clock)."""
    peer = IPv4Address("TCP", "127.0.0.1", 50000)
    connection = server.buildProtocol(peer)
    transport = StringTransport(peerAddress=peer)
    connection.makeConnection(transport)
    return connection, transport


def _raw_client(port: int, receive_buffer: int = 16 * 1024) -> socket.socket:
    """A blocking client socket with a small receive buffer (it may never read)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(WAIT_TIMEOUT)
    sock.connect(("127.0.0.1", port))
    return sock


def _answer_big(size: int, queued: list[int | None] | None = None):
    """A request callback answering ``size`` bytes after shrinking the kernel send buffer."""

    def answer(request):
        transport = request.connection.transport
        transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_KERNEL_BUFFER)
        headers = HTTPHeaders({"Content-Length": str(size)})
        request.connection.write_headers(200, "OK", headers, b"x" * size)
        if queued is not None:
            queued.append(_unsent_bytes(transport))
        request.finish()

    return answer


def _read_response(sock: socket.socket) -> tuple[bytes, int]:
    """Read one response with a Content-Length from a blocking socket: (head, body length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before the response head: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    received = len(body)
    while received < length:
        chunk = sock.recv(1 << 20)
        assert chunk, f"closed after {received} of {length} body bytes"
        received += len(chunk)
    return head, received


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), WAIT_TIMEOUT)
    sock.settimeout(WAIT_TIMEOUT)
    return sock


# -- 1. a closing connection with a large response must not leak its socket ---------------------

CLOSING_REQUESTS = {
    "connection-close": (b"GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", {}),
    "http-1.0": (b"GET /big HTTP/1.0\r\n\r\n", {}),
    "no-keep-alive": (b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n", {"no_keep_alive": True}),
}


def _assert_no_socket_left(server, baseline_fds: int) -> None:
    def settled() -> bool:
        return server.sockets_in_close_wait() == 0 and server.open_fds() == baseline_fds

    server.wait_for(settled)
    assert server.sockets_in_close_wait() == 0
    assert server.open_fds() == baseline_fds


@pytest.mark.parametrize("path", sorted(CLOSING_REQUESTS))
def test_closing_connections_with_large_responses_leave_no_socket_open(server_process, path):
    request, settings = CLOSING_REQUESTS[path]
    server = server_process(**settings)
    baseline_fds = server.open_fds()
    for _ in range(100):
        with _connect(server.port) as sock:
            sock.sendall(request)
            head, received = _read_response(sock)
            assert head.startswith(b"HTTP/1.1 200 ") and received == BIG
    _assert_no_socket_left(server, baseline_fds)


def test_graceful_shutdown_with_large_responses_leaves_no_socket_open(server_process):
    server = server_process()
    baseline_fds = server.open_fds()
    clients = [_connect(server.port) for _ in range(100)]
    try:
        for sock in clients:
            sock.sendall(b"GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
        assert server.wait_for(lambda: server.control("status")["held"] == 100)
        server.control("shutdown")
        server.control("release")
        for sock in clients:
            head, received = _read_response(sock)
            assert b"\r\nConnection: close" in head and received == BIG
    finally:
        for sock in clients:
            sock.close()
    assert server.wait_for(lambda: server.control("status")["shutdown_finished"])
    _assert_no_socket_left(server, baseline_fds)


@pytest_twisted.ensureDeferred
async def test_connection_close_over_tls_is_closed_by_the_server(listener, tls_certificate):
    certificate = tls_certificate
    server = HTTPServer(echo)
    port = reactor.listenSSL(0, server, certificate.options(), interface="127.0.0.1")
    listener.track(port)
    trust = ssl.optionsForClientTLS("localhost", ssl.Certificate(certificate.original))
    endpoint = endpoints.wrapClientTLS(
        trust, endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
    )
    client = await listener.connect_endpoint(endpoint)
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    (response,) = await client.wait_responses(1)
    assert response.headers["Connection"] == "close"
    await client.wait_closed()
    await _until(lambda: not server.connections, "the server closed its side")


# -- 1. the write timeout: a client that takes none of its response is disconnected ---------------


def test_a_response_finished_while_the_buffer_is_full_closes_once_drained():
    held = []
    server = HTTPServer(held.append, clock=task.Clock())
    connection, transport = _clock_connection(server)
    connection.dataReceived(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    connection.pauseProducing()  # what the transport does when its buffer is over the mark
    held[0].write(b"answer")
    held[0].finish()
    # A transport with a producer registered resumes it after draining instead of closing.
    assert transport.producer is None
    assert transport.disconnecting
    server.stopFactory()


def test_write_timeout_aborts_a_client_that_takes_no_bytes_of_a_response():
    clock = task.Clock()
    held = []
    server = HTTPServer(held.append, write_timeout=10, clock=clock)
    connection, transport = _clock_connection(server)
    connection.dataReceived(GOOD)
    held[0].connection.write_headers(200, "OK", HTTPHeaders(), b"x" * 1000)
    connection.pauseProducing()
    clock.advance(9)
    assert not transport.disconnecting
    clock.advance(2)
    assert transport.disconnected  # aborted, not closed politely
    server.stopFactory()


def test_write_timeout_starts_again_whenever_the_buffer_drained():
    clock = task.Clock()
    held = []
    server = HTTPServer(held.append, write_timeout=10, clock=clock)
    connection, transport = _clock_connection(server)
    connection.dataReceived(GOOD)
    held[0].connection.write_headers(200, "OK", HTTPHeaders(), b"x" * 1000)
    connection.pauseProducing()
    clock.advance(8)
    connection.resumeProducing()
    connection.pauseProducing()
    clock.advance(8)
    assert not transport.disconnecting
    clock.advance(3)
    assert transport.disconnected
    server.stopFactory()


def test_write_timeout_watches_a_connection_closing_with_bytes_queued():
    clock = task.Clock()
    held = []
    server = HTTPServer(held.append, write_timeout=10, idle_connection_timeout=0, clock=clock)
    connection, transport = _clock_connection(server)
    connection.dataReceived(b"GET / HTTP/1.0\r\n\r\n")
    connection.pauseProducing()
    held[0].write(b"x" * 1000)
    held[0].finish()
    assert transport.disconnecting and not transport.disconnected
    clock.advance(11)
    assert transport.disconnected
    server.stopFactory()


def test_write_timeout_of_zero_is_off():
    clock = task.Clock()
    held = []
    server = HTTPServer(held.append, write_timeout=0, idle_connection_timeout=0, clock=clock)
    connection, transport = _clock_connection(server)
    connection.dataReceived(GOOD)
    held[0].connection.write_headers(200, "OK", HTTPHeaders(), b"x")
    connection.pauseProducing()
    clock.advance(10_000)
    assert not transport.disconnecting
    server.stopFactory()


def test_write_timeout_and_max_header_count_are_server_and_application_settings():
    server = HTTPServer(echo)
    assert (server.write_timeout, server.max_header_count) == (60.0, 100)
    router = Router([], write_timeout=5, max_header_count=20)
    assert (router.write_timeout, router.max_header_count) == (5, 20)


def test_max_connections_is_off_by_default_and_a_server_and_application_setting():
    assert HTTPServer(echo).max_connections is None
    assert Router([], max_connections=500).max_connections == 500
    with pytest.raises(ValueError, match="max_connections must be at least 1"):
        HTTPServer(echo, max_connections=0)


@pytest.mark.parametrize(
    "request_bytes",
    [GOOD, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"],
    ids=["keep-alive", "connection-close"],
)
@pytest_twisted.ensureDeferred
async def test_a_client_that_never_reads_is_disconnected_after_the_write_timeout(
    listener, request_bytes
):
    size = 4 << 20
    queued: list[int | None] = []
    server = HTTPServer(_answer_big(size, queued), write_timeout=0.3)
    port = listener.listen(server)
    with _raw_client(port) as sock:
        sock.sendall(request_bytes)
        await _until(lambda: queued and not server.connections, "the server closed the connection")
        # Most of the response waited in the server's buffer for a client that never read.
        assert queued[0] is not None and queued[0] > size // 2
        received = 0
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            pass
    assert received < size


@pytest_twisted.ensureDeferred
async def test_a_tls_client_that_never_reads_is_disconnected_after_the_write_timeout(
    listener, tls_certificate
):
    size = 8 << 20
    queued: list[int | None] = []

    def answer(request):
        headers = HTTPHeaders({"Content-Length": str(size)})
        request.connection.write_headers(200, "OK", headers, b"x" * size)
        queued.append(_unsent_bytes(request.connection.transport))
        request.finish()

    server = HTTPServer(answer, write_timeout=0.3)
    port = reactor.listenSSL(0, server, tls_certificate.options(), interface="127.0.0.1")
    listener.track(port)
    trust = ssl.optionsForClientTLS("localhost", ssl.Certificate(tls_certificate.original))
    endpoint = endpoints.wrapClientTLS(
        trust, endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
    )
    client = await listener.connect_endpoint(endpoint)
    client.send(GOOD)
    await client.wait_until(lambda: len(client.data) > 0)
    client.transport.pauseProducing()  # and never reads again
    await _until(lambda: queued and not server.connections, "the server closed the connection")
    assert queued[0] is not None and queued[0] > size // 2
    assert len(client.data) < size


@pytest_twisted.ensureDeferred
async def test_a_slow_client_that_keeps_reading_is_not_disconnected(listener):
    clock = task.Clock()
    server = HTTPServer(_answer_big(4 << 20), write_timeout=10, clock=clock)
    port = listener.listen(server)
    with _raw_client(port) as sock:
        sock.sendall(GOOD)
        await _until(lambda: server.connections, "the server accepted the connection")
        (connection,) = server.connections
        await _until(lambda: connection._write_paused, "the response filled the buffer")
        clock.advance(6)
        unsent = _unsent_bytes(connection.transport)

        async def take_some() -> None:
            for _ in range(int(WAIT_TIMEOUT / 0.01)):
                try:
                    sock.recv(1 << 16, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    pass
                if _unsent_bytes(connection.transport) < unsent:
                    return
                await task.deferLater(reactor, 0.01, lambda: None)
            raise AssertionError("the server sent nothing more while the client read")

        await take_some()
        clock.advance(6)  # past the first deadline, but the client took bytes meanwhile
        await task.deferLater(reactor, 0.05, lambda: None)
        assert connection in server.connections
        clock.advance(11)  # nothing taken for longer than write_timeout
        await _until(lambda: connection not in server.connections, "the server aborted")


# -- 10. one teardown for every early end of a request ------------------------------------------


class _FragileDelegate:
    """A delegate (and its own connection delegate) whose on_connection_close raises."""

    def __init__(self) -> None:
        self.body = b""
        self.closed = False

    def start_request(self, request):
        return self

    def headers_received(self, request):
        return None

    def data_received(self, chunk):
        self.body += chunk

    def finish(self):
        raise AssertionError("the body never completes in this test")

    def on_connection_close(self):
        self.closed = True
        raise RuntimeError("on_connection_close failed")


@pytest_twisted.ensureDeferred
async def test_a_body_timeout_answers_408_and_closes_even_if_on_connection_close_raises(
    listener, logged_events
):
    clock = task.Clock()
    delegate = _FragileDelegate()
    port = listener.listen(HTTPServer(delegate, body_timeout=5, clock=clock))
    client = await listener.connect(port)
    client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
    await _until(lambda: delegate.body == b"abc", "the server read the start of the body")
    clock.advance(6)
    (response,) = await client.wait_responses(1)
    assert response.status == 408
    await client.wait_closed()
    assert delegate.closed
    failures = [event["log_failure"] for event in logged_events if "log_failure" in event]
    assert any(failure.check(RuntimeError) for failure in failures)


@pytest_twisted.ensureDeferred
async def test_a_client_leaving_during_a_large_write_is_not_logged_as_a_crash(
    listener, logged_events
):
    class Big(RequestHandler):
        def get(self):
            handle = self.request.connection.transport.getHandle()
            handle.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_KERNEL_BUFFER)
            self.write(b"x" * (8 << 20))

    router = Router([("/", Big)])
    port = listener.listen(router)
    client = await listener.connect(port)
    client.send(GOOD)
    await client.wait_until(lambda: len(client.data) > 0)
    client.transport.abortConnection()
    await _until(lambda: not router.connections, "the server saw the client leave")
    await task.deferLater(reactor, 0, lambda: None)
    gc.collect()
    failures = [event for event in logged_events if event.get("log_failure") is not None]
    assert failures == []


@pytest_twisted.ensureDeferred
async def test_a_loop_awaiting_its_writes_ends_when_the_client_leaves(listener):
    outcome: defer.Deferred[object] = defer.Deferred()

    async def stream(request):
        connection = request.connection
        await connection.write_headers(200, "OK", HTTPHeaders())
        try:
            while True:
                await connection.write(b"tick\n")
                await task.deferLater(reactor, 0.01, lambda: None)
        except ConnectionLost as error:
            outcome.callback(error)

    port = listener.listen(HTTPServer(lambda request: defer.ensureDeferred(stream(request))))
    client = await listener.connect(port)
    client.send(GOOD)
    await client.wait_until(lambda: b"tick" in client.data)
    client.transport.abortConnection()
    outcome.addTimeout(WAIT_TIMEOUT, reactor)
    assert isinstance(await outcome, ConnectionLost)


# -- 8. hostile numbers: digits that reach int() ---------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_content_length_with_thousands_of_leading_zeros_is_read_as_its_value(listener):
    port = listener.listen(HTTPServer(echo))
    client = await listener.connect(port)
    length = b"0" * 5000 + b"3"
    client.send(b"POST /z HTTP/1.1\r\nHost: a\r\nContent-Length: " + length + b"\r\n\r\nabc")
    (response,) = await client.wait_responses(1)
    assert (response.status, response.body) == (200, b"POST /z abc")


@pytest.mark.parametrize(
    "head",
    [
        b"GET / HTTP/1.1\r\nHost: [::1]:" + b"1" * 5000,
        b"GET http://[::1]:" + b"1" * 5000 + b"/ HTTP/1.1\r\nHost: a",
    ],
    ids=["ipv6-host", "absolute-target"],
)
@pytest_twisted.ensureDeferred
async def test_a_port_of_thousands_of_digits_is_answered_and_ignored(
    listener, logged_events, head
):
    # RFC 3986 allows any number of port digits; httputil drops a port of more than five.
    port = listener.listen(HTTPServer(echo))
    client = await listener.connect(port)
    client.send(head + b"\r\n\r\n")
    (response,) = await client.wait_responses(1)
    assert response.status == 200
    assert [event for event in logged_events if event.get("log_failure") is not None] == []


# -- 4. what one connection can make the server hold ----------------------------------------------


@pytest_twisted.ensureDeferred
async def test_more_header_fields_than_max_header_count_is_a_431(listener):
    port = listener.listen(HTTPServer(echo, max_header_count=20))
    client = await listener.connect(port)
    fields = b"".join(b"X-%d: v\r\n" % number for number in range(19))
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n" + fields + b"\r\n")
    (response,) = await client.wait_responses(1)
    assert response.status == 200
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\nX-19: v\r\n" + fields + b"\r\n")
    responses = await client.wait_responses(2)
    assert responses[1].status == 431
    await client.wait_closed()


@pytest_twisted.ensureDeferred
async def test_a_chunked_body_of_tiny_chunks_reaches_the_application_in_few_pieces(listener):
    class Recorder(_FragileDelegate):
        def __init__(self) -> None:
            super().__init__()
            self.pieces: list[bytes] = []
            self.done: defer.Deferred[None] = defer.Deferred()

        def data_received(self, chunk):
            self.pieces.append(chunk)

        def finish(self):
            self.done.callback(None)

        def on_connection_close(self):
            pass

    delegate = Recorder()
    port = listener.listen(HTTPServer(delegate))
    client = await listener.connect(port)
    payload = bytes(range(256)) * 80
    chunks = b"".join(b"1\r\n" + payload[i : i + 1] + b"\r\n" for i in range(len(payload)))
    client.send(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
    client.send(chunks + b"0\r\n\r\n")
    delegate.done.addTimeout(WAIT_TIMEOUT, reactor)
    await delegate.done
    assert b"".join(delegate.pieces) == payload
    # One piece per read from the socket (64 KiB at most), not one per chunk.
    assert len(delegate.pieces) <= len(chunks) // 8192


@pytest.mark.parametrize("application", ["callback", "router"])
@pytest_twisted.ensureDeferred
async def test_a_body_trickled_byte_by_byte_is_held_in_about_its_size(listener, application):
    class Upload(RequestHandler):
        def post(self):
            self.write(b"%d" % len(self.request.body))

    if application == "callback":
        factory = HTTPServer(lambda request: echo(request) if request.body else None)
    else:
        factory = Router([("/", Upload)])
    port = listener.listen(factory)
    client = await listener.connect(port)
    size = 10_000
    client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % (size + 1))
    await task.deferLater(reactor, 0.05, lambda: None)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(size):
            client.send(b"x")
            await task.deferLater(reactor, 0, lambda: None)  # one reactor turn: one read
        await task.deferLater(reactor, 0.05, lambda: None)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    client.send(b"x")
    (response,) = await client.wait_responses(1)
    assert response.status == 200
    # A list of one-byte bytes objects would cost about 41 bytes per byte.
    assert held < 8 * size


@pytest_twisted.ensureDeferred
async def test_pipelined_requests_behind_a_pending_answer_are_not_buffered(listener):
    held = []
    server = HTTPServer(held.append)
    port = listener.listen(server)
    with _raw_client(port) as sock:
        sock.setblocking(False)
        flood = GOOD * 100_000  # 2.7 MB of requests behind the first, which is never answered
        sent = 0

        def send_more() -> bool:
            nonlocal sent
            try:
                while sent < len(flood):
                    sent += sock.send(flood[sent : sent + 65536])
            except BlockingIOError:
                pass
            return bool(held) and held[0].connection.stream._read_pauses

        await _until(send_more, "the server stopped reading")
        await task.deferLater(reactor, 0.05, lambda: None)
        send_more()
        (connection,) = server.connections
        assert len(held) == 1
        assert connection._parser.buffered <= server.max_header_size + 65536


# -- the number of connections: max_connections ---------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_connections_past_max_connections_are_closed_at_once_and_the_others_served(
    listener, logged_events
):
    server = HTTPServer(echo, max_connections=2)
    port = listener.listen(server)
    first, second = [await listener.connect(port) for _ in range(2)]
    for client in (first, second):
        client.send(GOOD)
        await client.wait_responses(1)
    refused = [await listener.connect(port) for _ in range(3)]
    for client in refused:
        await client.wait_closed()
        assert client.data == b""
    assert len(server.connections) == 2
    first.send(GOOD)
    assert [r.status for r in await first.wait_responses(2)] == [200, 200]
    warnings = [e for e in logged_events if "max_connections" in e.get("log_format", "")]
    assert len(warnings) == 1
    assert warnings[0]["limit"] == 2 and warnings[0]["count"] == 1

    second.transport.loseConnection()
    await second.wait_closed()
    await _until(lambda: server._open_sockets == 1, "the server saw the close")
    later = await listener.connect(port)
    later.send(GOOD)
    (response,) = await later.wait_responses(1)
    assert response.status == 200


@pytest_twisted.ensureDeferred
async def test_connections_handed_over_to_another_protocol_still_count(listener):
    handed_over = []

    def upgrade(request):
        handed_over.append(request.connection.detach(protocol.Protocol()))

    server = HTTPServer(upgrade, max_connections=1)
    port = listener.listen(server)
    upgraded = await listener.connect(port)
    upgraded.send(GOOD)
    await _until(lambda: handed_over, "the connection was handed over")
    assert not server.connections  # no longer an HTTP connection, still an open socket
    refused = await listener.connect(port)
    await refused.wait_closed()
    assert refused.data == b""
    upgraded.transport.loseConnection()
    await _until(lambda: server._open_sockets == 0, "the server saw the close")


@pytest_twisted.ensureDeferred
async def test_a_tls_connection_past_max_connections_is_closed_before_the_handshake(
    listener, tls_certificate
):
    server = HTTPServer(echo, max_connections=1)
    port = reactor.listenSSL(0, server, tls_certificate.options(), interface="127.0.0.1")
    listener.track(port)
    trust = ssl.optionsForClientTLS("localhost", ssl.Certificate(tls_certificate.original))

    def endpoint():
        tcp = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        return endpoints.wrapClientTLS(trust, tcp)

    served = await listener.connect_endpoint(endpoint())
    served.send(GOOD)
    (response,) = await served.wait_responses(1)
    assert response.status == 200
    refused = await listener.connect_endpoint(endpoint())
    await refused.wait_closed()
    assert refused.data == b""
    assert server._open_sockets == 1
