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

import functools
import inspect
from collections.abc import Callable
from typing import Any

import txredisapi
from twisted.internet import defer, protocol

__all__ = [
    "HashRing",
    "ShardedConnectionHandler",
    "Connection",
    "ConnectionPool",
    "ShardedConnection",
    "ShardedConnectionPool",
    "lazyConnection",
    "lazyConnectionPool",
    "lazyShardedConnection",
    "lazyShardedConnectionPool",
    "makeConnection",
    "makeShardedConnection",
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
    return ShardedConnection(hosts, db, reconnect)


def lazyRedisShardingConnection(hosts: list[str], reconnect: bool = True, db: int = 0) -> Any:
    """A sharded connection over ``["host:port", ...]``, returned at once."""
    return lazyShardedConnection(hosts, db, reconnect)


def RedisShardingConnectionPool(
    hosts: list[str], reconnect: bool = True, pool_size: int = 5, db: int = 0
) -> Any:
    """Deferred firing with sharded pools over ``["host:port", ...]``."""
    return ShardedConnectionPool(hosts, db, pool_size, reconnect)


def lazyRedisShardingConnectionPool(
    hosts: list[str], reconnect: bool = True, pool_size: int = 5, db: int = 0
) -> Any:
    """Sharded pools over ``["host:port", ...]``, returned at once."""
    return lazyShardedConnectionPool(hosts, db, pool_size, reconnect)


# -- cyclone 1.3's redis module (txredisapi 1.1 inside cyclone) ------------------------------
#
# txredisapi has since put ``ssl_context_factory`` after ``password`` (and ``username`` at
# the end), so 1.3 code passing connectTimeout or later options by position would hand them
# to the wrong parameter. These take 1.3's order; every txredisapi option also works by name.

_AFTER_PASSWORD = ("connectTimeout", "replyTimeout", "convertNumbers")
_SINGLE = ("host", "port", "dbid", "reconnect", "charset", "password", *_AFTER_PASSWORD)
_POOL = ("host", "port", "dbid", "poolsize", "reconnect", "charset", "password", *_AFTER_PASSWORD)


def _in_1x_order(function: Callable[..., Any], positions: tuple[str, ...]) -> Callable[..., Any]:
    """``function`` taking its positional arguments in cyclone 1.3's order."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        if len(args) > len(positions):
            raise TypeError(
                f"{function.__name__}() takes at most {len(positions)} positional arguments "
                f"({', '.join(positions)}), got {len(args)}"
            )
        for name, value in zip(positions, args):
            if name in kwargs:
                raise TypeError(f"{function.__name__}() got multiple values for {name!r}")
            kwargs[name] = value
        return function(**kwargs)

    parameters = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        if parameter.name not in positions
        else parameter
        for parameter in signature.parameters.values()
    ]
    ordered = sorted(
        parameters,
        key=lambda p: positions.index(p.name) if p.name in positions else len(positions),
    )
    call.__signature__ = signature.replace(parameters=ordered)  # type: ignore[attr-defined]
    return call


Connection = _in_1x_order(txredisapi.Connection, _SINGLE)
lazyConnection = _in_1x_order(txredisapi.lazyConnection, _SINGLE)
ConnectionPool = _in_1x_order(txredisapi.ConnectionPool, _POOL)
lazyConnectionPool = _in_1x_order(txredisapi.lazyConnectionPool, _POOL)


def makeConnection(
    host: str,
    port: int,
    dbid: int | None,
    poolsize: int,
    reconnect: bool,
    isLazy: bool,
    charset: str,
    password: str | None,
    connectTimeout: float | None = None,
    replyTimeout: float | None = None,
    convertNumbers: bool = True,
    **options: Any,
) -> Any:
    """cyclone 1.3's building block of every TCP connection function (txredisapi's, reordered)."""
    return txredisapi.makeConnection(
        host,
        port,
        dbid,
        poolsize,
        reconnect,
        isLazy,
        charset,
        password,
        connectTimeout=connectTimeout,
        replyTimeout=replyTimeout,
        convertNumbers=convertNumbers,
        ssl_context_factory=options.pop("ssl_context_factory", False),
        **options,
    )


def makeShardedConnection(
    hosts: list[str] | tuple[str, ...],
    dbid: int | None,
    poolsize: int,
    reconnect: bool,
    isLazy: bool,
    charset: str,
    password: str | None,
    connectTimeout: float | None = None,
    replyTimeout: float | None = None,
    convertNumbers: bool = True,
    **options: Any,
) -> Any:
    """cyclone 1.3's sharded counterpart of `makeConnection` over ``["host:port", ...]``.

    Keys are spread over the servers by `HashRing`, which (unlike txredisapi's on
    Python 3) takes text keys.
    """
    if not isinstance(hosts, (list, tuple)):
        raise ValueError(f"sharded connections need a list of 'host:port', got {hosts!r}")
    connections = []
    for item in hosts:
        host, _, port = str(item).rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"sharded connections need 'host:port' items, got {item!r}")
        connections.append(
            makeConnection(
                host,
                int(port),
                dbid,
                poolsize,
                reconnect,
                isLazy,
                charset,
                password,
                connectTimeout,
                replyTimeout,
                convertNumbers,
                **options,
            )
        )
    if isLazy:
        return ShardedConnectionHandler(connections)
    ready = defer.DeferredList(connections, fireOnOneErrback=True)
    ShardedConnectionHandler(ready)
    return ready


def _sharded(poolsize: int | None, lazy: bool) -> Callable[..., Any]:
    def connect(
        hosts: list[str],
        dbid: int | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        size = poolsize
        if size is None:
            size = args[0] if args else kwargs.pop("poolsize", 10)
            args = args[1:]
        names = ("reconnect", "charset", "password", *_AFTER_PASSWORD)
        if len(args) > len(names):
            raise TypeError(f"at most {len(names) + 2 + (poolsize is None)} positional arguments")
        values: dict[str, Any] = {"reconnect": True, "charset": "utf-8", "password": None}
        values.update(zip(names, args))
        values.update(kwargs)
        return makeShardedConnection(
            hosts,
            dbid,
            size,
            values.pop("reconnect"),
            lazy,
            values.pop("charset"),
            values.pop("password"),
            **values,
        )

    return connect


ShardedConnection = _sharded(1, lazy=False)
lazyShardedConnection = _sharded(1, lazy=True)
ShardedConnectionPool = _sharded(None, lazy=False)
lazyShardedConnectionPool = _sharded(None, lazy=True)
for _name, _function in (
    ("ShardedConnection", ShardedConnection),
    ("lazyShardedConnection", lazyShardedConnection),
    ("ShardedConnectionPool", ShardedConnectionPool),
    ("lazyShardedConnectionPool", lazyShardedConnectionPool),
):
    _function.__name__ = _function.__qualname__ = _name
    _function.__doc__ = (
        f"cyclone 1.3's {_name}(hosts, dbid, {'poolsize, ' if 'Pool' in _name else ''}"
        "reconnect, charset, password, connectTimeout, replyTimeout, convertNumbers)."
    )


class HashRing(txredisapi.HashRing):
    """txredisapi's consistent hash ring, hashing text keys as UTF-8 (as 1.x did on Python 2)."""

    def get_node_pos(self, key: str | bytes) -> Any:
        return super().get_node_pos(key.encode("utf-8") if isinstance(key, str) else key)


class ShardedConnectionHandler(txredisapi.ShardedConnectionHandler):
    """txredisapi's sharded handler on our `HashRing`, so text keys work on Python 3."""

    _ring: HashRing | None

    def __init__(self, connections: Any) -> None:
        if isinstance(connections, (list, tuple)):
            self._ring = HashRing(connections)
        else:  # a DeferredList of the connections being made
            self._ring = None
            connections.addCallback(self._makeRing)

    def _makeRing(self, connections: Any) -> Any:
        self._ring = HashRing([connection for _, connection in connections])
        return self


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
