"""A server process for test_hostile_input: large responses, held requests and a control port.

    python hostile_server.py '{"no_keep_alive": true}'

Prints one JSON line, ``{"port": ..., "control": ...}``, once the reactor runs.
The JSON argument holds the application's settings. On ``port``:

- ``GET /big?size=N`` answers N bytes (1 MiB by default) with a Content-Length,
  after fixing the socket's kernel send buffer at 64 KiB so that a response of
  that size always overflows into Twisted's buffer, whatever TCP autotuning does;
- ``GET /hold`` waits for the control port's ``/release`` and then answers like ``/big``.

On ``control``: ``/status`` (JSON: open connections, held requests, whether a
shutdown finished), ``/shutdown`` (starts ``shutdown()``) and ``/release``.
"""

from __future__ import annotations

import json
import socket
import sys

from twisted.internet import defer, reactor

from cyclone.handler import RequestHandler
from cyclone.routing import Router

KERNEL_SEND_BUFFER = 64 * 1024

state = {"held": 0, "shutdown_finished": False}
release: defer.Deferred[None] = defer.Deferred()


class Big(RequestHandler):
    def get(self) -> None:
        self.write_big()

    def write_big(self) -> None:
        handle = self.request.connection.transport.getHandle()
        handle.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER)
        self.write(b"x" * int(self.get_argument("size", str(1 << 20))))


class Hold(Big):
    async def get(self) -> None:
        state["held"] += 1
        await release
        self.write_big()


class Control(RequestHandler):
    def get(self, command: str) -> None:
        if command == "status":
            self.write({"connections": len(application.connections), **state})
        elif command == "shutdown":
            application.shutdown(600).addCallback(lambda _: state.update(shutdown_finished=True))
        elif command == "release":
            release.callback(None)


application = Router([(r"/big", Big), (r"/hold", Hold)], **json.loads(sys.argv[1]))
port = reactor.listenTCP(0, application, interface="127.0.0.1")
control = reactor.listenTCP(0, Router([(r"/(\w+)", Control)]), interface="127.0.0.1")
ports = {"port": port.getHost().port, "control": control.getHost().port}
# Once running, so that the reactor's own descriptors are open before the tests count them.
reactor.callWhenRunning(lambda: print(json.dumps(ports), flush=True))
reactor.run()
