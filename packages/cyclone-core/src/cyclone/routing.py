"""URL routing and the minimal application: regex rules to handler classes.

    from twisted.internet import reactor
    from cyclone.handler import RequestHandler
    from cyclone.routing import Router, url

    class UserHandler(RequestHandler):
        def get(self, user_id):
            self.write({"user": user_id})

    app = Router([url(r"/users/(\\d+)", UserHandler, name="user")], debug=False)
    app.reverse_url("user", 42)          # '/users/42'
    reactor.listenTCP(8888, app)

`Router` is an `HTTPServer` factory, so it can be passed to ``listenTCP`` or a
``.tac``'s ``internet.TCPServer`` directly, or listen itself with Tornado's
``app.listen(8888)`` (inside ``asyncio.run`` too: see `Router.listen`); calling it with no arguments returns
itself, which keeps the old cyclone ``.tac`` idiom ``TCPServer(8888, app())``
working. `cyclone.web.Application` builds on it with static files, templates,
UI modules and compression.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger, globalLogBeginner, globalLogPublisher

from cyclone import accesslog, escape
from cyclone.coroutines import as_deferred
from cyclone.handler import ErrorHandler, RequestHandler
from cyclone.httpserver import HTTPServer
from cyclone.httputil import (
    DEFAULT_MAX_FORM_BODY_SIZE,
    DEFAULT_MAX_FORM_FIELDS,
    BufferedBodyDelegate,
    HTTPServerRequest,
    _is_form_content_type,
)
from cyclone.util import ObjectDict, import_object

__all__ = ["ReverseError", "Router", "URLReverseError", "URLSpec", "UnknownRouteError", "url"]

app_log = Logger(namespace="cyclone.application")

#: Tornado's listen backlog (its ``_DEFAULT_BACKLOG``); Twisted's own default is 50.
_DEFAULT_BACKLOG = 128

#: Application settings that configure the HTTP server underneath.
SERVER_SETTINGS = (
    "xheaders",
    "no_keep_alive",
    "max_header_size",
    "max_body_size",
    "max_request_line_size",
    "header_timeout",
    "body_timeout",
    "idle_connection_timeout",
    "write_timeout",
    "max_header_count",
    "max_connections",
    "trusted_downstream",
    "clock",
)


class ReverseError(ValueError):
    """A route's pattern cannot be turned back into a URL, or the values given do not fit it."""


class URLReverseError(ReverseError):
    """`Router.reverse_url` cannot build the URL: cyclone 1.3's name, raised for every such failure.

    A ReverseError (a ValueError) too, so code catching either name keeps working.
    """


class UnknownRouteError(URLReverseError, KeyError):
    """`Router.reverse_url` was given a name no route has.

    A KeyError, as Tornado and cyclone 1.3 raise, and a `URLReverseError`, so
    one ``except URLReverseError`` covers every way reversing can fail.
    """


@dataclass(frozen=True)
class _Group:
    """A capturing group of a route's pattern: where a value goes when reversing."""

    name: str | None


#: Characters that are regex syntax outside a group; a literal one is escaped.
_REGEX_SYNTAX = frozenset(".^$*+?{}[]|()")
#: An escape whose character stands for itself (``\.``, ``\/``, ``\-``): anything but a
#: letter or digit, which would be a class (``\d``), an anchor (``\b``) or a backreference.
_LITERAL_ESCAPE = re.compile(r"\\([^A-Za-z0-9])")


