"""A WebSocket client for Twisted: ``connect(url)`` and the same message API as the handler.

    from twisted.internet import defer, task
    from cyclone.websocket.client import connect

    async def main(reactor):
        connection = await connect("ws://127.0.0.1:8888/ws")
        await connection.write_message("hello")
        print(await connection.read_message())       # None once the connection is closed
        connection.close()
        await connection.wait_closed()

    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))

Messages arrive either through ``read_message()`` (a queue) or, when
``on_message_callback`` is given, through that callback (reading pauses while a
Deferred it returns is pending). Once the unread messages in the queue exceed
``max_message_size`` bytes, reading pauses until the application reads, so a
server can't make the client hold more than that plus one message. ``wss://`` URLs use TLS
(certificate checked against the host unless ``ssl_options`` is given).
"""

from __future__ import annotations

import base64
import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from twisted.internet import defer, protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from cyclone.websocket._protocol import (
    DEFAULT_MAX_BUFFER_SIZE,
    WebSocketClosedError,
    WebSocketProtocol,
)
from cyclone.websocket.deflate import (
    NegotiationError,
    PerMessageDeflate,
    client_offer,
    negotiate_client,
)
from cyclone.websocket.frames import (
    DEFAULT_MAX_MESSAGE_FRAGMENTS,
    DEFAULT_MAX_MESSAGE_SIZE,
    Role,
    accept_key,
    parse_extensions,
    parse_subprotocols,
)

__all__ = [
    "WebSocketClientConnection",
    "WebSocketClosedError",
    "WebSocketHandshakeError",
    "connect",
]

log = Logger()

#: Largest handshake response head we read before giving up (same as the server's limit).
MAX_RESPONSE_HEAD = 64 * 1024


class WebSocketHandshakeError(Exception):
    """The server refused or botched the opening handshake; ``code`` is its HTTP status."""

    def __init__(self, code: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"WebSocket handshake failed ({code}): {message}")
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


#: What a queued message costs beyond its length: its object header and deque slot.
QUEUED_MESSAGE_OVERHEAD = 64


