"""A small HTTP/1.1 client over real TCP for tests: Tornado's ``fetch`` and ``HTTPResponse``.

    from cyclone.testing.loopback import LoopbackHTTPClient

    response = await LoopbackHTTPClient().fetch("http://127.0.0.1:8888/", raise_error=False)
    assert response.code == 200 and response.body == b"Hello, world"

`AsyncHTTPTestCase` uses it to reach the application over a socket, so a test
sees exactly the bytes a browser would. It lives in cyclone-core (the full
client, `cyclone.httpclient`, needs cyclone-web and treq) and keeps to what
tests need: ``http://`` and ``https://`` (TLS needs ``cyclone-core[tls]``), one request per connection
(``Connection: close``), redirects, gzip, timeouts, Tornado's argument and
response names. Responses are read with `cyclone.inmemory.ResponseReader`.
"""

from __future__ import annotations

import base64
import gzip
import io
import ssl
import sys
import time
import urllib.parse
from typing import Any, NamedTuple

from twisted.internet import defer, endpoints, error, protocol
from twisted.python.failure import Failure

from cyclone.httputil import HTTPHeaders
from cyclone.httpwriter import request_bytes
from cyclone.inmemory import ResponseReader

__all__ = ["HTTPClientError", "HTTPResponse", "LoopbackHTTPClient"]

#: Tornado's limit of redirects followed by one fetch.
DEFAULT_MAX_REDIRECTS = 5
#: The methods Tornado expects a body for (``allow_nonstandard_methods`` lifts the rule).
_BODY_METHODS = ("POST", "PUT", "PATCH")
#: The keyword arguments of Tornado's ``fetch`` that this client honours.
_FETCH_OPTIONS = frozenset(
    {
        "method",
        "headers",
        "body",
        "follow_redirects",
        "max_redirects",
        "request_timeout",
        "allow_nonstandard_methods",
        "auth_username",
        "auth_password",
        "user_agent",
        "decompress_response",
        "connect_timeout",
        "validate_cert",
        "ca_certs",
    }
)


class HTTPClientError(Exception):
    """A response whose code is not 2xx, as raised by ``fetch(raise_error=True)``; Tornado's."""

    def __init__(
        self, code: int, message: str | None = None, response: HTTPResponse | None = None
    ) -> None:
        self.code = code
        self.message = message or f"HTTP {code}"
        self.response = response
        super().__init__(code, message, response)

    def __str__(self) -> str:
        return f"HTTP {self.code}: {self.message}"


class HTTPResponse:
    """A complete response: ``code``, ``reason``, ``headers``, ``body``, ``error``; Tornado's."""

    def __init__(
        self,
        code: int,
        reason: str,
        headers: HTTPHeaders,
        body: bytes,
        effective_url: str,
        request_time: float,
    ) -> None:
        self.code = code
        self.reason = reason
        self.headers = headers
        self.body = body
        self.effective_url = effective_url
        self.request_time = request_time
        self.error: HTTPClientError | None = None
        if not 200 <= code < 300:
            self.error = HTTPClientError(code, reason, self)

    @property
    def buffer(self) -> io.BytesIO:
        """The body as a file object, as Tornado offers it."""
        return io.BytesIO(self.body)

    def rethrow(self) -> None:
        """Raise `error` if there is one."""
        if self.error is not None:
            raise self.error

    def __repr__(self) -> str:
        return f"HTTPResponse({self.code} {self.reason}, {len(self.body)} bytes)"


class _Exchange(NamedTuple):
    """Per-fetch options the redirect loop carries."""

    decompress: bool
    connect_timeout: float
    validate_cert: bool
    ca_certs: str | None


def _decompressed(headers: HTTPHeaders, body: bytes) -> bytes:
    """Undo ``Content-Encoding: gzip``, renaming the header as Tornado does.

    Tornado's client asks for gzip and hands tests the plain body, with the
    encoding moved to ``X-Consumed-Content-Encoding``.
    """
    if headers.get("Content-Encoding", "").lower() != "gzip":
        return body
    headers["X-Consumed-Content-Encoding"] = headers.pop("Content-Encoding")
    return gzip.decompress(body)


def _is_tls_error(error: BaseException | None) -> bool:
    """Whether ``error`` is pyOpenSSL's (a failed handshake, an untrusted certificate)."""
    openssl = sys.modules.get("OpenSSL.SSL")
    return openssl is not None and isinstance(error, openssl.Error)