def _parse_route_pattern(pattern: str) -> list[str | _Group]:
    """Split a route's regex into literal text and capturing groups, for `URLSpec.reverse`.

    Outside groups only literal characters and escaped punctuation may
    appear; each group is one value, positional ``(...)`` or named
    ``(?P<name>...)``, whatever its regex inside (non-capturing groups and
    character classes included). Anything else (an alternative, a
    quantifier, a non-capturing group or a class outside a group, a nested
    capturing group) raises ReverseError naming it.
    """
    pattern = pattern.removeprefix("^").removesuffix("$")
    pieces: list[str | _Group] = []
    literal: list[str] = []
    index = 0
    while index < len(pattern):
        character = pattern[index]
        if character == "\\":
            escape = _LITERAL_ESCAPE.match(pattern, index)
            if escape is None:
                raise ReverseError(f"{pattern[index : index + 2]!r} at {index} is not a literal")
            literal.append(escape.group(1))
            index = escape.end()
        elif character == "(":
            group, index = _read_group(pattern, index)
            pieces.append("".join(literal))
            literal = []
            pieces.append(group)
        elif character in _REGEX_SYNTAX:
            raise ReverseError(f"{character!r} at {index} is regex syntax outside a group")
        else:
            literal.append(character)
            index += 1
    pieces.append("".join(literal))
    return [piece for piece in pieces if piece != ""]


def _read_group(pattern: str, start: int) -> tuple[_Group, int]:
    """The capturing group opening at ``start`` and the index after its closing parenthesis."""
    name = None
    if pattern.startswith("(?P<", start):
        name = pattern[start + 4 : pattern.index(">", start)]
    elif pattern.startswith("(?", start):
        raise ReverseError(f"{pattern[start : start + 3]!r} at {start} is not a capturing group")
    depth = 0
    index = start
    in_class = False
    while index < len(pattern):
        character = pattern[index]
        if character == "\\":
            index += 2
            continue
        if in_class:
            in_class = character != "]"
        elif character == "[":
            in_class = True
            if pattern.startswith("[]", index) or pattern.startswith("[^]", index):
                index += 2  # a "]" first in a class is literal
        elif character == "(":
            if depth and not pattern.startswith("(?:", index):
                raise ReverseError(f"nested capturing group at {index}")
            depth += 1
        elif character == ")":
            depth -= 1
            if depth == 0:
                return _Group(name), index + 1
        index += 1
    raise ReverseError(f"unbalanced parenthesis at {start}")


class URLSpec:
    """One route: a regex, the handler class, its ``initialize`` kwargs and an optional name.

    The pattern is anchored at the end. Groups become the method's arguments:
    positional for unnamed groups, keyword for named ones (not both).
    `reverse` builds a URL from the pattern itself: its literal text with
    each group replaced by a value.
    """

    def __init__(
        self,
        pattern: str | re.Pattern[str],
        handler: type[RequestHandler] | str,
        kwargs: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        if isinstance(pattern, str):
            if not pattern.endswith("$"):
                pattern += "$"
            self.regex = re.compile(pattern)
        else:
            self.regex = pattern
        if self.regex.groups != len(self.regex.groupindex) and self.regex.groupindex:
            raise ValueError(f"route {self.regex.pattern!r} mixes named and unnamed groups")
        if isinstance(handler, str):
            handler = import_object(handler)
        self.handler_class: type[RequestHandler] = handler  # type: ignore[assignment]
        self.kwargs = kwargs or {}
        self.name = name
        try:
            self._reverse_pieces: list[str | _Group] | None = _parse_route_pattern(
                self.regex.pattern
            )
            self._reverse_problem = ""
        except ReverseError as error:
            self._reverse_pieces = None
            self._reverse_problem = str(error)

    @property
    def target(self) -> type[RequestHandler]:
        return self.handler_class

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.regex.pattern!r}, {self.handler_class.__name__}, "
            f"kwargs={self.kwargs!r}, name={self.name!r})"
        )

    def reverse(self, *args: Any, **kwargs: Any) -> str:
        """The path for this route with its groups filled (each value URL-escaped).

        Values go in the groups' order; a named group's value may also be
        given by name. Raises `URLReverseError` (a ReverseError and a
        ValueError) for a pattern that cannot be reversed or a wrong number of
        values.
        """
        pieces = self._reverse_pieces
        label = self.name or self.regex.pattern
        if pieces is None:
            raise URLReverseError(f"cannot reverse the route {label!r}: {self._reverse_problem}")
        groups = [piece for piece in pieces if isinstance(piece, _Group)]
        values = list(args)
        for group in groups[len(values) :]:
            if group.name is None or group.name not in kwargs:
                raise URLReverseError(
                    f"route {label!r} takes {len(groups)} arguments, got {len(args) + len(kwargs)}"
                )
            values.append(kwargs.pop(group.name))
        if len(values) != len(groups) or kwargs:
            raise URLReverseError(
                f"route {label!r} takes {len(groups)} arguments, got {len(args) + len(kwargs)}"
            )
        filled = iter(values)
        return "".join(
            piece if isinstance(piece, str) else _escape_path_value(next(filled))
            for piece in pieces
        )


