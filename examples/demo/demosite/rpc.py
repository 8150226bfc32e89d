"""XML-RPC at /rpc/xml and JSON-RPC at /rpc/json, and a page that calls them.

Each ``xmlrpc_<name>`` / ``jsonrpc_<name>`` method is a remote procedure; it may
return a value, a Deferred or be ``async def``. Errors are answered as the
protocol says: an XML-RPC fault, a JSON-RPC error object. Both endpoints skip
the XSRF check (their callers are programs, which carry no cookies) and take
at most 1 MiB per call. From a shell:

    curl -s -d '{"jsonrpc": "2.0", "id": 1, "method": "add", "params": [2, 3]}' \\
        http://127.0.0.1:8888/rpc/json
    python3 -c 'import xmlrpc.client as x; print(x.ServerProxy("http://127.0.0.1:8888/rpc/xml").add(2, 3))'
"""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor, task

from cyclone.jsonrpc import JsonRpcError, JsonrpcRequestHandler
from cyclone.xmlrpc import Fault, XmlrpcRequestHandler, signature
from demosite.base import BaseHandler


class XmlRpc(XmlrpcRequestHandler):
    """``system.listMethods`` and the other introspection methods come with the handler."""

    @signature(["int", "int", "int"])
    def xmlrpc_add(self, a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    def xmlrpc_echo(self, value: Any) -> Any:
        """Return the argument unchanged (strings, numbers, lists, structs...)."""
        return value

    def xmlrpc_divide(self, a: float, b: float) -> float:
        """Divide a by b; a zero divisor is answered with fault 20."""
        if b == 0:
            raise Fault(20, "division by zero")
        return a / b

    async def xmlrpc_slow_upper(self, text: str) -> str:
        """Upper-case the text after half a second, without blocking the server."""
        await task.deferLater(reactor, 0.5, lambda: None)
        return text.upper()


class JsonRpc(JsonrpcRequestHandler):
    def jsonrpc_add(self, a: int, b: int) -> int:
        return a + b

    def jsonrpc_echo(self, value: Any) -> Any:
        return value

    def jsonrpc_divide(self, a: float, b: float) -> float:
        if b == 0:
            raise JsonRpcError(-32000, "division by zero", {"dividend": a})
        return a / b

    async def jsonrpc_slow_upper(self, text: str) -> str:
        await task.deferLater(reactor, 0.5, lambda: None)
        return text.upper()


class RpcPage(BaseHandler):
    page = "rpc"

    def get(self) -> None:
        self.render("rpc.html", methods=["add", "echo", "divide", "slow_upper"])
