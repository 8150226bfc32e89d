"""A Redis client from a URL that fails fast while Redis is down and reconnects by itself.

    from twisted.internet import defer, task
    import cyclone.redis

    async def main(reactor):
        redis = cyclone.redis.connect("redis://localhost:6379/0")
        await redis.set("greeting", "hello")
        print(await redis.get("greeting"))
        await redis.disconnect()

    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))

`connect` returns a `RedisClient`, a thin layer over a txredisapi connection pool:
every txredisapi command (``get``, ``set``, ``lpush``, ``hgetall``, ``publish``,
...) is available with txredisapi's signature and returns a Deferred.

What it adds is failure behaviour fit for a web server. txredisapi queues commands
until a connection exists, so with Redis down a request would hang for as long as
Redis stays down. Here, a command issued while no connection is up fails at once
with `RedisUnavailable` (a ``txredisapi.ConnectionError``), commands in flight when
the connection drops fail the same way, and the client keeps reconnecting in the
background with exponential backoff up to ``max_reconnect_delay``. Only right after
`connect`, before the first connection attempt has finished, does a command wait,
for at most ``connect_timeout`` seconds. Decorate handler methods with
`unavailable_as_503` to answer "503 Service Unavailable" in that case.

Logging is one line per event that matters, per client (pool) rather than per
connection or per attempt: ``Connected to Redis at ...`` once the first
connection is up, a warning naming the reason when Redis becomes unavailable,
and ``Connected to Redis at ... again`` with the outage's length and number of
failed attempts when it is back. Twisted's per-attempt "Scheduling retry ..."
lines are not emitted, and connections closed because the process is stopping
are not reported as an outage.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias, TypeVar, cast, overload

import txredisapi
from twisted.application.internet import ClientService
from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import HostnameEndpoint, UNIXClientEndpoint
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.logger import ILogObserver, Logger, LogLevel, globalLogPublisher
from twisted.python.failure import Failure
from zope.interface import implementer

from cyclone.coroutines import as_deferred
from cyclone.redis.settings import RedisSettings, redis_settings

__all__ = ["RedisClient", "RedisUnavailable", "connect", "unavailable_as_503"]

_log = Logger()
_F = TypeVar("_F", bound=Callable[..., Any])

SettingsSource: TypeAlias = "str | Mapping[str, Any] | RedisSettings | None"


class RedisUnavailable(txredisapi.ConnectionError):
    """Redis can't be reached right now; the client keeps reconnecting in the background.

    ``address`` says which server (without the password); ``__cause__`` holds the
    underlying connection error when there is one.
    """

    def __init__(self, message: str, address: str | None = None) -> None:
        super().__init__(message)
        self.address = address


def _describe(failure: Failure | BaseException | str) -> str:
    if isinstance(failure, Failure):
        failure = failure.value  # type: ignore[assignment]
    if isinstance(failure, BaseException):
        return f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
    return str(failure)


def _global_reactor() -> Any:
    from twisted.internet import reactor

    return reactor


class _ConnectionMonitor:
    """Knows whether a pool has a usable connection, and who is waiting for one.

    States: ``connecting`` (no attempt has finished yet), ``up`` (at least one
    connection is usable), ``down`` (the last attempt failed or every connection
    was lost) and ``closed``. It also writes the pool's log lines, one per change
    of state: ``role`` says which pool (``"client"``, ``"subscriber"``).
    """

    def __init__(self, address: str, role: str = "client") -> None:
        self.address = address
        self.role = role
        self.state = "connecting"
        self.reason = "not connected yet"
        self._waiters: list[tuple[Deferred[None], bool]] = []
        self.on_ready: list[Callable[[Any], None]] = []
        # Set by the factory: a failed attempt of one pooled connection doesn't make
        # Redis unavailable while another connection still works.
        self.has_connection: Callable[[], bool] = lambda: False
        #: Whether lost connections are re-established (set by the factory).
        self.reconnecting = True
        self._down_since: float | None = None
        self._failed_attempts = 0
        self._process_stopping = False
        self._reactor = _global_reactor()
        self._shutdown_trigger: Any = self._reactor.addSystemEventTrigger(
            "before", "shutdown", self._stopping
        )

    def unavailable(self, command: str | None = None) -> RedisUnavailable:
        what = f" for {command}()" if command else ""
        return RedisUnavailable(
            f"Redis at {self.address} is unavailable{what}: {self.reason}", self.address
        )

    def wait(self, fail_when_down: bool, timeout: float | None = None) -> Deferred[None]:
        """A Deferred firing once a connection is up.

        With *fail_when_down*, it fails with `RedisUnavailable` as soon as an attempt
        fails, or after *timeout* seconds.
        """
        if self.state == "up":
            return defer.succeed(None)
        if self.state == "closed" or (fail_when_down and self.state == "down"):
            return defer.fail(self.unavailable())
        waiter: Deferred[None] = Deferred(lambda d: self._forget(d))
        self._waiters.append((waiter, fail_when_down))
        if timeout is not None:
            from twisted.internet import reactor

            clock: Any = reactor
            call = clock.callLater(timeout, self._time_out, waiter, timeout)

            def stop_timer(result: Any) -> Any:
                if call.active():
                    call.cancel()
                return result

            waiter.addBoth(stop_timer)
        return waiter

    def _forget(self, waiter: Deferred[None]) -> None:
        self._waiters = [entry for entry in self._waiters if entry[0] is not waiter]

    def _time_out(self, waiter: Deferred[None], timeout: float) -> None:
        self._forget(waiter)
        waiter.errback(
            RedisUnavailable(
                f"Redis at {self.address} is unavailable: no connection within {timeout}s "
                f"({self.reason})",
                self.address,
            )
        )

    def connection_ready(self, connection: Any) -> None:
        if self.state == "closed":
            return
        if self.state == "connecting":
            _log.info(
                "Connected to Redis at {address} ({role})", address=self.address, role=self.role
            )
        elif self.state == "down":
            down_for = time.monotonic() - (self._down_since or time.monotonic())
            _log.info(
                "Connected to Redis at {address} again ({role}) after {down_for:.1f} s "
                "and {attempts} failed attempt(s)",
                address=self.address,
                role=self.role,
                down_for=down_for,
                attempts=self._failed_attempts,
            )
        self.state = "up"
        self.reason = "connected"
        self._down_since = None
        self._failed_attempts = 0
        for callback in list(self.on_ready):
            callback(connection)
        waiters, self._waiters = self._waiters, []
        for waiter, _ in waiters:
            waiter.callback(None)

    def attempt_failed(self, reason: str) -> None:
        """A connection attempt failed (refused, timed out, TLS...)."""
        if self.state != "up":
            self._failed_attempts += 1
        self.went_down(reason)

    def went_down(self, reason: str) -> None:
        if self.state == "closed" or self.has_connection():
            return
        if self._process_stopping:
            # The reactor closes every connection on its way out: not an outage.
            reason = "the process is stopping"
        elif self.state != "down":
            self._down_since = time.monotonic()
            _log.warn(
                "Redis at {address} is unavailable ({role}), {next}: {reason}",
                address=self.address,
                role=self.role,
                next="reconnecting in the background" if self.reconnecting else "not reconnecting",
                reason=reason,
            )
        self.state = "down"
        self.reason = reason
        failing = [waiter for waiter, fail_when_down in self._waiters if fail_when_down]
        self._waiters = [entry for entry in self._waiters if not entry[1]]
        for waiter in failing:
            waiter.errback(self.unavailable())

    def _stopping(self) -> None:
        self._shutdown_trigger = None
        self._process_stopping = True

    def close(self) -> None:
        self.state = "closed"
        self.reason = "the client was disconnected"
        trigger, self._shutdown_trigger = self._shutdown_trigger, None
        if trigger is not None:
            self._reactor.removeSystemEventTrigger(trigger)
        waiters, self._waiters = self._waiters, []
        for waiter, _ in waiters:
            waiter.errback(self.unavailable())


@implementer(ILogObserver)
class _WarningsOnly:
    """Passes on what ClientService logs at warning level or above; drops its per-attempt notes."""

    def __call__(self, event: dict[str, Any]) -> None:
        level = event.get("log_level")
        if level is not None and level >= LogLevel.warn:
            globalLogPublisher(event)


class _QuietClientService(ClientService):
    """ClientService without its "Scheduling retry N to connect <endpoint object>" lines.

    One per pooled connection and attempt, with an object repr for a name: the
    pool's monitor reports the outage instead, once, with the address and reason.
    """

    _log = Logger(observer=cast(ILogObserver, _WarningsOnly()))


class _QuietPoolSlot(txredisapi._PoolSlot):
    """txredisapi's pool slot (one connection, kept up by a ClientService), made quiet.

    txredisapi builds the ClientService in the slot's constructor with no way to
    pass another class, so the slot's service is replaced before it starts, with
    the same arguments txredisapi 1.6 gives it.
    """

    def __init__(self, factory: Any, endpoint: Any, reconnect: bool = True) -> None:
        super().__init__(factory, endpoint, reconnect)
        self.service = _QuietClientService(
            endpoint,
            txredisapi._SlotFactory(factory, self),
            retryPolicy=self._retryDelay,
            prepareConnection=self._prepareConnection,
        )


class _MonitoredFactory(txredisapi.RedisFactory):
    """txredisapi's pool factory, reporting connections gained and lost to a monitor."""

    def __init__(self, monitor: _ConnectionMonitor, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.monitor = monitor
        self._loss = "connection lost"
        monitor.has_connection = lambda: bool(self.size)
        # With lazy handlers nobody reads this Deferred; txredisapi still fails it on a
        # fatal error (bad password, ...), which the monitor already reports.
        self.deferred.addErrback(lambda failure: None)

    def startConnecting(self, endpoint: Any) -> None:
        """Open and keep ``poolsize`` connections, as txredisapi does, with quiet slots."""
        for _ in range(self.poolsize):
            slot = _QuietPoolSlot(self, endpoint, self.reconnect)
            self.slots.append(slot)
            slot.start()

    def addConnection(self, conn: Any) -> None:
        super().addConnection(conn)
        if conn in self.pool:
            self.monitor.connection_ready(conn)

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        connection_lost = protocol.connectionLost

        def report(reason: Failure) -> None:
            self._loss = f"connection lost: {_describe(reason)}"
            try:
                connection_lost(reason)
            finally:
                # Also covers connections lost before they were usable (failed TLS
                # handshake, Redis refusing us), which never reach delConnection.
                if not self.size:
                    self.monitor.went_down(self._loss)

        protocol.connectionLost = report
        return protocol

    def delConnection(self, conn: Any) -> None:
        # Runs inside connectionLost, before the commands in flight are failed, so
        # that their callbacks already see Redis as unavailable.
        super().delConnection(conn)
        if not self.size:
            self.monitor.went_down(self._loss)

    def connectionError(self, why: str) -> None:
        super().connectionError(why)
        self.monitor.went_down(why)


@implementer(IStreamClientEndpoint)
class _MonitoredEndpoint:
    """Reports every failed connection attempt, so callers stop waiting at once."""

    def __init__(self, endpoint: Any, monitor: _ConnectionMonitor) -> None:
        self._endpoint = endpoint
        self._monitor = monitor

    def connect(self, factory: Any) -> Deferred[Any]:
        return self._endpoint.connect(factory).addErrback(self._failed)

    def _failed(self, failure: Failure) -> Failure:
        if not failure.check(defer.CancelledError):
            self._monitor.attempt_failed(_describe(failure))
        return failure


@implementer(IStreamClientEndpoint)
class _TLSEndpoint:
    """Runs TLS over another endpoint; accepts connection creators and context factories."""

    def __init__(self, endpoint: Any, tls_options: Any) -> None:
        self._endpoint = endpoint
        self._tls_options = tls_options

    def connect(self, factory: Any) -> Deferred[Any]:
        from twisted.protocols.tls import TLSMemoryBIOFactory

        tls_factory = TLSMemoryBIOFactory(self._tls_options, True, factory)
        return self._endpoint.connect(tls_factory).addCallback(
            lambda tls_protocol: tls_protocol.wrappedProtocol
        )


def _tls_options_for(settings: RedisSettings) -> Any:
    try:
        from twisted.internet import ssl
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError(
            f"{settings.address} needs TLS: pip install 'cyclone-redis[tls]' (pyOpenSSL)"
        ) from error
    if settings.tls_verify:
        return ssl.optionsForClientTLS(settings.host)
    return ssl.CertificateOptions(verify=False)


def _endpoint_for(
    settings: RedisSettings, connect_timeout: float, tls_options: Any, monitor: _ConnectionMonitor
) -> Any:
    from twisted.internet import reactor

    endpoint: Any
    if settings.path is not None:
        endpoint = UNIXClientEndpoint(reactor, settings.path, timeout=connect_timeout)
    else:
        endpoint = HostnameEndpoint(reactor, settings.host, settings.port, timeout=connect_timeout)
        if settings.tls or tls_options is not None:
            endpoint = _TLSEndpoint(endpoint, tls_options or _tls_options_for(settings))
    return _MonitoredEndpoint(endpoint, monitor)


def _start_pool(
    settings: RedisSettings,
    monitor: _ConnectionMonitor,
    *,
    factory_class: type[_MonitoredFactory] = _MonitoredFactory,
    pool_size: int,
    reconnect: bool,
    connect_timeout: float,
    reply_timeout: float | None,
    max_reconnect_delay: float,
    charset: str,
    convert_numbers: bool,
    dbid: int | None,
    tls_options: Any,
) -> _MonitoredFactory:
    """Build a monitored txredisapi factory and start its connections."""
    if not isinstance(pool_size, int) or pool_size < 1:
        raise ValueError(f"Redis pool_size must be a positive integer, not {pool_size!r}")
    factory = factory_class(
        monitor,
        settings.address,
        dbid,
        pool_size,
        isLazy=True,
        handler=txredisapi.ConnectionHandler,
        charset=charset,
        password=settings.password,
        replyTimeout=reply_timeout,
        convertNumbers=convert_numbers,
        username=settings.username,
    )
    factory.reconnect = reconnect
    monitor.reconnecting = reconnect
    factory.maxDelay = max_reconnect_delay
    factory.initialDelay = min(factory.initialDelay, max_reconnect_delay)
    factory.startConnecting(_endpoint_for(settings, connect_timeout, tls_options, monitor))
    return factory


class RedisClient:
    """Every txredisapi command, failing fast with `RedisUnavailable` while Redis is down.

    Create it with `connect`. Commands are looked up on txredisapi's protocol, so
    ``client.hset(key, field, value)`` takes txredisapi's arguments. ``multi()``,
    ``watch()`` and ``pipeline()`` hand back one pooled connection as txredisapi does.
    """

    def __init__(
        self,
        settings: RedisSettings,
        *,
        pool_size: int = 1,
        reconnect: bool = True,
        connect_timeout: float = 5.0,
        reply_timeout: float | None = None,
        max_reconnect_delay: float = 10.0,
        charset: str = "utf-8",
        convert_numbers: bool = True,
        tls_options: Any = None,
    ) -> None:
        self.settings = settings
        self.connect_timeout = connect_timeout
        role = "client" if pool_size == 1 else f"client, pool of {pool_size}"
        self._monitor = _ConnectionMonitor(settings.address, role)
        self._factory = _start_pool(
            settings,
            self._monitor,
            pool_size=pool_size,
            reconnect=reconnect,
            connect_timeout=connect_timeout,
            reply_timeout=reply_timeout,
            max_reconnect_delay=max_reconnect_delay,
            charset=charset,
            convert_numbers=convert_numbers,
            dbid=settings.db or None,
            tls_options=tls_options,
        )
        self._handler = self._factory.handler

    @property
    def connected(self) -> bool:
        """Whether at least one connection is usable right now."""
        return bool(self._factory.size) and self._monitor.state == "up"

    @property
    def pool_size(self) -> int:
        """How many connections the client keeps open."""
        return int(self._factory.poolsize)

    def whenConnected(self) -> Deferred[RedisClient]:
        """Fire with this client once a connection is usable, however long that takes."""
        return self._monitor.wait(fail_when_down=False).addCallback(lambda _: self)

    def disconnect(self) -> Deferred[None]:
        """Close every connection and stop reconnecting; later commands fail at once."""
        self._monitor.close()
        return self._factory.disconnect().addCallback(lambda _: None)

    def __getattr__(self, name: str) -> Callable[..., Deferred[Any]]:
        if name.startswith("_"):
            raise AttributeError(name)
        command = getattr(self._factory.protocol, name, None)
        if not callable(command):
            raise AttributeError(f"{type(self).__name__} has no Redis command {name!r}")

        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Deferred[Any]:
            return self._run(name, args, kwargs)

        return run

    def _run(self, name: str, args: tuple, kwargs: dict) -> Deferred[Any]:
        monitor = self._monitor
        if self._factory.size and monitor.state == "up":
            result = defer.maybeDeferred(getattr(self._handler, name), *args, **kwargs)
        elif monitor.state == "connecting":
            result = monitor.wait(fail_when_down=True, timeout=self.connect_timeout)
            result.addCallback(lambda _: getattr(self._handler, name)(*args, **kwargs))
        else:
            return defer.fail(monitor.unavailable(name))
        return result.addErrback(self._unavailable, name)

    def _unavailable(self, failure: Failure, name: str) -> Failure:
        if failure.check(RedisUnavailable) or not failure.check(txredisapi.ConnectionError):
            return failure
        error = RedisUnavailable(
            f"Redis at {self.settings.address} is unavailable for {name}(): {_describe(failure)}",
            self.settings.address,
        )
        error.__cause__ = failure.value
        return Failure(error)

    def __repr__(self) -> str:
        return (
            f"<RedisClient {self.settings.address} {self._monitor.state}, "
            f"{self._factory.size}/{self._factory.poolsize} connected>"
        )


@overload
def connect(
    url_or_settings: SettingsSource = ...,
    *,
    lazy: Literal[True] = ...,
    pool_size: int = ...,
    reconnect: bool = ...,
    connect_timeout: float = ...,
    reply_timeout: float | None = ...,
    max_reconnect_delay: float = ...,
    charset: str = ...,
    convert_numbers: bool = ...,
    tls_options: Any = ...,
) -> RedisClient: ...


@overload
def connect(
    url_or_settings: SettingsSource = ...,
    *,
    lazy: Literal[False],
    pool_size: int = ...,
    reconnect: bool = ...,
    connect_timeout: float = ...,
    reply_timeout: float | None = ...,
    max_reconnect_delay: float = ...,
    charset: str = ...,
    convert_numbers: bool = ...,
    tls_options: Any = ...,
) -> Deferred[RedisClient]: ...


def connect(
    url_or_settings: SettingsSource = None,
    *,
    lazy: bool = True,
    pool_size: int = 1,
    reconnect: bool = True,
    connect_timeout: float = 5.0,
    reply_timeout: float | None = None,
    max_reconnect_delay: float = 10.0,
    charset: str = "utf-8",
    convert_numbers: bool = True,
    tls_options: Any = None,
) -> RedisClient | Deferred[RedisClient]:
    """Connect to Redis; the one entry point for cyclone applications.

    *url_or_settings* is a ``redis://``, ``rediss://`` or ``unix://`` URL, an
    application's settings holding ``redis_url`` or ``redis``, or a mapping of
    ``host``/``port``/``db``/``password``/... (see `cyclone.redis.settings`);
    ``None`` means ``redis://localhost:6379/0``.

    ``lazy=True`` returns the client at once; ``lazy=False`` returns a Deferred
    that fires with it once connected, or fails with `RedisUnavailable` (and gives
    up) if the first attempt fails. ``pool_size`` connections are kept open: one is
    enough for ordinary commands, which Redis pipelines, but each blocking command
    (``blpop``...) or transaction holds a connection for itself. ``reconnect``
    re-establishes lost connections, waiting up to ``max_reconnect_delay`` seconds
    between attempts. ``reply_timeout`` (seconds, default none) fails a command whose
    reply doesn't come, e.g. when Redis hangs. ``charset`` decodes replies (``None``
    for bytes) and ``convert_numbers`` turns numeric replies into int/float, as in
    txredisapi. ``tls_options`` is a Twisted TLS connection creator, e.g.
    ``optionsForClientTLS(host, trustRoot=...)``, for a private CA.
    """
    settings = redis_settings(url_or_settings)
    client = RedisClient(
        settings,
        pool_size=pool_size,
        reconnect=reconnect,
        connect_timeout=connect_timeout,
        reply_timeout=reply_timeout,
        max_reconnect_delay=max_reconnect_delay,
        charset=charset,
        convert_numbers=convert_numbers,
        tls_options=tls_options,
    )
    if lazy:
        return client

    def give_up(failure: Failure) -> Failure:
        client.disconnect()
        return failure

    ready = client._monitor.wait(fail_when_down=True, timeout=connect_timeout)
    return ready.addCallbacks(lambda _: client, give_up)


def unavailable_as_503(method: _F) -> _F:
    """Answer "503 Service Unavailable" when the decorated handler method hits `RedisUnavailable`.

    Works on plain methods, methods returning Deferreds (``defer.inlineCallbacks``)
    and ``async def`` methods. The error is logged by the handler as the 503's
    log message (RFC 9110, section 15.6.4: the server is temporarily unable to
    handle the request).
    """

    def as_http_error(error: RedisUnavailable) -> Exception:
        from cyclone.handler import HTTPError

        http_error = HTTPError(503, "%s", error)
        http_error.__cause__ = error
        return http_error

    def translate(failure: Failure) -> Failure:
        if failure.check(RedisUnavailable):
            return Failure(as_http_error(failure.value))  # type: ignore[arg-type]
        return failure

    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await method(*args, **kwargs)
            except RedisUnavailable as error:
                raise as_http_error(error) from error

        return run_async  # type: ignore[return-value]

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = method(*args, **kwargs)
        except RedisUnavailable as error:
            raise as_http_error(error) from error
        if inspect.isawaitable(result) and not isinstance(result, Deferred):
            result = as_deferred(result)
        if isinstance(result, Deferred):
            result.addErrback(translate)
        return result

    return run  # type: ignore[return-value]
