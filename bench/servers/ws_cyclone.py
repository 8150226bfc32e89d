"""cyclone 2 WebSocket echo on /ws: a ``WebSocketHandler`` behind core's Router.

    python bench/servers/ws_cyclone.py 8080

Runs in a venv with cyclone-core and cyclone-websocket only, as a WebSocket
service needs no more.
"""

import sys

from twisted.internet import reactor

from cyclone.routing import Router
from cyclone.websocket import WebSocketHandler


class Echo(WebSocketHandler):
    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


def main():
    application = Router([(r"/ws", Echo)], log_function=lambda handler: None)
    reactor.listenTCP(int(sys.argv[1]), application, backlog=1024, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
