"""Running an application in production: the ``twistd cyclone`` plugin and graceful shutdown.

    $ twistd -n cyclone --app=myapp.Application --port=8888 --interface=0.0.0.0
    $ twistd -n cyclone --app=myapp:make_app --appopts debug=true --workers=4
    $ twistd -n cyclone --app=./site.py --listen=tcp6:8080 --unix=/run/site.sock
    $ twistd -n cyclone --app=myapp.Application --ssl-port=8443 \\
          --ssl-cert=server.crt --ssl-key=server.key --sni=example.org:org.crt:org.key

``--app`` names a `cyclone.routing.Router`/`cyclone.web.Application` class, an
instance, or a callable returning one, as ``package.module.Name``,
``package.module:factory`` or ``path/to/file.py[:Name]``. ``--appopts
key=value`` (repeatable) become keyword arguments of that call (values that
read as JSON — numbers, ``true``, ``null`` — are decoded); a value without
``=`` is passed positionally, as the old cyclone plugin did.

Stopping (SIGTERM, SIGINT, ``twistd``'s ``kill``) is graceful: the ports stop
accepting, idle keep-alive connections are closed, responses in flight get
``--shutdown-timeout`` seconds to finish, and the callables registered with
`on_shutdown` run (the place for a WebSocket layer to close its connections
with a 1001 Going Away, since the HTTP server no longer tracks detached ones):

    from cyclone.deploy import on_shutdown

    @on_shutdown
    def close_sockets(timeout: float):
        return defer.DeferredList([ws.close(1001) for ws in OPEN])

``--workers N`` runs N processes sharing the listening sockets (see
`cyclone.workers`); ``--reload`` (for development) runs the application in a
worker that is restarted when a source file changes (see `cyclone.autoreload`).
``twistd -r asyncio cyclone ...`` serves on Twisted's asyncio reactor, where
handlers may await asyncio libraries (see `cyclone.coroutines`); workers run
the parent's reactor. Scripts that call ``reactor.listenTCP`` themselves get the
same graceful stop from `install_graceful_shutdown`.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python import usage

from cyclone import accesslog
from cyclone.coroutines import maybe_deferred

__all__ = [
    "Listener",
    "Options",
    "ServerService",
    "graceful_shutdown",
    "install_graceful_shutdown",
    "load_application",
    "on_shutdown",
    "parse_appopts",
    "remove_shutdown_hook",
    "shutdown_hooks",
    "ShutdownHooks",
    "resolve_application",
    "run_shutdown_hooks",
    "tls_context_factory",
]

log = Logger(namespace="cyclone.deploy")

#: Seconds responses in flight may take to finish once a stop was asked for.
DEFAULT_SHUTDOWN_TIMEOUT = 30.0
#: The port the plugin listens on when no listening option is given (old cyclone's).
DEFAULT_PORT = 8888
#: cyclone 1.x's ``--ssl-port``, ``--ssl-cert`` and ``--ssl-key`` defaults, used with ``--ssl-app``.
OLD_SSL_DEFAULTS = (8443, "server.crt", "server.key")

# -- shutdown hooks ---------------------------------------------------------------------


class ShutdownHooks:
    """An ordered set of ``hook(timeout)`` callables to run when a graceful shutdown begins.

    The process has one, `shutdown_hooks`, which `on_shutdown` adds to and
    `graceful_shutdown` runs. `scoped` gives code that registers hooks for a
    while (a test, a server embedded in a larger program) a block after
    which the registry is as it was, so one suite's hooks never leak into
    another's run.
    """

    def __init__(self) -> None:
        self._hooks: list[Callable[[float], Any]] = []

    def add(self, hook: Callable[[float], Any]) -> Callable[[float], Any]:
        """Register ``hook`` (once); returns it, so it works as a decorator."""
        if hook not in self._hooks:
            self._hooks.append(hook)
        return hook

    def remove(self, hook: Callable[[float], Any]) -> None:
        """Forget ``hook`` (a hook that is not registered is ignored)."""
        if hook in self._hooks:
            self._hooks.remove(hook)

    def __iter__(self) -> Iterator[Callable[[float], Any]]:
        return iter(list(self._hooks))

    def __len__(self) -> int:
        return len(self._hooks)

    @contextmanager
    def scoped(self) -> Iterator[ShutdownHooks]:
        """Within the block, hooks may come and go; after it, exactly the hooks before it remain."""
        saved = list(self._hooks)
        try:
            yield self
        finally:
            self._hooks[:] = saved

    def run(self, timeout: float, clock: Any = None) -> defer.Deferred[None]:
        """Call every hook with ``timeout``; fires when all are done (errors logged).

        A hook still running after ``timeout`` seconds is cancelled.
        """
        if clock is None:
            from twisted.internet import reactor as clock
        results = []
        for hook in list(self._hooks):
            d = maybe_deferred(hook, timeout)
            d.addTimeout(timeout, clock)
            d.addErrback(_log_hook_failure, hook)
            results.append(d)
        return defer.DeferredList(results).addCallback(lambda _: None)


#: The process's shutdown hooks (WebSocket connections register their closing here).
shutdown_hooks = ShutdownHooks()


def on_shutdown(hook: Callable[[float], Any]) -> Callable[[float], Any]:
    """Register ``hook(timeout)`` to run when a graceful shutdown begins; usable as a decorator.

    Hooks run after the listening ports closed, alongside the HTTP servers'
    own draining. A hook may return a Deferred (or be ``async def``); the
    process stops once every hook's result fired, or after the timeout. This is
    where connections the HTTP server no longer tracks (WebSocket, SSE)
    get closed cleanly.
    """
    return shutdown_hooks.add(hook)


def remove_shutdown_hook(hook: Callable[[float], Any]) -> None:
    """Forget a hook registered with `on_shutdown` (missing hooks are ignored)."""
    shutdown_hooks.remove(hook)


def run_shutdown_hooks(timeout: float, clock: Any = None) -> defer.Deferred[None]:
    """Call every registered hook with ``timeout``; fires when all are done (errors logged).

    A hook still running after ``timeout`` seconds is cancelled.
    """
    return shutdown_hooks.run(timeout, clock)


def _log_hook_failure(failure: Any, hook: Callable[[float], Any]) -> None:
    log.failure("shutdown hook {hook!r} failed", failure, hook=hook)


def graceful_shutdown(
    ports: Iterable[Any], factories: Iterable[Any], timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
) -> defer.Deferred[None]:
    """Stop ``ports`` accepting, then drain ``factories`` and run the shutdown hooks.

    ``factories`` are the `cyclone.httpserver.HTTPServer`s (routers,
    applications) behind the ports; each is asked to `shutdown` once. Fires
    when everything closed, at the latest about ``timeout`` seconds later.
    """

    async def stop() -> None:
        stopping = [defer.maybeDeferred(port.stopListening) for port in ports]
        await defer.DeferredList(stopping)
        seen: set[int] = set()
        draining = [run_shutdown_hooks(timeout)]
        for factory in factories:
            if id(factory) in seen or not hasattr(factory, "shutdown"):
                continue
            seen.add(id(factory))
            draining.append(factory.shutdown(timeout))
        await defer.DeferredList(draining)

    return defer.ensureDeferred(stop())


def install_graceful_shutdown(
    ports: Sequence[Any],
    factories: Sequence[Any],
    timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
    reactor: Any = None,
) -> None:
    """Make the reactor's stop (SIGTERM, SIGINT, ``reactor.stop()``) wait for `graceful_shutdown`.

    port = reactor.listenTCP(8888, app)
    install_graceful_shutdown([port], [app], timeout=10)
    reactor.run()
    """
    if reactor is None:
        from twisted.internet import reactor
    reactor.addSystemEventTrigger(
        "before", "shutdown", graceful_shutdown, list(ports), list(factories), timeout
    )


# -- loading the application ------------------------------------------------------------

_FILE_ATTRIBUTES = ("Application", "application", "app")


def _decode_option_value(text: str) -> Any:
    """``8`` → 8, ``true`` → True, ``"x"`` → 'x'; anything that is not JSON stays text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_appopts(values: Iterable[str]) -> tuple[list[Any], dict[str, Any]]:
    """Split ``--appopts`` values into positional arguments and keyword arguments."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if sep and name.isidentifier():
            kwargs[name] = _decode_option_value(text)
        else:
            args.append(value)
    return args, kwargs


def _import_file(path: str) -> Any:
    """Import a ``.py`` file as a module named after it; its directory joins sys.path."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise usage.UsageError(f"--app: no such file {path!r}")
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise usage.UsageError(f"--app: cannot import {path!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def resolve_application(spec: str) -> Any:
    """The object ``spec`` names: ``pkg.mod.Name``, ``pkg.mod:factory`` or ``file.py[:Name]``.

    A name that cannot be found is a `usage.UsageError` saying which part is
    missing (the module, or the attribute in it). An exception raised while
    the application's own module runs is left alone: its traceback is the
    useful part.
    """
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    target, sep, attribute = spec.rpartition(":")
    if not sep or (os.sep in attribute or attribute.endswith(".py")):
        target, attribute = spec, ""
    if target.endswith(".py"):
        module = _import_file(target)
        names = [attribute] if attribute else list(_FILE_ATTRIBUTES)
        for name in names:
            found = _getattr_path(module, name)
            if found is not None:
                return found
        raise usage.UsageError(f"--app: {target!r} defines none of {', '.join(names)}")
    if attribute:
        module = _import_module(target, spec)
        found = _getattr_path(module, attribute)
        if found is None:
            raise usage.UsageError(f"--app={spec}: module {target!r} has no {attribute!r}")
        return found
    module, rest = _import_longest_module(spec)
    if not rest:
        raise usage.UsageError(
            f"--app={spec}: {spec!r} is a module; name the application in it, "
            f"e.g. --app={spec}.Application"
        )
    found = _getattr_path(module, ".".join(rest))
    if found is None:
        raise usage.UsageError(
            f"--app={spec}: module {module.__name__!r} has no {'.'.join(rest)!r}"
        )
    return found


def _is_missing(error: ModuleNotFoundError, name: str) -> bool:
    """True when ``error`` says ``name`` itself (or a parent package) does not exist.

    False when ``name`` exists but imports something missing.
    """
    return error.name is not None and (name == error.name or name.startswith(error.name + "."))


def _import_module(name: str, spec: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if _is_missing(error, name):
            raise usage.UsageError(f"--app={spec}: no module named {name!r}{_PATH_HINT}") from None
        raise usage.UsageError(f"--app={spec}: importing {name!r} failed: {error}") from None


def _import_longest_module(dotted: str) -> tuple[Any, list[str]]:
    """Import the longest module prefix of ``a.b.c``; return it and the remaining names."""
    parts = dotted.split(".")
    if not all(part.isidentifier() for part in parts):
        raise usage.UsageError(
            f"--app={dotted}: not a Python name; use package.module.Name, "
            "package.module:factory or path/to/file.py"
        )
    module = _import_module(parts[0], dotted)
    for end in range(2, len(parts) + 1):
        name = ".".join(parts[:end])
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if _is_missing(error, name):
                return module, parts[end - 1 :]
            raise usage.UsageError(f"--app={dotted}: importing {name!r} failed: {error}") from None
    return module, []


_PATH_HINT = " (run twistd from the directory that holds it, or give --app=path/to/file.py)"


def _getattr_path(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def load_application(
    spec: str | Any, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None
) -> Any:
    """Resolve ``spec`` and return the server factory it describes.

    A class or a factory function is called with ``args`` and ``kwargs``; an
    instance is used as it is (keyword options then update its ``settings``).
    The result must be a Twisted server factory (a Router, an Application or
    any ``ServerFactory``).
    """
    kwargs = dict(kwargs or {})
    obj = resolve_application(spec) if isinstance(spec, str) else spec
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "buildProtocol")):
        app = obj(*args, **kwargs)
    else:
        app = obj
        if args:
            raise usage.UsageError(
                f"--app: {spec!r} is an instance; positional --appopts {list(args)!r} need a "
                "class or a factory"
            )
        if kwargs:
            settings = getattr(app, "settings", None)
            if settings is None:
                raise usage.UsageError(
                    f"--app: {spec!r} has no settings to take --appopts {kwargs!r}"
                )
            settings.update(kwargs)
            _apply_server_settings(app, kwargs)
    if not hasattr(app, "buildProtocol"):
        found = f"calling it returned {app!r}" if app is not obj else f"it is {app!r}"
        raise usage.UsageError(
            f"--app={spec}: {found}, which is not a server factory (a cyclone "
            "Application or Router: a class, an instance or a function returning one)"
        )
    return app


def _apply_server_settings(app: Any, kwargs: dict[str, Any]) -> None:
    """Give a built application the server settings among ``--appopts`` (write_timeout...).

    A class or factory gets them as constructor arguments; an instance read its
    settings when it was made, so the server side is configured again here.
    """
    from cyclone.routing import SERVER_SETTINGS

    server_settings = {name: kwargs[name] for name in SERVER_SETTINGS if name in kwargs}
    apply = getattr(app, "_apply_server_settings", None)
    if server_settings and apply is not None:
        apply(server_settings)


def set_access_log_format(app: Any, format: str | None) -> None:
    """Store the access-log format in the application's settings (see `cyclone.accesslog`)."""
    if format is None:
        return
    settings = getattr(app, "settings", None)
    if settings is None:
        log.warn("{app!r} has no settings; --access-log-format ignored", app=app)
        return
    settings["access_log_format"] = format


# -- TLS with SNI -------------------------------------------------------------------------

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----\r?\n.+?\r?\n-----END \1-----", re.DOTALL)


def _certificate_options(cert_path: str, key_path: str | None) -> Any:
    """Twisted's CertificateOptions (its safe defaults) for a PEM chain and key."""
    try:
        from OpenSSL import crypto
        from twisted.internet import ssl
    except ImportError as error:
        raise usage.UsageError(
            f"TLS needs pyOpenSSL ({error}): pip install 'cyclone-core[tls]'"
        ) from error

    with open(cert_path, "rb") as f:
        cert_pem = f.read()
    key_pem = cert_pem
    if key_path:
        with open(key_path, "rb") as f:
            key_pem = f.read()
    certificates = [
        m.group(0) for m in _PEM_BLOCK.finditer(cert_pem) if m.group(1) == b"CERTIFICATE"
    ]
    keys = [
        m.group(0) for m in _PEM_BLOCK.finditer(key_pem) if m.group(1).endswith(b"PRIVATE KEY")
    ]
    if not certificates:
        raise usage.UsageError(f"no PEM certificate in {cert_path!r}")
    if not keys:
        raise usage.UsageError(f"no PEM private key in {key_path or cert_path!r}")
    leaf = crypto.load_certificate(crypto.FILETYPE_PEM, certificates[0])
    chain = [crypto.load_certificate(crypto.FILETYPE_PEM, c) for c in certificates[1:]]
    key = crypto.load_privatekey(crypto.FILETYPE_PEM, keys[0])
    return ssl.CertificateOptions(privateKey=key, certificate=leaf, extraCertChain=chain or None)


class _SNIContextFactory:
    """Serves the certificate matching the client's TLS server name (RFC 6066 §3).

    Names are matched exactly, then as ``*.parent`` wildcards; unknown or
    absent names get the default certificate.
    """

    def __init__(self, default: Any, by_name: dict[str, Any]) -> None:
        self._default = default
        self._by_name = by_name
        self._context: Any = None

    def getContext(self) -> Any:
        if self._context is None:
            context = self._default.getContext()
            context.set_tlsext_servername_callback(self._choose)
            self._context = context
        return self._context

    def _choose(self, connection: Any) -> None:
        raw = connection.get_servername()
        if not raw:
            return
        name = raw.decode("ascii", "replace").lower().rstrip(".")
        options = self._by_name.get(name)
        if options is None and "." in name:
            options = self._by_name.get("*." + name.split(".", 1)[1])
        if options is not None:
            connection.set_context(options.getContext())


def tls_context_factory(
    cert: str | None = None,
    key: str | None = None,
    sni: dict[str, tuple[str, str | None]] | None = None,
    sni_dir: str | None = None,
) -> Any:
    """A server context factory from PEM files, choosing certificates by SNI when several.

    ``sni`` maps host names (``*.example.org`` allowed) to ``(cert, key)``
    paths; ``sni_dir`` adds every ``<hostname>.pem`` file of a directory (the
    certificate chain and key in one file, the txsni layout). Without ``cert``
    the first name in sorted order is the default.
    """
    entries: dict[str, tuple[str, str | None]] = {}
    if sni_dir:
        if not os.path.isdir(sni_dir):
            raise usage.UsageError(f"--sni-dir: {sni_dir!r} is not a directory")
        for filename in sorted(os.listdir(sni_dir)):
            if filename.endswith(".pem"):
                entries[filename[:-4].lower()] = (os.path.join(sni_dir, filename), None)
    for name, paths in (sni or {}).items():
        entries[name.lower().rstrip(".")] = paths
    by_name = {name: _certificate_options(*paths) for name, paths in entries.items()}
    if cert:
        default = _certificate_options(cert, key)
    elif by_name:
        default = by_name[sorted(by_name)[0]]
    else:
        raise usage.UsageError("TLS needs --ssl-cert (and --ssl-key) or --sni/--sni-dir")
    if not by_name:
        return default
    return _SNIContextFactory(default, by_name)


# -- where to listen ------------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    """One listening socket: a Twisted endpoint description, and whether we add TLS on it."""

    description: str
    tls: bool = False

    @property
    def is_endpoint_tls(self) -> bool:
        """True when the endpoint string itself does TLS (``ssl:``), not our --ssl-* options."""
        return self.description.split(":", 1)[0].lower() in ("ssl", "tls", "le", "lets")


def _escape_endpoint(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


def _tcp_description(port: int, interface: str) -> str:
    kind = "tcp"
    try:
        if ipaddress.ip_address(interface).version == 6:
            kind = "tcp6"
    except ValueError:
        pass
    return f"{kind}:{port}:interface={_escape_endpoint(interface)}"


def _looks_like_interface(value: str) -> bool:
    """Old cyclone's ``--listen`` was an interface address; endpoint strings have a colon."""
    if value in ("localhost", ""):
        return True
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


# -- the plugin's options -------------------------------------------------------------------


class Options(usage.Options):
    """Command-line options of ``twistd cyclone``."""

    synopsis = "[options] [application]"
    longdesc = (
        "Run a cyclone application. --app (or, as in cyclone 1.x, the last argument) names "
        "it as package.module.Name, package.module:factory or path/to/file.py[:Name]. "
        "Without --listen, --unix or --ssl-port it listens on --interface:--port "
        f"(127.0.0.1:{DEFAULT_PORT}). --ssl-app serves another application on --ssl-port."
    )

    optParameters = [
        ["app", "r", None, "the application (class, instance or factory) to run"],
        ["port", "p", None, f"TCP port to listen on [default: {DEFAULT_PORT}]", int],
        ["interface", "i", "127.0.0.1", "address --port and --ssl-port bind to"],
        ["unix", "u", None, "also listen on this UNIX socket path"],
        ["ssl-port", None, None, "TLS port to listen on (needs --ssl-cert or --sni)", int],
        ["ssl-cert", None, None, "PEM certificate (chain) for TLS"],
        ["ssl-key", None, None, "PEM private key for --ssl-cert (default: in the cert file)"],
        ["sni-dir", None, None, "directory of <hostname>.pem files (chain + key) served by SNI"],
        [
            "ssl-app",
            None,
            None,
            "cyclone 1.x: the application served on --ssl-port (default there: --app); "
            "--ssl-port defaults to 8443 and --ssl-cert/--ssl-key to server.crt/server.key",
        ],
        ["ssl-listen", None, None, "cyclone 1.x: the address --ssl-port binds to [default: -i]"],
        [
            "workers",
            "w",
            1,
            "worker processes sharing the sockets; 0 means one per CPU",
            int,
        ],
        [
            "shutdown-timeout",
            None,
            DEFAULT_SHUTDOWN_TIMEOUT,
            "seconds in-flight requests get to finish on stop",
            float,
        ],
        [
            "access-log-format",
            None,
            None,
            f"access log format: {', '.join(accesslog.FORMATS)} [default: the app's]",
        ],
    ]

    optFlags = [
        [
            "reload",
            None,
            "development: restart the application when a source file changes "
            "(it runs in a worker process; see cyclone.autoreload)",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["listen"] = []
        self["appopts"] = []
        self["ssl-appopts"] = []
        self["sni"] = {}
        self["positional-app"] = None

    def parseArgs(self, *args: str) -> None:
        """cyclone 1.x's form: the application (module path or file) as the last argument."""
        if len(args) > 1:
            hint = " (options go before it)" if any(a.startswith("-") for a in args[1:]) else ""
            raise usage.UsageError(f"one application at most, got {list(args)}{hint}")
        if args:
            self["positional-app"] = _application_argument(args[0])

    def opt_listen(self, value: str) -> None:
        """listen on a Twisted endpoint (tcp:8080, tcp6:8080:interface=\\:\\:1,
        unix:/run/app.sock, ssl:8443:privateKey=k.pem); repeatable"""
        if _looks_like_interface(value):
            # Old cyclone: -l/--listen was the interface address.
            self["interface"] = value
        elif ":" not in value:
            raise usage.UsageError(
                f"--listen {value!r} is neither an IP address (cyclone 1.x's -l, now also "
                "--interface) nor a Twisted endpoint such as tcp:8888:interface=ADDRESS"
            )
        else:
            self["listen"].append(value)

    opt_l = opt_listen

    def opt_appopts(self, value: str) -> None:
        """key=value passed to the application factory (values read as JSON when they can);
        repeatable"""
        self["appopts"].append(value)

    def opt_ssl_appopts(self, value: str) -> None:
        """cyclone 1.x: key=value passed to the --ssl-app factory; repeatable"""
        self["ssl-appopts"].append(value)

    def opt_sni(self, value: str) -> None:
        """hostname:cert.pem[:key.pem] served to TLS clients asking for hostname; repeatable"""
        parts = value.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise usage.UsageError(f"--sni wants hostname:cert.pem[:key.pem], got {value!r}")
        self["sni"][parts[0]] = (parts[1], parts[2] if len(parts) == 3 else None)

    def postOptions(self) -> None:
        positional = self["positional-app"]
        if positional is not None:
            if self["app"] and self["app"] != positional:
                raise usage.UsageError(
                    f"give the application once: --app={self['app']} or {positional!r}"
                )
            self["app"] = positional
        if self["ssl-app"]:
            self._adopt_ssl_app()
        if not self["app"]:
            raise usage.UsageError("--app is required (e.g. --app=myapp.Application)")
        if self["workers"] < 0:
            raise usage.UsageError(f"--workers must be 0 or more, got {self['workers']}")
        if self["workers"] == 0:
            self["workers"] = os.cpu_count() or 1
        if self["shutdown-timeout"] < 0:
            raise usage.UsageError("--shutdown-timeout must not be negative")
        fmt = self["access-log-format"]
        if fmt is not None and fmt not in accesslog.FORMATS:
            raise usage.UsageError(
                f"--access-log-format {fmt!r}: choose one of {', '.join(accesslog.FORMATS)}"
            )
        has_tls_material = bool(self["ssl-cert"] or self["sni"] or self["sni-dir"])
        if self["ssl-port"] is not None and not has_tls_material:
            raise usage.UsageError("--ssl-port needs --ssl-cert (and --ssl-key) or --sni")
        if has_tls_material and self["ssl-port"] is None:
            raise usage.UsageError("--ssl-cert/--sni need --ssl-port")
        self["listeners"] = self.listeners()
        if self["workers"] > 1:
            for listener in self["listeners"]:
                if listener.is_endpoint_tls:
                    raise usage.UsageError(
                        f"--listen {listener.description!r}: with --workers use --ssl-port "
                        "and --ssl-cert for TLS"
                    )

    def _adopt_ssl_app(self) -> None:
        """cyclone 1.x's ``--ssl-app``: one more application, served on the TLS port.

        Without ``--app`` (or when it names the same application with the same
        options) it is simply the application, on the TLS port only, as in 1.x.
        1.x's TLS defaults apply: port 8443, ``server.crt`` and ``server.key``.
        """
        port, cert, key = OLD_SSL_DEFAULTS
        if self["ssl-port"] is None:
            self["ssl-port"] = port
        if not (self["ssl-cert"] or self["sni"] or self["sni-dir"]):
            self["ssl-cert"], self["ssl-key"] = cert, self["ssl-key"] or key
        same = self["ssl-app"] == self["app"] and self["ssl-appopts"] in ([], self["appopts"])
        if not self["app"] or same:
            self["app"] = self["ssl-app"]
            self["appopts"] = self["ssl-appopts"] or self["appopts"]
            self["ssl-app"] = None
            return
        if self["workers"] != 1 or self["reload"]:
            raise usage.UsageError(
                "--ssl-app with another --app runs in one process: drop --workers/--reload, "
                "or serve one application with --app, --ssl-port and --ssl-cert"
            )
        if self["port"] is None and not self["listen"] and not self["unix"]:
            self["port"] = DEFAULT_PORT  # 1.x served --app on its port beside --ssl-app

    def listeners(self) -> list[Listener]:
        """Every socket to listen on, from --port, --listen, --unix and --ssl-port."""
        found = [Listener(description) for description in self["listen"]]
        if self["unix"]:
            found.append(Listener(f"unix:{_escape_endpoint(self['unix'])}"))
        if self["port"] is not None or (not found and self["ssl-port"] is None):
            port = DEFAULT_PORT if self["port"] is None else self["port"]
            found.append(Listener(_tcp_description(port, self["interface"])))
        if self["ssl-port"] is not None:
            interface = self["ssl-listen"] or self["interface"]
            found.append(Listener(_tcp_description(self["ssl-port"], interface), tls=True))
        return found

    def worker_config(self) -> dict[str, Any]:
        """What a worker process needs to build the same application (JSON-able)."""
        return {
            "app": self["app"],
            "appopts": list(self["appopts"]),
            "ssl_app": self["ssl-app"],
            "ssl_appopts": list(self["ssl-appopts"]),
            "access_log_format": self["access-log-format"],
            "shutdown_timeout": self["shutdown-timeout"],
            "reload": bool(self["reload"]),
            "tls": {
                "cert": self["ssl-cert"],
                "key": self["ssl-key"],
                "sni": {name: list(paths) for name, paths in self["sni"].items()},
                "sni_dir": self["sni-dir"],
            },
            "sys_path": [os.path.abspath(p) if p else os.getcwd() for p in sys.path],
        }


def build_application(config: dict[str, Any]) -> Any:
    """Load the application a `Options.worker_config` describes, with its access-log format."""
    args, kwargs = parse_appopts(config["appopts"])
    app = load_application(config["app"], args, kwargs)
    set_access_log_format(app, config.get("access_log_format"))
    return app


def build_ssl_application(config: dict[str, Any]) -> Any:
    """The ``--ssl-app`` application of a `Options.worker_config`, or None without one."""
    if not config.get("ssl_app"):
        return None
    args, kwargs = parse_appopts(config.get("ssl_appopts") or [])
    app = load_application(config["ssl_app"], args, kwargs)
    set_access_log_format(app, config.get("access_log_format"))
    return app


def _application_argument(value: str) -> str:
    """The ``--app`` spec of 1.x's positional argument: a module path, or a file's application."""
    if not value.endswith(".py"):
        return value
    from cyclone.cli import CommandLineError, application_in_file

    try:
        return application_in_file(value)
    except CommandLineError as error:
        raise usage.UsageError(str(error)) from None


def build_tls(config: dict[str, Any]) -> Any:
    """The TLS context factory a `Options.worker_config` describes."""
    tls = config["tls"]
    return tls_context_factory(
        tls["cert"],
        tls["key"],
        {name: (paths[0], paths[1]) for name, paths in tls["sni"].items()},
        tls["sni_dir"],
    )


# -- the single-process service -------------------------------------------------------------


class ServerService(service.Service):
    """Listens on every `Listener` with one application; stops gracefully.

    Ports are opened in ``privilegedStartService`` so ``twistd --uid`` can bind
    port 80 before dropping privileges. ``stopService`` returns a Deferred
    that ``twistd`` waits for: the ports close, then the application drains
    (`graceful_shutdown`).
    """

    def __init__(
        self,
        factory: Any,
        listeners: Sequence[Listener],
        tls_context: Any = None,
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
        tls_factory: Any = None,
    ) -> None:
        self.factory = factory
        #: What the ``tls`` listeners serve (1.x's ``--ssl-app``); the same application if None.
        self.tls_factory = tls_factory
        self.listeners = list(listeners)
        self.tls_context = tls_context
        self.shutdown_timeout = shutdown_timeout
        self.ports: list[Any] = []

    def privilegedStartService(self) -> None:
        from twisted.internet import endpoints, reactor

        from cyclone import autoreload

        super().privilegedStartService()
        # An exec would fight twistd's pid file and daemonisation; --reload supervises instead.
        autoreload.disable("twistd restarts the application only with --reload")
        for listener in self.listeners:
            app = self.factory
            factory = app
            if listener.tls:
                from twisted.protocols.tls import TLSMemoryBIOFactory

                app = self.tls_factory or self.factory
                factory = TLSMemoryBIOFactory(self.tls_context, False, app)
            endpoint = endpoints.serverFromString(reactor, listener.description)
            port = _listen_now(endpoint, factory, listener.description)
            self.ports.append(port)
            log.info(
                "cyclone serving {app} on {scheme}://{address}",
                app=type(app).__name__,
                scheme="https" if listener.tls or listener.is_endpoint_tls else "http",
                address=describe_address(port.getHost()),
            )

    def startService(self) -> None:
        if not self.ports:
            self.privilegedStartService()
        super().startService()

    def stopService(self) -> defer.Deferred[None]:
        super().stopService()
        ports, self.ports = self.ports, []
        log.info(
            "cyclone stopping: draining connections (up to {timeout}s)",
            timeout=self.shutdown_timeout,
        )
        factories = [self.factory] + ([self.tls_factory] if self.tls_factory else [])
        return graceful_shutdown(ports, factories, self.shutdown_timeout)


def _listen_now(endpoint: Any, factory: Any, description: str) -> Any:
    """Listen and return the port, raising at once if binding failed (stream endpoints bind synchronously)."""
    results: list[Any] = []
    endpoint.listen(factory).addBoth(results.append)
    if not results:
        raise RuntimeError(f"listening on {description!r} did not complete synchronously")
    result = results[0]
    if hasattr(result, "raiseException"):
        result.raiseException()
    return result


def describe_address(address: Any) -> str:
    """``127.0.0.1:8888``, ``[::1]:8888`` or a UNIX socket path."""
    host = getattr(address, "host", None)
    if host is not None:
        if ":" in host:
            return f"[{host}]:{address.port}"
        return f"{host}:{address.port}"
    name = getattr(address, "name", None)
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return f"unix:{name}"
