"""Call the example RPC server from Twisted without blocking the reactor.

    python examples/rpc/client_async.py http://127.0.0.1:8888/

XML-RPC goes through Twisted's ``twisted.web.xmlrpc.Proxy`` (and once through
``cyclone.xmlrpc.XmlRpcProxy``, the same API on ``Agent``); JSON-RPC through
``cyclone.jsonrpc.JsonRpcProxy``. All return Deferreds, awaited here.
"""

from __future__ import annotations

import sys

from twisted.internet import defer, task
from twisted.web.xmlrpc import Fault, Proxy

from cyclone.jsonrpc import JsonRpcError, JsonRpcProxy
from cyclone.xmlrpc import XmlRpcProxy


async def run(base: str) -> None:
    base = base.rstrip("/")
    server = Proxy(f"{base}/xmlrpc".encode(), allowNone=True)
    print("xmlrpc add(2, 3) =", await server.callRemote("add", 2, 3))
    print("xmlrpc math.mul(6, 7) =", await server.callRemote("math.mul", 6, 7))
    # Several calls in flight at once: the server answers each as it completes.
    uppers = await defer.gatherResults(
        [server.callRemote("slow_upper", word) for word in ("a", "b", "c")]
    )
    print("xmlrpc concurrent slow_upper =", uppers)
    try:
        await server.callRemote("divide", 1, 0)
    except Fault as fault:
        print(f"xmlrpc divide(1, 0) -> fault {fault.faultCode}: {fault.faultString}")
    agent_based = XmlRpcProxy(f"{base}/xmlrpc")
    print(
        "xmlrpc via XmlRpcProxy math.mul(7, 6) =", await agent_based.callRemote("math.mul", 7, 6)
    )

    proxy = JsonRpcProxy(f"{base}/jsonrpc")
    print("jsonrpc add(2, 3) =", await proxy.callRemote("add", 2, 3))
    print(
        "jsonrpc subtract(minuend=42, subtrahend=23) =",
        await proxy.callRemote("subtract", minuend=42, subtrahend=23),
    )
    try:
        await proxy.callRemote("divide", 1, 0)
    except JsonRpcError as error:
        print(f"jsonrpc divide(1, 0) -> error {error.code}: {error.message} {error.data}")
    print("jsonrpc batch =", await proxy.callBatch([("add", [1, 2]), ("echo", {"value": "b"})]))
    await proxy.notify("log", "from the async client")
    print("jsonrpc notification sent")


def main(reactor, base: str = "http://127.0.0.1:8888/") -> defer.Deferred:
    return defer.ensureDeferred(run(base))


if __name__ == "__main__":
    task.react(main, sys.argv[1:])
