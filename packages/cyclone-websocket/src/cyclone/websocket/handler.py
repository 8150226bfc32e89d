"""`WebSocketHandler`: a RequestHandler whose GET upgrades to RFC 6455 WebSocket.

    from twisted.internet import reactor
    from cyclone.routing import Router
    from cyclone.websocket import WebSocketHandler

    class EchoHandler(WebSocketHandler):
        def open(self):
            self.write_message("welcome")

        def on_message(self, message):
            return self.write_message(message)     # a Deferred: fires when the socket drains

        def on_close(self):
            print("closed", self.close_code, self.close_reason)

    reactor.listenTCP(8888, Router([(r"/ws", EchoHandler)]), interface="127.0.0.1")
    reactor.run()

Both spellings work: Tornado's (``open``, ``on_message``, ``write_message``, ``close``,
``on_close``, ``ws_connection``) and cyclone 1.x's (``connectionMade``, ``messageReceived``,
``sendMessage``, ``connectionLost``, ``forbidConnection``, ``headersReceived``,
``ws_protocol``, ``transport``). A handler that defines neither ``on_message`` nor
``messageReceived`` ignores what it receives, as 1.x did (Tornado would fail the
connection).

Settings (on the Router/Application):

- ``websocket_ping_interval`` (seconds, default off): send a Ping that often;
  ``websocket_ping_timeout`` (default: the interval, at most 30 s): close a peer that does
  not answer within it (code 1001 "ping timeout", then the TCP connection is aborted).
- ``websocket_max_message_size`` (default 10 MiB, like Tornado): a bigger message — counted
  after decompression — fails the connection with 1009.
- ``websocket_max_message_fragments`` (default 131072): a message spanning more frames fails
  the connection with 1009. Reassembly holds about the payload size whatever the
  fragmentation, so this only bounds how long one message can be kept open.
- ``websocket_close_timeout`` (default 5 s): how long we wait for the peer's Close, or
  for it to close TCP, before aborting.
- ``websocket_max_buffer_size`` (default 16 MiB): see "Slow clients" below.
- ``websocket_clock`` (default the reactor): the IReactorTime for those timers, so tests
  can pass a ``twisted.internet.task.Clock``.

Slow clients and memory: writes go straight to the transport. The transport tells us
(IPushProducer) when its buffer passes its high-water mark (64 KiB for TCP); from then on
``write_message`` returns a Deferred that fires only when the buffer has drained, so a
sender that waits on it never queues more than about 64 KiB plus one message per
connection. A sender that ignores it keeps queueing; once the frames queued while the peer
was not reading — messages, pings and Close frames alike, each counted as its length plus
48 bytes of bookkeeping — pass ``websocket_max_buffer_size``, the connection is aborted and
``on_close`` sees ``close_code`` 1008 ("send buffer overflow"). Pongs never pile up: while
the peer isn't reading only its latest Ping is answered, once it reads again (RFC 6455
§5.5.3), so a ping flood costs no memory. Memory per connection is therefore bounded by
about 64 KiB + ``websocket_max_buffer_size`` + one message for sending, and
``websocket_max_message_size`` (plus one 64 KiB read) for receiving. If ``on_message``
returns a Deferred (or is ``async def``), reading pauses until it fires; reading also
waits for ``open()`` to finish.

``open`` and ``on_message`` may be ``async def`` and, on Twisted's asyncio reactor,
await asyncio libraries as well as Deferreds (see `cyclone.coroutines`). When the
connection closes while one of them is still running, ``on_close`` runs and then it is
cancelled (the coroutine sees CancelledError at its ``await``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from cyclone.coroutines import as_deferred, is_awaitable
from cyclone.deploy import on_shutdown
from cyclone.escape import json_encode
from cyclone.handler import RequestHandler
from cyclone.httputil import HTTPHeaders
from cyclone.websocket._protocol import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_MAX_BUFFER_SIZE,
    WebSocketClosedError,
)
from cyclone.websocket.compat import WebSocketProtocol17
from cyclone.websocket.deflate import PerMessageDeflate, negotiate_server
from cyclone.websocket.frames import (
    DEFAULT_MAX_MESSAGE_FRAGMENTS,
    DEFAULT_MAX_MESSAGE_SIZE,
    Extension,
    Role,
    accept_key,
    check_upgrade_request,
    parse_extensions,
    parse_subprotocols,
)

__all__ = ["WebSocketClosedError", "WebSocketHandler"]

log = Logger()

#: Tornado's cap on the default ping timeout.
_MAX_DEFAULT_PING_TIMEOUT = 30.0


class WebSocketHandler(RequestHandler):
    """Answer GET with the WebSocket opening handshake, then exchange messages (RFC 6455)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ws_connection: WebSocketProtocol17 | None = None
        self._close_waiters: list[defer.Deferred[None]] | None = []
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.selected_subprotocol: str | None = None
        self._websocket_forbidden = False
        super().__init__(*args, **kwargs)

    # -- the handshake ------------------------------------------------------------------

    def get(self, *args: Any, **kwargs: Any) -> Any:
        """Validate the upgrade, send 101 and hand the socket to the WebSocket protocol."""
        self.headersReceived()
        if self._websocket_forbidden or not self._upgrade_allowed():
            return None
        response, extension = self._handshake_response()
        self._start_connection(response, extension, args, kwargs)
        return None

    def _upgrade_allowed(self) -> bool:
        """Answer a request that may not upgrade: 400 or 426 (§4.2.1, §4.4), 403 cross-origin."""
        rejection = check_upgrade_request(self.request.method, self.request.headers)
        if rejection is not None:
            self.set_status(rejection.status)
            for name, value in rejection.headers.items():
                self.set_header(name, value)
            self.finish(rejection.message)
            return False
        headers = self.request.headers
        origin = headers.get("Origin") or headers.get("Sec-WebSocket-Origin")
        if origin is not None and not self.check_origin(origin):
            self.set_status(403)
            self.finish(
                f"Cross origin websockets not allowed: {origin} is not {self.request.host}"
            )
            return False
        return True

    def _handshake_response(self) -> tuple[HTTPHeaders, Extension | None]:
        """The 101 response's headers (§4.2.2) and the extension agreed for the connection."""
        headers = self.request.headers
        response = HTTPHeaders()
        response["Upgrade"] = "websocket"
        response["Connection"] = "Upgrade"
        response["Sec-WebSocket-Accept"] = accept_key(headers["Sec-WebSocket-Key"])
        subprotocol = self._choose_subprotocol(
            parse_subprotocols(headers.get_list("Sec-WebSocket-Protocol"))
        )
        if subprotocol is not None:
            response["Sec-WebSocket-Protocol"] = subprotocol
        compression = self._negotiate_compression()
        if compression is None:
            return response, None
        response["Sec-WebSocket-Extensions"], extension = compression
        return response, extension

    def _choose_subprotocol(self, offered: list[str]) -> str | None:
        """``select_subprotocol``'s pick among the client's offers; it must be one of them."""
        if not offered:
            return None
        selected = self.select_subprotocol(offered)
        if selected is not None:
            if selected not in offered:
                raise ValueError(f"select_subprotocol returned {selected!r}, not one of {offered}")
            self.selected_subprotocol = selected
        return selected

    def _negotiate_compression(self) -> tuple[str, PerMessageDeflate] | None:
        """Accept the client's permessage-deflate offer (RFC 7692) if the handler enables it.

        Returns the Sec-WebSocket-Extensions response value and the codec, or None.
        """
        options = self.get_compression_options()
        if options is None:
            return None
        offers = parse_extensions(self.request.headers.get_list("Sec-WebSocket-Extensions"))
        return negotiate_server(offers, options)

    def _protocol_options(self) -> dict[str, Any]:
        """The connection's limits and timers, read from the ``websocket_*`` settings."""
        settings = self.settings
        ping_interval = settings.get("websocket_ping_interval")
        ping_timeout = settings.get("websocket_ping_timeout")
        if ping_interval and not ping_timeout:
            ping_timeout = min(ping_interval, _MAX_DEFAULT_PING_TIMEOUT)
        return {
            "max_message_size": settings.get(
                "websocket_max_message_size", DEFAULT_MAX_MESSAGE_SIZE
            ),
            "max_message_fragments": settings.get(
                "websocket_max_message_fragments", DEFAULT_MAX_MESSAGE_FRAGMENTS
            ),
            "ping_interval": ping_interval,
            "ping_timeout": ping_timeout,
            "close_timeout": settings.get("websocket_close_timeout", DEFAULT_CLOSE_TIMEOUT),
            "max_buffer_size": settings.get("websocket_max_buffer_size", DEFAULT_MAX_BUFFER_SIZE),
            "clock": settings.get("websocket_clock"),
        }

    def _start_connection(
        self,
        response: HTTPHeaders,
        extension: Extension | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        """Send 101, give the socket to the protocol, then run ``open()``.

        Messages that arrive before ``open()`` has finished wait for it (Tornado semantics).
        """
        opening: list[defer.Deferred[Any]] = []
        # Cancelling it (the connection closed during open()) cancels open() itself.
        opened: defer.Deferred[Any] = defer.Deferred(
            lambda _: opening[0].cancel() if opening else None
        )
        protocol = WebSocketProtocol17(
            Role.SERVER,
            self,
            extension=extension,
            deliver_after=opened,
            **self._protocol_options(),
        )
        self.ws_connection = protocol
        _open_handlers.add(self)
        self.set_status(101)  # so the access log says what happened
        self.request.connection.write_headers(101, "Switching Protocols", response)
        self.detach(protocol)
        try:
            result = self.open(*args, **kwargs)
        except Exception:
            opened.errback()
            return
        if result is None or not is_awaitable(result):
            opened.callback(None)
        else:
            running = as_deferred(result)
            opening.append(running)
            running.chainDeferred(opened)

    def notifyFinish(self) -> defer.Deferred[None]:
        """A Deferred fired with None when the WebSocket connection closes, as in cyclone 1.x.

        Not at the 101 (the HTTP exchange ends there, but the connection goes
        on): 1.x code registers its clean-up here. When no upgrade happens
        (a refused handshake, or the client left first) it fires once that
        HTTP response is finished, as for any handler.
        """
        finished: defer.Deferred[None] = defer.Deferred()
        if self._close_waiters is None:
            finished.callback(None)
            return finished
        self._close_waiters.append(finished)
        if self.ws_connection is None:
            super().notifyFinish().addCallback(self._http_finished)
        return finished

    def _http_finished(self, _: None) -> None:
        if self.ws_connection is None:  # the exchange ended without an upgrade
            self._fire_close_waiters()

    def _fire_close_waiters(self) -> None:
        waiters, self._close_waiters = self._close_waiters or [], None
        for waiter in waiters:
            waiter.callback(None)

    @property
    def ws_protocol(self) -> WebSocketProtocol17 | None:
        """cyclone 1.x name of ``ws_connection``: the connection, None before the upgrade."""
        return self.ws_connection

    @property
    def transport(self) -> Any:
        """cyclone 1.x: the connection's Twisted transport (``getPeer()``, TLS details).

        ``transport.loseConnection()`` drops TCP without a Close frame, as it did in 1.x
        (``on_close`` then sees ``close_code`` 1006); ``close()`` ends it cleanly.
        """
        return self.request.connection.transport

    # -- sending -----------------------------------------------------------------------

    def write_message(
        self, message: str | bytes | dict[str, Any], binary: bool = False
    ) -> defer.Deferred[None]:
        """Send a message: text for str (and dicts, as JSON), binary when ``binary=True``.

        Returns a Deferred that fires once the transport's buffer is below its high-water
        mark (see the module docstring). Raises WebSocketClosedError after close.
        """
        connection = self.ws_connection
        if connection is None or connection.closing:
            raise WebSocketClosedError("the WebSocket is closing or closed")
        if isinstance(message, dict):
            message = json_encode(message)
        if binary:
            if isinstance(message, str):
                message = message.encode("utf-8")
        elif isinstance(message, bytes | bytearray | memoryview):
            message = bytes(message).decode("utf-8")
        return connection.send_message(message)

    def sendMessage(self, message: str | bytes | dict[str, Any]) -> defer.Deferred[None]:
        """cyclone 1.x: bytes go out as a binary frame, str (or dict, as JSON) as text."""
        if isinstance(message, bytes | bytearray | memoryview):
            return self.write_message(bytes(message), binary=True)
        return self.write_message(message)

    def ping(self, data: bytes | str = b"") -> None:
        """Send a Ping (at most 125 bytes); the answer arrives in ``on_pong``."""
        connection = self.ws_connection
        if connection is None or connection.closing:
            raise WebSocketClosedError("the WebSocket is closing or closed")
        connection.ping(data.encode("utf-8") if isinstance(data, str) else data)

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake (RFC 6455 §7.1.2); ``on_close`` runs when TCP is gone."""
        if self.ws_connection is not None:
            self.ws_connection.close(code, reason)

    def set_nodelay(self, value: bool) -> None:
        """Turn Nagle's algorithm off (True, our default) or back on for this connection."""
        connection = self.ws_connection
        if connection is None or connection.transport is None:
            raise WebSocketClosedError("the WebSocket is not open")
        connection.transport.setTcpNoDelay(value)

    def forbidConnection(self, message: str) -> None:
        """cyclone 1.x: refuse the upgrade with 403 and ``message`` (close with 1008 once open)."""
        if self.ws_connection is not None:
            self.close(1008, message[:120])
            return
        self._websocket_forbidden = True
        self.set_status(403)
        self.finish(message)

    # -- hooks (override these) ---------------------------------------------------------

    def headersReceived(self) -> None:
        """cyclone 1.x: called before the handshake; may call ``forbidConnection``."""

    def check_origin(self, origin: str) -> bool:
        """Accept only same-host origins by default (cross-site WebSocket hijacking)."""
        host = urlsplit(origin).netloc.lower()
        return host == (self.request.host or "").lower()

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        """Pick one of the client's subprotocols (in its preference order), or None."""
        return None

    def get_compression_options(self) -> dict[str, Any] | None:
        """None disables permessage-deflate; a dict (maybe empty) enables it.

        Keys: ``compression_level``, ``mem_level``, ``max_window_bits``,
        ``no_context_takeover`` (see cyclone.websocket.deflate).
        """
        return None

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """The connection is open; receives the URL's path arguments. May return a Deferred."""
        return self.connectionMade(*args, **kwargs)

    def connectionMade(self, *args: Any, **kwargs: Any) -> Any:
        """cyclone 1.x name of ``open``."""

    def on_message(self, message: str | bytes) -> Any:
        """A message arrived (str for text, bytes for binary). May return a Deferred."""
        return self.messageReceived(message)

    def messageReceived(self, message: str | bytes) -> Any:
        """cyclone 1.x name of ``on_message``; by default the message is ignored, as in 1.x.

        1.x handlers that only push (``connectionMade`` plus ``sendMessage``) relied on
        that; the first message a handler class ignores is logged.
        """
        cls = type(self)
        if cls not in _ignoring_messages:
            _ignoring_messages.add(cls)
            log.info(
                "{handler} defines neither on_message nor messageReceived;"
                " ignoring the messages it receives",
                handler=cls.__name__,
            )

    def on_ping(self, data: bytes) -> None:
        """A Ping arrived (the Pong is sent automatically)."""

    def on_pong(self, data: bytes) -> None:
        """A Pong arrived."""

    def on_close(self) -> None:
        """The connection is closed; ``close_code``/``close_reason`` say why."""
        connection = self.ws_connection
        reason = connection.lost_reason if connection is not None else None
        self.connectionLost(reason or Failure(ConnectionError("connection lost")))

    def connectionLost(self, reason: Failure) -> None:
        """cyclone 1.x name of ``on_close``; ``reason`` is the Twisted failure."""

    # -- WebSocketDelegate ---------------------------------------------------------------

    def _ws_message(self, message: str | bytes) -> Any:
        result = self.on_message(message)
        if result is None or not is_awaitable(result):
            return None
        return as_deferred(result)

    def _ws_ping(self, payload: bytes) -> None:
        self.on_ping(payload)

    def _ws_pong(self, payload: bytes) -> None:
        self.on_pong(payload)

    def _ws_closed(self, code: int | None, reason: str | None) -> None:
        self.close_code = code
        self.close_reason = reason
        _open_handlers.discard(self)
        waiter = self.__dict__.pop("_shutdown_waiter", None)
        if waiter is not None and not waiter.called:
            waiter.callback(None)
        try:
            self.on_close()
        except Exception:
            log.failure("{handler}.on_close failed", handler=type(self).__name__)
        self._fire_close_waiters()


#: Handler classes that received a message with no on_message/messageReceived (logged once).
_ignoring_messages: set[type[WebSocketHandler]] = set()

#: Open WebSocket connections, closed with 1001 when the server shuts down gracefully.
_open_handlers: set[WebSocketHandler] = set()


def _close_for_shutdown(timeout: float) -> defer.Deferred[Any]:
    """Send 1001 "Going Away" to every open WebSocket and wait for the close handshakes.

    Registered with `cyclone.deploy.on_shutdown`, so ``twistd cyclone`` and
    the workers' SIGTERM handling end WebSocket connections cleanly; the
    deploy module cancels the wait after its timeout.
    """
    waiters = []
    for handler in list(_open_handlers):
        waiter: defer.Deferred[None] = defer.Deferred()
        handler.__dict__["_shutdown_waiter"] = waiter
        waiters.append(waiter)
        handler.close(1001, "server shutting down")
    return defer.DeferredList(waiters, consumeErrors=True)


on_shutdown(_close_for_shutdown)
