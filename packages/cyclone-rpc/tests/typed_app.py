"""A typed user application on cyclone-rpc, checked by ``mypy --strict`` (nox -s typing).

Each ``# type: ignore[...]`` marks a deliberate mistake: mypy must see cyclone's
types to flag it, and --strict reports an ignore that flags nothing, so the
check fails if cyclone's types stop reaching users.
"""

from __future__ import annotations

from typing import Any

from cyclone.jsonrpc import JsonRpcProxy, JsonrpcRequestHandler
from cyclone.routing import Router
from cyclone.xmlrpc import XmlRpcProxy, XmlrpcRequestHandler


class Calculator(JsonrpcRequestHandler):
    async def jsonrpc_add(self, a: int, b: int) -> int:
        return a + b


class LegacyCalculator(XmlrpcRequestHandler):
    def xmlrpc_add(self, a: int, b: int) -> int:
        return a + b


def make_app() -> Router:
    return Router([(r"/jsonrpc", Calculator), (r"/xmlrpc", LegacyCalculator)])


async def add(base: str) -> Any:
    json_sum = await JsonRpcProxy(base + "/jsonrpc").callRemote("add", 1, 2)
    XmlRpcProxy(base + "/xmlrpc").callRemote(add)  # type: ignore[arg-type]
    return json_sum
