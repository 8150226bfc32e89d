"""Server-Sent Events: `SSEHandler` streams ``text/event-stream`` to browsers' EventSource.

    from twisted.internet import reactor
    from cyclone.routing import Router
    from cyclone.sse import SSEHandler

    clients = set()

    class FeedHandler(SSEHandler):
        def bind(self):                      # the stream is open
            clients.add(self)
            self.sendEvent("welcome", event="greeting", eid=0)

        def unbind(self):                    # the client went away (or we finished)
            clients.discard(self)

    def broadcast(message, eid):
        for client in list(clients):
            client.sendEvent(message, eid=eid)

    reactor.listenTCP(8888, Router([(r"/events", FeedHandler)]), interface="127.0.0.1")
    reactor.run()

The wire format is the WHATWG HTML "Server-sent events" section (§9.2): an
event is ``id:``, ``event:``, ``retry:`` and one ``data:`` line per line of the
message, ended by a blank line. A GET to an `SSEHandler` answers 200 with
``Content-Type: text/event-stream; charset=utf-8``, ``Cache-Control: no-cache``
and ``X-Accel-Buffering: no`` (so nginx does not hold events back), without a
Content-Length (chunked on HTTP/1.1), and never compressed: a gzip transform
would make proxies wait for a full compression block. It then calls `bind()`
and keeps the response open; `unbind()` is called once when the stream ends,
whether the client disconnected or the application called ``finish()``.

On reconnect a browser sends the id of the last event it saw in the
``Last-Event-ID`` header; it is `SSEHandler.last_event_id` (None on a first
connection), so `bind()` can replay what was missed.

A graceful shutdown (``twistd cyclone`` on SIGTERM or SIGINT, each ``--workers``
process, or `cyclone.deploy.install_graceful_shutdown`) ends every open stream
cleanly through a `cyclone.deploy.on_shutdown` hook: `SSEHandler.on_server_shutdown`
runs (by default it sends the comment ``: server shutting down``), then the
response is finished. The browser sees the stream end rather than a reset
connection and reconnects after its retry delay, to another worker or to the
restarted server, with ``Last-Event-ID``. Override `on_server_shutdown` to send
a last event instead, e.g. one telling the page the server went away.

Settings (on the Router/Application):

- ``sse_keepalive_interval`` (seconds, default 15; 0 or None turns it off): when
  nothing was sent for that long, a ``: keepalive`` comment is sent, which
  EventSource ignores but which keeps proxies and NAT from dropping an idle
  stream and reveals dead clients. The timer uses the application's clock.
- ``sse_max_buffer`` (bytes, default 1 MiB) and ``sse_drain_timeout`` (seconds,
  default 60): slow clients. `sendEvent` writes at once and returns the flush
  Deferred, which fires when the client's socket can take more; a sender that
  waits on it never queues more than about 64 KiB (the transport's high-water
  mark) plus one event. A broadcaster that does not wait keeps queueing: once
  more than ``sse_max_buffer`` bytes were queued while the client was not
  reading — each event counted with its chunk framing and the ~100 bytes the
  transport's write list spends on it, so small events can't queue twenty times
  the limit — or the client has not drained its buffer for ``sse_drain_timeout``
  seconds, the connection is aborted (logged as a warning) and `unbind()` runs.
  Memory per client is therefore bounded by about 64 KiB + ``sse_max_buffer`` +
  one event (up to ~1 MiB instead of 64 KiB when the first 64 KiB are tiny
  events: Twisted's high-water mark counts only their bytes).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from twisted.internet import defer, task
from twisted.logger import Logger
from twisted.python.failure import Failure

from cyclone import escape
from cyclone.coroutines import as_deferred, is_awaitable, maybe_deferred
from cyclone.deploy import on_shutdown
from cyclone.handler import RequestHandler

__all__ = ["SSEHandler", "format_event"]

log = Logger()

#: A keepalive comment; a line starting with ":" is ignored by EventSource (WHATWG HTML §9.2.6).
KEEPALIVE_COMMENT = b": keepalive\n\n"
#: The comment `SSEHandler.on_server_shutdown` sends by default before the stream ends.
SHUTDOWN_COMMENT = b": server shutting down\n\n"
#: Default seconds of silence before a keepalive comment; well under the 30-60 s
#: idle timeouts common in proxies and load balancers.
DEFAULT_KEEPALIVE_INTERVAL = 15.0
#: Default bytes a client may leave unread beyond the transport's own buffer.
DEFAULT_MAX_BUFFER = 1024 * 1024
#: Default seconds a client may keep its buffer full before it is dropped.
DEFAULT_DRAIN_TIMEOUT = 60.0
#: What a queued event costs beyond its bytes: the chunk-size line and CRLF of chunked
#: framing, and its three entries in the transport's write list (a slot each, and a
#: bytes object's header for the size line and the event), rounded up.
EVENT_OVERHEAD = 150

# The event-stream grammar ends a line at CRLF, a lone LF or a lone CR (WHATWG HTML §9.2.5);
# str.splitlines would also split at U+2028, VT, FF... which EventSource keeps as data.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _field_value(name: str, value: Any, forbidden: str) -> str:
    text = value if isinstance(value, str) else str(value)
    for character in forbidden:
        if character in text:
            raise ValueError(f"the SSE {name} must not contain {character!r}: {text!r}")
    return text


def format_event(
    message: str | bytes | dict[str, Any] | list[Any] | None,
    event: str | None = None,
    eid: Any = None,
    retry: int | None = None,
) -> bytes:
    """Encode one event as event-stream bytes (WHATWG HTML §9.2.5).

    ``message`` may be str, UTF-8 bytes, a dict or list (sent as JSON), or None
    for an event without data (only its id or retry take effect, nothing is
    dispatched). Every line of the message becomes its own ``data:`` field, so
    the browser's ``event.data`` is the message with its line breaks as ``\\n``.
    ``eid`` of ``""`` resets the browser's last event id.
    """
    lines: list[str] = []
    if eid is not None:
        lines.append("id: " + _field_value("event id", eid, "\r\n\x00"))
    if event is not None:
        lines.append("event: " + _field_value("event type", event, "\r\n"))
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ValueError(
                f"the SSE retry must be a non-negative int of milliseconds: {retry!r}"
            )
        lines.append(f"retry: {retry}")
    if message is not None:
        if isinstance(message, (dict, list)):
            message = escape.json_encode(message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            raw = bytes(message)
            try:
                message = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"an SSE stream is always UTF-8; the message is not: {raw!r}"
                ) from error
        elif not isinstance(message, str):
            raise TypeError(
                f"sendEvent() takes str, bytes, dict, list or None; got {type(message).__name__}"
            )
        lines.extend("data: " + line for line in _LINE_BREAK.split(str(message)))
    if not lines:
        raise ValueError("an SSE event needs a message, an id or a retry")
    lines.append("\n")
    return "\n".join(lines).encode("utf-8")


class SSEHandler(RequestHandler):
    """A handler whose GET opens an event stream; override `bind` and `unbind`.

    The old cyclone API: `bind()` when the stream opens, `unbind()` when it
    ends, `sendEvent(message, event, eid, retry)` in between. ``prepare()`` still
    runs first, so authentication and ``send_error`` work as in any handler.
    Override `bind` rather than ``get``; an overriding ``get`` must call
    ``super().get(*args, **kwargs)`` to open the stream. ``finish()`` ends the
    stream from the server side (the browser reconnects after its retry delay).
    """

    _stream_open = False
    _stream_closed = False
    _keepalive: task.LoopingCall | None = None
    _drain_timer: Any = None  # an IDelayedCall while the client's buffer is full
    _backlog = 0
    _dropped = False
    _sent_since_keepalive = False
    _binding: defer.Deferred[Any] | None = None  # an async bind() still running

    @property
    def last_event_id(self) -> str | None:
        """The ``Last-Event-ID`` header a reconnecting EventSource sends, or None."""
        return self.request.headers.get("Last-Event-ID")

    def bind(self) -> Any:
        """Called when the stream is open; subscribe this handler to what it streams.

        May return a Deferred or be ``async def`` (awaiting asyncio libraries too on the
        asyncio reactor); if it fails the stream is closed, and if the client leaves
        while it runs it is cancelled after `unbind`.
        """

    def unbind(self) -> None:
        """Called once when the stream ends (client disconnect or ``finish()``): unsubscribe."""

    def on_server_shutdown(self) -> Any:
        """Called when the server stops gracefully, just before the stream is finished.

        The default sends the comment ``: server shutting down``, which EventSource
        ignores: the browser sees a clean end and reconnects after its retry delay.
        Override it to send a last event instead (``self.sendEvent(...)``), for a page
        that should say the server went away, or ``retry`` to change when the browser
        comes back. It may return a Deferred or be ``async def``; the stream is
        finished once that fires, or when the shutdown timeout runs out.
        """
        if not (self._stream_closed or self._dropped):
            self._send(SHUTDOWN_COMMENT)

    def set_stream_headers(self) -> None:
        """Set the event-stream headers; override to add your own (call super)."""
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")

    def head(self, *args: Any, **kwargs: Any) -> None:
        """Answer the stream's headers without opening it."""
        self.set_stream_headers()

    def get(self, *args: Any, **kwargs: Any) -> defer.Deferred[None] | None:
        """Send the headers, start keepalives, call `bind` and leave the response open."""
        self._auto_finish = False
        self._transforms: list[Any] = []
        self.set_stream_headers()
        self._stream_open = True
        self._shutdown_waiters: list[defer.Deferred[None]] = []
        _open_streams.add(self)
        self.notifyFinish().addCallback(self._on_stream_end)
        self.flush()
        interval = self.settings.get("sse_keepalive_interval", DEFAULT_KEEPALIVE_INTERVAL)
        if interval:
            self._keepalive = task.LoopingCall(self._send_keepalive)
            self._keepalive.clock = self._clock()
            self._keepalive.start(interval, now=False)
        try:
            result = self.bind()
        except Exception:
            log.failure("bind() raised in {handler}; closing the stream", handler=self)
            self._finish_if_open()
            return None
        if result is not None and is_awaitable(result):
            d = self._binding = as_deferred(result)
            d.addErrback(self._bind_failed)
        return None

    def sendEvent(
        self,
        message: str | bytes | dict[str, Any] | list[Any] | None,
        event: str | None = None,
        eid: Any = None,
        retry: int | None = None,
    ) -> defer.Deferred[None]:
        """Send one event now and return a Deferred that fires when the client can take more.

        See `format_event` for the arguments. The Deferred fires with None once
        the client's socket has room again, or when the stream ended (then
        `unbind` runs); it never fails, so a broadcaster need not wait on it.
        After the stream ended sending does nothing (a broadcast may race with
        a disconnect).
        """
        data = format_event(message, event, eid, retry)
        if not self._stream_open:
            raise RuntimeError("sendEvent() before the stream opened; call it from bind()")
        if self._stream_closed or self._dropped:
            return defer.succeed(None)
        self._sent_since_keepalive = True
        return self._send(data)

    # -- internals ---------------------------------------------------------------

    def _clock(self) -> Any:
        clock = getattr(self.application, "clock", None)
        if clock is None:
            from twisted.internet import reactor as clock
        return clock

    def _send(self, data: bytes) -> defer.Deferred[None]:
        self.write(data)
        d = self.flush()
        if d.called:
            return d.addBoth(self._drained)
        self._backlog += len(data) + EVENT_OVERHEAD
        d.addBoth(self._drained)
        max_buffer = self.settings.get("sse_max_buffer", DEFAULT_MAX_BUFFER)
        if max_buffer is not None and self._backlog > max_buffer:
            self._drop(f"more than {max_buffer} bytes queued for a client that is not reading")
            return d
        if self._drain_timer is None:
            timeout = self.settings.get("sse_drain_timeout", DEFAULT_DRAIN_TIMEOUT)
            if timeout:
                self._drain_timer = self._clock().callLater(
                    timeout,
                    self._drop,
                    f"the client did not read for {timeout} seconds",
                )
        return d

    def _drained(self, result: Any) -> Any:
        self._backlog = 0
        self._cancel_drain_timer()
        if isinstance(result, Failure):
            # The client went away with events queued; the stream end runs unbind().
            return None
        return result

    def _cancel_drain_timer(self) -> None:
        timer, self._drain_timer = self._drain_timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _drop(self, why: str) -> None:
        self._drain_timer = None
        if self._stream_closed or self._dropped:
            return
        self._dropped = True
        log.warn(
            "dropping SSE client {peer}: {why}",
            peer=self.request.remote_ip,
            why=why,
        )
        self.request.connection.transport.abortConnection()

    def _send_keepalive(self) -> None:
        if self._stream_closed:
            return
        if self._sent_since_keepalive or self._backlog:
            self._sent_since_keepalive = False
            return
        self._send(KEEPALIVE_COMMENT)

    def _bind_failed(self, failure: Failure) -> None:
        if self._stream_closed and failure.check(defer.CancelledError, asyncio.CancelledError):
            return  # the client left while bind() ran: _on_stream_end cancelled it
        log.failure("bind() failed in {handler}; closing the stream", failure, handler=self)
        self._finish_if_open()

    def _finish_if_open(self) -> None:
        if not self._stream_closed and not self._finished:
            self.finish()

    def _end_for_shutdown(self) -> defer.Deferred[None]:
        """Run `on_server_shutdown`, then finish; fires once the stream has ended."""
        ended: defer.Deferred[None] = defer.Deferred()
        self._shutdown_waiters.append(ended)
        goodbye = maybe_deferred(self.on_server_shutdown)
        goodbye.addErrback(
            lambda failure: log.failure(
                "on_server_shutdown() failed in {handler}", failure, handler=self
            )
        )
        goodbye.addCallback(lambda _: self._finish_if_open())
        return ended

    def _on_stream_end(self, _: Any) -> None:
        _open_streams.discard(self)
        if not self._stream_closed:
            self._stream_closed = True
            keepalive, self._keepalive = self._keepalive, None
            if keepalive is not None and keepalive.running:
                keepalive.stop()
            self._cancel_drain_timer()
            try:
                self.unbind()
            except Exception:
                log.failure("unbind() raised in {handler}", handler=self)
            binding = self._binding
            if binding is not None and not binding.called:
                binding.cancel()
        waiters, self._shutdown_waiters = self._shutdown_waiters, []
        for waiter in waiters:
            waiter.callback(None)


#: Open event streams, ended by `_end_streams_for_shutdown` on a graceful shutdown.
_open_streams: set[SSEHandler] = set()


def _end_streams_for_shutdown(timeout: float) -> defer.Deferred[Any]:
    """End every open event stream cleanly (`SSEHandler.on_server_shutdown`, then finish).

    Registered with `cyclone.deploy.on_shutdown`: without it an open stream would
    hold the server's shutdown until its timeout and then be aborted, which
    EventSource reports as an error rather than a stream that ended.
    """
    ending = [stream._end_for_shutdown() for stream in list(_open_streams)]
    return defer.DeferredList(ending, consumeErrors=True)


on_shutdown(_end_streams_for_shutdown)
