"""An RPC server speaking both XML-RPC (/xmlrpc) and JSON-RPC (/jsonrpc).

    python examples/rpc/server.py --port 8888

It prints ``listening on http://127.0.0.1:<port>/`` once it accepts
connections (``--port 0`` picks a free port, which is how the tests start it).
Call it with ``client_sync.py`` (standard library only) or ``client_async.py``
(Twisted).
"""

from __future__ import annotations

import argparse
import sys

from twisted.internet import defer, reactor, task

from cyclone.jsonrpc import JsonRpcError, JsonrpcRequestHandler
from cyclone.routing import Router
from cyclone.xmlrpc import Fault, XmlrpcRequestHandler, signature


class MathMethods:
    """Exposed over XML-RPC as ``math.*``."""

    @signature(["int", "int", "int"])
    def xmlrpc_mul(self, a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b


class XmlRpc(XmlrpcRequestHandler):
    allowNone = True
    subHandlers = {"math": MathMethods()}

    @signature(["int", "int", "int"])
    def xmlrpc_add(self, a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    def xmlrpc_echo(self, value):
        """Return the argument unchanged."""
        return value

    def xmlrpc_sort(self, items: list) -> list:
        """Return the items sorted."""
        return sorted(items)

    async def xmlrpc_slow_upper(self, text: str) -> str:
        """Answer later, without blocking the server (an ``async def`` method)."""
        await task.deferLater(reactor, 0.01, lambda: None)
        return text.upper()

    def xmlrpc_divide(self, a: float, b: float) -> float:
        """Divide, answering a fault for a zero divisor."""
        if b == 0:
            raise Fault(20, "division by zero")
        return a / b


class JsonRpc(JsonrpcRequestHandler):
    def jsonrpc_add(self, a: int, b: int) -> int:
        return a + b

    def jsonrpc_subtract(self, minuend: int, subtrahend: int) -> int:
        return minuend - subtrahend

    def jsonrpc_echo(self, value):
        return value

    @defer.inlineCallbacks
    def jsonrpc_slow_upper(self, text: str):
        yield task.deferLater(reactor, 0.01, lambda: None)
        return text.upper()

    def jsonrpc_divide(self, a: float, b: float) -> float:
        if b == 0:
            raise JsonRpcError(-32000, "division by zero", {"dividend": a})
        return a / b

    def jsonrpc_log(self, message: str) -> None:
        print(f"log: {message}", flush=True)


def make_app() -> Router:
    return Router([(r"/xmlrpc", XmlRpc), (r"/jsonrpc", JsonRpc)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--interface", default="127.0.0.1")
    options = parser.parse_args(argv)
    port = reactor.listenTCP(options.port, make_app(), interface=options.interface)
    address = port.getHost()
    print(f"listening on http://{address.host}:{address.port}/", flush=True)
    reactor.run()


if __name__ == "__main__":
    main(sys.argv[1:])
