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


# -- cyclone 1.3's redis module (txredisapi 1.1 inside cyclone) --------------------------------


@pytest_twisted.ensureDeferred
async def test_1x_connection_functions_take_their_arguments_in_1x_order(redis_url, key):
    from cyclone import redis

    host, port = host_port(redis_url)
    # 1.3: (host, port, dbid, poolsize, reconnect, charset, password, connectTimeout, ...)
    pool = redis.lazyConnectionPool(host, port, 0, 2, True, "utf-8", None, 5, 10, False)
    try:
        await pool.set(key, "41")
        assert await pool.get(key) == "41"  # convertNumbers=False by position: not 41
        single = await redis.Connection(host, port, 0, True, "utf-8", None, 5)
        assert await single.incr(key) == 42
        await single.disconnect()
    finally:
        await pool.delete(key)
        await pool.disconnect()


@pytest_twisted.ensureDeferred
async def test_1x_make_connection_and_sharding_helpers(redis_url, key):
    from cyclone import redis

    host, port = host_port(redis_url)
    lazy = redis.makeConnection(host, port, 0, 1, True, True, "utf-8", None, 5, None, True)
    sharded = redis.makeShardedConnection([f"{host}:{port}"], 0, 1, True, True, "utf-8", None, 5)
    try:
        await lazy.set(key + "a", "1")
        assert "get" in redis.ShardedMethods and "set" in redis.ShardedMethods
        assert await sharded.get(key + "a") == 1
        ring = redis.HashRing([lazy])
        assert ring.get_node(key + "a") is lazy
        assert ring.get_node((key + "a").encode()) is lazy
    finally:
        await lazy.delete(key + "a")
        await lazy.disconnect()
        await sharded.disconnect()


def test_1x_positional_arguments_beyond_its_order_are_refused_clearly():
    with pytest.raises(TypeError, match="at most 10 positional arguments"):
        cyclone.redis.lazyConnectionPool("h", 1, 0, 1, True, "utf-8", None, 5, 5, True, False)
    with pytest.raises(TypeError, match="multiple values for 'port'"):
        cyclone.redis.lazyConnection("h", 1, port=2)


def test_every_public_name_of_1x_redis_module_exists():
    names = (
        "HashRing HiredisProtocol LineReceiver MultiBulkStorage ShardedMethods "
        "ShardedUnixConnectionHandler list_or_args makeConnection makeShardedConnection "
        "makeShardedUnixConnection makeUnixConnection lazyConnectionPool "
        "ShardedConnectionHandler SubscriberFactory MonitorFactory RedisFactory"
    ).split()
    assert [name for name in names if not hasattr(cyclone.redis, name)] == []


@pytest_twisted.ensureDeferred
async def test_sharded_pools_spread_text_keys_over_two_servers(redis_server, key):
    from cyclone import redis

    first, second = redis_server(), redis_server()
    hosts = [f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"]
    sharded = await redis.ShardedConnectionPool(hosts, 0, 2)
    try:
        for index in range(20):
            await sharded.set(f"{key}{index}", index)
        assert [await sharded.get(f"{key}{index}") for index in range(20)] == list(range(20))
        counts = []
        for server in (first, second):
            direct = await redis.Connection("127.0.0.1", server.port)
            counts.append(len(await direct.keys(key + "*")))
            await direct.disconnect()
        assert sum(counts) == 20 and all(counts)  # each server holds some keys
    finally:
        await sharded.disconnect()