def _escape_path_value(value: Any) -> str:
    return escape.url_escape(value if isinstance(value, (str, bytes)) else str(value), plus=False)


url = URLSpec

_RouteInput = URLSpec | Sequence[Any]


class _HandlerDelegate(BufferedBodyDelegate):
    """Connects one request on the wire to one handler instance (the core seam).

    A buffered body is kept (`BufferedBodyDelegate`) and given to the handler
    as ``request.body`` when complete; a `stream_request_body` handler is
    created when the headers arrive and gets the body through its
    ``data_received``, handed over by its `RequestBodyStream`.
    """

    __slots__ = (
        "application",
        "request",
        "handler_class",
        "handler_kwargs",
        "path_args",
        "path_kwargs",
        "handler",
        "streaming",
        "discard",
    )

    def __init__(
        self,
        application: Router,
        request: HTTPServerRequest,
        handler_class: type[RequestHandler],
        handler_kwargs: dict[str, Any],
        path_args: list[Any],
        path_kwargs: dict[str, Any],
    ) -> None:
        self._body = b""  # BufferedBodyDelegate's state, set here: one call less per request
        self.application = application
        self.request = request
        self.handler_class = handler_class
        self.handler_kwargs = handler_kwargs
        self.path_args = path_args
        self.path_kwargs = path_kwargs
        self.handler: RequestHandler | None = None
        #: True for a `stream_request_body` handler: the body goes to data_received().
        self.streaming = handler_class._stream_request_body
        #: True when the handler answers without reading the body: it is not kept.
        self.discard = False

    def headers_received(self, request: HTTPServerRequest) -> Any:
        handler_class = self.handler_class
        if self.streaming:
            if handler_class.max_body_size is not None:
                request.connection.set_max_body_size(handler_class.max_body_size)
            return self._execute()
        if handler_class is ErrorHandler:
            self.discard = True
            return None
        limit = handler_class.max_body_size
        if limit is None:
            # Form bodies are buffered whole and parsed in memory: a smaller limit.
            content_type = request.headers.table.get("content-type")
            if content_type is None or not _is_form_content_type(content_type[1][0]):
                return None
            limit = self.application.settings.get("max_form_body_size", DEFAULT_MAX_FORM_BODY_SIZE)
            if limit is None or limit >= request.connection.default_max_body_size:
                return None
        request.connection.set_max_body_size(limit)
        return None

    def data_received(self, chunk: bytes) -> Any:
        if not self.streaming:
            if not self.discard:
                BufferedBodyDelegate.data_received(self, chunk)  # not super(): once per chunk
            return None
        handler = self.handler
        if handler is None or handler._finished:
            return None
        try:
            result = handler.data_received(chunk)
            if result is None or isinstance(result, defer.Deferred):
                return result
            # An ``async def data_received`` (Tornado allows it): reading waits for it.
            return as_deferred(result).addErrback(handler._handle_failure)
        except Exception as error:
            handler._handle_request_exception(error)
            return None

    def finish(self) -> None:
        if self.streaming:
            handler = self.handler
            stream = handler.body_stream if handler is not None else None
            if stream is not None:
                stream.body_complete()
            return
        body = self._body
        if body:
            self._body = b""
            # Parsed when the handler first reads its arguments: after the method
            # and XSRF checks, and never for a handler that does not look.
            self.request.set_pending_form_body(body if type(body) is bytes else bytes(body))
        self._execute()

    def on_connection_close(self) -> None:
        handler = self.handler
        if handler is not None:
            handler._client_disconnected()
        self.take_body()

    def _make_handler(self) -> RequestHandler | None:
        try:
            self.handler = self.handler_class(
                self.application, self.request, **self.handler_kwargs
            )
        except Exception:
            app_log.failure("creating {handler} failed", handler=self.handler_class.__name__)
            fallback = ErrorHandler(self.application, self.request, status_code=500)
            fallback._transforms = []
            fallback.send_error(500)
            return None
        return self.handler

    def _execute(self) -> Any:
        handler = self._make_handler()
        if handler is None:
            return None
        transform_classes = self.application.transforms
        # No transforms: the handlers share one empty tuple (its class default), no list each.
        transforms: list[Any] | tuple[()] = (
            [t(self.request) for t in transform_classes] if transform_classes else ()
        )
        handler._execute(transforms, *self.path_args, **self.path_kwargs)
        stream = handler.body_stream
        if stream is not None and not stream.prepared.called:
            # Body bytes go to data_received() only once prepare() has completed.
            return stream.prepared
        return None


