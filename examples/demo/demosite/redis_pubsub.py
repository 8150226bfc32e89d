"""Redis pub/sub fanned out to browsers, when a Redis server answers.

A message posted on /redis is published to the Redis channel ``cyclone-demo``;
a `cyclone.redis.Subscriber` receives everything published there and
`RedisLink` sends it to every open /redis page as a Server-Sent Event. Run two
demo servers on two ports against the same Redis and the messages cross
between them: that is what Redis is for here.

Without a Redis server the page says so. `RedisLink.connect` tries once (for at
most a second) and again at most every `RedisLink.RETRY_AFTER` seconds when the
page is visited, so a missing Redis costs nothing and fills no log.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

import cyclone.redis
from cyclone.sse import SSEHandler
from demosite.base import BaseHandler

log = Logger()

CHANNEL = "cyclone-demo"
#: Longest message accepted, in characters.
MAX_MESSAGE = 200


class RedisLink:
    """The demo's Redis client and subscriber, once a server answered; and the listeners."""

    #: Seconds between two connection attempts while no server answers.
    RETRY_AFTER = 5.0
    #: Seconds one connection attempt may take.
    CONNECT_TIMEOUT = 1.0

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.client: cyclone.redis.RedisClient | None = None
        self.subscriber: cyclone.redis.Subscriber | None = None
        self.error: str | None = None if url else "turned off (--redis '')"
        self.listeners: set[RedisEvents] = set()
        self._last_attempt = float("-inf")
        # One attempt at a time: a page asking while one is under way waits for its outcome.
        self._connecting = defer.DeferredLock()

    @property
    def available(self) -> bool:
        return self.client is not None and self.client.connected

    async def connect(self) -> bool:
        """Connect unless connected; True when Redis answers."""
        await self._connecting.acquire()
        try:
            return await self._connect()
        finally:
            self._connecting.release()

    async def _connect(self) -> bool:
        if self.client is not None:
            return self.client.connected
        if not self.url or time.monotonic() - self._last_attempt < self.RETRY_AFTER:
            return False
        self._last_attempt = time.monotonic()
        try:
            client = await cyclone.redis.connect(
                self.url, lazy=False, connect_timeout=self.CONNECT_TIMEOUT, max_reconnect_delay=5
            )
        except cyclone.redis.RedisUnavailable as error:
            self.error = str(error)
            log.info("no Redis for the demo: {error}", error=error)
            return False
        subscriber = cyclone.redis.Subscriber(
            self.url, connect_timeout=self.CONNECT_TIMEOUT, max_reconnect_delay=5
        )
        try:
            await subscriber.subscribe(CHANNEL, self._deliver, json=True)
        except cyclone.redis.RedisUnavailable as error:
            self.error = str(error)
            log.info("Redis answered but the subscription failed: {error}", error=error)
            await subscriber.disconnect()
            await client.disconnect()
            return False
        self.client, self.subscriber, self.error = client, subscriber, None
        log.info("the demo publishes to Redis at {url}", url=self.url)
        return True

    async def publish(self, message: dict[str, Any]) -> int:
        """Publish to the demo's channel; the number of subscribers that got it."""
        if self.client is None:
            raise cyclone.redis.RedisUnavailable("not connected", self.url)
        return await cyclone.redis.publish(self.client, CHANNEL, message)

    def _deliver(self, channel: str, message: Any) -> None:
        for listener in list(self.listeners):
            listener.sendEvent(message, event="message")

    def disconnect(self, timeout: float = 0) -> Any:
        """Close the Redis connections (on shutdown; cyclone.sse ends the event streams)."""
        if self.client is not None and self.subscriber is not None:
            client, subscriber, self.client, self.subscriber = (
                self.client,
                self.subscriber,
                None,
                None,
            )
            return subscriber.disconnect().addBoth(lambda _: client.disconnect())
        return None


class RedisPage(BaseHandler):
    page = "redis"

    def initialize(self, link: RedisLink) -> None:
        self.link = link

    async def get(self) -> None:
        available = await self.link.connect()
        self.render(
            "redis.html",
            available=available,
            url=self.link.url or "",
            error=self.link.error,
            channel=CHANNEL,
            max_message=MAX_MESSAGE,
        )


class RedisEvents(SSEHandler):
    """Every message of the demo's Redis channel, as ``message`` events."""

    def initialize(self, link: RedisLink) -> None:
        self.link = link

    def bind(self) -> None:
        self.link.listeners.add(self)
        self.sendEvent({"channel": CHANNEL}, event="subscribed")

    def unbind(self) -> None:
        self.link.listeners.discard(self)

    def on_server_shutdown(self) -> None:
        """The last event before cyclone.sse ends the stream on a graceful stop."""
        self.sendEvent({"reason": "the server is shutting down"}, event="bye")


class RedisPublish(BaseHandler):
    """POST ``text`` (XSRF token in the X-XSRFToken header): publish it to Redis."""

    def initialize(self, link: RedisLink) -> None:
        self.link = link

    @cyclone.redis.unavailable_as_503
    async def post(self) -> None:
        text = self.get_body_argument("text", "").strip()[:MAX_MESSAGE]
        if not text:
            self.set_status(400)
            self.write({"error": "write something first"})
            return
        message = {"text": text, "time": time.strftime("%H:%M:%S"), "port": self.request.host}
        self.write({"receivers": await self.link.publish(message)})
