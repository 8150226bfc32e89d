"""The echo server the Autobahn|Testsuite fuzzingclient tests: ``python echo_server.py 9001``.

Every message comes back as it arrived (text as text, binary as binary), with
permessage-deflate offered so sections 12 and 13 run. Messages up to 64 MiB are allowed
because section 9 sends 16 MiB ones. ``nox -s autobahn`` starts it and reads the report.
"""

from __future__ import annotations

import sys

from twisted.internet import reactor
from twisted.logger import globalLogBeginner, textFileLogObserver

from cyclone.routing import Router
from cyclone.websocket import WebSocketHandler


class EchoHandler(WebSocketHandler):
    def check_origin(self, origin: str) -> bool:
        return True

    def get_compression_options(self) -> dict[str, object]:
        return {}

    def on_message(self, message: str | bytes) -> object:
        return self.write_message(message, binary=isinstance(message, bytes))


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9001
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)])
    application = Router(
        [(r"/.*", EchoHandler)],
        websocket_max_message_size=64 * 1024 * 1024,
        websocket_max_buffer_size=128 * 1024 * 1024,
    )
    reactor.listenTCP(port, application, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
