#!/usr/bin/env python
"""The old cyclone redis demo: keys and pub/sub over HTTP, fanned out through Redis.

    python redisdemo.py --port 8888 --redis redis://127.0.0.1:6379/0

Keys:
    curl -d "value=hello world" http://localhost:8888/text/foobar     # SET
    curl http://localhost:8888/text/foobar                            # GET
    curl -X DELETE http://localhost:8888/text/foobar                  # DEL

Pub/sub (run several servers on other ports against the same Redis: a message
posted to any of them reaches the listeners of all of them):
    curl -N http://localhost:8888/queue/foo.*,msgs,l33t               # listen (text lines)
    curl -d "message=hello world" http://localhost:8888/queue/foo.bar # publish

Live feed in a browser (EventSource): open http://localhost:8888/ and publish
from the form or with curl; or stream the events yourself:
    curl -N http://localhost:8888/events/foo.*,msgs                  # text/event-stream

Every Redis failure answers 503 while Redis is down; the server reconnects by
itself and listeners are subscribed again when Redis comes back. GET /ready
answers once Redis is connected (a readiness probe).
"""

from __future__ import annotations

import argparse
import sys

from twisted.internet import reactor
from twisted.logger import globalLogBeginner, textFileLogObserver

import cyclone.redis
import cyclone.sse
import cyclone.web


class TextHandler(cyclone.web.RequestHandler):
    """GET, SET (POST value=...) and DEL one key."""

    def initialize(self, redis: cyclone.redis.RedisClient) -> None:
        self.redis = redis

    @cyclone.redis.unavailable_as_503
    async def get(self, key: str) -> None:
        value = await self.redis.get(key)
        self.set_header("Content-Type", "text/plain")
        self.finish(f"{key}={value}\r\n")

    @cyclone.redis.unavailable_as_503
    async def post(self, key: str) -> None:
        value = self.get_argument("value")
        await self.redis.set(key, value)
        self.set_header("Content-Type", "text/plain")
        self.finish(f"{key}={value}\r\n")

    @cyclone.redis.unavailable_as_503
    async def delete(self, key: str) -> None:
        deleted = await self.redis.delete(key)
        self.set_header("Content-Type", "text/plain")
        self.finish(f"DEL {key}={deleted}\r\n")


class QueueHandler(cyclone.web.RequestHandler):
    """GET streams the messages of comma-separated channels or patterns; POST publishes."""

    def initialize(
        self, redis: cyclone.redis.RedisClient, subscriber: cyclone.redis.Subscriber
    ) -> None:
        self.redis = redis
        self.subscriber = subscriber

    @cyclone.web.asynchronous
    def get(self, channels: str) -> None:
        self.names = [name for name in channels.split(",") if name]
        if not self.names:
            raise cyclone.web.HTTPError(400, "no channel in %r", channels)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.notifyFinish().addBoth(self._unsubscribe_all)
        self.flush()
        for name in self.names:
            subscribe = self.subscriber.psubscribe if "*" in name else self.subscriber.subscribe
            subscribe(name, self._deliver).addCallbacks(
                lambda _, name=name: self._say(f"subscribed to {name}"),
                # The subscription is still made as soon as Redis is back.
                lambda _, name=name: self._say(f"Redis is down; will subscribe to {name}"),
            )

    def _deliver(self, channel: str, message: str) -> None:
        self._say(f"{channel}: {message}")

    def _say(self, line: str) -> None:
        if not self._finished:
            self.write(line + "\r\n")
            self.flush()

    def _unsubscribe_all(self, _: object) -> None:
        for name in self.names:
            unsubscribe = (
                self.subscriber.punsubscribe if "*" in name else self.subscriber.unsubscribe
            )
            unsubscribe(name, self._deliver).addErrback(lambda failure: None)

    @cyclone.redis.unavailable_as_503
    async def post(self, channel: str) -> None:
        message = self.get_argument("message")
        receivers = await cyclone.redis.publish(self.redis, channel, message)
        self.set_header("Content-Type", "text/plain")
        self.finish(f"OK {receivers}\r\n")


class EventsHandler(cyclone.sse.SSEHandler):
    """A live feed for EventSource: every message of the channels/patterns as a JSON event.

    Each subscription confirmed by Redis is announced with a ``subscribed`` event.
    """

    def initialize(self, subscriber: cyclone.redis.Subscriber) -> None:
        self.subscriber = subscriber

    def bind(self) -> None:
        self.names = [name for name in self.path_args[0].split(",") if name]
        for name in self.names:
            subscribe = self.subscriber.psubscribe if "*" in name else self.subscriber.subscribe
            subscribe(name, self._deliver).addCallbacks(
                lambda _, name=name: self.sendEvent(name, event="subscribed"),
                lambda _, name=name: self.sendEvent(name, event="waiting-for-redis"),
            )

    def _deliver(self, channel: str, message: str) -> None:
        self.sendEvent({"channel": channel, "message": message})

    def unbind(self) -> None:
        for name in self.names:
            unsubscribe = (
                self.subscriber.punsubscribe if "*" in name else self.subscriber.unsubscribe
            )
            unsubscribe(name, self._deliver).addErrback(lambda failure: None)


INDEX = """<!doctype html>
<title>cyclone redis demo</title>
<form id="send">channel <input name="channel" value="msgs">
message <input name="message" autofocus> <button>publish</button></form>
<ul id="feed"></ul>
<script>
const feed = document.getElementById("feed");
const show = (text) => feed.append(Object.assign(document.createElement("li"), {textContent: text}));
const events = new EventSource("/events/msgs,foo.*");
events.addEventListener("subscribed", (e) => show("subscribed to " + e.data));
events.onmessage = (e) => { const m = JSON.parse(e.data); show(m.channel + ": " + m.message); };
document.getElementById("send").onsubmit = (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  fetch("/queue/" + encodeURIComponent(form.get("channel")),
        {method: "POST", body: new URLSearchParams({message: form.get("message")})});
};
</script>
"""


class IndexHandler(cyclone.web.RequestHandler):
    """A page that publishes with a form and shows the live feed of msgs and foo.*."""

    def get(self) -> None:
        self.finish(INDEX)


class ReadyHandler(cyclone.web.RequestHandler):
    """Answers once Redis is connected and the pub/sub subscriptions are made (a readiness probe)."""

    def initialize(
        self, redis: cyclone.redis.RedisClient, subscriber: cyclone.redis.Subscriber
    ) -> None:
        self.redis = redis
        self.subscriber = subscriber

    async def get(self) -> None:
        await self.redis.whenConnected()
        await self.subscriber.whenConnected()
        self.finish("ready\r\n")


def make_app(redis_url: str) -> cyclone.web.Application:
    redis = cyclone.redis.connect(redis_url, max_reconnect_delay=2)
    subscriber = cyclone.redis.Subscriber(redis_url, max_reconnect_delay=2)
    return cyclone.web.Application(
        [
            (r"/text/(.+)", TextHandler, {"redis": redis}),
            (r"/queue/(.+)", QueueHandler, {"redis": redis, "subscriber": subscriber}),
            (r"/events/(.+)", EventsHandler, {"subscriber": subscriber}),
            (r"/ready", ReadyHandler, {"redis": redis, "subscriber": subscriber}),
            (r"/", IndexHandler),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--port", type=int, default=8888, help="0 picks a free port")
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    args = parser.parse_args(argv)
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)])
    listening = reactor.listenTCP(args.port, make_app(args.redis), interface=args.interface)
    print(f"listening on http://{args.interface}:{listening.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
