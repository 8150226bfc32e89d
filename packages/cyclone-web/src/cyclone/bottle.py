"""A Bottle-style way to write small applications: plain functions with ``@route``.

    import sys
    from cyclone.bottle import route, run

    @route("/")
    def index(web):
        web.write("Hello, world")

    @route("/items/(\\d+)", method=["PUT", "DELETE"])
    async def item(web, item_id):
        web.write({"id": item_id, "method": web.request.method})

    run(host="127.0.0.1", port=8888, log=sys.stdout)

Each decorated function receives the `cyclone.web.RequestHandler` serving the
request (then the path's groups) and can do anything a handler method can:
write, redirect, raise ``HTTPError``, return a Deferred or be ``async def``.
Decorators for handler methods (``@cyclone.web.authenticated``,
``@defer.inlineCallbacks``) work on these functions too. Functions routed to
the same path share one handler class, one method each.

`create_app(**settings)` builds the `cyclone.web.Application` without
running it (for tests, ``twistd cyclone --app=mymodule:create_app`` or a
``.tac``); `run(host, port, **settings)` builds it, listens and runs the
reactor, stopping gracefully on SIGTERM/SIGINT. Settings are the
Application's, plus ``base_handler`` (the class the generated handlers
subclass) and ``more_handlers`` (ordinary routes added after these).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import IO, Any

from twisted.logger import Logger

from cyclone.web import Application, RequestHandler

__all__ = ["Router", "clear_routes", "create_app", "route", "routes", "run"]

_logger = Logger(namespace="cyclone.bottle")

#: run()'s default log: sys.stdout as it is when run() is called.
_STDOUT = object()

_Route = tuple[str, tuple[str, ...], Callable[..., Any], dict[str, Any]]
_routes: list[_Route] = []


def route(
    path: str | Callable[..., Any] | None = None,
    method: str | Iterable[str] = "GET",
    callback: Callable[..., Any] | None = None,
    **kwargs: Any,
) -> Any:
    """Route requests for ``path`` (a regex, as in Application) and ``method`` to a function.

    ``method`` is one name or several. ``@route`` without arguments routes
    ``/<function name>``. ``route(path, callback=function)`` registers
    without decorating. ``method="ANY"`` (Bottle's and cyclone 1.x's spelling)
    serves every method the path has no other function for. Other keyword
    arguments become the generated handler's ``initialize`` arguments
    (``name=`` names the route for ``reverse_url``).
    """
    if callable(path):
        path, callback = None, path
    methods = (method,) if isinstance(method, str) else tuple(method)
    normalized = tuple(m.upper() for m in methods)
    if not normalized:
        raise ValueError(f"route {path!r} needs at least one method")

    def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
        route_path = path if path is not None else "/" + function.__name__
        _routes.append((route_path, normalized, function, dict(kwargs)))
        return function

    if callback is not None:
        return decorator(callback)
    return decorator


def routes() -> list[tuple[str, tuple[str, ...], Callable[..., Any]]]:
    """The registered ``(path, methods, function)`` triples, in registration order."""
    return [(path, methods, function) for path, methods, function, _ in _routes]


def clear_routes() -> None:
    """Forget every registered route (tests, or building a second application)."""
    _routes.clear()


def _handler_class(
    base: type[RequestHandler], path: str, functions: dict[str, Callable[..., Any]]
) -> type[RequestHandler]:
    """A handler class whose ``get``/``post``/... are the routed functions themselves."""
    functions = dict(functions)
    catch_all = functions.pop("ANY", None)
    if catch_all is not None:
        for method in base.SUPPORTED_METHODS:
            functions.setdefault(method, catch_all)
    attributes: dict[str, Any] = {name.lower(): function for name, function in functions.items()}
    supported = tuple(dict.fromkeys([*base.SUPPORTED_METHODS, *functions]))
    attributes["SUPPORTED_METHODS"] = supported
    attributes["__doc__"] = f"Bottle-style handler for {path!r}: {', '.join(functions)}."
    names = "_".join(function.__name__ for function in functions.values())
    return type(f"BottleHandler_{names}", (base,), attributes)


class Router:
    """One path's handler built from functions: cyclone 1.x's ``cyclone.bottle.Router``.

    ``router.add("GET", function)`` for each method (``"ANY"`` for the rest),
    then give the router wherever a handler class goes:
    ``Application([(r"/", router)])``. Calling it makes the handler, as 1.x did;
    its attributes are the generated handler class's.
    """

    def __init__(self, base_handler: type[RequestHandler] = RequestHandler) -> None:
        self.items: list[tuple[str, Callable[..., Any]]] = []
        self.base_handler = base_handler
        self._handler: type[RequestHandler] | None = None

    def add(self, method: str, callback: Callable[..., Any]) -> None:
        """Serve ``method`` (case-insensitive) with ``callback(handler, *path_args)``."""
        self.items.append((method, callback))
        self._handler = None

    @property
    def handler_class(self) -> type[RequestHandler]:
        """The handler class these functions make (built again after each `add`)."""
        if self._handler is None:
            functions = {method.upper(): callback for method, callback in self.items}
            if not functions:
                raise ValueError("this Router has no function: call add(method, callback)")
            self._handler = _handler_class(self.base_handler, "Router", functions)
        return self._handler

    def __call__(self, *args: Any, **kwargs: Any) -> RequestHandler:
        return self.handler_class(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name in ("items", "base_handler", "_handler") or (
            name.startswith("__") and name != "__name__"
        ):
            raise AttributeError(name)
        return getattr(self.handler_class, name)


def create_app(**settings: Any) -> Application:
    """The `cyclone.web.Application` serving every ``@route`` registered so far."""
    base = settings.pop("base_handler", RequestHandler)
    more_handlers = list(settings.pop("more_handlers", []))
    by_path: dict[str, tuple[dict[str, Callable[..., Any]], dict[str, Any]]] = {}
    for path, methods, function, kwargs in _routes:
        functions, path_kwargs = by_path.setdefault(path, ({}, {}))
        for method in methods:
            if method in functions and functions[method] is not function:
                raise ValueError(
                    f"{method} {path!r} is routed to both {functions[method].__name__} "
                    f"and {function.__name__}"
                )
            functions[method] = function
        path_kwargs.update(kwargs)
    handlers: list[Any] = []
    for path, (functions, kwargs) in by_path.items():
        name = kwargs.pop("name", None)
        handlers.append((path, _handler_class(base, path, functions), kwargs, name))
    return Application(handlers + more_handlers, **settings)


def run(
    host: str = "127.0.0.1",
    port: int = 8888,
    log: IO[str] | None | object = _STDOUT,
    shutdown_timeout: float = 30.0,
    **settings: Any,
) -> None:
    """Build the application, listen on ``host:port`` and run the reactor until stopped.

    ``log`` is a text file the log goes to (the old cyclone default,
    ``sys.stdout``); ``None`` leaves logging as it is. SIGTERM and SIGINT stop
    gracefully: requests in flight get ``shutdown_timeout`` seconds.
    """
    from twisted.internet import reactor as installed_reactor
    from twisted.logger import globalLogBeginner, textFileLogObserver

    from cyclone import deploy

    reactor: Any = installed_reactor
    if log is _STDOUT:
        log = sys.stdout
    if log is not None:
        observers: list[Any] = [textFileLogObserver(log)]  # type: ignore[arg-type]
        globalLogBeginner.beginLoggingTo(observers, redirectStandardIO=False)
    application = create_app(**settings)
    listening = reactor.listenTCP(port, application, interface=host)
    _logger.info(
        "cyclone.bottle serving on http://{address}",
        address=deploy.describe_address(listening.getHost()),
    )
    deploy.install_graceful_shutdown([listening], [application], shutdown_timeout, reactor)
    reactor.run()
