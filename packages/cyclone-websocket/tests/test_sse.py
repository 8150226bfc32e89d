"""SSEHandler end to end: a raw HTTP/1.1 client on loopback parses the event stream as
EventSource does (WHATWG HTML §9.2.6); a fake application clock drives keepalives and
drain timeouts."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor, task
from twisted.logger import globalLogPublisher

from cyclone.routing import Router
from cyclone.sse import KEEPALIVE_COMMENT, SSEHandler, format_event

#: Seconds a test waits for bytes before failing instead of hanging.
WAIT_TIMEOUT = 10.0


# -- a client that reads the stream the way a browser does ---------------------------


@dataclass
class Event:
    type: str
    data: str
    last_event_id: str


@dataclass
class EventStreamClient(protocol.Protocol):
    """Sends one GET and parses the chunked ``text/event-stream`` answer incrementally."""

    path: str
    request_headers: dict[str, str] = field(default_factory=dict)
    version: str = "HTTP/1.1"
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    retry: int | None = None
    last_event_id: str = ""
    ended: bool = False
    disconnected: bool = False
    _raw: bytes = b""
    _chunks: bytes = b""
    _lines: str = ""
    _data: list[str] = field(default_factory=list)
    _type: str = ""
    _waiters: list[tuple[Callable[[], bool], defer.Deferred[None]]] = field(default_factory=list)

    def __hash__(self) -> int:
        return id(self)

    def connectionMade(self) -> None:
        lines = [f"GET {self.path} {self.version}", "Host: 127.0.0.1", "Accept: text/event-stream"]
        lines += [f"{name}: {value}" for name, value in self.request_headers.items()]
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def dataReceived(self, data: bytes) -> None:
        self._raw += data
        if not self.status:
            end = self._raw.find(b"\r\n\r\n")
            if end == -1:
                return
            head, self._raw = self._raw[:end].decode("latin-1"), self._raw[end + 4 :]
            status_line, *header_lines = head.split("\r\n")
            self.status = int(status_line.split()[1])
            for line in header_lines:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()
        if self.headers.get("transfer-encoding") == "chunked":
            self._dechunk()
        else:
            self._feed(self._raw)
            self._raw = b""
        self._check_waiters()

    def connectionLost(self, reason: Any = None) -> None:
        self.disconnected = True
        self._check_waiters()

    def _dechunk(self) -> None:
        while not self.ended:
            line_end = self._raw.find(b"\r\n")
            if line_end == -1:
                return
            size = int(self._raw[:line_end], 16)
            if len(self._raw) < line_end + 2 + size + 2:
                return
            chunk = self._raw[line_end + 2 : line_end + 2 + size]
            assert self._raw[line_end + 2 + size : line_end + 4 + size] == b"\r\n"
            self._raw = self._raw[line_end + 4 + size :]
            if size == 0:
                self.ended = True
            self._feed(chunk)

    def _feed(self, data: bytes) -> None:
        self.body += data
        self._lines += data.decode("utf-8")
        # A trailing CR may be the first half of CRLF: keep it until the next byte.
        *complete, self._lines = re.split(r"\r\n|\r(?!$)|\n", self._lines)
        for line in complete:
            self._line(line)

    def _line(self, line: str) -> None:
        if not line:
            if self._data:
                self.events.append(
                    Event(self._type or "message", "\n".join(self._data), self.last_event_id)
                )
            self._data, self._type = [], ""
            return
        if line.startswith(":"):
            self.comments.append(line[1:].strip())
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id" and "\x00" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry = int(value)

    def _check_waiters(self) -> None:
        for waiter in list(self._waiters):
            predicate, d = waiter
            if predicate():
                self._waiters.remove(waiter)
                d.callback(None)

    def wait_for(self, predicate: Callable[[], bool]) -> defer.Deferred[None]:
        """Fire once ``predicate()`` holds after some bytes arrived (or the socket closed)."""
        if predicate():
            return defer.succeed(None)
        d: defer.Deferred[None] = defer.Deferred()
        self._waiters.append((predicate, d))
        return d.addTimeout(WAIT_TIMEOUT, reactor)

    def wait_for_events(self, count: int) -> defer.Deferred[None]:
        return self.wait_for(lambda: len(self.events) >= count)


async def open_stream(port: int, path: str, **headers: str) -> EventStreamClient:
    client = EventStreamClient(path, headers)
    await protocol.ClientCreator(reactor, lambda: client).connectTCP("127.0.0.1", port)
    await client.wait_for(lambda: client.status != 0)
    return client


# -- handlers --------------------------------------------------------------------------


class RecordingHandler(SSEHandler):
    """Registers itself in the application's ``streams`` list; ``unbound`` fires on unbind."""

    def bind(self) -> None:
        self.settings.streams.append(self)
        opened = self.settings.get("opened")
        if opened is not None and not opened.called:
            opened.callback(self)

    def unbind(self) -> None:
        self.settings.unbind_calls.append(self)
        unbound = self.settings.get("unbound")
        if unbound is not None and not unbound.called:
            unbound.callback(self)


