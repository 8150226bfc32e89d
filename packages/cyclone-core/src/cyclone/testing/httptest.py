"""Tornado's `AsyncHTTPTestCase` for cyclone applications, over a real loopback port.

    from cyclone.routing import Router
    from cyclone.testing import AsyncHTTPTestCase

    class TestHello(AsyncHTTPTestCase):
        def get_app(self):
            return Router([(r"/", HelloHandler)])

        def test_homepage(self):
            response = self.fetch("/")
            self.assertEqual(response.code, 200)
            self.assertEqual(response.body, b"Hello, world")

Each test gets the application from `get_app` listening on a fresh
``127.0.0.1`` port; `fetch` sends a request there with
`cyclone.testing.loopback.LoopbackHTTPClient` and waits for the response,
running the reactor meanwhile (see `cyclone.testing.asynctest`). Inside a
`gen_test` coroutine use ``await self.http_client.fetch(self.get_url(path))``,
as with Tornado.
"""

from __future__ import annotations

import socket
from typing import Any

from cyclone.httpserver import HTTPServer
from cyclone.testing.asynctest import AsyncTestCase, get_async_test_timeout, run_until_complete
from cyclone.testing.loopback import HTTPResponse, LoopbackHTTPClient

__all__ = ["AsyncHTTPSTestCase", "AsyncHTTPTestCase", "bind_unused_port"]

#: Seconds tearDown gives the test's connections to close before aborting them.
_SHUTDOWN_TIMEOUT = 1.0


def bind_unused_port(
    reuse_port: bool = False, address: str = "127.0.0.1"
) -> tuple[socket.socket, int]:
    """A listening IPv4 socket on a free port of ``address``, and that port; Tornado's.

    For code that hands a bound socket on, e.g. to
    ``reactor.adoptStreamPort(sock.fileno(), socket.AF_INET, factory)``.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((address, 0))
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock, sock.getsockname()[1]


class AsyncHTTPTestCase(AsyncTestCase):
    """A test case serving `get_app()` on a loopback port, with a synchronous `fetch`."""

    def setUp(self) -> None:
        super().setUp()
        self.http_client = self.get_http_client()
        self._app = self.get_app()
        self.http_server = self.get_http_server()
        self._listening_port = self.listen(self.http_server)

    def tearDown(self) -> None:
        run_until_complete(self._listening_port.stopListening())
        if isinstance(self.http_server, HTTPServer):
            run_until_complete(self.http_server.shutdown(_SHUTDOWN_TIMEOUT))
        super().tearDown()

    def listen(self, server: Any) -> Any:
        """Start ``server`` on a free ``127.0.0.1`` port and return the listening port."""
        return self.reactor.listenTCP(0, server, interface="127.0.0.1")

    def get_app(self) -> Any:
        """The application under test (a `Router`, an ``Application``, or a request callback)."""
        raise NotImplementedError(f"{type(self).__name__} must define get_app()")

    def get_http_client(self) -> LoopbackHTTPClient:
        """The client `fetch` uses; override to change it."""
        return LoopbackHTTPClient()

    def get_httpserver_options(self) -> dict[str, Any]:
        """Server settings (``max_body_size``, ``xheaders``...) for the application."""
        return {}

    def get_http_server(self) -> Any:
        """The factory that listens: the application itself, or an `HTTPServer` around it.

        An application is its own server; it is wrapped only when it is a plain
        callback or `get_httpserver_options` returns settings.
        """
        options = self.get_httpserver_options()
        if isinstance(self._app, HTTPServer) and not options:
            return self._app
        return HTTPServer(self._app, **options)

    def get_http_port(self) -> int:
        """The port the application listens on (a new one for each test)."""
        port: int = self._listening_port.getHost().port
        return port

    def get_protocol(self) -> str:
        return "http"

    def get_url(self, path: str) -> str:
        """The absolute URL of ``path`` on the test server."""
        return f"{self.get_protocol()}://127.0.0.1:{self.get_http_port()}{path}"

    def fetch(self, path: str, raise_error: bool = False, **kwargs: Any) -> HTTPResponse:
        """Fetch ``path`` (or an absolute ``http://`` URL) and return the response; Tornado's.

        ``kwargs`` are the client's (``method``, ``headers``, ``body``,
        ``follow_redirects``...). Unlike the client, a non-2xx response is
        returned (with ``error`` set) unless ``raise_error=True``, because
        tests often check error codes.
        """
        url = path if path.lower().startswith(("http://", "https://")) else self.get_url(path)
        pending = self.http_client.fetch(url, raise_error=raise_error, **kwargs)
        response: HTTPResponse = run_until_complete(pending, get_async_test_timeout())
        return response


class AsyncHTTPSTestCase(AsyncHTTPTestCase):
    """`AsyncHTTPTestCase` over TLS: `get_app()` on an ``https://`` loopback port; Tornado's.

    The server presents the certificate of `get_ssl_options` (by default a
    self-signed one for ``localhost`` and ``127.0.0.1``, made once per process)
    and the test client does not check it, as in Tornado. Needs
    ``pip install 'cyclone-core[tls]'``.
    """

    def get_ssl_options(self) -> Any:
        """The server's TLS settings: Tornado's ``{"certfile": ..., "keyfile": ...}``.

        A Twisted context factory (``twisted.internet.ssl.CertificateOptions``)
        is accepted too.
        """
        from cyclone.testing.selfsigned import self_signed_files

        certfile, keyfile = self_signed_files()
        return {"certfile": certfile, "keyfile": keyfile}

    def get_http_client(self) -> LoopbackHTTPClient:
        return LoopbackHTTPClient(defaults={"validate_cert": False})

    def listen(self, server: Any) -> Any:
        return self.reactor.listenSSL(
            0, server, _context_factory(self.get_ssl_options()), interface="127.0.0.1"
        )

    def get_protocol(self) -> str:
        return "https"


def _context_factory(ssl_options: Any) -> Any:
    """A Twisted TLS context factory for Tornado-style ``ssl_options`` (or one given as is)."""
    if not isinstance(ssl_options, dict):
        return ssl_options
    unknown = sorted(set(ssl_options) - {"certfile", "keyfile"})
    if unknown:
        raise ValueError(f"ssl_options {unknown} are not supported: give certfile and keyfile")
    from twisted.internet import ssl

    certfile = ssl_options["certfile"]
    with open(certfile, "rb") as cert, open(ssl_options.get("keyfile") or certfile, "rb") as key:
        certificate = ssl.PrivateCertificate.loadPEM(cert.read() + b"\n" + key.read())
    return certificate.options()
