"""Testing cyclone applications: cyclone 1.3's in-memory client and Tornado's test cases.

    from cyclone.testing import Client

    async def test_hello():
        client = Client(application)
        response = await client.get("/", headers={"Accept": "text/html"})
        assert response.code == 200 and response.body == b"Hello, world"

Tornado's helpers, over a real loopback port (`cyclone.testing.httptest`,
`cyclone.testing.asynctest`, `cyclone.testing.expectlog`)::

    from cyclone.testing import AsyncHTTPTestCase, ExpectLog, gen_test

    class TestHello(AsyncHTTPTestCase):
        def get_app(self):
            return application

        def test_hello(self):
            self.assertEqual(self.fetch("/").body, b"Hello, world")

        @gen_test
        async def test_hello_awaited(self):
            response = await self.http_client.fetch(self.get_url("/"))
            self.assertEqual(response.code, 200)

They run under ``trial``, plain pytest and pytest with pytest-twisted.

The client sends requests through the application's own protocol over an
in-memory transport (`cyclone.inmemory`), so they go through the same
parser, routing and framing as on a socket. Cookies persist across requests
(``client.cookies``), and ``client.cookies.get_secure_cookie(name)`` decodes
a signed cookie with the application's ``cookie_secret``.

The package keeps cyclone 1.3's layout: ``cyclone.testing.client.Client``
and ``cyclone.testing.testcase.CycloneTestCase`` (a ``twisted.trial``
TestCase with ``self.client``). `Response`, `ResponseReader`,
`MemoryTransport` and `exchange` are `cyclone.inmemory`'s, re-exported here
under their old names. ``twisted.trial`` is loaded only when
`CycloneTestCase` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cyclone.inmemory import MemoryTransport, Response, ResponseReader, exchange
from cyclone.testing.asynctest import (
    AsyncTestCase,
    gen_test,
    get_async_test_timeout,
    run_until_complete,
)
from cyclone.testing.client import Client, ClientCookies
from cyclone.testing.expectlog import ExpectLog
from cyclone.testing.httptest import AsyncHTTPSTestCase, AsyncHTTPTestCase, bind_unused_port
from cyclone.testing.loopback import HTTPClientError, HTTPResponse, LoopbackHTTPClient

if TYPE_CHECKING:
    from cyclone.testing.testcase import CycloneTestCase

__all__ = [
    "AsyncHTTPSTestCase",
    "AsyncHTTPTestCase",
    "AsyncTestCase",
    "Client",
    "ClientCookies",
    "CycloneTestCase",
    "ExpectLog",
    "HTTPClientError",
    "HTTPResponse",
    "LoopbackHTTPClient",
    "MemoryTransport",
    "Response",
    "ResponseReader",
    "bind_unused_port",
    "exchange",
    "gen_test",
    "get_async_test_timeout",
    "run_until_complete",
]


def __getattr__(name: str) -> Any:
    if name == "CycloneTestCase":
        from cyclone.testing.testcase import CycloneTestCase

        return CycloneTestCase
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