class _OneExchange(protocol.Protocol):
    """Writes one request, reads one response, then closes."""

    def __init__(self, raw_request: bytes, head_only: bool) -> None:
        self.raw_request = raw_request
        self.reader = ResponseReader(head_only)
        self.done: defer.Deferred[ResponseReader] = defer.Deferred(self._cancel)

    def connectionMade(self) -> None:
        transport: Any = self.transport
        transport.write(self.raw_request)

    def dataReceived(self, data: bytes) -> None:
        if self.done.called:
            return
        try:
            self.reader.feed(data)
        except ValueError as error:
            self.done.errback(ValueError(f"malformed HTTP response: {error}"))
        else:
            if not self.reader.complete:
                return
            self.done.callback(self.reader)
        transport: Any = self.transport
        transport.loseConnection()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        if self.done.called:
            return
        self.reader.connection_closed()
        if self.reader.complete:
            self.done.callback(self.reader)
        elif _is_tls_error(reason.value):
            # Raised as the standard library's ssl.SSLError, as Tornado's client does.
            self.done.errback(ssl.SSLError(f"TLS with the server failed: {reason.value}"))
        else:
            self.done.errback(
                ConnectionError(f"the server closed before a complete response: {reason.value}")
            )

    def _cancel(self, _: defer.Deferred[ResponseReader]) -> None:
        if self.transport is not None:
            self.transport.abortConnection()


