"""WebSocket echo (the old cyclone websocket demo): a page sends text, the server echoes it.

    python examples/websocket/echo/app.py --port 8888

Open http://127.0.0.1:8888/. `EchoHandler` uses the cyclone 1.x names
(``connectionMade``, ``messageReceived``, ``sendMessage``, ``connectionLost``);
the Tornado names (``open``, ``on_message``, ``write_message``, ``on_close``) work too.

It prints ``listening on http://127.0.0.1:<port>/`` once it accepts connections
(``--port 0`` picks a free port, which is how the tests start it).
"""

from __future__ import annotations

import argparse
import os
import sys

from twisted.internet import reactor
from twisted.python import log

import cyclone.web
from cyclone.websocket import WebSocketHandler

HERE = os.path.dirname(os.path.abspath(__file__))


class IndexHandler(cyclone.web.RequestHandler):
    def get(self) -> None:
        self.render("index.html")


class EchoHandler(WebSocketHandler):
    def connectionMade(self) -> None:
        log.msg(f"echo: {self.request.remote_ip} connected")

    def messageReceived(self, message: str | bytes) -> object:
        return self.sendMessage(message)  # str back as text, bytes as binary

    def connectionLost(self, reason: object) -> None:
        log.msg(f"echo: {self.request.remote_ip} left (code {self.close_code})")


def make_app() -> cyclone.web.Application:
    return cyclone.web.Application(
        [(r"/", IndexHandler), (r"/echo", EchoHandler)],
        template_path=os.path.join(HERE, "templates"),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--interface", default="127.0.0.1")
    options = parser.parse_args(argv)
    log.startLogging(sys.stdout)
    port = reactor.listenTCP(options.port, make_app(), interface=options.interface)
    print(f"listening on http://{options.interface}:{port.getHost().port}/", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
