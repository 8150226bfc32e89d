"""Autobahn|Python (on Twisted) WebSocket echo, the Twisted WebSocket peer.

    python bench/servers/ws_autobahn.py 8080

Autobahn serves WebSocket on any path; the runner connects to /ws like the others.
"""

import sys

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import reactor


class Echo(WebSocketServerProtocol):
    def onMessage(self, payload, isBinary):
        self.sendMessage(payload, isBinary)


def main():
    port = int(sys.argv[1])
    factory = WebSocketServerFactory("ws://127.0.0.1:%d" % port)
    factory.protocol = Echo
    reactor.listenTCP(port, factory, backlog=1024, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
