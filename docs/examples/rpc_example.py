"""JSON-RPC and XML-RPC servers, called by cyclone's own proxies."""

from twisted.internet import defer, task

from cyclone.jsonrpc import JsonRpcProxy, JsonrpcRequestHandler
from cyclone.routing import Router
from cyclone.xmlrpc import XmlRpcProxy, XmlrpcRequestHandler


class Calculator(JsonrpcRequestHandler):
    async def jsonrpc_add(self, a, b):
        return a + b


class LegacyCalculator(XmlrpcRequestHandler):
    def xmlrpc_multiply(self, a, b):
        return a * b


async def main(reactor):
    application = Router([(r"/jsonrpc", Calculator), (r"/xmlrpc", LegacyCalculator)])
    port = reactor.listenTCP(0, application, interface="127.0.0.1")
    base = f"http://127.0.0.1:{port.getHost().port}"
    print(await JsonRpcProxy(base + "/jsonrpc").callRemote("add", 1, 2))
    print(await XmlRpcProxy(base + "/xmlrpc").callRemote("multiply", 6, 7))
    await port.stopListening()


task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