HISTORY = [(1, "one"), (2, "two"), (3, "three"), (4, "four")]


class ReplayHandler(SSEHandler):
    """Replays the events after ``Last-Event-ID`` (the reconnect contract)."""

    def bind(self) -> None:
        self.settings.seen_ids.append(self.last_event_id)
        after = int(self.last_event_id) if self.last_event_id else 0
        for eid, message in HISTORY:
            if eid > after:
                self.sendEvent(message, eid=eid)


class FailingBindHandler(SSEHandler):
    def bind(self) -> None:
        raise ValueError("no feed today")

    def unbind(self) -> None:
        self.settings.unbind_calls.append(self)


class ForbiddenHandler(RecordingHandler):
    def prepare(self) -> None:
        self.send_error(403)


class AsyncBindHandler(RecordingHandler):
    async def bind(self) -> None:  # type: ignore[override]
        await task.deferLater(reactor, 0, lambda: None)
        self.sendEvent("after a wait")
        super().bind()


def make_app(**settings: Any) -> Router:
    settings.setdefault("streams", [])
    settings.setdefault("unbind_calls", [])
    settings.setdefault("seen_ids", [])
    return Router(
        [
            (r"/events", RecordingHandler),
            (r"/replay", ReplayHandler),
            (r"/failing", FailingBindHandler),
            (r"/forbidden", ForbiddenHandler),
            (r"/async", AsyncBindHandler),
        ],
        **settings,
    )


@pytest.fixture
def serve() -> Any:
    ports: list[Any] = []

    def listen(app: Router) -> int:
        port = reactor.listenTCP(0, app, interface="127.0.0.1")
        ports.append(port)
        return port.getHost().port

    yield listen
    for port in ports:
        pytest_twisted.blockon(defer.maybeDeferred(port.stopListening))


@pytest.fixture
def warnings() -> Any:
    seen: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(seen.append)
    yield seen
    globalLogPublisher.removeObserver(seen.append)


async def open_recorded(
    serve: Any, **settings: Any
) -> tuple[Router, EventStreamClient, SSEHandler]:
    app = make_app(opened=defer.Deferred(), unbound=defer.Deferred(), **settings)
    client = await open_stream(serve(app), "/events")
    handler = await app.settings.opened
    return app, client, handler


# -- the event format (pure) -----------------------------------------------------------


def test_each_line_of_a_message_is_its_own_data_field_whatever_the_line_break() -> None:
    assert format_event("a\r\nb\rc\nd") == b"data: a\ndata: b\ndata: c\ndata: d\n\n"


def test_only_cr_and_lf_break_lines_other_unicode_separators_stay_data() -> None:
    assert format_event("a\u2028b\x0cc\x85d") == "data: a\u2028b\x0cc\x85d\n\n".encode()


def test_id_event_and_retry_come_before_the_data() -> None:
    assert format_event("hi", event="greeting", eid=7, retry=1500) == (
        b"id: 7\nevent: greeting\nretry: 1500\ndata: hi\n\n"
    )


def test_dicts_and_lists_are_sent_as_json() -> None:
    assert format_event({"n": 1}) == b'data: {"n":1}\n\n'
    assert format_event([1, "x"]) == b'data: [1,"x"]\n\n'


def test_bytes_must_be_utf8_because_the_stream_always_is() -> None:
    assert format_event("olá\n".encode()) == "data: olá\ndata: \n\n".encode()
    with pytest.raises(ValueError, match="UTF-8"):
        format_event(b"\xff\xfe")


