"""Requests through an HTTP proxy, for `cyclone.httpclient.fetch(..., proxy=...)`.

    agent = ProxyingAgent(reactor, parse_proxy("http://127.0.0.1:3128"), tls_policy, 10, pool)

An ``http`` URL goes to the proxy in absolute form (``GET http://host/path``,
RFC 9112 §3.2.2) with Twisted's `ProxyAgent`. An ``https`` URL goes through a
tunnel: ``CONNECT host:443`` (RFC 9110 §9.3.6), then TLS with the origin server
inside it, so the proxy sees neither the request nor the certificate check.
Credentials in the proxy URL are sent as ``Proxy-Authorization: Basic``.
"""

from __future__ import annotations

import base64
import urllib.parse
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.web import client as web_client
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IAgentEndpointFactory
from zope.interface import implementer

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

#: Largest proxy answer to CONNECT we read before giving up (bytes): a status
#: line and a few headers; a proxy sending more is not answering CONNECT.
MAX_CONNECT_RESPONSE_SIZE = 16 * 1024


class ProxyError(ConnectionError):
    """The proxy refused or broke the tunnel (its status line is in the message)."""


@dataclass(frozen=True)
class ProxyAddress:
    """Where the proxy listens, and the ``Proxy-Authorization`` value if it needs one."""

    host: str
    port: int
    authorization: bytes | None = None


def parse_proxy(proxy: str | tuple[str, int | str]) -> ProxyAddress:
    """``"http://[user:password@]host:port"`` or cyclone 1.x's ``(host, port)``."""
    if isinstance(proxy, tuple):
        if len(proxy) != 2:
            raise ValueError(f"proxy must be (host, port), got {proxy!r}")
        host, port = proxy
        return ProxyAddress(str(host), _port(port, proxy))
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"proxy must be http://host:port, got {proxy!r}")
    authorization = None
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode())
        authorization = b"Basic " + token
    try:
        port = parts.port or 80
    except ValueError:
        raise ValueError(f"proxy port out of range in {proxy!r}") from None
    return ProxyAddress(parts.hostname, _port(port, proxy), authorization)


def _port(value: int | str, proxy: Any) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"proxy port must be a number, got {proxy!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"proxy port out of range in {proxy!r}")
    return port


@implementer(IAgent)
class ProxyingAgent:
    """An agent sending http requests to the proxy and https requests through CONNECT."""

    def __init__(
        self,
        reactor: Any,
        proxy: ProxyAddress,
        tls_policy: Any,
        connect_timeout: float | None,
        pool: web_client.HTTPConnectionPool,
    ) -> None:
        endpoint = TCP4ClientEndpoint(
            reactor, proxy.host, proxy.port, timeout=connect_timeout or 30
        )
        self._proxy = proxy
        self._plain = web_client.ProxyAgent(endpoint, reactor, pool=pool)
        self._tunnelled = web_client.Agent.usingEndpointFactory(
            reactor, _TunnelEndpointFactory(endpoint, proxy, tls_policy), pool=pool
        )

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: Any = None,
    ) -> defer.Deferred[Any]:
        if uri[:6].lower() == b"https:":
            return self._tunnelled.request(method, uri, headers, bodyProducer)
        if self._proxy.authorization is not None:
            headers = headers.copy() if headers is not None else Headers()
            headers.setRawHeaders(b"proxy-authorization", [self._proxy.authorization])
        return self._plain.request(method, uri, headers, bodyProducer)


@implementer(IAgentEndpointFactory)
class _TunnelEndpointFactory:
    def __init__(self, proxy_endpoint: Any, proxy: ProxyAddress, tls_policy: Any) -> None:
        self._proxy_endpoint = proxy_endpoint
        self._proxy = proxy
        self._tls_policy = tls_policy

    def endpointForURI(self, uri: Any) -> Any:
        tunnel: Any = _TunnelEndpoint(self._proxy_endpoint, uri.host, uri.port, self._proxy)
        return wrapClientTLS(self._tls_policy.creatorForNetloc(uri.host, uri.port), tunnel)


@implementer(IStreamClientEndpoint)
class _TunnelEndpoint:
    """Connects to the proxy, asks for a tunnel to host:port, then hands the stream over."""

    def __init__(self, proxy_endpoint: Any, host: bytes, port: int, proxy: ProxyAddress) -> None:
        self._proxy_endpoint = proxy_endpoint
        authority = b"%s:%d" % (host, port)
        request = b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n" % (authority, authority)
        if proxy.authorization is not None:
            request += b"Proxy-Authorization: " + proxy.authorization + b"\r\n"
        self._request = request + b"\r\n"
        self._authority = authority.decode("ascii", "replace")

    def connect(self, factory: Any) -> defer.Deferred[Any]:
        tunnels: list[_TunnelProtocol] = []

        def cancel(_: Any) -> None:
            connecting.cancel()
            for tunnel in tunnels:
                if tunnel.transport is not None:
                    tunnel.transport.abortConnection()

        established: defer.Deferred[Any] = defer.Deferred(cancel)

        def build() -> _TunnelProtocol:
            tunnel = _TunnelProtocol(self._request, self._authority, factory, established)
            tunnels.append(tunnel)
            return tunnel

        def unreachable(failure: Failure) -> None:
            if not established.called:  # else cancelled: the failure is that cancellation
                established.errback(failure)

        connecting = self._proxy_endpoint.connect(Factory.forProtocol(build))
        connecting.addErrback(unreachable)
        return established


class _TunnelProtocol(Protocol):
    """Reads the proxy's answer to CONNECT; after a 2xx it relays bytes to the inner protocol."""

    transport: Any

    def __init__(
        self, request: bytes, authority: str, factory: Any, established: defer.Deferred[Any]
    ) -> None:
        self._request = request
        self._authority = authority
        self._factory = factory
        self._established: defer.Deferred[Any] | None = established
        self._answer = b""
        self._inner: Any = None

    def connectionMade(self) -> None:
        self.transport.write(self._request)

    def dataReceived(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.dataReceived(data)
            return
        self._answer += data
        end = self._answer.find(b"\r\n\r\n")
        if end == -1:
            if len(self._answer) > MAX_CONNECT_RESPONSE_SIZE:
                self._refuse(f"answered CONNECT with more than {MAX_CONNECT_RESPONSE_SIZE} bytes")
            return
        status_line = self._answer[: end + 2].split(b"\r\n", 1)[0]
        fields = status_line.split(b" ", 2)
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or fields[1][:1] != b"2":
            self._refuse(f"refused CONNECT: {status_line.decode('latin-1')!r}")
            return
        rest = self._answer[end + 4 :]
        self._answer = b""
        self._inner = self._factory.buildProtocol(self.transport.getPeer())
        self._inner.makeConnection(self.transport)
        established, self._established = self._established, None
        assert established is not None
        established.callback(self._inner)
        if rest:
            self._inner.dataReceived(rest)

    def _refuse(self, reason: str) -> None:
        established, self._established = self._established, None
        self.transport.abortConnection()
        if established is not None and not established.called:
            established.errback(ProxyError(f"the proxy for {self._authority} {reason}"))

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self._inner is not None:
            self._inner.connectionLost(reason)
            return
        established, self._established = self._established, None
        if established is not None and not established.called:
            established.errback(
                ProxyError(
                    f"the proxy closed the connection before tunnelling to {self._authority}"
                )
            )
