import pytest
import pytest_twisted
from twisted.internet import defer
from twisted.logger import globalLogPublisher

import cyclone.redis
from cyclone.redis import RedisUnavailable, Subscriber, publish


@pytest.fixture
def closing():
    """Clients and subscribers created by a test, disconnected after it."""
    created = []

    def track(thing):
        created.append(thing)
        return thing

    yield track
    for thing in created:
        pytest_twisted.blockon(thing.disconnect())


class Inbox:
    """Collects (channel, message) pairs; ``next()`` waits for the next one."""

    def __init__(self):
        self.received = []
        self._waiting = []

    def __call__(self, channel, message):
        if self._waiting:
            self._waiting.pop(0).callback((channel, message))
        else:
            self.received.append((channel, message))

    def next(self):
        if self.received:
            return defer.succeed(self.received.pop(0))
        waiter = defer.Deferred()
        self._waiting.append(waiter)
        return waiter


def connections_lost(*users):
    """Fires once every current connection of these clients/subscribers has closed."""
    return defer.gatherResults(
        [conn.whenDisconnected() for user in users for conn in list(user._factory.pool)]
    )


def quick(url, **options):
    options.setdefault("max_reconnect_delay", 0.05)
    return url, options


@pytest_twisted.ensureDeferred
async def test_channel_messages_reach_the_callback(redis_url, key, closing):
    subscriber = closing(Subscriber(redis_url))
    redis = closing(cyclone.redis.connect(redis_url))
    inbox = Inbox()
    await subscriber.subscribe(key + "news", inbox)
    assert await publish(redis, key + "news", "hello") == 1
    assert await inbox.next() == (key + "news", "hello")
    assert subscriber.channels == [key + "news"]


@pytest_twisted.ensureDeferred
async def test_numbers_stay_strings_and_json_is_decoded_on_request(redis_url, key, closing):
    subscriber = closing(Subscriber(redis_url))
    redis = closing(cyclone.redis.connect(redis_url))
    raw, decoded = Inbox(), Inbox()
    await subscriber.subscribe(key, raw)
    await subscriber.subscribe(key, decoded, json=True)
    await publish(redis, key, {"n": 1, "items": ["a"]})
    await publish(redis, key, "42")
    assert await raw.next() == (key, '{"n":1,"items":["a"]}')
    assert await decoded.next() == (key, {"n": 1, "items": ["a"]})
    assert await raw.next() == (key, "42")
    assert await decoded.next() == (key, 42)


@pytest_twisted.ensureDeferred
async def test_pattern_messages_reach_the_pattern_callback_with_the_channel(
    redis_url, key, closing
):
    subscriber = closing(Subscriber(redis_url))
    redis = closing(cyclone.redis.connect(redis_url))
    inbox = Inbox()
    await subscriber.psubscribe(key + "room.*", inbox)
    await publish(redis, key + "room.1", "hi one")
    await publish(redis, key + "other", "not for us")
    await publish(redis, key + "room.2", "hi two")
    assert await inbox.next() == (key + "room.1", "hi one")
    assert await inbox.next() == (key + "room.2", "hi two")
    assert subscriber.patterns == [key + "room.*"]


@pytest_twisted.ensureDeferred
async def test_many_callbacks_share_one_redis_subscription(redis_url, key, closing):
    subscriber = closing(Subscriber(redis_url))
    redis = closing(cyclone.redis.connect(redis_url))
    first, second = Inbox(), Inbox()
    await subscriber.subscribe(key, first)
    await subscriber.subscribe(key, second)
    assert await redis.execute_command("PUBSUB", "NUMSUB", key) == [key, 1]
    assert await publish(redis, key, "both") == 1
    assert await first.next() == (key, "both")
    assert await second.next() == (key, "both")


@pytest_twisted.ensureDeferred
async def test_unsubscribe_one_callback_then_the_last(redis_url, key, closing):
    subscriber = closing(Subscriber(redis_url))
    redis = closing(cyclone.redis.connect(redis_url))
    staying, leaving = Inbox(), Inbox()
    await subscriber.subscribe(key, staying)
    await subscriber.subscribe(key, leaving)
    await subscriber.unsubscribe(key, leaving)
    await publish(redis, key, "one")
    assert await staying.next() == (key, "one")
    assert leaving.received == []

    await subscriber.unsubscribe(key)
    assert subscriber.channels == []
    assert await publish(redis, key, "nobody") == 0