def test_an_event_without_data_carries_only_its_fields() -> None:
    assert format_event(None, retry=3000) == b"retry: 3000\n\n"
    assert format_event(None, eid="") == b"id: \n\n"
    with pytest.raises(ValueError, match="needs a message"):
        format_event(None)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"event": "a\nb"}, "event type"),
        ({"event": "a\rb"}, "event type"),
        ({"eid": "1\n2"}, "event id"),
        ({"eid": "1\r"}, "event id"),
        ({"eid": "1\x002"}, "event id"),
        ({"retry": -1}, "retry"),
        ({"retry": 1.5}, "retry"),
        ({"retry": "10"}, "retry"),
        ({"retry": True}, "retry"),
    ],
)
def test_field_values_that_would_break_the_framing_are_refused(
    kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        format_event("x", **kwargs)


def test_other_message_types_are_refused_with_their_type() -> None:
    with pytest.raises(TypeError, match="int"):
        format_event(5)  # type: ignore[arg-type]


# -- the stream over a real socket -------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_stream_headers_say_event_stream_uncached_unbuffered_and_chunked(
    serve: Any,
) -> None:
    app, client, _ = await open_recorded(serve)
    assert client.status == 200
    assert client.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert client.headers["cache-control"] == "no-cache"
    assert client.headers["x-accel-buffering"] == "no"
    assert client.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in client.headers
    client.transport.loseConnection()
    await app.settings.unbound


@pytest_twisted.ensureDeferred
async def test_multi_line_messages_arrive_as_one_event_with_newlines(serve: Any) -> None:
    app, client, handler = await open_recorded(serve)
    await handler.sendEvent("first\r\nsecond\rthird\nfourth")
    await handler.sendEvent("trailing newline\n")
    await handler.sendEvent("  indented")
    await handler.sendEvent("")
    await client.wait_for_events(4)
    assert [e.data for e in client.events] == [
        "first\nsecond\nthird\nfourth",
        "trailing newline\n",
        "  indented",
        "",
    ]
    client.transport.loseConnection()
    await app.settings.unbound


@pytest_twisted.ensureDeferred
async def test_event_types_ids_and_retry_reach_the_client(serve: Any) -> None:
    app, client, handler = await open_recorded(serve)
    handler.sendEvent({"price": 10}, event="tick", eid=41, retry=2500)
    handler.sendEvent(b"plain", eid="42")
    await client.wait_for_events(2)
    assert client.events == [
        Event("tick", '{"price":10}', "41"),
        Event("message", "plain", "42"),
    ]
    assert client.retry == 2500
    client.transport.loseConnection()
    await app.settings.unbound


@pytest_twisted.ensureDeferred
async def test_keepalive_comments_are_sent_only_after_an_idle_interval(serve: Any) -> None:
    clock = task.Clock()
    app, client, handler = await open_recorded(serve, clock=clock, sse_keepalive_interval=5)
    clock.advance(5)
    await client.wait_for(lambda: len(client.comments) == 1)
    assert client.comments == ["keepalive"]
    assert client.body.endswith(KEEPALIVE_COMMENT)
    await handler.sendEvent("news")
    clock.advance(5)  # an event was sent in this interval: no keepalive needed
    clock.advance(5)
    await client.wait_for(lambda: len(client.comments) == 2)
    assert [e.data for e in client.events] == ["news"]
    assert client.body.endswith(b"data: news\n\n" + KEEPALIVE_COMMENT)
    client.transport.loseConnection()
    await app.settings.unbound


@pytest_twisted.ensureDeferred
async def test_keepalives_run_on_the_real_reactor_clock_with_a_short_interval(
    serve: Any,
) -> None:
    app, client, _ = await open_recorded(serve, sse_keepalive_interval=0.05)
    await client.wait_for(lambda: len(client.comments) >= 2)
    assert set(client.comments) == {"keepalive"}
    assert client.events == []
    client.transport.loseConnection()
    await app.settings.unbound


@pytest_twisted.ensureDeferred
async def test_last_event_id_is_none_first_and_replays_missed_events_on_reconnect(
    serve: Any,
) -> None:
    app = make_app()
    port = serve(app)
    first = await open_stream(port, "/replay")
    await first.wait_for_events(4)
    assert first.last_event_id == "4"
    first.transport.loseConnection()
    again = await open_stream(port, "/replay", **{"Last-Event-ID": "2"})
    await again.wait_for_events(2)
    assert [(e.data, e.last_event_id) for e in again.events] == [("three", "3"), ("four", "4")]
    assert app.settings.seen_ids == [None, "2"]
    again.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_client_disconnect_calls_unbind_once_and_stops_the_keepalive(
    serve: Any,
) -> None:
    clock = task.Clock()
    app, client, handler = await open_recorded(serve, clock=clock, sse_keepalive_interval=5)
    client.transport.loseConnection()
    assert await app.settings.unbound is handler
    assert app.settings.unbind_calls == [handler]
    assert not any(call.func == handler._keepalive for call in clock.getDelayedCalls())
    assert handler._keepalive is None
    await handler.sendEvent("nobody is listening")  # a racing broadcast is harmless
    clock.advance(50)
    assert app.settings.unbind_calls == [handler]


