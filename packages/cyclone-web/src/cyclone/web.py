"""The Tornado web API on Twisted: Application, RequestHandler and friends.

    import cyclone.web
    from twisted.internet import reactor

    class MainHandler(cyclone.web.RequestHandler):
        def get(self):
            self.write("Hello, world")

    application = cyclone.web.Application([(r"/", MainHandler)])
    reactor.listenTCP(8888, application, interface="127.0.0.1")
    reactor.run()

`Application` is a Twisted server factory: call Tornado's ``app.listen(port)``
(inside ``asyncio.run`` it serves on that loop; handlers may then await asyncio
libraries and Deferreds alike), or give it to ``reactor.listenTCP``,
to ``internet.TCPServer`` in a ``.tac`` (calling it, ``app()``, returns itself
as old cyclone code expects) or to any endpoint. Everything an old cyclone or
Tornado application imports from ``cyclone.web`` is here; the handler
lifecycle itself lives in `cyclone.handler` (cyclone-core).
"""

from __future__ import annotations

import io
import re
import sys
import urllib.parse
from typing import Any

from twisted.internet import threads

from cyclone.compression import GZipContentEncoding
from cyclone.handler import (
    ErrorHandler,
    Finish,
    HTTPAuthenticationRequired,
    HTTPError,
    MissingArgumentError,
    addslash,
    asynchronous,
    authenticated,
    is_safe_redirect_url,
    removeslash,
    stream_request_body,
)
from cyclone.handler import RequestHandler as _BaseRequestHandler
from cyclone.httputil import HTTPHeaders, split_host_and_port
from cyclone.httpwriter import request_bytes
from cyclone.routing import Router, URLReverseError, URLSpec, url
from cyclone.signing import create_signed_value, decode_signed_value
from cyclone.staticfiles import StaticFileHandler
from cyclone.transforms import ChunkedTransferEncoding, OutputTransform
from cyclone.uimodules import (
    DEFAULT_UI_MODULES,
    TemplateModule,
    UIModule,
    load_ui_methods,
    load_ui_modules,
)
from cyclone.web_features import WebMixin

__all__ = [
    "Application",
    "ChunkedTransferEncoding",
    "ErrorHandler",
    "FallbackHandler",
    "Finish",
    "GZipContentEncoding",
    "HTTPAuthenticationRequired",
    "HTTPError",
    "MissingArgumentError",
    "OutputTransform",
    "RedirectHandler",
    "RequestHandler",
    "StaticFileHandler",
    "TemplateModule",
    "UIModule",
    "URLReverseError",
    "URLSpec",
    "WebMixin",
    "addslash",
    "asynchronous",
    "authenticated",
    "create_signed_value",
    "decode_signed_value",
    "is_safe_redirect_url",
    "removeslash",
    "stream_request_body",
    "url",
]


class RequestHandler(WebMixin, _BaseRequestHandler):
    """The handler users subclass: core's lifecycle plus `WebMixin` (templates, locales, static URLs)."""


class RedirectHandler(RequestHandler):
    """Redirects every request to ``url`` (``{0}``/``{name}`` take the route's groups).

    The query string of the request is kept unless the target has its own.
    The groups are percent-encoded again where the router decoded them (``%``,
    ``?``, ``#``, ``\\``, spaces, controls, non-ASCII), so a ``%3F`` in the
    path stays part of the path. When ``url`` is a path on this host
    (``"/photos/{0}"``), the target stays one: ``/old//evil.example`` with
    ``"/{0}"`` goes to ``/evil.example``, never to ``//evil.example``.
    """

    def initialize(self, url: str, permanent: bool = True) -> None:  # type: ignore[override]
        self._url = url
        self._permanent = permanent

    def get(self, *args: Any, **kwargs: Any) -> None:
        target = self._url.format(
            *map(_quote_path_group, args),
            **{name: _quote_path_group(value) for name, value in kwargs.items()},
        )
        if self._url.startswith("/") and not self._url.startswith("//"):
            target = "/" + target.lstrip("/")
        if self.request.query and "?" not in target:
            target += "?" + self.request.query
        self.redirect(target, permanent=self._permanent)

    head = get


def _quote_path_group(value: Any) -> Any:
    """Percent-encode what may not stand for itself in a URL path (RFC 3986 §3.3 pchar and ``/``)."""
    if not isinstance(value, str):
        return value
    return urllib.parse.quote(value, safe="/!$&'()*+,;=:@")