@pytest_twisted.ensureDeferred
async def test_punsubscribe_stops_pattern_delivery(redis_url, key, closing):
    subscriber = closing(Subscriber(redis_url))
    redis = closing(cyclone.redis.connect(redis_url))
    inbox = Inbox()
    await subscriber.psubscribe(key + "*", inbox)
    await subscriber.punsubscribe(key + "*", inbox)
    assert subscriber.patterns == []
    assert await publish(redis, key + "x", "nobody") == 0


@pytest_twisted.ensureDeferred
async def test_failing_callback_is_logged_and_others_still_run(redis_url, key, closing):
    subscriber = closing(Subscriber(redis_url))
    redis = closing(cyclone.redis.connect(redis_url))
    inbox = Inbox()
    logged = []
    globalLogPublisher.addObserver(logged.append)

    def broken(channel, message):
        raise RuntimeError("callback bug")

    try:
        await subscriber.subscribe(key, broken)
        await subscriber.subscribe(key, inbox)
        await publish(redis, key, "still delivered")
        assert await inbox.next() == (key, "still delivered")
    finally:
        globalLogPublisher.removeObserver(logged.append)
    failures = [event["log_failure"] for event in logged if "log_failure" in event]
    assert [failure.getErrorMessage() for failure in failures] == ["callback bug"]
    for failure in failures:
        failure.cleanFailure()


@pytest_twisted.ensureDeferred
async def test_subscriptions_come_back_after_redis_restarts(redis_server, key, closing):
    server = redis_server()
    url, options = quick(server.url)
    subscriber = closing(Subscriber(url, **options))
    redis = closing(cyclone.redis.connect(url, **options))
    channel_inbox, pattern_inbox = Inbox(), Inbox()
    await subscriber.subscribe(key + "c", channel_inbox)
    await subscriber.psubscribe(key + "p.*", pattern_inbox)

    lost = connections_lost(subscriber, redis)
    server.kill()
    await lost
    assert not subscriber.connected
    server.start()
    await subscriber.whenConnected()
    await redis.whenConnected()
    assert await publish(redis, key + "c", "after restart") == 1
    assert await publish(redis, key + "p.x", "pattern after restart") == 1
    assert await channel_inbox.next() == (key + "c", "after restart")
    assert await pattern_inbox.next() == (key + "p.x", "pattern after restart")


@pytest_twisted.ensureDeferred
async def test_subscribing_while_redis_is_down_fails_fast_but_sticks(
    redis_server, key, closing, unused_port
):
    url, options = quick(f"redis://127.0.0.1:{unused_port}/0", connect_timeout=60)
    subscriber = closing(Subscriber(url, **options))
    inbox = Inbox()
    with pytest.raises(RedisUnavailable, match="refused"):
        await subscriber.subscribe(key, inbox)
    assert subscriber.channels == [key]

    redis_server(port=unused_port)
    await subscriber.whenConnected()
    redis = closing(cyclone.redis.connect(url, **options))
    assert await publish(redis, key, "made it") == 1
    assert await inbox.next() == (key, "made it")


@pytest_twisted.ensureDeferred
async def test_subscribe_right_after_creation_waits_for_the_connection(redis_url, key, closing):
    subscriber = closing(Subscriber(redis_url))
    inbox = Inbox()
    await subscriber.subscribe(key, inbox)
    assert subscriber.connected
    redis = closing(cyclone.redis.connect(redis_url))
    assert await publish(redis, key, "ok") == 1


def test_callback_must_be_callable(redis_url, closing):
    subscriber = closing(Subscriber(redis_url))
    with pytest.raises(TypeError, match="'nope'"):
        subscriber.subscribe("chan", "nope")


@pytest_twisted.ensureDeferred
async def test_disconnected_subscriber_refuses_new_subscriptions(redis_url, key):
    subscriber = Subscriber(redis_url)
    await subscriber.whenConnected()
    await subscriber.disconnect()
    with pytest.raises(RedisUnavailable, match="disconnected"):
        await subscriber.subscribe(key, Inbox())