@pytest_twisted.ensureDeferred
async def test_finishing_the_stream_ends_the_response_and_calls_unbind(serve: Any) -> None:
    app, client, handler = await open_recorded(serve)
    handler.sendEvent("bye")
    handler.finish()
    await client.wait_for(lambda: client.ended)
    assert [e.data for e in client.events] == ["bye"]
    assert app.settings.unbind_calls == [handler]
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_async_bind_may_wait_before_sending(serve: Any) -> None:
    app = make_app(opened=defer.Deferred())
    client = await open_stream(serve(app), "/async")
    await client.wait_for_events(1)
    assert client.events[0].data == "after a wait"
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_a_failing_bind_is_logged_and_closes_the_stream(serve: Any, warnings: Any) -> None:
    app = make_app()
    client = await open_stream(serve(app), "/failing")
    await client.wait_for(lambda: client.ended)
    assert client.events == []
    assert len(app.settings.unbind_calls) == 1
    assert any("bind() raised" in str(e.get("log_format")) for e in warnings)
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_prepare_can_refuse_the_stream_without_bind_or_unbind(serve: Any) -> None:
    app = make_app()
    client = await open_stream(serve(app), "/forbidden")
    await client.wait_for(lambda: client.status != 0)
    assert client.status == 403
    assert "event-stream" not in client.headers["content-type"]
    assert app.settings.streams == []
    assert app.settings.unbind_calls == []
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_sendevent_before_the_stream_opened_is_an_error() -> None:
    app = make_app()
    from cyclone.httputil import HTTPHeaders, HTTPServerRequest

    request = HTTPServerRequest(method="GET", uri="/events", headers=HTTPHeaders())
    handler = RecordingHandler(app, request)
    with pytest.raises(RuntimeError, match="bind"):
        handler.sendEvent("too early")


# -- slow clients --------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_sender_that_waits_on_sendevent_streams_any_amount_to_a_reader(
    serve: Any,
) -> None:
    app, client, handler = await open_recorded(serve, sse_max_buffer=64 * 1024)
    message = "x" * 16 * 1024
    for _ in range(128):  # 2 MiB, far past sse_max_buffer
        await handler.sendEvent(message)
    await client.wait_for_events(128)
    assert app.settings.unbind_calls == []
    client.transport.loseConnection()
    await app.settings.unbound


def _shrink_socket_buffer(transport: Any, option: int) -> None:
    transport.getHandle().setsockopt(socket.SOL_SOCKET, option, 4096)


@pytest_twisted.ensureDeferred
async def test_a_client_not_reading_past_sse_max_buffer_is_dropped(
    serve: Any, warnings: Any
) -> None:
    app, client, handler = await open_recorded(serve, sse_max_buffer=64 * 1024)
    # The server writes straight into the kernel while it can, and loopback
    # buffers grow to megabytes: make them small so 256 KiB really backs up.
    _shrink_socket_buffer(handler.request.connection.transport, socket.SO_SNDBUF)
    _shrink_socket_buffer(client.transport, socket.SO_RCVBUF)
    client.transport.pauseProducing()
    message = "x" * 16 * 1024
    pending = [handler.sendEvent(message) for _ in range(16)]  # 256 KiB without waiting
    assert await app.settings.unbound is handler
    results = await defer.gatherResults(pending).addTimeout(WAIT_TIMEOUT, reactor)
    assert results == [None] * 16  # queued sends end quietly; unbind() told the application
    assert any("dropping SSE client" in str(e.get("log_format")) for e in warnings)
    client.transport.resumeProducing()
    await client.wait_for(lambda: client.disconnected)
    assert await handler.sendEvent("late") is None


