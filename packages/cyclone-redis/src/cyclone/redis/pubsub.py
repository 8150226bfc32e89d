"""Redis pub/sub for web apps: Python callbacks per channel or pattern, kept across reconnects.

    from twisted.internet import defer, task
    import cyclone.redis

    async def main(reactor):
        subscriber = cyclone.redis.Subscriber("redis://localhost:6379/0")
        got = defer.Deferred()
        await subscriber.subscribe("news", lambda channel, message: got.callback(message),
                                   json=True)
        redis = cyclone.redis.connect("redis://localhost:6379/0")
        await cyclone.redis.publish(redis, "news", {"title": "hello"})
        print(await got)                      # {'title': 'hello'}
        await subscriber.disconnect()
        await redis.disconnect()

    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))

A Redis connection in subscribe mode can't run other commands, so `Subscriber`
holds one connection of its own, shared by every callback of the process: many
handlers (an SSE stream per browser, say) listening to one channel cost one Redis
subscription. Callbacks are called as ``callback(channel, message)``; ``message``
is a ``str`` (``bytes`` if it isn't valid in the charset), or the decoded JSON
value when subscribed with ``json=True``. A callback that raises, or returns a
Deferred that fails, is logged and doesn't disturb the others.

When the connection drops, the subscriber reconnects with backoff and subscribes
again to every channel and pattern that still has callbacks. Messages published
while it was disconnected are lost: that is Redis pub/sub's delivery guarantee.

`publish` sends a message with any `RedisClient`, JSON-encoding dicts and lists.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Mapping
from typing import Any

import txredisapi
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from cyclone.coroutines import maybe_deferred
from cyclone.redis.client import (
    RedisUnavailable,
    _ConnectionMonitor,
    _MonitoredFactory,
    _start_pool,
)
from cyclone.redis.settings import RedisSettings, redis_settings

__all__ = ["MessageCallback", "Subscriber", "publish"]

_log = Logger()

MessageCallback = Callable[[str, Any], Any]


class _DispatchingProtocol(txredisapi.SubscriberProtocol):
    """A subscribe-mode connection handing every message to its `Subscriber`."""

    def messageReceived(self, pattern: Any, channel: Any, message: Any) -> None:
        self.factory.subscriber._dispatch(pattern, channel, message)


class _SubscriberFactory(_MonitoredFactory):
    protocol = _DispatchingProtocol
    subscriber: Subscriber

    def delConnection(self, conn: Any) -> None:
        self.subscriber._connection_lost(conn)
        super().delConnection(conn)


class Subscriber:
    """Dispatches Redis pub/sub messages to Python callbacks; resubscribes after reconnects.

    Takes the same URL or settings as `cyclone.redis.connect`, and the same
    ``reconnect``, ``connect_timeout``, ``max_reconnect_delay``, ``charset`` and
    ``tls_options`` options. Numbers are never converted: messages stay strings.
    """

    def __init__(
        self,
        url_or_settings: str | Mapping[str, Any] | RedisSettings | None = None,
        *,
        reconnect: bool = True,
        connect_timeout: float = 5.0,
        max_reconnect_delay: float = 10.0,
        charset: str = "utf-8",
        tls_options: Any = None,
    ) -> None:
        self.settings = redis_settings(url_or_settings)
        self.connect_timeout = connect_timeout
        self._channels: dict[str, list[tuple[MessageCallback, bool]]] = {}
        self._patterns: dict[str, list[tuple[MessageCallback, bool]]] = {}
        self._connection: Any = None
        self._resubscribed: Deferred[None] = defer.succeed(None)
        self._monitor = _ConnectionMonitor(self.settings.address, "subscriber")
        self._monitor.on_ready.append(self._connection_ready)
        self._factory = _start_pool(
            self.settings,
            self._monitor,
            factory_class=_SubscriberFactory,
            pool_size=1,
            reconnect=reconnect,
            connect_timeout=connect_timeout,
            reply_timeout=None,
            max_reconnect_delay=max_reconnect_delay,
            charset=charset,
            convert_numbers=False,
            dbid=None,
            tls_options=tls_options,
        )
        self._factory.subscriber = self

    @property
    def connected(self) -> bool:
        """Whether the subscribe-mode connection is up right now."""
        return self._connection is not None and self._monitor.state == "up"

    @property
    def channels(self) -> list[str]:
        """The channels that have at least one callback."""
        return list(self._channels)

    @property
    def patterns(self) -> list[str]:
        """The patterns that have at least one callback."""
        return list(self._patterns)

    def subscribe(
        self, channel: str, callback: MessageCallback, *, json: bool = False
    ) -> Deferred[None]:
        """Call ``callback(channel, message)`` for every message published to *channel*.

        The Deferred fires once Redis has confirmed the subscription. If Redis is
        down it fails with `RedisUnavailable`, but the callback stays registered
        and the subscription is made as soon as Redis is back.
        """
        return self._add(self._channels, "subscribe", channel, callback, json)

    def psubscribe(
        self, pattern: str, callback: MessageCallback, *, json: bool = False
    ) -> Deferred[None]:
        """Like `subscribe` for every channel matching the glob-style *pattern* (``news.*``)."""
        return self._add(self._patterns, "psubscribe", pattern, callback, json)

    def unsubscribe(self, channel: str, callback: MessageCallback | None = None) -> Deferred[None]:
        """Remove *callback* (or every callback) from *channel*; unsubscribes when none is left."""
        return self._remove(self._channels, "unsubscribe", channel, callback)

    def punsubscribe(
        self, pattern: str, callback: MessageCallback | None = None
    ) -> Deferred[None]:
        """Remove *callback* (or every callback) from *pattern*."""
        return self._remove(self._patterns, "punsubscribe", pattern, callback)

    def whenConnected(self) -> Deferred[Subscriber]:
        """Fire once connected and every current subscription is confirmed by Redis."""

        def subscribed(_: Any) -> Deferred[Any]:
            return self._observe(self._resubscribed)

        return (
            self._monitor.wait(fail_when_down=False)
            .addCallback(subscribed)
            .addCallback(lambda _: self)
        )

    def disconnect(self) -> Deferred[None]:
        """Close the connection for good; callbacks are forgotten."""
        self._channels.clear()
        self._patterns.clear()
        self._monitor.close()
        return self._factory.disconnect().addCallback(lambda _: None)

    def _add(
        self,
        registry: dict[str, list[tuple[MessageCallback, bool]]],
        command: str,
        name: str,
        callback: MessageCallback,
        json: bool,
    ) -> Deferred[None]:
        if not callable(callback):
            raise TypeError(f"callback for {name!r} must be callable, not {callback!r}")
        if self._monitor.state == "closed":
            return defer.fail(self._monitor.unavailable(command))
        first = name not in registry
        registry.setdefault(name, []).append((callback, json))
        if self.connected:
            if not first:
                return defer.succeed(None)
            return self._send(command, name)
        if self._monitor.state == "connecting":
            waiting = self._monitor.wait(fail_when_down=True, timeout=self.connect_timeout)
            return waiting.addCallback(lambda _: self._observe(self._resubscribed))
        return defer.fail(self._monitor.unavailable(command))

    def _remove(
        self,
        registry: dict[str, list[tuple[MessageCallback, bool]]],
        command: str,
        name: str,
        callback: MessageCallback | None,
    ) -> Deferred[None]:
        entries = registry.get(name, [])
        if callback is not None:
            entries = [entry for entry in entries if entry[0] != callback]
        else:
            entries = []
        if entries:
            registry[name] = entries
            return defer.succeed(None)
        if registry.pop(name, None) is None or not self.connected:
            return defer.succeed(None)
        return self._send(command, name)

    def _send(self, command: str, name: str) -> Deferred[None]:
        def unavailable(failure: Failure) -> Failure:
            if failure.check(txredisapi.ConnectionError) and not failure.check(RedisUnavailable):
                error = self._monitor.unavailable(command)
                error.__cause__ = failure.value
                return Failure(error)
            return failure

        sent = defer.maybeDeferred(getattr(self._connection, command), name)
        return sent.addCallbacks(lambda _: None, unavailable)

    def _observe(self, deferred: Deferred[Any]) -> Deferred[None]:
        """A new Deferred firing when *deferred* does, leaving *deferred*'s result alone."""
        observer: Deferred[None] = Deferred()

        def relay(result: Any) -> Any:
            if isinstance(result, Failure):
                observer.errback(result)
            else:
                observer.callback(None)
            return result

        deferred.addBoth(relay)
        return observer

    def _connection_ready(self, connection: Any) -> None:
        self._connection = connection
        sent = [connection.subscribe(channel) for channel in self._channels]
        sent += [connection.psubscribe(pattern) for pattern in self._patterns]
        self._resubscribed = defer.gatherResults(sent, consumeErrors=True).addCallback(
            lambda _: None
        )
        self._resubscribed.addErrback(self._log_resubscribe_failure)

    def _log_resubscribe_failure(self, failure: Failure) -> None:
        # The connection was lost again; the next connection subscribes again.
        _log.warn(
            "Redis at {address}: resubscribing failed: {reason}",
            address=self.settings.address,
            reason=failure.getErrorMessage(),
        )

    def _connection_lost(self, connection: Any) -> None:
        if connection is self._connection:
            self._connection = None

    def _dispatch(self, pattern: Any, channel: Any, message: Any) -> None:
        channel = channel.decode("utf-8", "replace") if isinstance(channel, bytes) else channel
        if pattern is None:
            callbacks = self._channels.get(channel, [])
        else:
            if isinstance(pattern, bytes):
                pattern = pattern.decode("utf-8", "replace")
            callbacks = self._patterns.get(pattern, [])
        for callback, decode_json in list(callbacks):
            value = message
            if decode_json:
                try:
                    value = jsonlib.loads(message)
                except ValueError:
                    _log.failure(
                        "Redis message on {channel!r} is not JSON: {message!r}",
                        channel=channel,
                        message=message,
                    )
                    continue
            result = maybe_deferred(callback, channel, value)
            result.addErrback(self._log_callback_failure, callback, channel)

    def _log_callback_failure(
        self, failure: Failure, callback: MessageCallback, channel: str
    ) -> None:
        _log.failure(
            "Redis pub/sub callback {callback!r} failed on {channel!r}",
            failure,
            callback=callback,
            channel=channel,
        )

    def __repr__(self) -> str:
        return (
            f"<Subscriber {self.settings.address} {self._monitor.state}, "
            f"{len(self._channels)} channels, {len(self._patterns)} patterns>"
        )


def publish(client: Any, channel: str, message: Any) -> Deferred[int]:
    """Publish *message* on *channel*; fires with how many subscribers received it.

    Dicts and lists are sent as JSON (subscribe with ``json=True`` to get them back);
    ``str``, ``bytes`` and numbers are sent as they are.
    """
    if isinstance(message, (dict, list, tuple)):
        message = jsonlib.dumps(message, separators=(",", ":"))
    return client.publish(channel, message)