class LoopbackHTTPClient:
    """Fetches ``http://`` URLs over TCP, one connection per request."""

    def __init__(self, reactor: Any = None, defaults: dict[str, Any] | None = None) -> None:
        if reactor is None:
            from twisted.internet import reactor as installed

            reactor = installed
        self.reactor = reactor
        unknown = sorted(set(defaults or ()) - _FETCH_OPTIONS)
        if unknown:
            raise TypeError(f"LoopbackHTTPClient does not support {unknown}")
        #: `fetch` options used when a call does not give them (Tornado's ``defaults``).
        self.defaults = dict(defaults or {})

    def fetch(
        self, url: str, raise_error: bool = True, **options: Any
    ) -> defer.Deferred[HTTPResponse]:
        """Fetch ``url``; Tornado's arguments (``method``, ``headers``, ``body``...).

        Redirects are followed (up to ``max_redirects``, 5) unless
        ``follow_redirects=False``. A non-2xx response fails the Deferred
        with `HTTPClientError` when ``raise_error`` is true, and is returned
        with ``error`` set otherwise. As Tornado's client it asks for gzip and
        returns the decompressed body (``decompress_response=False`` keeps it
        compressed). Connection errors always fail it (as the
        built-in `ConnectionRefusedError`/`ConnectionError`, as Tornado's), and
        ``request_timeout`` seconds (none by default) cancel the exchange with
        `TimeoutError`. ``https://`` URLs check the server's certificate
        unless ``validate_cert=False``; ``ca_certs`` names a PEM file of the
        authorities to trust instead of the system's.
        """
        unknown = sorted(set(options) - _FETCH_OPTIONS)
        if unknown:
            raise TypeError(f"fetch() does not support {unknown}")
        options = {**self.defaults, **options}
        method = options.get("method", "GET").upper()
        body = options.get("body")
        if not options.get("allow_nonstandard_methods"):
            expected, present = method in _BODY_METHODS, body is not None
            if expected != present:
                raise ValueError(
                    f"Body must {'not ' if present else ''}be None for method {method} "
                    "(unless allow_nonstandard_methods is true)"
                )
        headers = HTTPHeaders(options.get("headers") or {})
        if options.get("auth_username") is not None:
            credentials = f"{options['auth_username']}:{options.get('auth_password') or ''}"
            headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        if options.get("user_agent"):
            headers["User-Agent"] = options["user_agent"]
        decompress = options.get("decompress_response", True)
        if decompress and "Accept-Encoding" not in headers:
            headers["Accept-Encoding"] = "gzip"
        raw_body = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        follow = options.get("follow_redirects", True)
        redirects = options.get("max_redirects", DEFAULT_MAX_REDIRECTS) if follow else 0
        exchange = _Exchange(
            decompress,
            options.get("connect_timeout") or 30,
            options.get("validate_cert", True),
            options.get("ca_certs"),
        )
        d = defer.Deferred.fromCoroutine(
            self._fetch(url, method, headers, raw_body, redirects, raise_error, exchange)
        )
        timeout = options.get("request_timeout")
        if timeout:

            def timed_out(result: Any, after: float) -> Any:
                raise TimeoutError(f"{method} {url} timed out after {after:g} seconds")

            d.addTimeout(timeout, self.reactor, onTimeoutCancel=timed_out)
        return d

    async def _fetch(
        self,
        url: str,
        method: str,
        headers: HTTPHeaders,
        body: bytes,
        redirects: int,
        raise_error: bool,
        exchange: _Exchange,
    ) -> HTTPResponse:
        started = time.monotonic()
        while True:
            reader = await self._exchange(url, method, headers, body, exchange)
            assert reader.status is not None
            code, reason = reader.status
            location = reader.headers.get("Location")
            if code in (301, 302, 303, 307, 308) and location and redirects > 0:
                redirects -= 1
                url = urllib.parse.urljoin(url, location)
                if code == 303 and method != "HEAD" or code in (301, 302) and method == "POST":
                    method, body = "GET", b""
                    for name in ("Content-Length", "Content-Type"):
                        headers.pop(name, None)
                continue
            body_bytes = b"".join(reader.body)
            if exchange.decompress:
                body_bytes = _decompressed(reader.headers, body_bytes)
            response = HTTPResponse(
                code, reason, reader.headers, body_bytes, url, time.monotonic() - started
            )
            if raise_error:
                response.rethrow()
            return response

    async def _exchange(
        self, url: str, method: str, headers: HTTPHeaders, body: bytes, options: _Exchange
    ) -> ResponseReader:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the loopback client fetches http:// and https:// URLs, not {url!r}")
        request_headers = HTTPHeaders()
        for name, value in headers.get_all():
            request_headers.add(name, value)
        if "Host" not in request_headers:
            request_headers["Host"] = parts.netloc
        request_headers["Connection"] = "close"
        if body or method in _BODY_METHODS:
            request_headers["Content-Length"] = str(len(body))
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        exchange = _OneExchange(
            request_bytes(method, target, request_headers, body), method == "HEAD"
        )
        endpoint = self._endpoint(parts, options)
        try:
            await endpoints.connectProtocol(endpoint, exchange)
        except error.ConnectionRefusedError as refused:
            raise ConnectionRefusedError(f"{url}: {refused}") from refused
        except error.ConnectError as failed:
            raise ConnectionError(f"{url}: {failed}") from failed
        return await exchange.done

    def _endpoint(self, parts: urllib.parse.SplitResult, options: _Exchange) -> Any:
        """A TCP endpoint for ``http://``, a TLS one for ``https://``."""
        assert parts.hostname is not None
        if parts.scheme == "http":
            return endpoints.TCP4ClientEndpoint(
                self.reactor, parts.hostname, parts.port or 80, timeout=options.connect_timeout
            )
        return endpoints.SSL4ClientEndpoint(
            self.reactor,
            parts.hostname,
            parts.port or 443,
            client_tls_options(parts.hostname, options.validate_cert, options.ca_certs),
            timeout=options.connect_timeout,
        )


def client_tls_options(
    hostname: str, validate_cert: bool = True, ca_certs: str | None = None
) -> Any:
    """Twisted client TLS options with the meaning of Tornado's ``validate_cert``/``ca_certs``.

    ``validate_cert=False`` accepts any certificate (what Tornado's
    `AsyncHTTPSTestCase` does for its self-signed one); otherwise the server
    must present a certificate for ``hostname`` signed by ``ca_certs`` (a PEM
    file) or, without it, by the system's trusted authorities.
    """
    try:
        from twisted.internet import ssl as twisted_tls
    except ImportError as missing:  # pragma: no cover - pyOpenSSL is the tls extra
        raise ImportError("https:// needs pip install 'cyclone-core[tls]'") from missing
    if not validate_cert:
        return twisted_tls.CertificateOptions(verify=False)
    if ca_certs is None:
        return twisted_tls.optionsForClientTLS(hostname)
    with open(ca_certs, "rb") as pem:
        authority = twisted_tls.Certificate.loadPEM(pem.read())
    return twisted_tls.optionsForClientTLS(hostname, trustRoot=authority)
