"""The connection functions and pub/sub factory of old cyclone.redis, on txredisapi.

    import cyclone.redis

    redis = cyclone.redis.lazyRedisConnectionPool("127.0.0.1", 6379, pool_size=10, db=0)

Old cyclone shipped txredisapi inside itself and added ``Redis``-named functions
taking ``db=`` and ``pool_size=``; they are kept here, mapped onto txredisapi's
functions. `SubscriberFactory` can again be handed to ``reactor.connectTCP`` (it
reconnects like a ``ReconnectingClientFactory``, honouring ``continueTrying`` and
``maxDelay``), as the old pub/sub demo did. New code should prefer
`cyclone.redis.connect` and `cyclone.redis.Subscriber`.
"""

from __future__ import annotations

from typing import Any

import txredisapi
from twisted.internet import protocol

__all__ = [
    "RedisConnection",
    "RedisConnectionPool",
    "RedisShardingConnection",
    "RedisShardingConnectionPool",
    "SubscriberFactory",
    "lazyRedisConnection",
    "lazyRedisConnectionPool",
    "lazyRedisShardingConnection",
    "lazyRedisShardingConnectionPool",
]


def RedisConnection(
    host: str = "localhost", port: int = 6379, reconnect: bool = True, db: int = 0
) -> Any:
    """Deferred firing with one connection (old cyclone name of ``Connection``)."""
    return txredisapi.Connection(host, port, db, reconnect)


def lazyRedisConnection(
    host: str = "localhost", port: int = 6379, reconnect: bool = True, db: int = 0
) -> Any:
    """One connection, returned at once (old cyclone name of ``lazyConnection``)."""
    return txredisapi.lazyConnection(host, port, db, reconnect)


def RedisConnectionPool(
    host: str = "localhost",
    port: int = 6379,
    reconnect: bool = True,
    pool_size: int = 5,
    db: int = 0,
) -> Any:
    """Deferred firing with a pool (old cyclone name of ``ConnectionPool``)."""
    return txredisapi.ConnectionPool(host, port, db, pool_size, reconnect)


def lazyRedisConnectionPool(
    host: str = "localhost",
    port: int = 6379,
    reconnect: bool = True,
    pool_size: int = 5,
    db: int = 0,
) -> Any:
    """A pool, returned at once (old cyclone name of ``lazyConnectionPool``)."""
    return txredisapi.lazyConnectionPool(host, port, db, pool_size, reconnect)


def RedisShardingConnection(hosts: list[str], reconnect: bool = True, db: int = 0) -> Any:
    """Deferred firing with a sharded connection over ``["host:port", ...]``."""
    return txredisapi.ShardedConnection(hosts, db, reconnect)


def lazyRedisShardingConnection(hosts: list[str], reconnect: bool = True, db: int = 0) -> Any:
    """A sharded connection over ``["host:port", ...]``, returned at once."""
    return txredisapi.lazyShardedConnection(hosts, db, reconnect)


def RedisShardingConnectionPool(
    hosts: list[str], reconnect: bool = True, pool_size: int = 5, db: int = 0
) -> Any:
    """Deferred firing with sharded pools over ``["host:port", ...]``."""
    return txredisapi.ShardedConnectionPool(hosts, db, pool_size, reconnect)


def lazyRedisShardingConnectionPool(
    hosts: list[str], reconnect: bool = True, pool_size: int = 5, db: int = 0
) -> Any:
    """Sharded pools over ``["host:port", ...]``, returned at once."""
    return txredisapi.lazyShardedConnectionPool(hosts, db, pool_size, reconnect)


class SubscriberFactory(protocol.ReconnectingClientFactory, txredisapi.SubscriberFactory):
    """txredisapi's ``SubscriberFactory`` that ``reactor.connectTCP`` accepts again.

    txredisapi's factories connect through their own endpoints now; old code
    connects them itself and expects ``ReconnectingClientFactory`` behaviour.
    Set ``continueTrying = False`` to stop reconnecting.
    """

    maxDelay = 10

    def buildProtocol(self, addr: Any) -> Any:
        self.resetDelay()
        return txredisapi.SubscriberFactory.buildProtocol(self, addr)

    def disconnect(self) -> Any:
        protocol.ReconnectingClientFactory.stopTrying(self)
        return txredisapi.SubscriberFactory.disconnect(self)
