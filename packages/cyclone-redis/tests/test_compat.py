"""Code written for old cyclone.redis runs unchanged (the redis demo's patterns)."""

import collections
from urllib.parse import urlsplit

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

import cyclone.redis
from cyclone.redis.protocol import SubscriberProtocol


def host_port(url):
    parts = urlsplit(url)
    return parts.hostname, parts.port or 6379


@pytest_twisted.ensureDeferred
async def test_old_lazy_redis_connection_pool_with_pool_size_and_db(redis_url, key):
    host, port = host_port(redis_url)
    redisdb = cyclone.redis.lazyRedisConnectionPool(host, port, pool_size=10, db=0)
    try:
        await redisdb.set(key, "hello world")
        assert await redisdb.get(key) == "hello world"
        assert await redisdb.delete(key) == 1
    finally:
        await redisdb.disconnect()


@pytest_twisted.ensureDeferred
async def test_txredisapi_names_work_as_cyclone_redis_names(redis_url, key):
    host, port = host_port(redis_url)
    redis = cyclone.redis.lazyConnectionPool(host, port, poolsize=2)
    single = await cyclone.redis.Connection(host, port)
    try:
        await redis.lpush(key + "list", "a")
        assert await single.lrange(key + "list", 0, -1) == ["a"]
        await redis.hset(key + "hash", "field", "value")
        assert await single.hgetall(key + "hash") == {"field": "value"}
        await redis.sadd(key + "set", "member")
        assert await single.sismember(key + "set", "member")
        await redis.delete([key + "list", key + "hash", key + "set"])
    finally:
        await redis.disconnect()
        await single.disconnect()
    assert cyclone.redis.version


@pytest_twisted.ensureDeferred
async def test_old_connection_pool_deferred_names(redis_url, key):
    host, port = host_port(redis_url)
    redis = await cyclone.redis.RedisConnectionPool(host, port, pool_size=2)
    try:
        assert await redis.ping() == "PONG"
    finally:
        await redis.disconnect()


def test_redis_errors_are_txredisapi_errors():
    assert issubclass(cyclone.redis.RedisUnavailable, cyclone.redis.ConnectionError)
    assert issubclass(cyclone.redis.ConnectionError, cyclone.redis.RedisError)
    assert "ConnectionError" not in cyclone.redis.__all__  # would shadow the builtin


class QueueProtocol(SubscriberProtocol):
    """The old demo's protocol: resubscribes its peers on every (re)connection."""

    def messageReceived(self, pattern, channel, message):
        for peer in self.factory.peers.get(pattern or channel, []):
            peer.callback((channel, message))
        self.factory.peers[pattern or channel] = []

    def connectionMade(self):
        self.factory.current_connection = self
        self.factory.connected.callback(self)
        for channel in self.factory.peers:
            if "*" in channel:
                self.psubscribe(channel)
            else:
                self.subscribe(channel)

    def connectionLost(self, reason):
        self.factory.current_connection = None
        if not self.factory.lost.called:
            self.factory.lost.callback(None)


class QueueFactory(cyclone.redis.SubscriberFactory):
    maxDelay = 0.05
    continueTrying = True
    protocol = QueueProtocol

    def __init__(self):
        super().__init__()
        self.peers = collections.defaultdict(list)
        self.current_connection = None
        self.connected = defer.Deferred()
        self.lost = defer.Deferred()


@pytest_twisted.ensureDeferred
async def test_old_subscriber_factory_with_connect_tcp_reconnects_and_resubscribes(
    redis_server, key
):
    server = redis_server()
    queue = QueueFactory()
    connector = reactor.connectTCP("127.0.0.1", server.port, queue)
    publisher = cyclone.redis.lazyConnection("127.0.0.1", server.port)
    try:
        connection = await queue.connected
        message = defer.Deferred()
        queue.peers[key + ".*"].append(message)
        await connection.psubscribe(key + ".*")
        assert await publisher.publish(key + ".a", "hello") == 1
        assert await message == (key + ".a", "hello")

        queue.connected = defer.Deferred()
        server.kill()
        await queue.lost
        server.start()
        connection = await queue.connected
        again = defer.Deferred()
        queue.peers[key + ".*"].append(again)
        await connection.ping()  # the resubscription sent on connect has been answered
        # txredisapi's own lazy connection queues the command until it has reconnected.
        assert await publisher.publish(key + ".b", "again") == 1
        assert await again == (key + ".b", "again")
    finally:
        queue.stopTrying()
        connector.disconnect()
        await publisher.disconnect()


@pytest.mark.parametrize("name", cyclone.redis.__all__)
def test_every_public_name_exists(name):
    assert getattr(cyclone.redis, name) is not None
