"""Testing cyclone applications in process: a client speaking real HTTP/1.1 bytes, no socket.

    from cyclone.testing import Client

    async def test_hello():
        client = Client(application)
        response = await client.get("/", headers={"Accept": "text/html"})
        assert response.code == 200 and response.body == b"Hello, world"

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
from cyclone.testing.client import Client, ClientCookies

if TYPE_CHECKING:
    from cyclone.testing.testcase import CycloneTestCase

__all__ = [
    "Client",
    "ClientCookies",
    "CycloneTestCase",
    "MemoryTransport",
    "Response",
    "ResponseReader",
    "exchange",
]


def __getattr__(name: str) -> Any:
    if name == "CycloneTestCase":
        from cyclone.testing.testcase import CycloneTestCase

        return CycloneTestCase
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