class Router(HTTPServer):
    """A routing table of handlers that is also the HTTP server factory.

    ``handlers`` is a list of `URLSpec` or tuples ``(pattern, Handler[, kwargs[, name]])``.
    Settings are kept in ``self.settings`` (an `ObjectDict`); the server limits
    among them (``max_body_size``, ``header_timeout``...) configure the
    connections. ``default_handler_class`` (and ``default_handler_args``)
    answers unmatched paths instead of the plain 404. ``autoreload`` (implied
    by ``debug``) restarts the process when a source file changes (see
    `cyclone.autoreload`); ``cancel_on_disconnect`` (True by default) cancels
    what a handler awaits when its client disconnects.

    Form limits: ``max_form_body_size`` (10 MiB; None: only ``max_body_size``)
    caps urlencoded and multipart/form-data bodies, which are buffered and
    parsed in memory, with a 413 before the body is read; a handler's own
    ``max_body_size`` replaces it. ``max_form_fields`` (10,000) caps the
    fields of a query string or form body, multipart parts included; more
    is a 400 when the handler reads its arguments. Bodies are parsed only
    then, so a 404 or a refused XSRF check never parses one.
    """

    def __init__(
        self,
        handlers: Iterable[_RouteInput] | None = None,
        default_host: str | None = None,
        transforms: list[Any] | None = None,
        **settings: Any,
    ) -> None:
        self.settings = ObjectDict(settings)
        self.transforms: list[Any] = list(transforms or [])
        self.default_host = default_host
        self.handlers: list[tuple[re.Pattern[str], list[URLSpec]]] = []
        self.named_handlers: dict[str, URLSpec] = {}
        self._log_function = settings.get("log_function")
        self._configure_server(
            self, **{name: settings[name] for name in SERVER_SETTINGS if name in settings}
        )
        if handlers:
            self.add_handlers(".*$", handlers)

    def listen(self, port: int, address: str = "", **server_settings: Any) -> Any:
        """Serve HTTP on ``address:port`` (all IPv4 addresses by default); Tornado's ``listen``.

        Inside a running asyncio loop (``asyncio.run(main())``) this serves on
        that loop through Twisted's asyncio reactor, installing it if no
        reactor is installed yet (see `cyclone.eventloop`); otherwise it uses
        the installed reactor, for a ``reactor.run()`` program.

        ``server_settings`` are the server settings also accepted by the
        constructor (``xheaders``, ``max_body_size``, ``idle_connection_timeout``...;
        this application is the server factory, so they apply to it and must
        come before it serves a connection), plus Tornado's ``backlog``,
        ``family`` (``socket.AF_INET6`` with no address listens on ``::``) and
        ``ssl_options`` (a Twisted context factory such as
        ``twisted.internet.ssl.CertificateOptions``, or
        ``{"certfile": ..., "keyfile": ...}``; needs ``cyclone-core[tls]``).

        Returns Twisted's listening port (``getHost().port`` is the port bound
        when ``port`` is 0, ``stopListening()`` stops accepting) where Tornado
        returns an ``HTTPServer``: here the application itself is the server,
        and the port is the one new object a listen makes.
        """
        from cyclone.eventloop import serving_reactor

        backlog = server_settings.pop("backlog", _DEFAULT_BACKLOG)
        family = server_settings.pop("family", None)
        ssl_options = server_settings.pop("ssl_options", None)
        if server_settings.pop("reuse_port", False):
            raise ValueError(
                "listen(reuse_port=True) is not supported: run several processes with "
                "twistd cyclone --workers N, which share one socket"
            )
        unknown = sorted(set(server_settings) - set(SERVER_SETTINGS))
        if unknown:
            raise TypeError(f"listen() got unexpected server settings {unknown}")
        if server_settings:
            self._apply_server_settings(server_settings)
        if not address and family is not None and family == socket.AF_INET6:
            address = "::"
        reactor = serving_reactor()
        if ssl_options is None:
            return reactor.listenTCP(port, self, backlog=backlog, interface=address)
        context = _tls_context(ssl_options)
        return reactor.listenSSL(port, self, context, backlog=backlog, interface=address)

    def _apply_server_settings(self, server_settings: dict[str, Any]) -> None:
        if self._connections:
            raise RuntimeError(
                f"listen() cannot change server settings {sorted(server_settings)} once the "
                "application serves connections: give them to the application instead"
            )
        self.settings.update(server_settings)
        self._configure_server(
            self,
            **{name: self.settings[name] for name in SERVER_SETTINGS if name in self.settings},
        )

    def startFactory(self) -> None:
        """Start the autoreloader when ``autoreload`` (or ``debug``) is set, as Tornado does."""
        super().startFactory()
        settings = self.settings
        if settings.get("autoreload", settings.get("debug", False)):
            from cyclone import autoreload

            autoreload.start()

    def __call__(self, request: HTTPServerRequest | None = None) -> Any:
        """``app()`` returns the factory itself (old cyclone ``.tac`` files call it)."""
        if request is None:
            return self
        raise TypeError("call start_request(request) to dispatch a request")

    # -- routes --------------------------------------------------------------------

    def add_handlers(self, host_pattern: str, host_handlers: Iterable[_RouteInput]) -> None:
        """Add routes for hosts matching ``host_pattern`` (checked before earlier ones but ``.*$``)."""
        if not host_pattern.endswith("$"):
            host_pattern += "$"
        specs = [self._make_spec(spec) for spec in host_handlers]
        entry = (re.compile(host_pattern, re.IGNORECASE), specs)
        if self.handlers and self.handlers[-1][0].pattern == ".*$":
            self.handlers.insert(-1, entry)
        else:
            self.handlers.append(entry)
        for spec in specs:
            if spec.name:
                if spec.name in self.named_handlers:
                    app_log.warn("multiple handlers named {name}; replacing", name=spec.name)
                self.named_handlers[spec.name] = spec

    @staticmethod
    def _make_spec(spec: _RouteInput) -> URLSpec:
        if isinstance(spec, URLSpec):
            return spec
        if not isinstance(spec, (tuple, list)) or not 2 <= len(spec) <= 4:
            raise ValueError(f"a route is (pattern, handler[, kwargs[, name]]); got {spec!r}")
        return URLSpec(*spec)

    def reverse_url(self, name: str, /, *args: Any, **kwargs: Any) -> str:
        """The path of the route called ``name``, its groups filled with ``args`` (and ``kwargs``)."""
        if name not in self.named_handlers:
            raise UnknownRouteError(f"{name!r} not found in named urls")
        return self.named_handlers[name].reverse(*args, **kwargs)

    def add_transform(self, transform_class: Callable[[HTTPServerRequest], Any]) -> None:
        """Apply ``transform_class`` to every later response (Tornado's and cyclone 1.x's call).

        Each request gets a new ``transform_class(request)``, whose
        ``transform_first_chunk`` and ``transform_chunk`` the handler calls as
        it sends (cyclone-web's ``cyclone.transforms`` has the base class).
        """
        self.transforms.append(transform_class)

    def _specs_for_host(self, request: HTTPServerRequest) -> list[URLSpec]:
        """Every route of every host pattern matching the request, in the order added.

        As in Tornado, a path that no route of the first matching host answers
        falls through to later matching patterns; ``default_host`` applies
        when no pattern matches (and not behind a proxy sending X-Real-Ip).
        """
        host = request.host_name
        handlers = self.handlers
        if len(handlers) == 1:
            # One host pattern (``.*$`` unless add_handlers was used): most applications.
            pattern, specs = handlers[0]
            if pattern.match(host):
                return specs
        tables = [specs for pattern, specs in handlers if pattern.match(host)]
        if not tables and self.default_host is not None and "X-Real-Ip" not in request.headers:
            tables = [
                specs for pattern, specs in self.handlers if pattern.match(self.default_host)
            ]
        if len(tables) == 1:
            return tables[0]  # read only: find_handler just iterates it
        return [spec for specs in tables for spec in specs]

    def find_handler(
        self, request: HTTPServerRequest
    ) -> tuple[type[RequestHandler], dict[str, Any], list[Any], dict[str, Any]]:
        """The handler class, its kwargs and the path arguments for ``request``."""
        path = request.path
        for spec in self._specs_for_host(request):
            match = spec.regex.match(path)
            if match is None:
                continue
            if spec.regex.groupindex:
                kwargs = {
                    name: _unquote_path_argument(value)
                    for name, value in match.groupdict().items()
                    if value is not None
                }
                return spec.handler_class, spec.kwargs, [], kwargs
            groups = match.groups()
            args = [_unquote_path_argument(value) for value in groups] if groups else []
            return spec.handler_class, spec.kwargs, args, {}
        default = self.settings.get("default_handler_class")
        if default is not None:
            return default, self.settings.get("default_handler_args", {}), [], {}
        return ErrorHandler, {"status_code": 404}, [], {}

    def start_request(self, request: HTTPServerRequest) -> _HandlerDelegate:
        request.max_form_fields = self.settings.get("max_form_fields", DEFAULT_MAX_FORM_FIELDS)
        handler_class, kwargs, args, path_kwargs = self.find_handler(request)
        return _HandlerDelegate(self, request, handler_class, kwargs, args, path_kwargs)

    # -- access log ----------------------------------------------------------------

    def log_request(self, handler: RequestHandler) -> None:
        """Write one access-log line per request (override with the ``log_function`` setting).

        The ``access_log_format`` setting picks the line's format (see
        `cyclone.accesslog`: ``default``, ``common``, ``combined``, ``json``).
        """
        if self._log_function is not None:
            self._log_function(handler)
            return
        settings = self.settings
        if settings.get("access_log", True) is False or not _someone_is_listening():
            return
        accesslog.log_request(handler, settings.get("access_log_format"))