class WebSocketClientConnection:
    """An open client connection: send with ``write_message``, receive with ``read_message``.

    ``max_unread`` bounds the unread messages held for ``read_message`` (counted as
    their length plus QUEUED_MESSAGE_OVERHEAD): past it, reading from the server pauses
    until the application reads. After ``close()`` reading goes on, so the closing
    handshake completes, and messages past the bound are discarded.
    """

    def __init__(
        self,
        on_message_callback: Callable[[str | bytes | None], Any] | None,
        max_unread: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        self.protocol: WebSocketProtocol | None = None
        self.selected_subprotocol: str | None = None
        self.extensions: str | None = None
        self.response_headers: dict[str, str] = {}
        self._on_message_callback = on_message_callback
        self._messages: deque[str | bytes] = deque()
        self.max_unread = max_unread
        self._unread = 0
        self._room: defer.Deferred[None] | None = None  # fires when the application reads
        self._discarded = 0
        self._readers: deque[defer.Deferred[str | bytes | None]] = deque()
        self._closed = False
        self._close_waiters: list[defer.Deferred[None]] = []

    # -- sending ---------------------------------------------------------------------

    def write_message(
        self, message: str | bytes | dict[str, Any], binary: bool = False
    ) -> defer.Deferred[None]:
        """Send a text (str, dict as JSON) or binary (bytes, or ``binary=True``) message."""
        assert self.protocol is not None
        if isinstance(message, dict):
            from cyclone.escape import json_encode

            message = json_encode(message)
        if binary and isinstance(message, str):
            message = message.encode("utf-8")
        return self.protocol.send_message(message)

    def sendMessage(self, message: str | bytes) -> defer.Deferred[None]:
        """cyclone 1.x spelling of ``write_message``."""
        return self.write_message(message)

    def ping(self, data: bytes = b"") -> None:
        assert self.protocol is not None
        self.protocol.ping(data)

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake; ``wait_closed()`` fires when TCP is gone."""
        if self.protocol is not None:
            self.protocol.close(code, reason)
        self._make_room()

    # -- receiving -------------------------------------------------------------------

    def read_message(self) -> defer.Deferred[str | bytes | None]:
        """The next message, or None once the connection has closed."""
        if self._messages:
            message = self._messages.popleft()
            self._unread -= len(message) + QUEUED_MESSAGE_OVERHEAD
            if self._unread <= self.max_unread:
                self._make_room()
            return defer.succeed(message)
        if self._closed:
            return defer.succeed(None)
        reader: defer.Deferred[str | bytes | None] = defer.Deferred()
        self._readers.append(reader)
        return reader

    def wait_closed(self) -> defer.Deferred[None]:
        """Fires once the TCP connection is closed."""
        if self._closed:
            return defer.succeed(None)
        waiter: defer.Deferred[None] = defer.Deferred()
        self._close_waiters.append(waiter)
        return waiter

    @property
    def close_code(self) -> int | None:
        return self.protocol.close_code if self.protocol else None

    @property
    def close_reason(self) -> str | None:
        return self.protocol.close_reason if self.protocol else None

    def on_ping(self, data: bytes) -> None:
        """Called for each Ping from the server (answered automatically)."""

    def on_pong(self, data: bytes) -> None:
        """Called for each Pong from the server."""

    # -- WebSocketDelegate ---------------------------------------------------------------

    def _ws_message(self, message: str | bytes) -> Any:
        if self._on_message_callback is not None:
            return self._on_message_callback(message)
        if self._readers:
            self._readers.popleft().callback(message)
            return None
        cost = len(message) + QUEUED_MESSAGE_OVERHEAD
        closing = self.protocol is not None and self.protocol.closing
        if closing and self._unread + cost > self.max_unread:
            # We sent our Close and nobody reads: keep reading for the peer's Close.
            self._discarded += 1
            if self._discarded == 1:
                log.info("discarding unread WebSocket messages that arrived after close()")
            return None
        self._messages.append(message)
        self._unread += cost
        if self._unread <= self.max_unread or closing:
            return None
        if self._room is None:
            self._room = defer.Deferred()
        return self._room

    def _make_room(self) -> None:
        room, self._room = self._room, None
        if room is not None:
            room.callback(None)

    def _ws_ping(self, payload: bytes) -> None:
        self.on_ping(payload)

    def _ws_pong(self, payload: bytes) -> None:
        self.on_pong(payload)

    def _ws_closed(self, code: int | None, reason: str | None) -> None:
        self._closed = True
        self._make_room()
        if self._on_message_callback is not None:
            try:
                self._on_message_callback(None)
            except Exception:
                log.failure("WebSocket client on_message callback failed at close")
        readers, self._readers = self._readers, deque()
        for reader in readers:
            reader.callback(None)
        waiters, self._close_waiters = self._close_waiters, []
        for waiter in waiters:
            waiter.callback(None)


def _parse_response_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    """The status code, reason and headers (names lowercased, repeats joined) of a response."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, status = lines[0].partition(" ")
    code_text, _, reason = status.partition(" ")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if not version.startswith("HTTP/1.") or not code_text.isdigit():
        raise WebSocketHandshakeError(0, f"not an HTTP response: {lines[0]!r}")
    return int(code_text), reason, headers


def _check_upgrade_response(code: int, reason: str, headers: dict[str, str], key: str) -> None:
    """Refuse anything but a 101 that upgrades to websocket and proves it read our key (§4.1)."""
    if code != 101:
        raise WebSocketHandshakeError(code, reason, headers)
    if headers.get("upgrade", "").lower() != "websocket":
        raise WebSocketHandshakeError(code, "missing Upgrade: websocket", headers)
    if "upgrade" not in [t.strip().lower() for t in headers.get("connection", "").split(",")]:
        raise WebSocketHandshakeError(code, "missing Connection: Upgrade", headers)
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise WebSocketHandshakeError(code, "wrong Sec-WebSocket-Accept", headers)


def _accepted_subprotocol(code: int, headers: dict[str, str], offered: list[str]) -> str | None:
    """The subprotocol the server chose; it must be exactly one of those we offered."""
    protocol_header = headers.get("sec-websocket-protocol")
    if protocol_header is None:
        return None
    chosen = parse_subprotocols(protocol_header)
    if len(chosen) != 1 or chosen[0] not in offered:
        raise WebSocketHandshakeError(
            code, f"server chose a subprotocol we did not offer: {protocol_header}", headers
        )
    return chosen[0]


def _accepted_extension(
    code: int, headers: dict[str, str], compression_options: Mapping[str, Any] | None
) -> PerMessageDeflate | None:
    """The codec for the extensions the server accepted; only what we offered (§9.1)."""
    answered = parse_extensions(headers.get("sec-websocket-extensions"))
    if answered and compression_options is None:
        raise WebSocketHandshakeError(code, "server enabled extensions we did not offer", headers)
    try:
        return negotiate_client(answered, compression_options)
    except NegotiationError as error:
        raise WebSocketHandshakeError(code, str(error), headers) from None


class _ClientHandshake(protocol.Protocol):
    """Sends the opening handshake, checks the answer, then hands over to WebSocketProtocol."""

    transport: Any = None

    def __init__(
        self,
        connection: WebSocketClientConnection,
        request: bytes,
        key: str,
        subprotocols: list[str],
        compression_options: Mapping[str, Any] | None,
        protocol_options: dict[str, Any],
        result: defer.Deferred[WebSocketClientConnection],
    ) -> None:
        self.connection = connection
        self.request = request
        self.key = key
        self.subprotocols = subprotocols
        self.compression_options = compression_options
        self.protocol_options = protocol_options
        self.result = result
        self.buffer = b""
        self.websocket: WebSocketProtocol | None = None

    def connectionMade(self) -> None:
        self.transport.write(self.request)

    def dataReceived(self, data: bytes) -> None:
        if self.websocket is not None:
            self.websocket.dataReceived(data)
            return
        self.buffer += data
        head, separator, rest = self.buffer.partition(b"\r\n\r\n")
        if not separator:
            if len(self.buffer) > MAX_RESPONSE_HEAD:
                self._reject(WebSocketHandshakeError(0, "response head too large"))
            return
        try:
            websocket = self._accept(head)
        except WebSocketHandshakeError as error:
            self._reject(error)
            return
        self.websocket = websocket
        self.connection.protocol = websocket
        websocket.makeConnection(self.transport)
        result, self.result = self.result, None  # type: ignore[assignment]
        result.callback(self.connection)
        if rest and not websocket.closed:
            websocket.dataReceived(rest)

    def _accept(self, head: bytes) -> WebSocketProtocol:
        """Check the server's answer (RFC 6455 §4.1) and build the connection's protocol."""
        code, reason, headers = _parse_response_head(head)
        self.connection.response_headers = headers
        _check_upgrade_response(code, reason, headers, self.key)
        self.connection.selected_subprotocol = _accepted_subprotocol(
            code, headers, self.subprotocols
        )
        extension = _accepted_extension(code, headers, self.compression_options)
        self.connection.extensions = headers.get("sec-websocket-extensions")
        return WebSocketProtocol(
            Role.CLIENT, self.connection, extension=extension, **self.protocol_options
        )

    def _reject(self, error: WebSocketHandshakeError) -> None:
        result, self.result = self.result, None  # type: ignore[assignment]
        self.transport.loseConnection()
        if result is not None:
            result.errback(Failure(error))

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.websocket is not None:
            self.websocket.connectionLost(reason or Failure(ConnectionError("connection lost")))
        elif self.result is not None:
            result, self.result = self.result, None  # type: ignore[assignment]
            why = reason.getErrorMessage() if reason is not None else "connection lost"
            result.errback(Failure(WebSocketHandshakeError(0, f"connection closed: {why}")))


class _HandshakeFactory(protocol.ClientFactory):
    noisy = False  # one connect() is not worth two "Starting/Stopping factory" log lines

    def __init__(
        self,
        build: Callable[[], _ClientHandshake],
        result: defer.Deferred[WebSocketClientConnection],
    ) -> None:
        self.build = build
        self.result = result

    def buildProtocol(self, addr: Any) -> _ClientHandshake:
        return self.build()

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        if not self.result.called:
            self.result.errback(reason)


def connect(
    url: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    subprotocols: list[str] | None = None,
    compression_options: Mapping[str, Any] | None = None,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    *,
    on_message_callback: Callable[[str | bytes | None], Any] | None = None,
    ping_interval: float | None = None,
    ping_timeout: float | None = None,
    max_message_fragments: int | None = DEFAULT_MAX_MESSAGE_FRAGMENTS,
    max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
    connect_timeout: float = 20.0,
    ssl_options: Any = None,
    reactor: Any = None,
) -> defer.Deferred[WebSocketClientConnection]:
    """Open a WebSocket to ``url`` (ws:// or wss://) and fire with the connection.

    ``compression_options`` not None offers permessage-deflate (see cyclone.websocket.deflate).
    ``max_message_size``, ``max_message_fragments`` and ``max_buffer_size`` bound what the
    server can make us hold, as the handler's ``websocket_*`` settings of the same names do.
    Fails with WebSocketHandshakeError (``.code`` = the HTTP status) if the server refuses.
    """
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    target = _Target.from_url(url)
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    request = _handshake_request(target, key, subprotocols, compression_options, headers)
    result: defer.Deferred[WebSocketClientConnection] = defer.Deferred()
    connection = WebSocketClientConnection(
        on_message_callback,
        DEFAULT_MAX_MESSAGE_SIZE if max_message_size is None else max_message_size,
    )
    protocol_options = {
        "max_message_size": max_message_size,
        "max_message_fragments": max_message_fragments,
        "max_buffer_size": max_buffer_size,
        "ping_interval": ping_interval,
        "ping_timeout": ping_timeout,
        "clock": reactor,
    }
    factory = _HandshakeFactory(
        lambda: _ClientHandshake(
            connection,
            request,
            key,
            list(subprotocols or []),
            compression_options,
            protocol_options,
            result,
        ),
        result,
    )
    _connect_tcp(reactor, target, factory, ssl_options, connect_timeout)
    return result


@dataclass(frozen=True)
class _Target:
    """Where a ws:// or wss:// URL points: the TCP peer and the request's target."""

    host: str
    port: int
    secure: bool
    resource: str  # the path and query of the GET line

    @classmethod
    def from_url(cls, url: str) -> _Target:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss"):
            raise ValueError(f"WebSocket URL must start with ws:// or wss://, got {url!r}")
        secure = parts.scheme == "wss"
        resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.hostname or "", parts.port or (443 if secure else 80), secure, resource)

    @property
    def host_header(self) -> str:
        """The Host header (RFC 7230 §5.4): IPv6 in brackets, the port unless the default."""
        host = self.host if ":" not in self.host else f"[{self.host}]"
        if self.port == (443 if self.secure else 80):
            return host
        return f"{host}:{self.port}"


