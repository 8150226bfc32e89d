"""A broadcast feed over Server-Sent Events (the old cyclone SSE demo).

    python examples/sse/app.py --port 8888

Open http://127.0.0.1:8888/ in a few browser windows: what one posts appears in
all of them, and a clock ticks once a second. The page listens with
``new EventSource("/events")``; the server keeps the last ``--history`` messages
so a browser that lost its connection gets what it missed when it reconnects
(its EventSource sends ``Last-Event-ID``, `FeedHandler.bind` replays the rest).
``POST /streams/close`` closes every stream, as a server would before a restart:
watch the pages reconnect and resume.

It prints ``listening on http://127.0.0.1:<port>/`` once it accepts connections
(``--port 0`` picks a free port, which is how the tests start it).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

from twisted.internet import reactor, task
from twisted.python import log

import cyclone.web
from cyclone.sse import SSEHandler

HERE = os.path.dirname(os.path.abspath(__file__))


class Feed:
    """The messages and the open streams: publishes to all, keeps a history to replay."""

    def __init__(self, history: int) -> None:
        self.listeners: set[FeedHandler] = set()
        self.history: collections.deque[tuple[int, str]] = collections.deque(maxlen=history)
        self.last_id = 0

    def publish(self, message: str) -> int:
        self.last_id += 1
        self.history.append((self.last_id, message))
        for listener in list(self.listeners):
            listener.sendEvent(message, eid=self.last_id)
        return self.last_id

    def missed_since(self, last_event_id: str | None) -> list[tuple[int, str]]:
        """The kept messages after ``last_event_id`` (none for a new or unknown id)."""
        if last_event_id is None or not last_event_id.isdigit():
            return []
        seen = int(last_event_id)
        return [(eid, message) for eid, message in self.history if eid > seen]

    def tick(self) -> None:
        for listener in list(self.listeners):
            listener.sendEvent(time.strftime("%H:%M:%S"), event="time")

    def close_streams(self) -> int:
        listeners = list(self.listeners)
        for listener in listeners:
            listener.finish()
        return len(listeners)


class FeedHandler(SSEHandler):
    def bind(self) -> None:
        feed = self.settings.feed
        self.sendEvent(None, retry=self.settings.reconnect_ms)
        if self.last_event_id is not None:
            missed = feed.missed_since(self.last_event_id)
            self.sendEvent({"after": self.last_event_id, "missed": len(missed)}, event="resumed")
            for eid, message in missed:
                self.sendEvent(message, eid=eid)
        feed.listeners.add(self)
        log.msg(
            f"listener joined (Last-Event-ID: {self.last_event_id}), {len(feed.listeners)} now"
        )

    def unbind(self) -> None:
        self.settings.feed.listeners.discard(self)
        log.msg(f"listener left, {len(self.settings.feed.listeners)} now")


class IndexHandler(cyclone.web.RequestHandler):
    def get(self) -> None:
        self.render("index.html")


class PublishHandler(cyclone.web.RequestHandler):
    def post(self) -> None:
        message = self.get_argument("message")
        self.write({"id": self.settings.feed.publish(message)})


class CloseStreamsHandler(cyclone.web.RequestHandler):
    def post(self) -> None:
        self.write({"closed": self.settings.feed.close_streams()})


def make_app(history: int = 50, reconnect_ms: int = 1000) -> cyclone.web.Application:
    return cyclone.web.Application(
        [
            (r"/", IndexHandler),
            (r"/events", FeedHandler),
            (r"/publish", PublishHandler),
            (r"/streams/close", CloseStreamsHandler),
        ],
        template_path=os.path.join(HERE, "templates"),
        feed=Feed(history),
        reconnect_ms=reconnect_ms,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--history", type=int, default=50, help="messages kept for replay")
    parser.add_argument("--reconnect-ms", type=int, default=1000, help="EventSource retry delay")
    options = parser.parse_args(argv)
    log.startLogging(sys.stdout)
    app = make_app(options.history, options.reconnect_ms)
    clock = task.LoopingCall(app.settings.feed.tick)
    clock.start(1.0)
    port = reactor.listenTCP(options.port, app, interface=options.interface)
    print(f"listening on http://{options.interface}:{port.getHost().port}/", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