@pytest_twisted.ensureDeferred
async def test_a_client_whose_buffer_stays_full_past_sse_drain_timeout_is_dropped(
    serve: Any,
) -> None:
    clock = task.Clock()
    app, client, handler = await open_recorded(
        serve, clock=clock, sse_drain_timeout=30, sse_max_buffer=None
    )
    _shrink_socket_buffer(handler.request.connection.transport, socket.SO_SNDBUF)
    _shrink_socket_buffer(client.transport, socket.SO_RCVBUF)
    client.transport.pauseProducing()
    d = handler.sendEvent("x" * 256 * 1024)  # over the transport's high-water mark
    assert not d.called
    clock.advance(29)
    assert not app.settings.unbound.called
    clock.advance(1)
    assert await app.settings.unbound is handler
    client.transport.resumeProducing()
    await client.wait_for(lambda: client.disconnected)


@pytest_twisted.ensureDeferred
async def test_a_quiet_stream_outlives_the_servers_idle_header_and_body_timeouts(
    serve: Any,
) -> None:
    clock = task.Clock()
    app, client, handler = await open_recorded(
        serve,
        clock=clock,
        sse_keepalive_interval=None,
        idle_connection_timeout=5,
        header_timeout=5,
        body_timeout=5,
    )
    for _ in range(20):
        clock.advance(5)
    await handler.sendEvent("still here")
    await client.wait_for_events(1)
    assert not client.disconnected
    assert app.settings.unbind_calls == []
    client.transport.loseConnection()
    await app.settings.unbound


