"""HTTP proxies on loopback for the httpclient tests.

`HTTPProxy` is Twisted's own forwarding proxy (``twisted.web.proxy``): it takes
absolute-form requests and forwards them. `ConnectProxy` answers ``CONNECT
host:port`` (RFC 9110 §9.3.6) by opening a TCP connection there and relaying
bytes both ways, as a corporate proxy does for https. Both record what they saw.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import protocol, reactor
from twisted.web import http, proxy


class HTTPProxy:
    """twisted.web.proxy on 127.0.0.1; ``requests`` lists (method, uri, proxy-authorization)."""

    def __init__(self) -> None:
        self.requests: list[tuple[bytes, bytes, bytes | None]] = []
        seen = self.requests

        class RecordingRequest(proxy.ProxyRequest):
            def process(self) -> None:
                seen.append(
                    (
                        self.method,
                        self.uri,
                        self.requestHeaders.getRawHeaders(b"proxy-authorization", [None])[0],
                    )
                )
                self.requestHeaders.removeHeader(b"proxy-authorization")
                super().process()

        class RecordingProxy(proxy.Proxy):
            requestFactory = RecordingRequest

        factory = http.HTTPFactory()
        factory.protocol = RecordingProxy
        self.port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.address = ("127.0.0.1", self.port.getHost().port)

    def stop(self) -> Any:
        return self.port.stopListening()


class _Relay(protocol.Protocol):
    def __init__(self, peer: protocol.Protocol) -> None:
        self.peer = peer

    def connectionMade(self) -> None:
        self.peer.relay_ready(self)

    def dataReceived(self, data: bytes) -> None:
        self.peer.transport.write(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.peer.transport.loseConnection()


class _ConnectHandler(protocol.Protocol):
    def __init__(self, owner: ConnectProxy) -> None:
        self.owner = owner
        self.head = b""
        self.relay: _Relay | None = None

    def dataReceived(self, data: bytes) -> None:
        if self.relay is not None:
            self.relay.transport.write(data)
            return
        self.head += data
        if b"\r\n\r\n" not in self.head:
            return
        request_line = self.head.split(b"\r\n", 1)[0]
        self.owner.requests.append(request_line)
        method, target, _ = request_line.split(b" ", 2)
        if method != b"CONNECT" or self.owner.refuse:
            self.transport.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            self.transport.loseConnection()
            return
        host, _, port = target.decode().rpartition(":")
        protocol.ClientCreator(reactor, _Relay, self).connectTCP(host, int(port))

    def relay_ready(self, relay: _Relay) -> None:
        self.relay = relay
        self.transport.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

    def connectionLost(self, reason: Any = None) -> None:
        if self.relay is not None:
            self.relay.transport.loseConnection()


class ConnectProxy:
    """A CONNECT-only proxy on 127.0.0.1; ``requests`` lists the request lines it got."""

    def __init__(self, refuse: bool = False) -> None:
        self.requests: list[bytes] = []
        self.refuse = refuse
        factory = protocol.Factory.forProtocol(lambda: _ConnectHandler(self))
        self.port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port.getHost().port}"

    def stop(self) -> Any:
        return self.port.stopListening()