def _handshake_request(
    target: _Target,
    key: str,
    subprotocols: list[str] | None,
    compression_options: Mapping[str, Any] | None,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> bytes:
    """The opening handshake (RFC 6455 §4.1): our key, offers, then the caller's headers."""
    request_headers = [
        ("Host", target.host_header),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
    ]
    if subprotocols:
        request_headers.append(("Sec-WebSocket-Protocol", ", ".join(subprotocols)))
    if compression_options is not None:
        request_headers.append(("Sec-WebSocket-Extensions", client_offer(compression_options)))
    if headers:
        items = headers.items() if isinstance(headers, Mapping) else headers
        request_headers.extend((str(name), str(value)) for name, value in items)
    return (
        f"GET {target.resource} HTTP/1.1\r\n".encode("latin-1")
        + b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in request_headers)
        + b"\r\n"
    )


def _connect_tcp(
    reactor: Any,
    target: _Target,
    factory: Any,
    ssl_options: Any,
    connect_timeout: float,
) -> None:
    """Connect to the target, through TLS for wss:// (the host's certificate by default)."""
    if target.secure:
        from twisted.internet import ssl
        from twisted.protocols.tls import TLSMemoryBIOFactory

        if ssl_options is None:
            ssl_options = ssl.optionsForClientTLS(target.host)
        factory = TLSMemoryBIOFactory(ssl_options, True, factory)
    reactor.connectTCP(target.host, target.port, factory, timeout=connect_timeout)
