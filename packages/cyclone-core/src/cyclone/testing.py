"""An in-process test client for cyclone applications.

    from cyclone.testing import Client

    async def test_hello():
        client = Client(application)
        response = await client.get("/", headers={"Accept": "text/html"})
        assert response.code == 200 and response.body == b"Hello, world"

The client speaks real HTTP/1.1 bytes to the application's own protocol over
an in-memory transport, so requests go through the same parser, routing and
framing as on a socket, without opening one. Cookies persist across requests
(``client.cookies``), and ``client.cookies.get_secure_cookie(name)`` decodes a
signed cookie with the application's ``cookie_secret``.

`CycloneTestCase` keeps the old cyclone name: a ``twisted.trial`` TestCase
with ``self.client`` built from an ``app_builder``; it runs under ``trial``
and under pytest.
"""

from __future__ import annotations

import http.cookies
import json
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial import unittest

from cyclone import signing
from cyclone.httputil import HTTPHeaders, parse_http_date

__all__ = [
    "Client",
    "CycloneTestCase",
    "MemoryTransport",
    "Response",
    "ResponseReader",
    "exchange",
]


class Response:
    """What the application answered: ``code``, ``reason``, ``headers``, ``body``."""

    def __init__(self, code: int, reason: str, headers: HTTPHeaders, body: bytes) -> None:
        self.code = code
        self.reason = reason
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
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
        if self.status is not None and self.length is None and not self.chunked:
            self.complete = True

    def response(self) -> Response:
        assert self.status is not None
        return Response(self.status[0], self.status[1], self.headers, b"".join(self.body))


class MemoryTransport(StringTransport):
    """A StringTransport that tells the client whenever the server writes or closes."""

    def __init__(self, on_write: Callable[[bytes], None], on_close: Callable[[], None]) -> None:
        super().__init__(
            hostAddress=IPv4Address("TCP", "127.0.0.1", 80),
            peerAddress=IPv4Address("TCP", "127.0.0.1", 50000),
        )
        self._on_write = on_write
        self._on_close = on_close

    def write(self, data: bytes) -> None:
        super().write(data)
        self._on_write(data)

    def writeSequence(self, seq: Any) -> None:
        self.write(b"".join(seq))

    def loseConnection(self) -> None:
        if not self.disconnecting:
            super().loseConnection()
            self._on_close()

    def abortConnection(self) -> None:
        self.loseConnection()


class ClientCookies(dict[str, str]):
    """The client's cookie jar; `get_secure_cookie` verifies signed cookies."""

    def __init__(self, client: Client) -> None:
        super().__init__()
        self._client = client

    def get_secure_cookie(self, name: str, max_age_days: float = 31) -> bytes | None:
        secret = self._client.app.settings.get("cookie_secret")
        if not secret:
            raise ValueError("the application has no cookie_secret setting")
        return signing.decode_signed_value(secret, name, self.get(name), max_age_days=max_age_days)

    def _update(self, headers: HTTPHeaders) -> None:
        for header in headers.get_list("Set-Cookie"):
            jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                expires = morsel["expires"] and parse_http_date(morsel["expires"])
                expired = morsel["max-age"] == "0" or (expires and expires < time.time())
                if expired:
                    self.pop(name, None)
                else:
                    self[name] = morsel.value


class Client:
    """Sends requests to an application in memory; methods return Deferreds of `Response`."""

    def __init__(self, app: Any, host: str = "localhost") -> None:
        self.app = app
        self.host = host
        self.cookies = ClientCookies(self)

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> defer.Deferred[Response]:
        return self.request("GET", path, params=params, **kwargs)

    def head(
        self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> defer.Deferred[Response]:
        return self.request("HEAD", path, params=params, **kwargs)

    def delete(
        self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> defer.Deferred[Response]:
        return self.request("DELETE", path, params=params, **kwargs)

    def options(self, path: str, **kwargs: Any) -> defer.Deferred[Response]:
        return self.request("OPTIONS", path, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> defer.Deferred[Response]:
        return self.request("POST", path, data=data, **kwargs)

    def put(self, path: str, data: Any = None, **kwargs: Any) -> defer.Deferred[Response]:
        return self.request("PUT", path, data=data, **kwargs)

    def patch(self, path: str, data: Any = None, **kwargs: Any) -> defer.Deferred[Response]:
        return self.request("PATCH", path, data=data, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        json_body: Any = None,
    ) -> defer.Deferred[Response]:
        """Send one request; ``data`` is form-encoded, ``files`` makes multipart/form-data."""
        if params:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(params, doseq=True)
        request_headers = HTTPHeaders({"Host": self.host})
        if self.cookies:
            request_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if files:
            body, content_type = _encode_multipart(data or {}, files)
            request_headers["Content-Type"] = content_type
        elif data is not None:
            body = urllib.parse.urlencode(data, doseq=True)
            request_headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body)
            request_headers["Content-Type"] = "application/json"
        for name, value in (headers or {}).items():
            request_headers[name] = value
        raw_body = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        if raw_body or method in ("POST", "PUT", "PATCH"):
            request_headers["Content-Length"] = str(len(raw_body))
        head = f"{method} {path} HTTP/1.1\r\n{request_headers}\r\n".encode("latin-1")
        return self._exchange(method, head + raw_body)

    def _exchange(self, method: str, raw_request: bytes) -> defer.Deferred[Response]:
        d = exchange(self.app, raw_request, head_only=method == "HEAD")

        def remember_cookies(response: Response) -> Response:
            self.cookies._update(response.headers)
            return response

        return d.addCallback(remember_cookies)


def exchange(
    factory: Any, raw_request: bytes, head_only: bool = False
) -> defer.Deferred[Response]:
    """Send raw request bytes to any HTTP server factory in memory; a Deferred of its Response.

    Used by the test client and by ``cyclone.web.FallbackHandler`` to run a
    twisted.web resource inside a cyclone application.
    """
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor
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


def _encode_multipart(
    fields: Mapping[str, Any], files: Mapping[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                + (item if isinstance(item, bytes) else str(item).encode())
                + b"\r\n"
            )
    for name, (filename, content, content_type) in files.items():
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class CycloneTestCase(unittest.TestCase):
    """A trial TestCase with ``self.client`` for the application ``app_builder()`` returns.

    Either set ``app_builder`` as a class attribute or pass it first to
    ``__init__`` as the old cyclone did::

        class TestApp(CycloneTestCase):
            def __init__(self, *args, **kwargs):
                CycloneTestCase.__init__(self, build_app, *args, **kwargs)
    """

    app_builder: Callable[[], Any] | None = None

    def __init__(self, app_builder: Any = None, *args: Any, **kwargs: Any) -> None:
        if app_builder is not None and not callable(app_builder):
            args = (app_builder, *args)  # trial passed the test method name first
            app_builder = None
        builder = app_builder or getattr(type(self), "app_builder", None)
        super().__init__(*args, **kwargs)
        self.app: Any = builder() if builder is not None else None
        self.client = Client(self.app) if self.app is not None else None
