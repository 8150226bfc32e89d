"""The HTTP side of cyclone's RPC proxies: POST a body with Agent, collect the answer.

Private to cyclone-rpc; `cyclone.jsonrpc.JsonRpcProxy` and
`cyclone.xmlrpc.XmlRpcProxy` build on it. Uses ``twisted.web.client.Agent``
directly (no treq): one POST and one bounded body read need nothing more.
``twisted.web.client`` is imported when a proxy is built, not with this module:
it loads Twisted's TLS support (pyOpenSSL, cryptography: tens of MiB), which an
RPC server that never calls out does not need.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from io import BytesIO
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.error import Error
from twisted.web.http_headers import Headers

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

_T = TypeVar("_T")

DEFAULT_MAX_RESPONSE_SIZE = 64 * 1024 * 1024
"""How much of an answer a proxy buffers by default (64 MiB): a bound, not a target."""


class RPCClient:
    """Sends request bodies to one URL; subclasses encode calls and decode answers."""

    content_type = b"application/octet-stream"

    def __init__(
        self,
        url: str | bytes,
        *,
        agent: Any = None,
        reactor: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        self.url = url.encode("ascii") if isinstance(url, str) else url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.max_response_size = max_response_size
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self._reactor = reactor
        if agent is None:
            agent = _quiet_agent(reactor)
        self._agent: Any = agent

    def _start(self, coroutine: Coroutine[Any, Any, _T]) -> defer.Deferred[_T]:
        """Run one exchange; past ``timeout`` seconds it is cancelled and fails with TimeoutError."""
        running = defer.ensureDeferred(coroutine)
        if self.timeout is not None:
            running.addTimeout(self.timeout, self._reactor)
        return running

    async def _post(self, body: bytes) -> tuple[int, bytes]:
        """POST ``body``; return the status and the answer, or raise ``twisted.web.error.Error``
        for a status outside 2xx."""
        headers = Headers({b"Content-Type": [self.content_type], b"Accept": [self.content_type]})
        for name, value in self.headers.items():
            headers.setRawHeaders(name.encode("latin-1"), [value.encode("latin-1")])
        from twisted.web.client import FileBodyProducer, ResponseNeverReceived

        try:
            response = await self._agent.request(
                b"POST", self.url, headers, FileBodyProducer(BytesIO(body))
            )
        except ResponseNeverReceived as error:
            # Agent reports our own cancellation (the timeout) wrapped; unwrap it so
            # addTimeout turns it into TimeoutError.
            if any(reason.check(defer.CancelledError) for reason in error.reasons):
                raise defer.CancelledError() from None
            raise
        collecting = _BodyCollector(self.max_response_size)
        response.deliverBody(collecting)
        content = await collecting.done
        if not 200 <= response.code < 300:
            raise Error(response.code, response.phrase, content[:200] or None)
        return response.code, content


class _BodyCollector(Protocol):
    """Gathers a response body, up to ``limit`` bytes, into the ``done`` Deferred."""

    def __init__(self, limit: int) -> None:
        self.done: defer.Deferred[bytes] = defer.Deferred(self._cancel)
        self._chunks: list[bytes] = []
        self._size = 0
        self._limit = limit

    def _cancel(self, _: defer.Deferred[bytes]) -> None:
        self._stop_reading()

    def _stop_reading(self) -> None:
        # Agent hands body protocols a producer (IPushProducer), not a full transport.
        producer: Any = self.transport
        if producer is not None:
            producer.stopProducing()

    def dataReceived(self, data: bytes) -> None:
        if self.done.called:
            return
        self._size += len(data)
        if self._size > self._limit:
            self.done.errback(
                ValueError(f"the RPC response exceeds max_response_size ({self._limit} bytes)")
            )
            self._stop_reading()
            return
        self._chunks.append(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self.done.called:
            return
        # Loaded already: an Agent delivered this body.
        from twisted.web.client import ResponseDone

        if reason is None or reason.check(ResponseDone):
            self.done.callback(b"".join(self._chunks))
        else:
            self.done.errback(reason)


def _quiet_agent(reactor: Any) -> Any:
    """An Agent like ``Agent(reactor)`` whose connections log no "Starting factory" lines.

    Twisted's HTTP/1.1 client factory is noisy: every call would log two lines.
    """
    from twisted.web import client

    class QuietFactory(client._HTTP11ClientFactory):
        noisy = False

    class QuietPool(client.HTTPConnectionPool):
        _factory = QuietFactory

    return client.Agent(reactor, pool=QuietPool(reactor, persistent=False))