class FallbackHandler(RequestHandler):
    """Serves a route with a twisted.web ``Resource`` or a WSGI application.

    ``Application([(r"/legacy/.*", FallbackHandler, {"fallback": resource})])``.
    A twisted.web resource runs in-process through twisted.web's own HTTP
    stack; a WSGI application runs in Twisted's thread pool so it cannot
    block the reactor. Either response is buffered before it is sent.
    """

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS")

    def initialize(self, fallback: Any) -> None:  # type: ignore[override]
        self.fallback = fallback

    async def prepare(self) -> None:
        from twisted.web.resource import IResource

        if IResource.providedBy(self.fallback):
            await self._serve_resource()
        else:
            await self._serve_wsgi()
        if not self._finished:
            self.finish()

    async def _serve_resource(self) -> None:
        from twisted.web.server import Site

        from cyclone.inmemory import exchange

        request = self.request
        headers = HTTPHeaders()
        for name, value in request.headers.get_all():
            if name.lower() not in (
                "connection",
                "keep-alive",
                "transfer-encoding",
                "content-length",
            ):
                headers.add(name, value)
        headers["Content-Length"] = str(len(request.body))
        headers["Connection"] = "close"
        raw = request_bytes(request.method, request.uri, headers, request.body, "HTTP/1.0")
        site = Site(self.fallback)
        site.noisy = False
        response = await exchange(site, raw, head_only=request.method == "HEAD")
        self.clear()
        self.clear_header("Content-Type")
        self.set_status(response.code, response.reason or None)
        for name, value in response.headers.get_all():
            if name.lower() not in (
                "connection",
                "transfer-encoding",
                "content-length",
                "date",
                "server",
            ):
                self.add_header(name, value)
        self.write(response.body)

    async def _serve_wsgi(self) -> None:
        environ = self._wsgi_environ()
        captured: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            captured["status"] = status
            captured["headers"] = headers
            return lambda data: captured.setdefault("written", []).append(data)

        def call() -> bytes:
            body = self.fallback(environ, start_response)
            try:
                return b"".join([*captured.get("written", []), *body])
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()

        data = await threads.deferToThread(call)
        code, _, reason = captured["status"].partition(" ")
        self.clear()
        self.clear_header("Content-Type")
        self.set_status(int(code), reason or None)
        for name, value in captured["headers"]:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.add_header(name, value)
        self.write(data)

    def _wsgi_environ(self) -> dict[str, Any]:
        request = self.request
        host, port = split_host_and_port(request.host)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": urllib.parse.unquote_to_bytes(request.path).decode("latin-1"),
            "QUERY_STRING": request.query,
            "REMOTE_ADDR": request.remote_ip or "",
            "SERVER_NAME": host,
            "SERVER_PORT": str(port) if port else ("443" if request.protocol == "https" else "80"),
            "SERVER_PROTOCOL": request.version,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": request.protocol,
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if "Content-Type" in request.headers:
            environ["CONTENT_TYPE"] = request.headers["Content-Type"]
        environ["CONTENT_LENGTH"] = str(len(request.body))
        for name, value in request.headers.get_all():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                continue
            environ[key] = environ[key] + "," + value if key in environ else value
        return environ

    def compute_etag(self) -> str | None:
        return None


class Application(Router):
    """The web application: routes plus Tornado's settings, as a Twisted server factory.

    Settings (all optional): ``debug`` (implies ``autoreload``, see
    `cyclone.autoreload`), ``autoreload``, ``cancel_on_disconnect`` (True:
    a client leaving cancels what the handler awaits), ``cookie_secret``, ``login_url``,
    ``allowed_redirect_hosts`` (hosts besides the request's that
    ``get_safe_next_url`` may redirect to; none by default), ``xsrf_cookies``, ``static_path``, ``static_url_prefix``,
    ``static_handler_class``, ``static_handler_args``, ``template_path``,
    ``template_loader``, ``autoescape``, ``xheaders``,
    ``compress_response``/``gzip``, ``log_function``, ``ui_modules``,
    ``ui_methods``, ``default_handler_class``, ``max_etag_body_size`` (bodies
    above it, 64 KiB by default, get no automatic ETag), the form limits
    (``max_form_body_size``, ``max_form_fields``: see `cyclone.routing.Router`)
    and the server limits (``max_body_size``, ``max_header_size``,
    ``header_timeout``, ``body_timeout``, ``idle_connection_timeout``).
    ``self.settings`` is an ObjectDict of exactly the keyword arguments given.

    ``transforms`` lists `OutputTransform` classes applied to every response
    (see `cyclone.transforms`); given, it replaces the gzip transform that
    ``compress_response`` adds, as in Tornado. `add_transform` appends one.
    """

    def __init__(
        self,
        handlers: list[Any] | None = None,
        default_host: str | None = None,
        transforms: list[Any] | None = None,
        **settings: Any,
    ) -> None:
        if transforms is None:
            transforms = []
            if settings.get("compress_response") or settings.get("gzip"):
                transforms.append(GZipContentEncoding)
        self.ui_modules = dict(DEFAULT_UI_MODULES)
        self.ui_modules.update(load_ui_modules(settings.get("ui_modules", {})))
        self.ui_methods = load_ui_methods(settings.get("ui_methods", {}))
        routes = list(handlers or [])
        static_path = settings.get("static_path")
        if static_path:
            prefix = settings.get("static_url_prefix", "/static/")
            handler_class = settings.get("static_handler_class", StaticFileHandler)
            handler_args = dict(settings.get("static_handler_args", {}))
            handler_args["path"] = static_path
            for pattern in (re.escape(prefix) + r"(.*)", r"/(favicon\.ico)", r"/(robots\.txt)"):
                routes.insert(0, (pattern, handler_class, handler_args))
        super().__init__(routes, default_host, transforms, **settings)
