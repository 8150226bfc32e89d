"""The HTTP/1.1 server: a Twisted protocol and factory around the sans-IO parser.

    from twisted.internet import reactor
    from cyclone.httpserver import HTTPServer

    def hello(request):
        request.write(b"Hello, world")
        request.finish()

    reactor.listenTCP(8888, HTTPServer(hello), interface="127.0.0.1")
    reactor.run()

`HTTPConnection` only moves bytes: it feeds `cyclone.httpparser.RequestParser`
and turns its events into calls on an `HTTPMessageDelegate` (a router, an
application or the plain callback above), then frames what the application
writes (Content-Length, chunked, or close-delimited for HTTP/1.0). Requests on
one connection are answered in order; the parser pauses after each request
until its response is finished.

Backpressure: the connection is the transport's push producer. When the
socket's send buffer is full, reading stops (a client that never reads its
responses cannot make us buffer pipelined requests) and `write()` returns a
Deferred that fires once the buffer drained, which handlers' `flush()` return.

Timeouts, checked by one timer per server rather than one per request:
``idle_connection_timeout`` (no request on a kept-alive connection),
``header_timeout`` (a total deadline for the request head from its first
byte, so a slowloris client cannot keep resetting it), ``body_timeout``
(a total deadline for reading the body) and ``write_timeout`` (a client that
takes none of the response bytes queued for it that long is disconnected).

Closing: a connection that closes after its response (``Connection: close``,
HTTP/1.0, ``no_keep_alive``, a shutdown, an idle timeout) stops being the
transport's producer first, because a transport with a producer registered
waits for it instead of closing; the bytes still queued are sent under the
``write_timeout`` watch, then the socket closes.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from typing import Any, Final

from twisted.internet import defer, interfaces, protocol, task, tcp
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from cyclone.httpparser import (
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_MAX_HEADER_COUNT,
    DEFAULT_MAX_HEADER_SIZE,
    DEFAULT_MAX_REQUEST_LINE_SIZE,
    NEED_DATA,
    PAUSED,
    BodyData,
    EndOfMessage,
    MalformedRequest,
    RequestHead,
    RequestParser,
)
from cyclone.httputil import (
    BufferedBodyDelegate,
    HTTPHeaders,
    HTTPInputError,
    HTTPMessageDelegate,
    HTTPServerRequest,
)
from cyclone.httpwriter import ResponseWriter, error_response

__all__ = ["HTTPConnection", "HTTPRequest", "HTTPRequestConnection", "HTTPServer"]

log = Logger()

#: Default deadline for a whole request head, from its first byte (seconds).
DEFAULT_HEADER_TIMEOUT = 30.0
#: Default deadline for reading a whole request body (seconds).
DEFAULT_BODY_TIMEOUT = 300.0
#: Default time a kept-alive connection may wait for its next request (seconds).
DEFAULT_IDLE_CONNECTION_TIMEOUT = 120.0
#: Default time a client may take none of the response bytes queued for it (seconds):
#: long enough for a slow mobile link to drain a send buffer, short enough that
#: clients which stopped reading cannot pin sockets and buffers for long.
DEFAULT_WRITE_TIMEOUT = 60.0
#: How long to keep reading (and discarding) after an error response before closing,
#: so the client reads our 4xx instead of a TCP reset (RFC 9112 §9.6).
LINGER_SECONDS = 2.0

_CONNECTION_DONE = Failure(ConnectionDone())
#: `HTTPConnection._read_pauses` when reading is not paused.
_NOT_PAUSED: frozenset[str] = frozenset()
#: HTTPServerRequest's ``body`` and ``files`` arguments when its head arrives.
_BODY_NOT_READ_YET = None
_NO_FILES_YET = None


class Deadline:
    """What a connection's one deadline is for (checked by the server's sweeping timer)."""

    #: A kept-alive connection waits for its next request (``idle_connection_timeout``).
    IDLE: Final = "idle"
    #: A request head is arriving (``header_timeout``, from its first byte).
    HEADER: Final = "header"
    #: A request body is arriving (``body_timeout``).
    BODY: Final = "body"
    #: After an error response, reading and discarding before the close (`LINGER_SECONDS`).
    LINGER: Final = "linger"
    ALL: Final = frozenset({IDLE, HEADER, BODY, LINGER})


class PauseReason:
    """Why a connection stopped reading; it reads again once no reason is left."""

    #: The transport's send buffer is full (the client does not read its responses).
    WRITE_BUFFER: Final = "write-buffer"
    #: Pipelined requests piled up while a response is pending.
    PIPELINE: Final = "pipeline"
    #: The delegate returned a Deferred from headers_received or data_received.
    DELEGATE: Final = "delegate"
    ALL: Final = frozenset({WRITE_BUFFER, PIPELINE, DELEGATE})


def _direct_socket(transport: Any) -> Any:
    """The socket of a plain TCP or UNIX transport we may send on directly, else None.

    TLS transports (and anything not built on Twisted's FileDescriptor write
    buffer) always go through ``transport.write``.
    """
    if not isinstance(transport, tcp.Connection) or not hasattr(socket.socket, "sendmsg"):
        return None
    if not all(hasattr(transport, name) for name in ("_tempDataLen", "offset", "dataBuffer")):
        return None
    return transport.socket


def _unsent_bytes(transport: Any) -> int | None:
    """Bytes written to ``transport`` that it has not handed to the kernel yet; None if unknown.

    Knows Twisted's FileDescriptor transports (TCP, UNIX) and TLS over them
    (cleartext waiting for the TLS layer plus ciphertext waiting for the
    socket, which slightly overcounts what is left of the cleartext).
    """
    unsent = 0
    while True:
        data_buffer = getattr(transport, "dataBuffer", None)
        if data_buffer is not None:
            return unsent + len(data_buffer) - transport.offset + transport._tempDataLen
        tls_pending = getattr(transport, "_appSendBuffer", None)
        if tls_pending is None:
            return None
        unsent += sum(map(len, tls_pending))
        aggregator = getattr(transport, "_aggregator", None)
        aggregated = getattr(aggregator, "_buffer", None)
        if aggregated:
            unsent += sum(map(len, aggregated))
        transport = transport.transport


def _ignore_connection_lost(failure: Failure) -> None:
    """Errback for a write Deferred nobody waited on when the client left: not an error."""
    failure.trap(ConnectionLost)


def _fail_write(waiter: defer.Deferred[None]) -> None:
    """Fail ``waiter`` with ConnectionLost for whoever waits on it, without an unhandled-error log."""
    waiter.errback(ConnectionLost("the client closed the connection"))
    waiter.addErrback(_ignore_connection_lost)


class HTTPRequestConnection(ResponseWriter):
    """Writes the response to one request; available as ``request.connection``.

    It is the request's `cyclone.httpwriter.ResponseWriter`, which chooses the
    framing (Content-Length, chunked or close-delimited) and turns the
    response into bytes, plus what needs the socket: sending those bytes,
    flow control, and the request's lifecycle (finish, disconnects, hand-over).
    One object per response, not two: a request costs one allocation less.

    Attributes the server and applications read: ``request`` (the
    `HTTPServerRequest`), ``keep_alive`` (set False to close after the
    response), ``headers_written``, ``bytes_written`` (the access log's size),
    `finished` and ``client_disconnected``.
    """

    # Per-request state starts from these class-level defaults, so creating one
    # (once per request) only sets what differs.
    request: HTTPServerRequest | None = None
    _finished = False
    _pending: list[bytes] | None = None
    _finish_deferreds: list[defer.Deferred[None]] | None = None
    _close_callback: Callable[[], Any] | None = None
    #: True once the client went away; later writes and finish() are ignored.
    client_disconnected = False

    def __init__(self, connection: HTTPConnection, head: RequestHead) -> None:
        self._connection = connection
        # ResponseWriter.__init__'s three fields, set here: one call less per request.
        self.request_version = head.version
        self.keep_alive = head.keep_alive and not connection.factory.no_keep_alive
        self.discard_body = head.method == "HEAD"

    # -- what applications use ----------------------------------------------------

    @property
    def transport(self) -> Any:
        """The Twisted transport of the connection (peer, host, TLS details)."""
        return self._connection.transport

    @property
    def finished(self) -> bool:
        """True once the response ended (or the client left, or the socket was handed over)."""
        return self._finished

    @property
    def stream(self) -> HTTPConnection:
        """The protocol carrying this request (Tornado's name for it)."""
        return self._connection

    @property
    def default_max_body_size(self) -> int:
        """The server's ``max_body_size``: the limit before any `set_max_body_size` call."""
        return self._connection.factory.max_body_size

    def set_max_body_size(self, max_body_size: int) -> None:
        """Allow a larger (or smaller) body for this request; call it before the body is read."""
        self._connection._parser.max_body_size = max_body_size

    def set_body_timeout(self, seconds: float) -> None:
        """Change the body deadline for this request, counted from now."""
        self._connection._set_deadline(Deadline.BODY, seconds)

    def set_close_callback(self, callback: Callable[[], Any] | None) -> None:
        """Call ``callback`` if the client disconnects before the response is finished."""
        self._close_callback = callback

    def notifyFinish(self) -> defer.Deferred[None]:
        """A Deferred fired with None when the response is finished or the client went away."""
        d: defer.Deferred[None] = defer.Deferred()
        if self._finished:
            d.callback(None)
        else:
            if self._finish_deferreds is None:
                self._finish_deferreds = []
            self._finish_deferreds.append(d)
        return d

    def write_headers(
        self,
        status_code: int,
        reason: str | None,
        headers: HTTPHeaders,
        chunk: bytes = b"",
    ) -> defer.Deferred[None]:
        """Send the status line and headers (and optionally the first body bytes).

        1xx statuses are informational: they may be followed by the final
        response (or, for 101, by a protocol switch through `detach`).
        """
        self.send_head(status_code, reason, headers, chunk)
        return self._connection._drained()

    def write(self, chunk: bytes) -> defer.Deferred[None]:
        """Send body bytes; before `write_headers` they are kept for `finish()`.

        The Deferred fires once the transport's buffer is below its high-water
        mark, so a streaming application can wait on it before writing more.
        """
        self.send_body(chunk)
        return self._connection._drained()

    def finish(self) -> None:
        """End the response. For a plain callback that never wrote headers, send a 200."""
        if self.client_disconnected:
            return
        if self._finished:
            raise RuntimeError("finish() called twice")
        if not self.headers_written:
            pending = self._pending
            body = b"".join(pending) if pending else b""
            self._pending = None
            default_headers = {
                "content-type": ("Content-Type", ["text/html; charset=UTF-8"]),
                "content-length": ("Content-Length", [str(len(body))]),
            }
            self.send_head(200, "OK", HTTPHeaders.from_table(default_headers), body)
        ending = self.frame_end()
        if ending:
            self._connection._send(ending)
        elif self.length_mismatch:
            log.warn(
                "response body of {written} bytes does not match its Content-Length {expected}; "
                "closing the connection",
                written=self.bytes_written,
                expected=self.expected_length,
            )
        self._finished = True
        request = self.request
        if request is not None:
            request._finish_time = time.time()
        if self._finish_deferreds:
            self._fire_finish_deferreds()
        self._connection._response_finished(self)

    def send_head(
        self, status_code: int, reason: str | None, headers: HTTPHeaders, chunk: bytes = b""
    ) -> None:
        """`write_headers` without the flow-control Deferred, for callers that do not wait."""
        if self.client_disconnected:
            return
        if self._finished:
            raise RuntimeError("the response is already finished")
        if not isinstance(headers, HTTPHeaders):
            headers = HTTPHeaders(headers)
        pending = self._pending
        if pending and status_code >= 200:
            chunk = b"".join([*pending, chunk])
        connection = self._connection
        parts = self.frame_head(
            status_code, reason, headers, chunk, connection._parser.reading_body
        )
        if pending and status_code >= 200:
            self._pending = None
        if len(parts) == 1:
            connection._send(parts[0])
        else:
            connection._send_sequence(parts)

    def send_body(self, chunk: bytes) -> None:
        """`write` without the flow-control Deferred, for callers that do not wait."""
        if self.client_disconnected:
            return
        if self._finished:
            raise RuntimeError("cannot write() after finish()")
        if not self.headers_written:
            if self._pending is None:
                self._pending = []
            self._pending.append(chunk)
            return
        parts = self.frame_body(chunk)
        if len(parts) == 1:
            self._connection._send(parts[0])
        elif parts:
            self._connection._send_sequence(parts)

    def detach(self, protocol: interfaces.IProtocol) -> Any:
        """Hand the socket to ``protocol`` (after a 101 response) and return the transport."""
        self._finished = True
        self._fire_finish_deferreds()
        return self._connection._detach(protocol)

    def failed_write(self) -> defer.Deferred[None]:
        """What a write returns once the client left: ConnectionLost for whoever waits on it.

        The failure comes on the next reactor turn; a caller that dropped
        the Deferred gets no "Unhandled error" log.
        """
        return self._connection._quiet_failure()

    def fail(self, status: int, message: str) -> None:
        """This request cannot complete: answer ``status`` and close, or abort a response under way.

        For a delegate that finds the request unusable (a malformed form
        body) or an application that failed; nothing happens once the
        response was finished.
        """
        if not self._finished:
            self._connection._fail_request(status, message)

    # -- used by HTTPConnection ----------------------------------------------------

    def _mark_finished(self) -> None:
        """The connection answered for the application (an error response): fire the waiters."""
        self._finished = True
        self._fire_finish_deferreds()

    def _fire_finish_deferreds(self) -> None:
        deferreds, self._finish_deferreds = self._finish_deferreds, None
        for d in deferreds or ():
            d.callback(None)

    def _connection_lost(self) -> None:
        if self._finished:
            return
        self._finished = True
        self.client_disconnected = True
        callback, self._close_callback = self._close_callback, None
        if callback is not None:
            try:
                callback()
            except Exception:
                log.failure("close callback raised")
        self._fire_finish_deferreds()


class _CallbackDelegate(BufferedBodyDelegate):
    """Adapts a plain ``callback(request)`` to the delegate interface: buffers the body."""

    __slots__ = ("_callback", "_request")

    def __init__(self, callback: Callable[[HTTPServerRequest], Any]) -> None:
        self._body = b""  # BufferedBodyDelegate's state, set here: one call less per request
        self._callback = callback
        self._request: HTTPServerRequest | None = None

    def headers_received(self, request: HTTPServerRequest) -> None:
        self._request = request

    def finish(self) -> None:
        request = self._request
        assert request is not None
        if self._body:
            request.body = self.take_body()
            try:
                request.parse_form_body()
            except HTTPInputError as error:
                request.connection.fail(400, str(error))
                return
        try:
            self._callback(request)
        except Exception:
            log.failure("request callback raised for {request!r}", request=request)
            request.connection.fail(500, "internal server error")

    def on_connection_close(self) -> None:
        pass


@implementer(interfaces.IPushProducer)
class HTTPConnection(protocol.Protocol):
    """One client connection: parses requests and writes responses, in order.

    Its state: ``_parser`` (the `RequestParser`); ``_request_connection`` and
    ``_delegate`` (the request in progress, None between requests);
    ``_read_pauses`` (the `PauseReason` values keeping reading stopped);
    ``_write_paused`` and ``_drain_waiters`` (the transport's buffer is full;
    the write Deferreds waiting for it to drain); ``_deadline`` and
    ``_deadline_kind`` (the one `Deadline`); ``_write_deadline``,
    ``_write_progress`` and ``_handed`` (the write timeout's watch);
    ``_socket`` (set when writes may go straight to the socket);
    ``_detached_to`` (the protocol after a WebSocket upgrade); ``_closed`` and
    ``_discarding`` (closing; lingering after an error response).
    """

    factory: HTTPServer
    # A Twisted transport (TCP, TLS or UNIX); typed loosely because its
    # interfaces are zope.interface declarations mypy cannot follow.
    transport: Any

    def __init__(self) -> None:
        self._parser: RequestParser
        self._request_connection: HTTPRequestConnection | None = None
        self._delegate: HTTPMessageDelegate | None = None
        self._processing = False
        # Immutable, replaced on change: idle connections share the one empty set.
        self._read_pauses: frozenset[str] = _NOT_PAUSED
        self._write_paused = False
        # Created when a write first has to wait for the drain.
        self._drain_waiters: list[defer.Deferred[None]] | None = None
        self._detached_to: Any = None
        self._discarding = False
        self._closed = False
        self._deadline: float | None = None
        self._deadline_kind: str | None = None
        # While response bytes wait in the transport: when to give up on a client
        # that takes none of them, and how many it had taken at the last check.
        self._write_deadline: float | None = None
        self._write_progress = 0
        # Bytes handed to the transport (not those sent straight to the socket).
        self._handed = 0
        self._remote_ip = ""
        self._socket: Any = None

    # -- Twisted protocol ----------------------------------------------------------

    def connectionMade(self) -> None:
        factory = self.factory
        self._parser = RequestParser(
            max_header_size=factory.max_header_size,
            max_body_size=factory.max_body_size,
            max_request_line_size=factory.max_request_line_size,
            max_header_count=factory.max_header_count,
        )
        peer = self.transport.getPeer()
        self._remote_ip = getattr(peer, "host", "") or ""
        self._scheme = "https" if interfaces.ISSLTransport.providedBy(self.transport) else "http"
        if factory.scheme:
            self._scheme = factory.scheme
        self.transport.registerProducer(self, True)
        self._socket = _direct_socket(self.transport)
        factory._open_sockets += 1
        factory._connection_opened(self)
        self._set_deadline(Deadline.IDLE, factory.idle_connection_timeout)

    def dataReceived(self, data: bytes) -> None:
        if self._detached_to is not None:
            self._detached_to.dataReceived(data)
            return
        if self._discarding:
            return
        parser = self._parser
        parser.receive(data)
        if not self._processing:
            self._process()
        if self._deadline_kind == Deadline.IDLE and parser._buffer and parser.waiting_for_head:
            # Part of a request head arrived: from now on it has header_timeout to complete.
            self._set_deadline(Deadline.HEADER, self.factory.header_timeout)

    def connectionLost(self, reason: Failure = _CONNECTION_DONE) -> None:
        # Our own close ends cleanly only once every queued byte was sent: the
        # writes waiting for the drain succeeded. Otherwise they fail, for whoever waits.
        delivered = self._closed and reason.check(ConnectionDone) is not None
        self._closed = True
        self.factory._open_sockets -= 1
        if self._detached_to is not None:
            self._detached_to.connectionLost(reason)
            return
        self.factory._connection_closed(self)
        self._write_deadline = None
        self._end_request()
        self._write_paused = True
        waiters, self._drain_waiters = self._drain_waiters, None
        for waiter in waiters or ():
            if delivered:
                waiter.callback(None)
            else:
                _fail_write(waiter)

    # -- writing ----------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        """Write ``data``, straight to the socket when Twisted has nothing queued.

        Twisted's transport queues every write for the next reactor turn,
        registers for writability and joins its buffers (copying large
        bodies). When its queue is empty, sending now keeps the same order
        and skips all of that; whatever the kernel does not take goes to the
        transport, which keeps handling backpressure and errors.
        """
        sock = self._socket
        if sock is not None and self._transport_idle():
            try:
                sent = sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                sent = 0  # the transport will notice the failure and report it
            if sent == len(data):
                return
            data = data[sent:]
        self._handed += len(data)
        self.transport.write(data)

    def _send_sequence(self, parts: list[bytes]) -> None:
        """Write several buffers in one system call without joining them (scatter/gather)."""
        sock = self._socket
        if sock is not None and self._transport_idle():
            try:
                sent = sock.sendmsg(parts)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                sent = 0
            for index, part in enumerate(parts):
                if sent >= len(part):
                    sent -= len(part)
                    continue
                remainder = [part[sent:], *parts[index + 1 :]]
                self._handed += sum(map(len, remainder))
                self.transport.writeSequence(remainder)
                return
            return
        self._handed += sum(map(len, parts))
        self.transport.writeSequence(parts)

    def _transport_idle(self) -> bool:
        transport = self.transport
        return (
            not transport._tempDataLen
            and transport.offset == len(transport.dataBuffer)
            and transport.connected
            and not transport.disconnecting
        )

    # -- IPushProducer: the transport tells us its send buffer is full or drained --

    def pauseProducing(self) -> None:
        self._write_paused = True
        self._pause_reading(PauseReason.WRITE_BUFFER)
        self._watch_writes()

    def resumeProducing(self) -> None:
        self._write_paused = False
        self._write_deadline = None
        self._resume_reading(PauseReason.WRITE_BUFFER)
        waiters, self._drain_waiters = self._drain_waiters, None
        for waiter in waiters or ():
            waiter.callback(None)

    def stopProducing(self) -> None:
        pass

    # -- parsing loop ----------------------------------------------------------------

    def _process(self) -> None:
        """Turn buffered bytes into delegate calls until more data or a response is needed."""
        parser = self._parser
        self._processing = True
        try:
            while not self._read_pauses and not self._closed and self._detached_to is None:
                event = parser.next_event()
                if event is NEED_DATA:
                    break
                if event is PAUSED:
                    if parser.buffered > self.factory.max_header_size:
                        # Pipelined requests pile up while a response is pending.
                        self._pause_reading(PauseReason.PIPELINE)
                    break
                event_type = type(event)
                if event_type is RequestHead:
                    self._on_request_head(event)  # type: ignore[arg-type]
                elif event_type is BodyData:
                    delegate = self._delegate
                    if delegate is not None:
                        try:
                            result = delegate.data_received(event.data)  # type: ignore[union-attr]
                        except Exception:
                            log.failure("data_received raised")
                            self._fail_request(500, "the application failed reading the body")
                            break
                        # `is not None` first: Deferred is an ABC, isinstance() on it costs ~0.2 us.
                        if result is not None and isinstance(result, defer.Deferred):
                            # An already-failed Deferred is handled too, not dropped.
                            if not result.called:
                                self._pause_reading(PauseReason.DELEGATE)
                            result.addBoth(self._delegate_ready)
                elif event is EndOfMessage:
                    self._deadline = None
                    self._deadline_kind = None
                    delegate = self._delegate
                    if delegate is not None:
                        try:
                            delegate.finish()
                        except Exception:
                            log.failure("the request delegate's finish() raised")
                            self._fail_request(500, "internal server error")
                            break
                    if not parser._buffer:
                        break  # answered or not, nothing more to parse until bytes arrive
                elif event_type is MalformedRequest:
                    self._fail_request(event.status, event.message)  # type: ignore[union-attr]
                    break
        finally:
            self._processing = False

    def _delegate_ready(self, result: Any) -> Any:
        self._resume_reading(PauseReason.DELEGATE)
        if isinstance(result, Failure):
            log.failure("data_received failed", result)
            self._fail_request(500, "the application failed reading the body")
            return None
        return None

    def _on_request_head(self, head: RequestHead) -> None:
        factory = self.factory
        headers = head.headers
        request_connection = HTTPRequestConnection(self, head)
        remote_ip = self._remote_ip
        scheme = self._scheme
        if factory.xheaders:
            remote_ip, scheme = factory._apply_xheaders(headers, remote_ip, scheme)
        host = head.authority or head.host
        if not host:
            local = self.transport.getHost()
            host = getattr(local, "host", "") or "localhost"
        # Positional, in Tornado's parameter order (keyword arguments cost more per request).
        request = HTTPServerRequest(
            head.method,
            head.uri,
            head.version,
            headers,
            _BODY_NOT_READ_YET,
            host,
            _NO_FILES_YET,
            request_connection,
            remote_ip,
            scheme,
        )
        request_connection.request = request
        self._request_connection = request_connection
        delegate = self._delegate = factory._start_request(request)
        parser = self._parser
        parser.max_body_size = factory.max_body_size
        try:
            result = delegate.headers_received(request)
        except Exception:
            log.failure("headers_received raised")
            self._fail_request(500, "internal server error")
            return
        if request_connection._finished or request_connection.headers_written:
            return
        if head.content_length is not None or head.chunked:
            if head.content_length is not None and head.content_length > parser.max_body_size:
                # Like a malformed body: the delegate (a streaming handler's prepare()
                # may already have run) hears that the request will never complete.
                self._fail_request(
                    413, f"request body of {head.content_length} bytes is too large"
                )
                return
            if head.chunked or head.content_length:
                if head.expect_continue:
                    self._send(b"HTTP/1.1 100 Continue\r\n\r\n")
                self._set_deadline(Deadline.BODY, factory.body_timeout)
        if result is not None and isinstance(result, defer.Deferred):
            if not result.called:
                self._pause_reading(PauseReason.DELEGATE)
            result.addBoth(self._delegate_ready)

    def _fail_request(self, status: int, message: str) -> None:
        """The request cannot complete: answer ``status`` and close, or abort a response under way.

        For a malformed request, a deadline and an application that failed.
        The request in progress is torn down first (`_end_request`), so its
        later writes are ignored and a half-written response never gets a
        second head.
        """
        request_connection = self._end_request()
        if request_connection is not None and request_connection.headers_written:
            self._abort()
            return
        self._send_error_and_close(status, message)

    def _end_request(self) -> HTTPRequestConnection | None:
        """Tell the unfinished request in progress, if any, that it will never complete.

        The one teardown for every way a request ends early (a malformed
        body, a deadline, a failing application, the client leaving): the
        request counts as disconnected (its writes are ignored, its close
        callback and notifyFinish() fire) and the delegate hears
        on_connection_close. What those raise is logged and goes no further,
        so the caller still answers and closes. Returns the torn-down request.
        """
        request_connection = self._request_connection
        delegate = self._delegate
        self._request_connection = self._delegate = None
        if request_connection is None or request_connection._finished:
            return None
        # Nothing written for this request can reach the client any more.
        self._write_paused = True
        request_connection._connection_lost()
        if delegate is not None:
            try:
                delegate.on_connection_close()
            except Exception:
                log.failure("on_connection_close raised")
        return request_connection

    # -- responses -------------------------------------------------------------------

    def _response_finished(self, request_connection: HTTPRequestConnection) -> None:
        if request_connection is not self._request_connection:
            return
        self._request_connection = None
        self._delegate = None
        if self._closed:
            return
        if not request_connection.keep_alive:
            self._lose_connection()
            return
        parser = self._parser
        parser.start_next_request()
        # parser._buffer: what `parser.buffered` counts, without the property (once per request).
        if parser._buffer:
            self._set_deadline(Deadline.HEADER, self.factory.header_timeout)
        else:
            self._set_deadline(Deadline.IDLE, self.factory.idle_connection_timeout)
        if self._read_pauses:
            self._resume_reading(PauseReason.PIPELINE)
        if not self._processing and parser._buffer:
            self._process()

    def _send_error_and_close(self, status: int, message: str) -> None:
        """Answer a protocol-level error and close after a short linger."""
        if self._closed:
            return
        request_connection = self._request_connection
        self._request_connection = self._delegate = None
        if request_connection is not None:
            request_connection._mark_finished()
        self._send(error_response(status, message))
        self._linger_close()

    # -- closing: every way a connection ends goes through one of these -----------------

    def _lose_connection(self) -> None:
        """Close once the bytes queued for the client are sent.

        A transport with a producer registered does not close when its buffer
        drains: it resumes the producer, and waits for it to unregister. So
        the connection stops being the producer first; otherwise a response
        that filled the buffer would leave the socket open (and, reading
        stopped, the client's FIN unnoticed: CLOSE-WAIT) forever. The bytes
        still queued drain under the write timeout's watch.
        """
        self._closed = True
        self._deadline = None
        self._deadline_kind = None
        transport = self.transport
        transport.unregisterProducer()
        transport.loseConnection()
        self._watch_writes()

    def _abort(self) -> None:
        """Close now, dropping whatever is queued (the client sees a reset)."""
        self._closed = True
        self.transport.abortConnection()

    def _linger_close(self) -> None:
        """Half-close after an error response and read (and discard) for a while, then close.

        Closing at once could make the kernel answer the client's unread
        request bytes with a reset that destroys our 4xx (RFC 9112 §9.6).
        """
        self._discarding = True
        self._closed = True
        self._read_pauses = _NOT_PAUSED
        transport = self.transport
        transport.unregisterProducer()
        transport.resumeProducing()
        lose_write = getattr(transport, "loseWriteConnection", None)
        if lose_write is not None and interfaces.ITCPTransport.providedBy(transport):
            lose_write()
            self._set_deadline(Deadline.LINGER, LINGER_SECONDS)
        else:
            transport.loseConnection()
        self._watch_writes()

    # -- the write timeout -------------------------------------------------------------------

    def _watch_writes(self) -> None:
        """Start the write timeout: response bytes wait for this client (buffer full, or closing)."""
        timeout = self.factory.write_timeout
        if self._write_deadline is None and timeout and timeout > 0:
            self._write_deadline = self.factory.clock.seconds() + timeout
            self._write_progress = self._bytes_sent()

    def _bytes_sent(self) -> int:
        """How many of the bytes handed to the transport it has sent (-1 if it cannot tell)."""
        unsent = _unsent_bytes(self.transport)
        return -1 if unsent is None else self._handed - unsent

    def _check_writes(self, now: float) -> None:
        """Push the write deadline back if the client took bytes since the last check; else enforce it.

        A transport whose queue cannot be inspected shows progress only by
        draining completely (`resumeProducing`).
        """
        sent = self._bytes_sent()
        if sent > self._write_progress:
            self._write_progress = sent
            self._write_deadline = now + self.factory.write_timeout
        elif self._write_deadline is not None and now >= self._write_deadline:
            self._write_deadline = None
            log.info(
                "aborting the connection of {client}: it took no response bytes "
                "for {seconds} s ({unsent} queued)",
                client=self._remote_ip,
                seconds=self.factory.write_timeout,
                unsent=_unsent_bytes(self.transport),
            )
            self._abort()

    def _drained(self) -> defer.Deferred[None]:
        if not self._write_paused:
            return defer.succeed(None)
        if self._closed:
            return self._quiet_failure()
        waiter: defer.Deferred[None] = defer.Deferred()
        if self._drain_waiters is None:
            self._drain_waiters = []
        self._drain_waiters.append(waiter)
        return waiter

    def _quiet_failure(self) -> defer.Deferred[None]:
        """A Deferred failing with ConnectionLost on the next reactor turn, logged by no one.

        Nothing will drain any more. Failing on the next turn lets a caller
        that waits see ConnectionLost, and one that dropped the Deferred (a
        fire-and-forget ``flush()``) see nothing: no "Unhandled error in
        Deferred" for a client that simply left.
        """
        waiter: defer.Deferred[None] = defer.Deferred()
        self.factory.clock.callLater(0, _fail_write, waiter)
        return waiter

    def _detach(self, protocol: Any) -> Any:
        transport = self.transport
        self._detached_to = protocol
        self._deadline = None
        self._write_deadline = None
        self._request_connection = self._delegate = None
        self.factory._connection_closed(self)
        transport.unregisterProducer()
        leftover = self._parser.take_buffered()
        self._read_pauses = _NOT_PAUSED
        transport.resumeProducing()
        protocol.makeConnection(transport)
        if leftover:
            protocol.dataReceived(leftover)
        return transport

    def _close_for_shutdown(self) -> None:
        """Close now if idle between requests, or once the response in flight is finished."""
        if self._closed or self._detached_to is not None:
            return
        request_connection = self._request_connection
        if request_connection is not None:
            request_connection.keep_alive = False
        elif not self._parser.buffered:
            self._lose_connection()
        # else a request head is arriving; it is answered with Connection: close.

    # -- flow control and deadlines --------------------------------------------------

    def _pause_reading(self, reason: str) -> None:
        """Stop reading for ``reason`` (a `PauseReason`) until `_resume_reading` of each reason."""
        if not self._read_pauses:
            self.transport.pauseProducing()
        self._read_pauses = self._read_pauses | {reason}

    def _resume_reading(self, reason: str) -> None:
        if reason not in self._read_pauses:
            return
        self._read_pauses = self._read_pauses - {reason}
        if not self._read_pauses and not self._closed:
            self.transport.resumeProducing()
            if not self._processing:
                # Even with nothing buffered an event may be due (end of a body).
                self._process()

    def _set_deadline(self, kind: str, seconds: float | None) -> None:
        """Replace the connection's deadline with ``kind`` (a `Deadline`), ``seconds`` from now."""
        if seconds is None or seconds <= 0:
            self._deadline = None
            self._deadline_kind = None
        else:
            self._deadline = self.factory.clock.seconds() + seconds
            self._deadline_kind = kind

    def _on_deadline(self) -> None:
        kind = self._deadline_kind
        self._deadline = None
        self._deadline_kind = None
        if kind == Deadline.LINGER:
            if _unsent_bytes(self.transport):
                # Still sending what precedes the error response: the linger starts
                # once it is out, and the write timeout watches meanwhile.
                self._set_deadline(Deadline.LINGER, LINGER_SECONDS)
            else:
                self._abort()
        elif self._closed:
            return
        elif kind == Deadline.IDLE:
            self._lose_connection()
        elif kind == Deadline.HEADER:
            self._fail_request(408, "the request head did not arrive in time")
        else:
            self._fail_request(408, "the request body did not arrive in time")


class _RefusedConnection(protocol.Protocol):
    """A connection over `HTTPServer.max_connections`: closed as soon as it is made."""

    def connectionMade(self) -> None:
        transport: Any = self.transport
        transport.abortConnection()


class _RefusalLog:
    """Logs refused connections as one warning per burst, not one line per connection."""

    #: Seconds between two warnings; the refusals in between are counted in the next.
    INTERVAL = 10.0

    def __init__(self) -> None:
        self.unreported = 0
        self.last_warning: float | None = None

    def note(self, addr: Any, open_now: int, limit: int, clock: Any) -> None:
        self.unreported += 1
        now = clock.seconds()  # set: a connection is open, since one is over the limit
        if self.last_warning is not None and now - self.last_warning < self.INTERVAL:
            return
        log.warn(
            "max_connections={limit} reached ({open_now} open): refused {count} connection(s), "
            "the last from {peer}",
            limit=limit,
            open_now=open_now,
            count=self.unreported,
            peer=getattr(addr, "host", addr),
        )
        self.unreported = 0
        self.last_warning = now


#: Each limit's default, used when the setting is not given (or given as None).
_LIMIT_DEFAULTS: dict[str, float] = {
    "max_header_size": DEFAULT_MAX_HEADER_SIZE,
    "max_body_size": DEFAULT_MAX_BODY_SIZE,
    "max_request_line_size": DEFAULT_MAX_REQUEST_LINE_SIZE,
    "max_header_count": DEFAULT_MAX_HEADER_COUNT,
    "header_timeout": DEFAULT_HEADER_TIMEOUT,
    "body_timeout": DEFAULT_BODY_TIMEOUT,
    "idle_connection_timeout": DEFAULT_IDLE_CONNECTION_TIMEOUT,
    "write_timeout": DEFAULT_WRITE_TIMEOUT,
}


class HTTPServer(protocol.ServerFactory):
    """A Twisted factory for HTTP/1.1 connections.

    ``request_callback`` is either an object with ``start_request(request)``
    returning an `HTTPMessageDelegate` (a router or application) or a plain
    ``callback(request)``. Every limit is a keyword argument (see
    docs/architecture.md for defaults).
    """

    protocol = HTTPConnection  # type: ignore[assignment]
    #: Twisted's "Starting factory"/"Stopping factory" lines say nothing a server's own start-up
    #: line does not, and a test suite that listens per test would print two per test.
    noisy = False
    #: The IReactorTime for timeouts: the ``clock`` option, else the reactor (from the first
    #: connection on).
    clock: Any

    # The limits (see docs/architecture.md); tests and applications may change them.
    max_header_size: int
    max_body_size: int
    max_request_line_size: int
    max_header_count: int
    header_timeout: float
    body_timeout: float
    idle_connection_timeout: float
    write_timeout: float
    #: Sockets open at once (upgraded WebSockets included); past it a new one is closed on
    #: accept. None: only the process's file-descriptor limit.
    max_connections: int | None
    #: Sockets of this factory open now (HTTP, and what HTTP handed over to WebSocket).
    _open_sockets = 0

    def __init__(self, request_callback: Any = None, **options: Any) -> None:
        """``options`` are the keyword arguments of `_configure_server` (limits, xheaders...)."""
        self._configure_server(request_callback, **options)

    def _configure_server(
        self,
        request_callback: Any,
        *,
        xheaders: bool = False,
        no_keep_alive: bool = False,
        max_header_size: int | None = None,
        max_body_size: int | None = None,
        max_request_line_size: int | None = None,
        max_header_count: int | None = None,
        header_timeout: float | None = None,
        body_timeout: float | None = None,
        idle_connection_timeout: float | None = None,
        write_timeout: float | None = None,
        max_connections: int | None = None,
        trusted_downstream: list[str] | None = None,
        scheme: str | None = None,
        clock: Any = None,
    ) -> None:
        """Set the server options (shared by HTTPServer and the routers built on it)."""
        # None: the reactor, looked up when the first connection opens (see _connection_opened).
        self.clock = clock
        self.xheaders = xheaders
        self.no_keep_alive = no_keep_alive
        given = {
            "max_header_size": max_header_size,
            "max_body_size": max_body_size,
            "max_request_line_size": max_request_line_size,
            "max_header_count": max_header_count,
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "idle_connection_timeout": idle_connection_timeout,
            "write_timeout": write_timeout,
        }
        for name, value in given.items():
            # ``is None``, not ``or``: max_body_size=0 means "no body", not the default.
            setattr(self, name, _LIMIT_DEFAULTS[name] if value is None else value)
        if max_connections is not None and max_connections < 1:
            raise ValueError(
                f"max_connections must be at least 1 (or None), not {max_connections!r}"
            )
        self.max_connections = max_connections
        self._refused = _RefusalLog()
        self.trusted_downstream = frozenset(trusted_downstream or ())
        self.scheme = scheme
        self._connections: set[HTTPConnection] = set()
        self._sweeper: task.LoopingCall | None = None
        self._shutdown_waiters: list[defer.Deferred[None]] | None = None
        self._shutdown_timer: Any = None
        if request_callback is not None and hasattr(request_callback, "start_request"):
            self._start_request = request_callback.start_request  # type: ignore[method-assign]
        elif request_callback is not None:
            callback = request_callback
            self._start_request = lambda request: _CallbackDelegate(callback)  # type: ignore[method-assign]

    def _start_request(self, request: HTTPServerRequest) -> HTTPMessageDelegate:
        raise NotImplementedError("HTTPServer needs a request_callback")

    def buildProtocol(self, addr: Any) -> Any:
        """A connection's protocol; past `max_connections`, one that closes the socket at once.

        Refusing on accept, before anything is read, keeps an over-limit
        connection at the cost of one small object for one reactor turn, and it
        works the same under TLS (whose wrapper needs a protocol to wrap).
        """
        limit = self.max_connections
        if limit is not None and self._open_sockets >= limit:
            self._refused.note(addr, self._open_sockets, limit, self.clock)
            return _RefusedConnection()
        return protocol.ServerFactory.buildProtocol(self, addr)

    # -- connection bookkeeping and the one timeout timer --------------------------

    @property
    def connections(self) -> frozenset[HTTPConnection]:
        """The open (not detached) connections."""
        return frozenset(self._connections)

    def _connection_opened(self, connection: HTTPConnection) -> None:
        if self.clock is None:
            # Not when the factory is made: building an application inside asyncio.run must
            # not install Twisted's default reactor before listen() picks the asyncio one.
            from twisted.internet import reactor

            self.clock = reactor
        self._connections.add(connection)
        if self._sweeper is None:
            timeouts = [
                t
                for t in (
                    self.header_timeout,
                    self.body_timeout,
                    self.idle_connection_timeout,
                    self.write_timeout,
                )
                if t and t > 0
            ]
            interval = min([1.0, LINGER_SECONDS / 2, *[t / 4 for t in timeouts]])
            self._sweeper = task.LoopingCall(self._sweep_deadlines)
            self._sweeper.clock = self.clock
            self._sweeper.start(interval, now=False)

    def _connection_closed(self, connection: HTTPConnection) -> None:
        self._connections.discard(connection)
        if not self._connections:
            if self._sweeper is not None:
                self._stop_sweeper()
            if self._shutdown_waiters is not None:
                self._fire_shutdown_waiters()

    def _stop_sweeper(self) -> None:
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None and sweeper.running:
            call: Any = sweeper.call
            if call is None or call.active():
                sweeper.stop()

    def _sweep_deadlines(self) -> None:
        now = self.clock.seconds()
        for connection in list(self._connections):
            deadline = connection._deadline
            if deadline is not None and now >= deadline:
                try:
                    connection._on_deadline()
                except Exception:
                    log.failure("closing a timed-out connection failed")
            if connection._write_deadline is not None:
                try:
                    connection._check_writes(now)
                except Exception:
                    log.failure("checking a connection's write progress failed")

    def stopFactory(self) -> None:
        self._stop_sweeper()

    # -- graceful shutdown ---------------------------------------------------------

    def shutdown(self, timeout: float = 30.0) -> defer.Deferred[None]:
        """Close every connection without cutting a response short; fires when all are closed.

        Call it after the listening ports stopped accepting. Idle keep-alive
        connections are closed at once; a connection with a request in flight
        is closed as soon as its response is finished (answered with
        ``Connection: close`` when its headers are not sent yet), and a request
        that arrives meanwhile is answered the same way. Connections still open
        after ``timeout`` seconds are aborted. Detached connections (WebSocket)
        are not tracked here: `cyclone.deploy.on_shutdown` closes those.
        """
        self.no_keep_alive = True
        waiter: defer.Deferred[None] = defer.Deferred()
        if self._shutdown_waiters is None:
            self._shutdown_waiters = []
        self._shutdown_waiters.append(waiter)
        for connection in list(self._connections):
            connection._close_for_shutdown()
        if not self._connections:
            self._fire_shutdown_waiters()
        elif self._shutdown_timer is None:
            self._shutdown_timer = self.clock.callLater(timeout, self._abort_for_shutdown)
        return waiter

    def _abort_for_shutdown(self) -> None:
        self._shutdown_timer = None
        remaining = list(self._connections)
        if remaining:
            log.warn(
                "graceful shutdown timed out; aborting {count} connection(s)",
                count=len(remaining),
            )
        for connection in remaining:
            connection._abort()
        self.clock.callLater(0, self._fire_shutdown_waiters)

    def _fire_shutdown_waiters(self) -> None:
        timer, self._shutdown_timer = self._shutdown_timer, None
        if timer is not None and timer.active():
            timer.cancel()
        waiters, self._shutdown_waiters = self._shutdown_waiters or [], []
        for waiter in waiters:
            waiter.callback(None)

    # -- X-Real-Ip and friends -----------------------------------------------------

    def _apply_xheaders(
        self, headers: HTTPHeaders, remote_ip: str, scheme: str
    ) -> tuple[str, str]:
        """Take the client address and scheme from a reverse proxy's headers.

        X-Forwarded-For is read right to left, skipping addresses listed in
        ``trusted_downstream``; X-Real-Ip wins when present. Values that are
        not IP addresses are ignored. X-Scheme or X-Forwarded-Proto set the
        scheme when they say http or https.
        """
        forwarded = headers.get("X-Forwarded-For")
        candidate = None
        if forwarded:
            for entry in reversed(forwarded.split(",")):
                entry = entry.strip()
                if entry and entry not in self.trusted_downstream:
                    candidate = entry
                    break
        candidate = headers.get("X-Real-Ip", candidate)
        if candidate:
            try:
                remote_ip = str(ipaddress.ip_address(candidate.strip()))
            except ValueError:
                pass
        proto = headers.get("X-Scheme") or headers.get("X-Forwarded-Proto")
        if proto:
            proto = proto.split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                scheme = proto
        return remote_ip, scheme


#: cyclone 1.3's name for the request object: `cyclone.httputil.HTTPServerRequest`
#: itself, so ``isinstance(request, HTTPRequest)`` holds for every request served.
HTTPRequest = HTTPServerRequest
