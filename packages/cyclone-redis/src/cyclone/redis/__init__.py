r"""Redis for cyclone: txredisapi clients from URLs or settings, and pub/sub callbacks.

    import cyclone.redis
    from cyclone.handler import RequestHandler
    from cyclone.routing import Router

    redis = cyclone.redis.connect("redis://localhost:6379/0")

    class CounterHandler(RequestHandler):
        @cyclone.redis.unavailable_as_503
        async def post(self, name):
            self.write({"count": await redis.incr(name)})

    application = Router([(r"/count/(\w+)", CounterHandler)])

- `connect` (URL, ``redis_url``/``redis`` settings, or host/port mapping) returns a
  `RedisClient`: every txredisapi command, failing fast with `RedisUnavailable`
  while Redis is down and reconnecting in the background.
- `unavailable_as_503` turns `RedisUnavailable` in a handler into a 503 response.
- `Subscriber` dispatches pub/sub messages to callbacks and resubscribes after a
  reconnect; `publish` sends one (dicts and lists as JSON).
- txredisapi's own API is re-exported (``lazyConnectionPool``, ``Connection``,
  ``SubscriberProtocol``, its exceptions, ...), with old cyclone's names
  (``lazyRedisConnectionPool(host, port, pool_size=10, db=0)``) and cyclone 1.3's
  (``makeConnection``, ``HashRing``, ``ShardedMethods``...), so code written for old
  cyclone.redis keeps working: the connection functions take 1.3's positional order
  (txredisapi has since put ``ssl_context_factory`` after ``password``).
  txredisapi is a dependency, not a copy.
"""

from txredisapi import (
    BaseRedisProtocol,
    ConnectionHandler,
    HiredisProtocol,
    InvalidData,
    InvalidResponse,
    LineReceiver,
    MasterNotFoundError,
    MonitorFactory,
    MonitorProtocol,
    MultiBulkStorage,
    NoScriptRunning,
    RedisError,
    RedisFactory,
    RedisProtocol,
    ResponseError,
    ScriptDoesNotExist,
    Sentinel,
    ShardedMethods,
    ShardedUnixConnection,
    ShardedUnixConnectionHandler,
    ShardedUnixConnectionPool,
    SubscriberProtocol,
    UnixConnection,
    UnixConnectionHandler,
    UnixConnectionPool,
    WatchError,
    lazyShardedUnixConnection,
    lazyShardedUnixConnectionPool,
    lazyUnixConnection,
    lazyUnixConnectionPool,
    list_or_args,
    makeShardedUnixConnection,
    makeUnixConnection,
)
from txredisapi import ConnectionError as ConnectionError
from txredisapi import TimeoutError as TimeoutError
from txredisapi import version as version

from cyclone.redis.client import RedisClient, RedisUnavailable, connect, unavailable_as_503
from cyclone.redis.compat import (
    Connection,
    ConnectionPool,
    HashRing,
    RedisConnection,
    RedisConnectionPool,
    RedisShardingConnection,
    RedisShardingConnectionPool,
    ShardedConnection,
    ShardedConnectionHandler,
    ShardedConnectionPool,
    SubscriberFactory,
    lazyConnection,
    lazyConnectionPool,
    lazyRedisConnection,
    lazyRedisConnectionPool,
    lazyRedisShardingConnection,
    lazyRedisShardingConnectionPool,
    lazyShardedConnection,
    lazyShardedConnectionPool,
    makeConnection,
    makeShardedConnection,
)
from cyclone.redis.pubsub import Subscriber, publish
from cyclone.redis.settings import RedisSettings, redis_settings

# ConnectionError and TimeoutError are importable by name but left out of
# ``import *``: they would shadow the builtins of the same name.
__all__ = [
    "BaseRedisProtocol",
    "Connection",
    "ConnectionHandler",
    "ConnectionPool",
    "HashRing",
    "HiredisProtocol",
    "InvalidData",
    "InvalidResponse",
    "LineReceiver",
    "MasterNotFoundError",
    "MonitorFactory",
    "MonitorProtocol",
    "MultiBulkStorage",
    "NoScriptRunning",
    "RedisClient",
    "RedisConnection",
    "RedisConnectionPool",
    "RedisError",
    "RedisFactory",
    "RedisProtocol",
    "RedisSettings",
    "RedisShardingConnection",
    "RedisShardingConnectionPool",
    "RedisUnavailable",
    "ResponseError",
    "ScriptDoesNotExist",
    "Sentinel",
    "ShardedConnection",
    "ShardedConnectionHandler",
    "ShardedConnectionPool",
    "ShardedMethods",
    "ShardedUnixConnection",
    "ShardedUnixConnectionHandler",
    "ShardedUnixConnectionPool",
    "Subscriber",
    "SubscriberFactory",
    "SubscriberProtocol",
    "UnixConnection",
    "UnixConnectionHandler",
    "UnixConnectionPool",
    "WatchError",
    "connect",
    "lazyConnection",
    "lazyConnectionPool",
    "lazyRedisConnection",
    "lazyRedisConnectionPool",
    "lazyRedisShardingConnection",
    "lazyRedisShardingConnectionPool",
    "lazyShardedConnection",
    "lazyShardedConnectionPool",
    "lazyShardedUnixConnection",
    "lazyShardedUnixConnectionPool",
    "lazyUnixConnection",
    "lazyUnixConnectionPool",
    "list_or_args",
    "makeConnection",
    "makeShardedConnection",
    "makeShardedUnixConnection",
    "makeUnixConnection",
    "publish",
    "redis_settings",
    "unavailable_as_503",
    "version",
]
