"""The Twisted protocol that moves bytes between a transport and the sans-IO codec.

Both `cyclone.websocket.handler` (server role, after the HTTP connection detaches) and
`cyclone.websocket.client` (client role) drive a `WebSocketProtocol` and receive its
callbacks through a `WebSocketDelegate`.

Every frame we send (messages, pings, pongs, Close) goes through one write path that
bounds what a peer that doesn't read can make us hold:

- Frames sent while the events of one read are dispatched (the Pongs, the echoes) are
  joined into one transport write, so a peer sending many tiny frames can't make us
  queue many tiny bytes objects (each costs about 48 bytes of bookkeeping in Twisted).
- Once the transport says its buffer is full (IPushProducer), each further write is
  counted, with that per-write bookkeeping, against ``max_buffer_size``, and the
  connection is aborted past it.
- Pongs are the one kind of frame a peer makes us send at will, so they never queue:
  while the peer isn't reading, only the latest Ping is remembered and answered once it
  reads again (RFC 6455 §5.5.3 allows answering only the most recent Ping).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Protocol

from twisted.internet import defer, interfaces
from twisted.internet.protocol import Protocol as TwistedProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from cyclone.websocket.frames import (
    DEFAULT_MAX_MESSAGE_FRAGMENTS,
    BinaryMessage,
    Close,
    CloseCode,
    Extension,
    FrameDecoder,
    FrameEncoder,
    Ping,
    Pong,
    ProtocolError,
    Role,
    TextMessage,
)

log = Logger()

#: Seconds we wait for the peer's Close (or for the server to drop TCP) before aborting.
DEFAULT_CLOSE_TIMEOUT = 5.0

#: Bytes we accept to queue for a peer that doesn't read, on top of the transport's own
#: buffer (Twisted pauses us at about 64 KiB); past this the connection is aborted.
DEFAULT_MAX_BUFFER_SIZE = 16 * 1024 * 1024

#: Frames smaller than this, sent while one read's events are dispatched, are joined into
#: one write; bigger ones are written as they are rather than copied.
JOIN_BELOW = 16 * 1024

#: What a queued write costs beyond its bytes: the bytes object's header and its slot in
#: Twisted's write list (``sys.getsizeof(b"")`` is 33 on 64-bit CPython, rounded up to
#: pymalloc's 8-byte blocks, plus an 8-byte pointer). Charged per write so that many tiny
#: frames count for the memory they take, not just their length.
WRITE_OVERHEAD = 48


class WebSocketClosedError(Exception):
    """Raised when sending on a WebSocket that is closing or closed."""


class WebSocketDelegate(Protocol):
    """What a `WebSocketProtocol` reports to (the handler or the client connection)."""

    def _ws_message(self, message: str | bytes) -> Any: ...
    def _ws_ping(self, payload: bytes) -> None: ...
    def _ws_pong(self, payload: bytes) -> None: ...
    def _ws_closed(self, code: int | None, reason: str | None) -> None: ...


@implementer(interfaces.IPushProducer)
class WebSocketProtocol(TwistedProtocol):
    """One WebSocket connection over a Twisted transport.

    Messages are delivered in order; if the delegate's ``_ws_message`` returns a
    Deferred, reading pauses until it fires (Tornado's coroutine ``on_message``).
    """

    transport: Any = None

    def __init__(
        self,
        role: Role,
        delegate: WebSocketDelegate,
        *,
        extension: Extension | None = None,
        max_message_size: int | None,
        max_message_fragments: int | None = DEFAULT_MAX_MESSAGE_FRAGMENTS,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        max_buffer_size: int = DEFAULT_MAX_BUFFER_SIZE,
        clock: interfaces.IReactorTime | None = None,
        deliver_after: defer.Deferred[Any] | None = None,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        self.role = role
        self.delegate = delegate
        self.clock: Any = clock
        self.decoder = FrameDecoder(
            role,
            max_message_size=max_message_size,
            max_message_fragments=max_message_fragments,
            extension=extension,
        )
        self.encoder = FrameEncoder(role, extension)
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self.max_buffer_size = max_buffer_size
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.closing = False  # we sent a Close (or are dropping the connection)
        self.closed = False  # TCP connection is gone
        self._paused = False
        self._buffered_while_paused = 0
        self._overflowed = False
        self._batch: list[bytes] | None = None  # frames to join while dispatching a read
        self._owed_pong: bytes | None = None  # the latest Ping's payload, while paused
        # Both made on first use: most connections never need them (idle memory).
        self._drain_waiters: list[defer.Deferred[None]] | None = None
        self._pending: list[Any] | None = None  # messages held while one is delivered
        self._delivering: defer.Deferred[Any] | None = None
        self._ping_call: Any = None
        self._pong_deadline: Any = None
        self._close_call: Any = None
        self.lost_reason: Failure | None = None
        if deliver_after is not None:
            # Hold messages until the application's open() has finished (Tornado semantics).
            self._delivering = deliver_after
            deliver_after.addErrback(self._message_callback_failed)
            deliver_after.addBoth(self._delivered)

    # -- Twisted side ---------------------------------------------------------------

    def connectionMade(self) -> None:
        transport: Any = self.transport
        set_no_delay = getattr(transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            # Messages are small and latency-bound: Nagle's algorithm plus the peer's
            # delayed ACK would hold each one back by up to 40 ms (Tornado does the same).
            try:
                set_no_delay(True)
            except OSError:
                log.debug("could not set TCP_NODELAY on {transport}", transport=transport)
        try:
            transport.registerProducer(self, True)
        except RuntimeError:
            # The HTTP connection that handed us the socket may still be registered.
            transport.unregisterProducer()
            transport.registerProducer(self, True)
        if self._delivering is not None:
            # Messages wait for open(); so does reading, or they would pile up unbounded.
            transport.pauseProducing()
        if self.ping_interval:
            self._ping_call = self.clock.callLater(self.ping_interval, self._send_keepalive)

    def dataReceived(self, data: bytes) -> None:
        pending = self._pending
        if pending or self._delivering is not None:
            if pending is None:
                pending = self._pending = []
            pending.extend(self.decoder.feed(data))
            return
        events = self.decoder.feed(data)
        if events:
            self._dispatch(events)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.lost_reason = reason or Failure(ConnectionError("connection lost"))
        self.closed = True
        self.closing = True
        for call in (self._ping_call, self._pong_deadline, self._close_call):
            if call is not None and call.active():
                call.cancel()
        self._ping_call = self._pong_deadline = self._close_call = None
        waiters, self._drain_waiters = self._drain_waiters, None
        for waiter in waiters or ():
            waiter.callback(None)
        if self.close_code is None and self.close_reason is None:
            self.close_code = CloseCode.ABNORMAL
        self.delegate._ws_closed(self.close_code, self.close_reason)
        delivering = self._delivering
        if delivering is not None and not delivering.called:
            # The application's open() or on_message() is still running for a peer that left.
            delivering.cancel()

    # IPushProducer: the transport tells us when its write buffer passes its high-water mark.

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        self._buffered_while_paused = 0
        owed, self._owed_pong = self._owed_pong, None
        if owed is not None and not self.closing:
            self._write(self.encoder.pong(owed))
        waiters, self._drain_waiters = self._drain_waiters, None
        for waiter in waiters or ():
            waiter.callback(None)

    def stopProducing(self) -> None:
        self._paused = True

    # -- events from the peer ---------------------------------------------------------

    def _dispatch(self, events: list[Any]) -> None:
        if self._batch is not None:
            self._deliver(events)
            return
        self._batch = []
        try:
            self._deliver(events)
        finally:
            self._flush_batch()
            self._batch = None

    def _deliver(self, events: list[Any]) -> None:
        for index, event in enumerate(events):
            kind = type(event)
            if kind is TextMessage or kind is BinaryMessage:
                try:
                    result = self.delegate._ws_message(event.data)
                except Exception:
                    log.failure("WebSocket message callback failed")
                    self.close(CloseCode.INTERNAL_ERROR, "internal error")
                    return
                if result is None:
                    # The usual on_message(): no isinstance() on the Deferred ABC (~0.2 us).
                    continue
                if isinstance(result, defer.Deferred) and not result.called:
                    self._wait_for(result, events[index + 1 :])
                    return
                if isinstance(result, defer.Deferred):
                    result.addErrback(self._message_callback_failed)
            elif kind is Ping:
                self._answer_ping(event.payload)
                self.delegate._ws_ping(event.payload)
            elif kind is Pong:
                if self._pong_deadline is not None and self._pong_deadline.active():
                    self._pong_deadline.cancel()
                self._pong_deadline = None
                self.delegate._ws_pong(event.payload)
            elif kind is Close:
                self._close_received(event)
            elif kind is ProtocolError:
                log.info(
                    "Failing WebSocket connection: {reason} ({code})",
                    reason=event.reason,
                    code=event.code,
                )
                self._fail(event.code, event.reason)

    def _answer_ping(self, payload: bytes) -> None:
        """Queue the Pong for a Ping (§5.5.2); while the peer isn't reading, only the latest."""
        if self.closing:
            return
        if self._paused:
            self._owed_pong = payload
        else:
            self._write(self.encoder.pong(payload))

    def _write(self, frame: bytes) -> bool:
        """Send a frame; False when that aborted the connection (see `_send`).

        While a read's events are dispatched, small frames wait in ``_batch`` and go out
        joined, in order, when the dispatch ends (or before a big frame, or a FIN).
        """
        batch = self._batch
        if batch is not None:
            if len(frame) < JOIN_BELOW:
                batch.append(frame)
                return True
            if not self._flush_batch():
                return False
        return self._send(frame)

    def _flush_batch(self) -> bool:
        batch = self._batch
        if not batch:
            return True
        self._batch = []
        return self._send(batch[0] if len(batch) == 1 else b"".join(batch))

    def _send(self, data: bytes) -> bool:
        """Write to the transport, counting against ``max_buffer_size`` while it is full.

        Returns False when the count passed the limit and the connection was aborted.
        """
        if self.closed or self._overflowed:
            return False
        if self._paused:
            self._buffered_while_paused += len(data) + WRITE_OVERHEAD
            if self._buffered_while_paused > self.max_buffer_size:
                self._overflow()
                return False
        self.transport.write(data)
        return True

    def _overflow(self) -> None:
        log.warn(
            "WebSocket peer is not reading: {size} bytes queued, over {limit}; aborting",
            size=self._buffered_while_paused,
            limit=self.max_buffer_size,
        )
        if self.close_code is None:
            self.close_code = CloseCode.POLICY_VIOLATION
            self.close_reason = "send buffer overflow"
        self.closing = True
        self._overflowed = True
        self._owed_pong = None
        if self._batch:
            self._batch.clear()
        self.transport.abortConnection()

    def _wait_for(self, result: defer.Deferred[Any], rest: list[Any]) -> None:
        self._pending = rest + self._pending if self._pending else rest
        self._delivering = result
        self.transport.pauseProducing()
        result.addErrback(self._message_callback_failed)
        result.addBoth(self._delivered)

    def _delivered(self, _: object) -> None:
        self._delivering = None
        if self.closed:
            return
        pending, self._pending = self._pending, None
        if self.transport is not None:
            self.transport.resumeProducing()
        if pending:
            self._dispatch(pending)

    def _message_callback_failed(self, failure: Failure) -> None:
        if self.closed and failure.check(defer.CancelledError, asyncio.CancelledError):
            return  # cancelled by connectionLost
        log.failure("WebSocket message callback failed", failure)
        self.close(CloseCode.INTERNAL_ERROR, "internal error")

    def _close_received(self, event: Close) -> None:
        """The peer's Close: answer it (§5.5.1) and close TCP from the server side (§7.1.1)."""
        if self.close_code is None:
            self.close_code = event.code
            self.close_reason = event.reason
        if not self.closing:
            code = None if event.code == CloseCode.NO_STATUS else event.code
            if not self._send_close(self.encoder.close(code)):
                return
        self._finish_closing()

    def _finish_closing(self) -> None:
        if self.role is Role.SERVER:
            self._close_tcp()
        self._arm_close_timeout()

    def _close_tcp(self) -> None:
        """Send FIN after our buffered frames but keep reading until the peer closes too.

        A full close while the peer is still sending makes our kernel answer with a RST,
        and a RST can make the peer's kernel drop what we sent last (the final messages
        and our Close frame). The close timeout aborts a peer that never closes.
        """
        if not self._flush_batch():
            return
        transport = self.transport
        if interfaces.ITCPTransport.providedBy(transport):
            transport.loseWriteConnection()
        else:
            transport.loseConnection()

    def _arm_close_timeout(self) -> None:
        if self._close_call is None and not self.closed:
            self._close_call = self.clock.callLater(self.close_timeout, self._abort)

    def _abort(self) -> None:
        self._close_call = None
        if not self.closed:
            self.transport.abortConnection()

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (§7.1.7): send our Close, flush it and drop TCP."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        if not self.closing and not self._send_close(self.encoder.close(code, reason[:120])):
            return
        self._close_tcp()
        self._arm_close_timeout()

    def _send_close(self, frame: bytes) -> bool:
        """Send our Close frame: the last frame of the connection (§5.5.1)."""
        self.closing = True
        self._owed_pong = None
        return self._write(frame)

    # -- keepalive ----------------------------------------------------------------------

    def _send_keepalive(self) -> None:
        self._ping_call = None
        if self.closing:
            return
        if not self._write(self.encoder.ping(os.urandom(4))):
            return
        timeout = self.ping_timeout or self.ping_interval
        if timeout and (self._pong_deadline is None or not self._pong_deadline.active()):
            self._pong_deadline = self.clock.callLater(timeout, self._ping_timed_out)
        if self.ping_interval:
            self._ping_call = self.clock.callLater(self.ping_interval, self._send_keepalive)

    def _ping_timed_out(self) -> None:
        self._pong_deadline = None
        if self.closed:
            return
        log.info("WebSocket peer did not answer a ping in time; dropping the connection")
        self.close_code = CloseCode.GOING_AWAY
        self.close_reason = "ping timeout"
        if not self.closing and not self._send_close(
            self.encoder.close(CloseCode.GOING_AWAY, "ping timeout")
        ):
            return
        self.transport.abortConnection()

    # -- sending ----------------------------------------------------------------------

    def send_message(self, message: str | bytes) -> defer.Deferred[None]:
        """Send a message; the Deferred fires once the transport buffer is below its mark."""
        if self.closing:
            raise WebSocketClosedError("the WebSocket is closing or closed")
        if not self._write(self.encoder.message(message)) or not self._paused:
            return defer.succeed(None)
        waiter: defer.Deferred[None] = defer.Deferred()
        if self._drain_waiters is None:
            self._drain_waiters = []
        self._drain_waiters.append(waiter)
        return waiter

    def ping(self, payload: bytes = b"") -> None:
        if self.closing:
            raise WebSocketClosedError("the WebSocket is closing or closed")
        self._write(self.encoder.ping(payload))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake (§7.1.2); abort if the peer doesn't finish it in time."""
        if self.closing:
            return
        if code is None and reason is not None:
            code = CloseCode.NORMAL
        if self._send_close(self.encoder.close(code, reason or "")):
            self._arm_close_timeout()
