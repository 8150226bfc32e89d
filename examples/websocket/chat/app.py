"""Multi-user chat over WebSocket (the old cyclone chat demo), with live stats.

    python examples/websocket/chat/app.py --port 8888

Open http://127.0.0.1:8888/ in two windows and talk. `ChatSocketHandler` uses
the cyclone 1.x API (``connectionMade``/``messageReceived``/``sendMessage``/
``connectionLost``) and renders each message with
``self.render_string("message.html", message=chat)`` inside the socket handler,
then broadcasts the HTML to everyone; the page only inserts it. As in the old
demo the application is built with ``autoescape=None``, so ``message.html``
escapes the user's text itself with ``{{ escape(...) }}``: that is what keeps
a posted ``<script>`` from running in the other users' pages.

`Stats` counts the people online and the messages; every change is pushed to
all sockets as a ``{"type": "stats"}`` message.

It prints ``listening on http://127.0.0.1:<port>/`` once it accepts connections
(``--port 0`` picks a free port, which is how the tests start it).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import uuid
from typing import Any

from twisted.internet import reactor
from twisted.python import log

import cyclone.escape
import cyclone.web
from cyclone.websocket import WebSocketHandler

HERE = os.path.dirname(os.path.abspath(__file__))
#: Longest message body and name accepted, in characters.
MAX_BODY = 2000
MAX_NAME = 40


class Stats:
    """Who is online and how much was said (the old demo's stats)."""

    def __init__(self) -> None:
        self.online = 0
        self.total_chatters = 0
        self.messages = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": "stats",
            "online": self.online,
            "chatters": self.total_chatters,
            "messages": self.messages,
        }


class MainHandler(cyclone.web.RequestHandler):
    def get(self) -> None:
        self.render("index.html", messages=ChatSocketHandler.cache)


class ChatSocketHandler(WebSocketHandler):
    waiters: set[ChatSocketHandler] = set()
    cache: collections.deque[dict[str, str]] = collections.deque(maxlen=200)

    def initialize(self, stats: Stats) -> None:
        self.stats = stats

    def connectionMade(self) -> None:
        ChatSocketHandler.waiters.add(self)
        self.stats.online += 1
        self.stats.total_chatters += 1
        self.broadcast(self.stats.as_dict())

    def connectionLost(self, reason: Any) -> None:
        ChatSocketHandler.waiters.discard(self)
        self.stats.online -= 1
        self.broadcast(self.stats.as_dict())

    def messageReceived(self, message: str | bytes) -> None:
        try:
            parsed = cyclone.escape.json_decode(message)
            body = str(parsed["body"])[:MAX_BODY]
            name = str(parsed.get("name") or "anonymous")[:MAX_NAME]
        except (ValueError, TypeError, KeyError) as error:
            log.msg(f"chat: ignoring a malformed message {message!r}: {error}")
            return
        chat = {"id": uuid.uuid4().hex, "name": name, "body": body}
        chat["html"] = self.render_string("message.html", message=chat).decode("utf-8")
        ChatSocketHandler.cache.append(chat)
        self.stats.messages += 1
        self.broadcast({"type": "message", "id": chat["id"], "html": chat["html"]})
        self.broadcast(self.stats.as_dict())

    @classmethod
    def broadcast(cls, update: dict[str, Any]) -> None:
        for waiter in list(cls.waiters):
            waiter.sendMessage(update)


def make_app() -> cyclone.web.Application:
    stats = Stats()
    return cyclone.web.Application(
        [
            (r"/", MainHandler),
            (r"/chatsocket", ChatSocketHandler, {"stats": stats}),
        ],
        template_path=os.path.join(HERE, "templates"),
        static_path=os.path.join(HERE, "static"),
        autoescape=None,
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
