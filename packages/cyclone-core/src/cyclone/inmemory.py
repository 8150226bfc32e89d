"""One HTTP exchange with a server factory in memory, without a socket.

    from cyclone.inmemory import exchange

    response = await exchange(application, b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    print(response.code, response.headers["Content-Type"], response.body)

`exchange` builds the factory's protocol over `MemoryTransport`, feeds it raw
request bytes and parses what it writes back with `ResponseReader`. Both the
test client (`cyclone.testing`) and ``cyclone.web.FallbackHandler`` (which runs
a twisted.web resource inside a cyclone application) use it. This module
imports neither ``twisted.trial`` nor ``twisted.internet.testing``, so a
serving process that uses it does not load the test framework.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IConsumer, IPushProducer, ITransport
from twisted.python.failure import Failure
from zope.interface import implementer

from cyclone.httputil import HTTPHeaders

__all__ = ["MemoryTransport", "Response", "ResponseReader", "exchange"]


class Response:
    """What the application answered: ``code``, ``reason``, ``headers``, ``body``."""

    def __init__(self, code: int, reason: str, headers: HTTPHeaders, body: bytes) -> None:
        self.code = code
        self.reason = reason
        self.headers = headers
        self.body = body

    @property
    def content(self) -> bytes:
        """The body; cyclone 1.3's test client named it ``content``."""
        return self.body

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Response({self.code} {self.reason}, {len(self.body)} bytes)"


class ResponseReader:
    """Parses one HTTP/1.1 response from the bytes the server wrote."""

    def __init__(self, head_only: bool) -> None:
        self.head_only = head_only
        self.buffer = b""
        self.status: tuple[int, str] | None = None
        self.headers = HTTPHeaders()
        self.body: list[bytes] = []
        self.length: int | None = None
        self.chunked = False
        self.complete = False

    def feed(self, data: bytes) -> None:
        """Take more bytes of the response."""
        self.buffer += data
        self._advance()

    def _advance(self) -> None:
        while not self.complete:
            if self.status is None:
                end = self.buffer.find(b"\r\n\r\n")
                if end == -1:
                    return
                head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
                status_line, _, header_text = head.partition("\r\n")
                _, code, reason = (status_line.split(" ", 2) + [""])[:3]
                if 100 <= int(code) < 200:
                    continue
                self.status = (int(code), reason)
                self.headers = HTTPHeaders.parse(header_text)
                if self.head_only or int(code) in (204, 304):
                    self.complete = True
                    return
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    self.chunked = True
                elif "Content-Length" in self.headers:
                    self.length = int(self.headers["Content-Length"])
            elif self.chunked:
                line_end = self.buffer.find(b"\r\n")
                if line_end == -1:
                    return
                size = int(self.buffer[:line_end].split(b";")[0], 16)
                if len(self.buffer) < line_end + 2 + size + 2:
                    return
                start = line_end + 2
                if size == 0:
                    trailer_end = self.buffer.find(b"\r\n", start - 2 + 2)
                    if trailer_end == -1:
                        return
                    self.complete = True
                    return
                self.body.append(self.buffer[start : start + size])
                self.buffer = self.buffer[start + size + 2 :]
            elif self.length is not None:
                if len(self.buffer) >= self.length:
                    self.body.append(self.buffer[: self.length])
                    self.buffer = b""
                    self.complete = True
                return
            else:
                self.body.append(self.buffer)
                self.buffer = b""
                return

    def connection_closed(self) -> None:
        """The server closed: a close-delimited body is now complete."""
        if self.status is not None and self.length is None and not self.chunked:
            self.complete = True

    def response(self) -> Response:
        """The parsed response; only once a status line was read."""
        assert self.status is not None
        return Response(self.status[0], self.status[1], self.headers, b"".join(self.body))


@implementer(ITransport, IConsumer, IPushProducer)
class MemoryTransport:
    """A transport that hands every write and the close to two callbacks.

    It keeps what a server protocol expects of a TCP transport (addresses, a
    registered producer, ``disconnecting``) and nothing else.
    """

    def __init__(self, on_write: Callable[[bytes], None], on_close: Callable[[], None]) -> None:
        self._on_write = on_write
        self._on_close = on_close
        self._host = IPv4Address("TCP", "127.0.0.1", 80)
        self._peer = IPv4Address("TCP", "127.0.0.1", 50000)
        self.connected = True
        self.disconnecting = False
        self.producer: Any = None
        self.streaming: bool | None = None
        self.producer_state = "producing"

    def write(self, data: bytes) -> None:
        if not isinstance(data, bytes):
            raise TypeError(f"transport.write takes bytes, not {type(data).__name__}")
        self._on_write(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        if not self.disconnecting:
            self.disconnecting = True
            self._on_close()

    def abortConnection(self) -> None:
        self.loseConnection()

    def getPeer(self) -> IPv4Address:
        return self._peer

    def getHost(self) -> IPv4Address:
        return self._host

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        if self.producer is not None:
            raise RuntimeError(f"cannot register {producer!r}: {self.producer!r} is registered")
        self.producer = producer
        self.streaming = streaming

    def unregisterProducer(self) -> None:
        self.producer = None
        self.streaming = None

    def pauseProducing(self) -> None:
        self.producer_state = "paused"

    def resumeProducing(self) -> None:
        self.producer_state = "producing"

    def stopProducing(self) -> None:
        self.producer_state = "stopped"


def exchange(
    factory: Any, raw_request: bytes, head_only: bool = False
) -> defer.Deferred[Response]:
    """Send raw request bytes to any HTTP server factory in memory; a Deferred of its Response.

    The Deferred fails with ``ConnectionDone`` if the server closes without
    answering.
    """
    from cyclone.eventloop import serving_reactor

    # Inside a running asyncio loop: the asyncio reactor on it (see cyclone.eventloop).
    reactor: Any = serving_reactor()
    result: defer.Deferred[Response] = defer.Deferred()
    scheduled: list[Any] = []
    finishing: list[bool] = []
    reader = ResponseReader(head_only=head_only)
    protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 50000))

    def finish() -> None:
        if result.called or finishing:
            return
        finishing.append(True)
        if reader.status is None:
            result.errback(ConnectionDone("the server closed without a response"))
            return
        response = reader.response()
        if not transport.disconnecting:
            transport.loseConnection()
        result.callback(response)

    def on_write(data: bytes) -> None:
        reader.feed(data)
        if reader.complete and not scheduled:
            # Answer on the next reactor turn: the server is still inside
            # its own write call and must be allowed to finish cleanly.
            scheduled.append(reactor.callLater(0, finish))

    def on_close() -> None:
        reader.connection_closed()
        protocol.connectionLost(Failure(ConnectionDone()))
        if not scheduled:
            scheduled.append(reactor.callLater(0, finish))

    transport = MemoryTransport(on_write, on_close)
    protocol.makeConnection(transport)
    protocol.dataReceived(raw_request)
    return result