def _tls_context(ssl_options: Any) -> Any:
    """A Twisted TLS context factory from ``listen(ssl_options=...)``."""
    if hasattr(ssl_options, "getContext") or hasattr(ssl_options, "serverConnectionForTLS"):
        return ssl_options
    if isinstance(ssl_options, dict) and "certfile" in ssl_options:
        from cyclone.deploy import tls_context_factory

        return tls_context_factory(ssl_options["certfile"], ssl_options.get("keyfile"))
    raise TypeError(
        f"ssl_options={ssl_options!r}: Twisted uses pyOpenSSL, so give a context factory "
        "(twisted.internet.ssl.CertificateOptions) or {'certfile': ..., 'keyfile': ...}"
    )


def _someone_is_listening() -> bool:
    """False until Twisted logging has begun or an observer was added.

    Before ``twistd``, ``log.startLogging`` or ``globalLogBeginner.beginLoggingTo``,
    events only fill Twisted's start-up buffer, and emitting one costs more
    than serving a small request; skipping access lines then keeps them free.
    """
    try:
        temporary = globalLogBeginner._temporaryObserver
        observers = globalLogPublisher._observers
    except AttributeError:
        return True
    return temporary is None or any(observer is not temporary for observer in observers)


def _unquote_path_argument(value: str | None) -> bytes | None:
    if value is None:
        return None
    return escape.url_unescape(value, encoding=None, plus=False)