@pytest_twisted.ensureDeferred
async def test_head_answers_the_stream_headers_without_opening_it(serve: Any) -> None:
    app = make_app()
    port = serve(app)
    client = EventStreamClient("/events")
    client.connectionMade = lambda: client.transport.write(  # type: ignore[method-assign]
        b"HEAD /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    await protocol.ClientCreator(reactor, lambda: client).connectTCP("127.0.0.1", port)
    await client.wait_for(lambda: client.status != 0)
    assert client.status == 200
    assert client.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert app.settings.streams == []
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_an_http10_client_gets_a_close_delimited_stream(serve: Any) -> None:
    app = make_app(opened=defer.Deferred(), unbound=defer.Deferred())
    client = EventStreamClient("/events", version="HTTP/1.0")
    await protocol.ClientCreator(reactor, lambda: client).connectTCP("127.0.0.1", serve(app))
    handler = await app.settings.opened
    await handler.sendEvent("line one\nline two", eid=1)
    await client.wait_for_events(1)
    assert "transfer-encoding" not in client.headers
    assert "content-length" not in client.headers
    assert client.events == [Event("message", "line one\nline two", "1")]
    handler.finish()
    await client.wait_for(lambda: client.disconnected)
    assert await app.settings.unbound is handler


# -- on Twisted's asyncio reactor (a server in a subprocess) -------------------------------


def test_an_async_bind_awaits_asyncio_and_is_cancelled_after_unbind(tmp_path) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from websocket_asyncio_server import TIMEOUT, asyncio_server, wait_for_event

    with asyncio_server(tmp_path) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as client:
            client.sendall(b"GET /feed HTTP/1.1\r\nHost: test\r\n\r\n")
            received = b""
            while b"data: first\n\n" not in received:
                chunk = client.recv(4096)
                assert chunk, received
                received += chunk
            wait_for_event(port, "bind waiting")
        seen = wait_for_event(port, "bind CancelledError")
        assert seen == ["bind waiting", "unbind", "bind CancelledError"]


# -- graceful shutdown ---------------------------------------------------------------


class GoodbyeHandler(RecordingHandler):
    """Says goodbye with a last event, after a turn of the reactor (an async override)."""

    async def on_server_shutdown(self) -> None:  # type: ignore[override]
        await task.deferLater(reactor, 0, lambda: None)
        await self.sendEvent({"reason": "the server is stopping"}, event="bye")


class BrokenGoodbyeHandler(RecordingHandler):
    def on_server_shutdown(self) -> None:
        raise RuntimeError("no goodbye today")


@pytest_twisted.ensureDeferred
async def test_a_graceful_shutdown_ends_open_streams_cleanly_without_waiting_for_the_timeout(
    serve: Any,
) -> None:
    from cyclone import deploy

    app, client, handler = await open_recorded(serve)
    handler.sendEvent("news")
    await client.wait_for_events(1)
    port = reactor.listenTCP(0, app, interface="127.0.0.1")
    # The timeout is longer than the test waits for the stream's end: only a clean
    # finish from the shutdown hook ends it in time.
    await deploy.graceful_shutdown([port], [app], timeout=WAIT_TIMEOUT * 3)
    await client.wait_for(lambda: client.ended)
    assert client.comments == ["server shutting down"]
    assert client.body.endswith(b"data: news\n\n: server shutting down\n\n")
    assert app.settings.unbind_calls == [handler]
    await client.wait_for(lambda: client.disconnected)  # Connection: close, after the end


@pytest_twisted.ensureDeferred
async def test_shutdown_hooks_send_the_applications_last_event_then_end_the_stream(
    serve: Any,
) -> None:
    from cyclone import deploy

    app = Router([(r"/goodbye", GoodbyeHandler)], streams=[], unbind_calls=[])
    first = await open_stream(serve(app), "/goodbye")
    second = await open_stream(serve(app), "/goodbye")
    await deploy.run_shutdown_hooks(WAIT_TIMEOUT)
    for client in (first, second):
        await client.wait_for(lambda client=client: client.ended)
        assert client.events == [Event("bye", '{"reason":"the server is stopping"}', "")]
        assert client.comments == []
    assert len(app.settings.unbind_calls) == 2
    for client in (first, second):
        client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_a_failing_on_server_shutdown_is_logged_and_the_stream_still_ends(
    serve: Any, warnings: Any
) -> None:
    from cyclone import deploy

    app = Router([(r"/broken", BrokenGoodbyeHandler)], streams=[], unbind_calls=[])
    client = await open_stream(serve(app), "/broken")
    await deploy.run_shutdown_hooks(WAIT_TIMEOUT)
    await client.wait_for(lambda: client.ended)
    assert client.events == []
    assert len(app.settings.unbind_calls) == 1
    failures = [e for e in warnings if "on_server_shutdown() failed" in str(e.get("log_format"))]
    assert [e["log_failure"].getErrorMessage() for e in failures] == ["no goodbye today"]
    client.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_streams_that_already_ended_are_not_touched_by_a_shutdown(serve: Any) -> None:
    from cyclone import deploy

    app, client, handler = await open_recorded(serve)
    client.transport.loseConnection()
    await app.settings.unbound
    await deploy.run_shutdown_hooks(WAIT_TIMEOUT)
    assert app.settings.unbind_calls == [handler]
    assert client.comments == []


SSE_APP = """
import os

from cyclone.routing import Router
from cyclone.sse import SSEHandler


class Hello(SSEHandler):
    def bind(self):
        self.sendEvent(str(os.getpid()), event="hello")


def make_app():
    return Router([(r"/events", Hello)], access_log=False)
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_to_twistd_ends_event_streams_cleanly(tmp_path: Any, workers: int) -> None:
    """``twistd cyclone`` (one process, or the workers' parent) on SIGTERM, as systemd stops it.

    The shutdown timeout is longer than this test waits, so the stream and the
    process end in time only because the hook finished the stream.
    """
    import os
    import queue
    import signal
    import subprocess
    import sys
    import threading

    (tmp_path / "sseapp.py").write_text(SSE_APP)
    command = [
        sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
        "-n", "--pidfile=", "cyclone", f"--app={tmp_path / 'sseapp.py'}:make_app",
        "--port=0", f"--workers={workers}", "--shutdown-timeout=300",
    ]  # fmt: skip
    server = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    serving: queue.Queue[int] = queue.Queue()

    def read() -> None:  # all along, so twistd never blocks on a full pipe
        assert server.stdout is not None
        for line in server.stdout:
            output.append(line)
            found = re.search(r"cyclone serving \S+ on http://127\.0\.0\.1:(\d+)", line)
            if found:
                serving.put(int(found.group(1)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        try:
            port = serving.get(timeout=60)
        except queue.Empty:
            raise AssertionError("twistd did not start:\n" + "".join(output)) from None
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            received = b""
            while b"event: hello" not in received:
                chunk = sock.recv(65536)
                assert chunk, received
                received += chunk
            server.send_signal(signal.SIGTERM)
            while chunk := sock.recv(65536):
                received += chunk
        assert b": server shutting down\n\n" in received, received
        assert received.endswith(b"\r\n0\r\n\r\n"), received  # the chunked end, not a reset
        # twistd ends with status 0, or by re-raising SIGTERM once it cleaned up.
        assert server.wait(60) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        reader.join(10)
    assert "Traceback" not in "".join(output), "".join(output)
