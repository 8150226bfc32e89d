"""The request handler base: Tornado's request lifecycle and HTTP API on Twisted.

    from cyclone.handler import RequestHandler
    from cyclone.routing import Router

    class MainHandler(RequestHandler):
        async def get(self, name):
            self.write({"hello": name})

    application = Router([(r"/hello/(\\w+)", MainHandler)])

The lifecycle of one request lives in `RequestHandler._execute`: method check,
path arguments, XSRF check, ``prepare()``, the HTTP method, ``finish()``, and
errors turned into responses. Handler methods may return None, a Deferred
(``defer.inlineCallbacks`` included) or be ``async def`` coroutines that await
Deferreds and, on Twisted's asyncio reactor, asyncio futures, tasks and
coroutines too (see `cyclone.coroutines`); the response finishes when they
complete unless the method is decorated with `asynchronous`. When the client
disconnects before the response is finished, ``on_connection_close()`` runs
and then whatever the handler is waiting on is cancelled (the
``cancel_on_disconnect`` setting or class attribute turns that off).

This base needs only cyclone-core, so WebSocket, SSE and RPC handlers build on
it. Template, locale and static-file helpers (``render``, ``locale``,
``static_url``...) come from cyclone-web, which is imported when first used.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import hashlib
import hmac
import http.cookies
import importlib
import inspect
import math
import os
import re
import time
import traceback
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from twisted.internet import defer
from twisted.internet.error import ConnectionLost
from twisted.logger import Logger
from twisted.python.failure import Failure

from cyclone import escape, signing
from cyclone.accesslog import redact_uri
from cyclone.coroutines import as_deferred, is_awaitable
from cyclone.httputil import (
    TOKEN_RE,
    HTTPHeaders,
    HTTPInputError,
    HTTPServerRequest,
    format_timestamp,
    responses,
    url_concat,
)

__all__ = [
    "ErrorHandler",
    "Finish",
    "HTTPAuthenticationRequired",
    "HTTPError",
    "HandlerApplication",
    "MissingArgumentError",
    "RequestBodyStream",
    "RequestHandler",
    "addslash",
    "asynchronous",
    "authenticated",
    "is_safe_redirect_url",
    "removeslash",
    "stream_request_body",
]

log = Logger()
_Method = TypeVar("_Method", bound=Callable[..., Any])


class HTTPError(Exception):
    """Raise to answer with ``status_code``; ``log_message`` is logged, never shown.

    ``log_message`` may hold %-style placeholders filled from ``args``.
    ``reason`` replaces the standard reason phrase.
    """

    def __init__(
        self,
        status_code: int = 500,
        log_message: str | None = None,
        *args: Any,
        reason: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.status_code = status_code
        self.log_message = log_message
        self.args = args
        self.reason = reason
        if log_message and not args:
            self.log_message = log_message.replace("%", "%%")

    def __str__(self) -> str:
        message = (
            f"HTTP {self.status_code}: {self.reason or responses.get(self.status_code, 'Unknown')}"
        )
        if self.log_message:
            return message + " (" + (self.log_message % self.args) + ")"
        return message


class MissingArgumentError(HTTPError):
    """A required argument is missing: answered with 400."""

    def __init__(self, arg_name: str) -> None:
        super().__init__(400, "Missing argument %s", arg_name)
        self.arg_name = arg_name


class HTTPAuthenticationRequired(HTTPError):
    """Answer 401 with a ``WWW-Authenticate`` challenge (the old cyclone's API).

    ``auth_type`` is ``Basic`` or ``Digest``; extra keyword arguments become
    challenge parameters (``nonce=...``, ``qop="auth"``...).
    """

    def __init__(
        self,
        log_message: str | None = None,
        auth_type: str = "Basic",
        realm: str = "Restricted Access",
        **challenge: str,
    ) -> None:
        super().__init__(401, log_message)
        self.auth_type = auth_type
        self.realm = realm
        self.challenge = challenge

    def challenge_headers(self) -> list[str]:
        """Every ``WWW-Authenticate`` value to send (one per offered scheme or algorithm)."""
        return [self.challenge_header()]

    def challenge_header(self) -> str:
        params = [("realm", self.realm), *self.challenge.items()]
        quoted = ", ".join(
            f'{key}="{value}"' if key != "stale" and key != "algorithm" else f"{key}={value}"
            for key, value in params
        )
        return f"{self.auth_type} {quoted}"


class Finish(Exception):
    """Raise to end the request at once; an argument is written before finishing."""


_ARG_DEFAULT: Any = object()
#: What a handler's coroutine may raise once its client went away: nothing to answer then.
_CLIENT_GONE_ERRORS = (ConnectionLost, defer.CancelledError, asyncio.CancelledError)
_JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
#: Bodies above this size get no automatic ETag (the ``max_etag_body_size`` setting).
DEFAULT_MAX_ETAG_BODY_SIZE = 64 * 1024
#: The headers every response starts with (`RequestHandler.clear`).
_DEFAULT_SERVER = "cyclone"
_DEFAULT_CONTENT_TYPE = "text/html; charset=UTF-8"
_REMOVE_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")
_UNSAFE_HEADER_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: Header and cookie names are tokens (RFC 9110 §5.1, RFC 6265 §4.1.1).
_HEADER_NAME = _COOKIE_NAME = TOKEN_RE
# RFC 6265 §4.1.1: a cookie value is ASCII without controls, space, DQUOTE, comma,
# semicolon or backslash; attribute values (path, extensions) are ASCII without
# controls or semicolons; a Domain is a host name (non-ASCII ones punycoded).
_COOKIE_VALUE_FORBIDDEN = re.compile(r"[^\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]")
_COOKIE_ATTRIBUTE_VALUE = re.compile(r"[\x20-\x3a\x3c-\x7e]*")
_COOKIE_DOMAIN = re.compile(r"\.?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?")
_COOKIE_FLAGS = frozenset({"httponly", "secure", "partitioned"})
_ETAG_LIST = re.compile(r'\*|(?:W/)?"[^"]*"')
#: What browsers skip or drop where a URL starts (WHATWG URL: tab and newlines
#: anywhere, and backslash read as slash), so ``/\t/host`` is ``//host`` to them.
_LEADING_SLASHES = "/\\\t\n\r"
#: Characters that may stay as they are in a Location value: visible ASCII ("%"
#: included, so existing escapes are kept). The rest is percent-encoded as UTF-8.
_URL_SAFE_CHARACTERS = "".join(chr(code) for code in range(0x21, 0x7F))
_NOT_IN_A_SAFE_REDIRECT = re.compile(r"[\x00-\x20\x7f-\x9f]")
#: Digits accepted in the timestamp of an XSRF token: a 64-bit number has at most
#: 20, and int() on a longer string costs time before it fails.
_MAX_TIMESTAMP_DIGITS = 20


class HandlerApplication(Protocol):
    """What a handler needs of its application; `cyclone.routing.Router` is one.

    Declared here so that this module does not import the router (which
    imports the handlers it routes to).
    """

    settings: Any

    def reverse_url(self, name: str, /, *args: Any, **kwargs: Any) -> str: ...


class RequestBodyStream:
    """How the router hands a streamed body to a `stream_request_body` handler.

    Two Deferreds, in the order a request meets them: ``prepared`` fires
    once ``prepare()`` completed (or the request ended first): the server
    delivers body bytes to ``data_received`` only then, as the router
    returns it from ``headers_received``. ``complete`` fires once the whole
    body arrived: the HTTP method runs only after it.
    """

    __slots__ = ("prepared", "complete")

    def __init__(self) -> None:
        self.prepared: defer.Deferred[None] = defer.Deferred()
        self.complete: defer.Deferred[None] = defer.Deferred()

    def release_reading(self) -> None:
        """Let the body flow (prepare() completed, or the request ended before it did)."""
        if not self.prepared.called:
            self.prepared.callback(None)

    def body_complete(self) -> None:
        """The last body byte arrived (the router's delegate calls it)."""
        if not self.complete.called:
            self.complete.callback(None)


def _web_mixin(handler: RequestHandler) -> Any:
    """cyclone-web's `WebMixin` class, or a clear error naming the distribution to install."""
    try:
        return importlib.import_module("cyclone.web_features").WebMixin
    except ImportError:
        raise RuntimeError(
            f"{type(handler).__name__} needs cyclone-web for templates, locales and static "
            "files: pip install cyclone-web"
        ) from None


class RequestHandler:
    """Subclass and define ``get``/``post``/... to answer requests.

    Class attributes: ``SUPPORTED_METHODS``; ``no_keep_alive = True`` closes
    the connection after the response; ``no_xsrf = True`` skips the XSRF check
    for this handler (for API clients that are not browsers).
    """

    SUPPORTED_METHODS: tuple[str, ...] = (
        "GET",
        "HEAD",
        "POST",
        "DELETE",
        "PATCH",
        "PUT",
        "OPTIONS",
    )
    no_keep_alive = False
    no_xsrf = False
    #: Cancel the coroutine or Deferred the handler waits on when the client disconnects
    #: (None: the application's ``cancel_on_disconnect`` setting, True by default).
    cancel_on_disconnect: bool | None = None
    #: A body limit for this handler's requests, checked before the body is read
    #: (None: the application's ``max_body_size``, or ``max_form_body_size`` for
    #: urlencoded and multipart/form-data bodies).
    max_body_size: int | None = None
    _stream_request_body = False

    path_args: list[str]
    path_kwargs: dict[str, str]
    #: For a `stream_request_body` handler, how the router hands it the body; else None.
    body_stream: RequestBodyStream | None = None

    # Per-request state starts from these class-level defaults (a handler is
    # created for every request, so __init__ only sets what differs).
    _headers_written = False
    _finished = False
    _auto_finish = True
    _prepared = False
    _transforms: list[Any] | tuple[()] = ()
    _new_cookie: dict[str, http.cookies.Morsel[str]] | None = None
    #: What the lifecycle waits on (prepare, the method, the body): cancelled if the client leaves.
    _waiting_on: defer.Deferred[Any] | None = None

    def __init__(
        self, application: HandlerApplication, request: HTTPServerRequest, **kwargs: Any
    ) -> None:
        self.application = application
        self.request = request
        self.path_args = []
        self.path_kwargs = {}
        self.clear()
        if self.no_keep_alive and request.connection is not None:
            request.connection.keep_alive = False
        self.initialize(**kwargs)

    def initialize(self, **kwargs: Any) -> None:
        """Hook for the keyword arguments given with the route."""

    @property
    def settings(self) -> Any:
        """The application's settings (an ObjectDict)."""
        return self.application.settings

    # -- hooks ---------------------------------------------------------------------

    def prepare(self) -> Awaitable[None] | None:
        """Called before the HTTP method; may be async. Finishing here skips the method."""
        return None

    def on_finish(self) -> None:
        """Called after the response was sent; for cleanup and logging."""

    def on_connection_close(self) -> None:
        """Called when the client disconnects before the response is finished."""

    def set_default_headers(self) -> None:
        """Hook to set headers every response of this handler carries (errors included)."""

    def default(self, *args: Any, **kwargs: Any) -> Awaitable[None] | None:
        """Answer a request whose method the handler has no method for (cyclone 1.x's catch-all).

        Runs after ``prepare()``, with the path arguments, for a method of
        ``SUPPORTED_METHODS`` without a method of its name (HEAD uses ``get()``
        when there is one). This one answers 405 with an ``Allow`` header.
        """
        raise HTTPError(405)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        """Receive body bytes as they arrive, for `stream_request_body` handlers.

        Return a Deferred to stop reading from the socket until it fires.
        """
        raise NotImplementedError(
            f"{type(self).__name__} streams its body but has no data_received"
        )

    def notifyFinish(self) -> defer.Deferred[None]:
        """A Deferred fired when the response finished or the client disconnected."""
        return self.request.connection.notifyFinish()

    # -- status and headers --------------------------------------------------------

    def clear(self) -> None:
        """Reset headers and body to their defaults (used before error pages too)."""
        # Built as a table, fresh each time (its value lists are mutable): no names
        # to normalise, once per request.
        self._headers = HTTPHeaders.from_table(
            {
                "server": ("Server", [_DEFAULT_SERVER]),
                "content-type": ("Content-Type", [_DEFAULT_CONTENT_TYPE]),
            }
        )
        self.set_default_headers()
        self._write_buffer: list[bytes] = []
        self._status_code = 200
        self._reason = "OK"

    def set_status(self, status_code: int, reason: str | None = None) -> None:
        """Set the response status; a code without a standard reason phrase gets "Unknown".

        As in Tornado (since 5.0), any three-digit code is accepted (RFC 9110
        §15); pass ``reason`` to send a phrase of your own.
        """
        if reason is None:
            reason = responses.get(status_code, "Unknown")
        if not 100 <= status_code <= 999:
            raise ValueError(f"invalid status code {status_code}")
        if "\r" in reason or "\n" in reason:
            raise ValueError(f"unsafe reason phrase: {reason!r}")
        self._status_code = status_code
        self._reason = reason

    def get_status(self) -> int:
        return self._status_code

    def set_header(self, name: str, value: Any) -> None:
        """Set a response header, replacing any previous value."""
        self._headers[self._check_header_name(name)] = self._convert_header_value(value)

    def add_header(self, name: str, value: Any) -> None:
        """Add a response header, keeping previous values of the same name."""
        self._headers.add(self._check_header_name(name), self._convert_header_value(value))

    def clear_header(self, name: str) -> None:
        """Remove a response header (including one set by default)."""
        if name in self._headers:
            del self._headers[name]

    @staticmethod
    def _check_header_name(name: str) -> str:
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"invalid header name: {name!r}")
        return name

    @staticmethod
    def _convert_header_value(value: Any) -> str:
        if isinstance(value, str):
            text = value
        elif isinstance(value, bytes):
            text = value.decode("latin-1")
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, datetime.datetime):
            return format_timestamp(value)
        else:
            raise TypeError(f"unsupported header value {value!r}")
        if _UNSAFE_HEADER_VALUE.search(text):
            raise ValueError(f"unsafe header value (control characters): {text!r}")
        return text

    # -- arguments -----------------------------------------------------------------

    def get_argument(self, name: str, default: Any = _ARG_DEFAULT, strip: bool = True) -> Any:
        """The last value of query or body argument ``name``; 400 if missing and no default."""
        return self._get_argument(name, default, self.request.arguments, strip)

    def get_arguments(self, name: str, strip: bool = True) -> list[str]:
        """Every value of query or body argument ``name`` (possibly empty)."""
        return self._get_arguments(name, self.request.arguments, strip)

    def get_query_argument(
        self, name: str, default: Any = _ARG_DEFAULT, strip: bool = True
    ) -> Any:
        return self._get_argument(name, default, self.request.query_arguments, strip)

    def get_query_arguments(self, name: str, strip: bool = True) -> list[str]:
        return self._get_arguments(name, self.request.query_arguments, strip)

    def get_body_argument(self, name: str, default: Any = _ARG_DEFAULT, strip: bool = True) -> Any:
        return self._get_argument(name, default, self.request.body_arguments, strip)

    def get_body_arguments(self, name: str, strip: bool = True) -> list[str]:
        return self._get_arguments(name, self.request.body_arguments, strip)

    def _get_argument(self, name: str, default: Any, source: dict, strip: bool) -> Any:
        values = self._get_arguments(name, source, strip)
        if not values:
            if default is _ARG_DEFAULT:
                raise MissingArgumentError(name)
            return default
        return values[-1]

    def _get_arguments(self, name: str, source: dict, strip: bool) -> list[str]:
        result = []
        for raw in source.get(name, ()):
            value = self.decode_argument(raw, name=name)
            if isinstance(value, str):
                value = _REMOVE_CONTROL_CHARS.sub(" ", value)
                if strip:
                    value = value.strip()
            result.append(value)
        return result

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """Decode a raw argument; override to accept another encoding. Bad UTF-8 is a 400."""
        try:
            return value.decode("utf-8") if isinstance(value, bytes) else value
        except UnicodeDecodeError:
            raise HTTPError(400, "Invalid unicode in %s: %r", name or "url", value[:40])

    # -- cookies -------------------------------------------------------------------

    @property
    def cookies(self) -> dict[str, http.cookies.Morsel[str]]:
        return self.request.cookies

    def get_cookie(self, name: str, default: str | None = None) -> str | None:
        morsel = self.request.cookies.get(name)
        return morsel.value if morsel is not None else default

    def set_cookie(
        self,
        name: str,
        value: str | bytes,
        domain: str | None = None,
        expires: float | datetime.datetime | None = None,
        path: str = "/",
        expires_days: float | None = None,
        *,
        max_age: int | None = None,
        httponly: bool = False,
        secure: bool = False,
        samesite: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Set a cookie; every part is checked so no value can add attributes or headers.

        The name must be a token and the value ASCII without separators (RFC 6265
        §4.1.1; escape or sign other text). ``path``, ``domain``, ``samesite``,
        ``expires``/``expires_days``/``max_age`` and extra attributes given as
        keyword arguments (``comment=...``, ``partitioned=True``) are checked too:
        a ``;`` or control character in any of them raises ValueError naming the
        value instead of reaching the Set-Cookie header.
        """
        morsel = _cookie_morsel(name, escape.to_unicode(value))
        if domain:
            if not isinstance(domain, str) or not _COOKIE_DOMAIN.fullmatch(domain):
                raise ValueError(f"invalid cookie domain (an ASCII host name): {domain!r}")
            morsel["domain"] = domain
        if expires_days is not None and not expires:
            expires = time.time() + _finite_number("expires_days", expires_days) * 86400
        if expires:
            morsel["expires"] = _cookie_expires(expires)
        if path:
            morsel["path"] = _cookie_attribute_value("path", path)
        if max_age is not None:
            morsel["max-age"] = _max_age_value(max_age)
        if httponly or kwargs.pop("HttpOnly", False):
            morsel["httponly"] = True
        if secure:
            morsel["secure"] = True
        if samesite:
            if not isinstance(samesite, str) or samesite.lower() not in ("strict", "lax", "none"):
                raise ValueError(f"invalid SameSite value: {samesite!r}")
            morsel["samesite"] = samesite.capitalize()
        _set_cookie_extensions(morsel, kwargs)
        if self._new_cookie is None:
            self._new_cookie = {}
        self._new_cookie[name] = morsel

    def clear_cookie(
        self, name: str, path: str = "/", domain: str | None = None, **kwargs: Any
    ) -> None:
        """Tell the browser to delete a cookie (same path and domain as when it was set)."""
        self.set_cookie(
            name,
            "",
            path=path,
            domain=domain,
            expires=time.time() - 365 * 86400,
            max_age=0,
            **kwargs,
        )

    def clear_all_cookies(self, path: str = "/", domain: str | None = None) -> None:
        """Delete every cookie the request carried."""
        for name in list(self.request.cookies):
            if _COOKIE_NAME.fullmatch(name):
                self.clear_cookie(name, path=path, domain=domain)

    def create_signed_value(
        self, name: str, value: str | bytes, version: int | None = None
    ) -> bytes:
        """Sign ``value`` with the ``cookie_secret`` setting (see `cyclone.signing`).

        Tornado's format 2 by default, which Tornado reads too; ``version=1``
        writes cyclone 1.x's format. A dict ``cookie_secret`` signs with the
        ``key_version`` setting, or its newest key version when that is unset.
        """
        self.require_setting("cookie_secret", "secure cookies")
        return signing.create_signed_value(
            self.settings["cookie_secret"],
            name,
            value,
            version=version,
            key_version=self.settings.get("key_version"),
        )

    def set_signed_cookie(
        self,
        name: str,
        value: str | bytes,
        expires_days: float | None = 30,
        version: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Set a signed, timestamped cookie that `get_signed_cookie` verifies.

        ``expires_days`` is the browser's lifetime for it (None: the session);
        the other keyword arguments are `set_cookie`'s.
        """
        signed = self.create_signed_value(name, value, version=version)
        self.set_cookie(name, signed.decode("ascii"), expires_days=expires_days, **kwargs)

    #: The name of `set_signed_cookie` before Tornado 6.3, and in cyclone 1.x.
    set_secure_cookie = set_signed_cookie

    def get_signed_cookie(
        self,
        name: str,
        value: str | None = None,
        max_age_days: float = 31,
        min_version: int | None = None,
        min_key_version: int | None = None,
    ) -> bytes | None:
        """The verified value of a signed cookie, or None if missing, forged or expired.

        Reads what Tornado (formats 1 and 2), cyclone 1.x and cyclone 2 signed
        with the same ``cookie_secret``; ``min_version=2`` refuses format 1.
        """
        self.require_setting("cookie_secret", "secure cookies")
        if value is None:
            value = self.get_cookie(name)
        return signing.decode_signed_value(
            self.settings["cookie_secret"],
            name,
            value,
            max_age_days=max_age_days,
            min_version=min_version,
            min_key_version=min_key_version,
        )

    #: The name of `get_signed_cookie` before Tornado 6.3, and in cyclone 1.x.
    get_secure_cookie = get_signed_cookie

    def get_signed_cookie_key_version(self, name: str, value: str | None = None) -> int | None:
        """The key version a signed cookie was made with (None for format 1 or no cookie)."""
        self.require_setting("cookie_secret", "secure cookies")
        if value is None:
            value = self.get_cookie(name)
        return signing.get_signature_key_version(value) if value else None

    #: The name of `get_signed_cookie_key_version` before Tornado 6.3.
    get_secure_cookie_key_version = get_signed_cookie_key_version

    # -- output --------------------------------------------------------------------

    def write(self, chunk: str | bytes | dict[str, Any] | list[Any]) -> None:
        """Add to the response body; a dict (or list) is sent as JSON."""
        if self._finished:
            raise RuntimeError("cannot write() after finish()")
        if type(chunk) is bytes:
            self._write_buffer.append(chunk)
            return
        if isinstance(chunk, (dict, list)):
            chunk = escape.json_encode(chunk)
            self._headers.set_canonical("content-type", "Content-Type", _JSON_CONTENT_TYPE)
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        elif not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes str, bytes or dict; got {type(chunk).__name__}")
        self._write_buffer.append(bytes(chunk) if not isinstance(chunk, bytes) else chunk)

    def redirect(self, url: str, permanent: bool = False, status: int | None = None) -> None:
        """Redirect to ``url`` (301 if permanent, else 302, or ``status``) and finish.

        A relative ``url`` is resolved against the request path as seen from
        this host (a path starting ``//`` or ``/\\`` cannot make it name
        another host). Non-ASCII characters are percent-encoded as UTF-8, as
        browsers do, existing ``%`` escapes are kept, and a non-ASCII host name
        is sent in its IDNA (punycode) form. Never pass a URL taken from the
        request without checking it: see `get_safe_next_url`.
        """
        if self._headers_written:
            raise RuntimeError("cannot redirect after the headers were sent")
        if status is None:
            status = 301 if permanent else 302
        elif not 300 <= status <= 399:
            raise ValueError(f"redirect status must be 3xx, not {status}")
        if "\r" in url or "\n" in url or "\x00" in url:
            raise ValueError(f"refusing to redirect to a URL with control characters: {url!r}")
        location = urllib.parse.urljoin(_same_origin_path(self.request.uri), url)
        if not _names_a_host(url):
            # Resolving dot segments can leave a path starting "//" ("/.//evil.example"
            # joins to "//evil.example"): a path must stay a path on this host.
            location = _same_origin_path(location)
        self.set_status(status)
        self.set_header("Location", _encode_url(location))
        self.finish()

    def _redirect_within_origin(self, path: str, permanent: bool = False) -> None:
        """Redirect to ``path`` on this host, with the request's query string.

        For targets built from the request path (`addslash`, `removeslash`,
        static directories): leading slashes and backslashes are collapsed so
        the Location cannot name another host.
        """
        target = _same_origin_path(path)
        if self.request.query:
            target += "?" + self.request.query
        self.redirect(target, permanent=permanent)

    def get_safe_next_url(self, default: str = "/", name: str = "next") -> str:
        """The ``next`` argument if it is safe to redirect to, else ``default``.

        For login and logout handlers, which redirect to a URL the request
        names. Safe means `is_safe_redirect_url`: a path on this site, or an
        absolute http(s) URL on this request's host or on a host of the
        ``allowed_redirect_hosts`` setting (``["accounts.example.com"]``, with
        ``:port`` when not the default). Anything else (``//evil.example``,
        ``/\\evil.example``, ``https://evil.example``, ``javascript:``) gives
        ``default``, so a link to the login page cannot send users elsewhere.
        """
        url = self.get_argument(name, None)
        if url is None:
            return default
        hosts = [self.request.host, *self.settings.get("allowed_redirect_hosts", ())]
        return url if is_safe_redirect_url(url, allowed_hosts=hosts) else default

    def _apply_cookies(self) -> None:
        if self._new_cookie:
            for morsel in self._new_cookie.values():
                self._headers.add("Set-Cookie", morsel.OutputString())
            self._new_cookie = None

    def flush(self, include_footers: bool = False) -> defer.Deferred[None]:
        """Send the headers (if not yet) and the buffered body now; streams with chunked framing.

        The Deferred fires when the client's socket can take more, so a
        streaming loop can ``await self.flush()`` to respect backpressure. Once
        the client left it fails with ConnectionLost (on the next reactor
        turn, and without an "Unhandled error" log when nobody waits).
        """
        buffer = self._write_buffer
        chunk = buffer[0] if len(buffer) == 1 else b"".join(buffer)
        self._write_buffer = []
        connection = self.request.connection
        if not include_footers and getattr(connection, "client_disconnected", False):
            # Tornado fails a flush to a closed stream; a streaming loop awaiting it
            # stops here, and a fire-and-forget flush() logs nothing.
            failed: defer.Deferred[None] = connection.failed_write()
            return failed
        if not self._headers_written:
            if self._new_cookie:
                self._apply_cookies()
            status, headers = self._status_code, self._headers
            for transform in self._transforms:
                status, headers, chunk = transform.transform_first_chunk(
                    status, headers, chunk, include_footers
                )
            if self.request.method == "HEAD":
                chunk = b""
            # Marked written only once the connection took the head: a head it
            # refuses (a value that is not Latin-1, a CR or LF) raises here and
            # the error path can still answer with a 500 page.
            drained = connection.write_headers(status, self._reason, headers, chunk)
            self._headers_written = True
            return drained
        for transform in self._transforms:
            chunk = transform.transform_chunk(chunk, include_footers)
        if self.request.method == "HEAD":
            return defer.succeed(None)
        return connection.write(chunk)

    def finish(
        self, chunk: str | bytes | dict[str, Any] | list[Any] | None = None
    ) -> defer.Deferred[None]:
        """Finish the response, writing ``chunk`` first; computes ETag and Content-Length."""
        if self._finished:
            raise RuntimeError("finish() called twice")
        if chunk is not None:
            self.write(chunk)
        if not self._headers_written:
            status = self._status_code
            header_values = self._headers.table
            if (
                status == 200
                and self.request.method in ("GET", "HEAD")
                and "etag" not in header_values
            ):
                self.set_etag_header()
                if self.check_etag_header():
                    self._write_buffer = []
                    self.set_status(304)
                    status = 304
            if status in (204, 304) or 100 <= status < 200:
                if self._write_buffer and any(self._write_buffer):
                    raise RuntimeError(f"cannot send a body with a {status} response")
                self._write_buffer = []
                for name in ("Content-Type", "Content-Length", "Transfer-Encoding"):
                    self.clear_header(name)
            elif "content-length" not in header_values:
                length = str(sum(map(len, self._write_buffer)))
                self._headers.set_canonical("content-length", "Content-Length", length)
        d = self.flush(include_footers=True)
        self.request.connection.finish()
        self._finished = True
        if self.body_stream is not None:
            self.body_stream.release_reading()
        log_request = getattr(self.application, "log_request", None)  # _log(), inline
        if log_request is not None:
            log_request(self)
        self._call_on_finish()
        return d

    def _call_on_finish(self) -> None:
        """Run the `on_finish` hook, then drop the web mixin's ``ui``, which refers back to us.

        What the hook raises is logged: the response is already out.
        """
        try:
            self.on_finish()
        except Exception:
            log.failure("on_finish raised in {handler}", handler=type(self).__name__)
        self.__dict__.pop("_ui", None)

    def _log(self) -> None:
        log_request = getattr(self.application, "log_request", None)
        if log_request is not None:
            log_request(self)

    def detach(self, protocol: Any) -> Any:
        """Mark the handler finished and give the socket to ``protocol`` (after a 101)."""
        self._finished = True
        self._headers_written = True
        transport = self.request.connection.detach(protocol)
        self._log()
        return transport

    # -- errors --------------------------------------------------------------------

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Answer with an error page made by `write_error`.

        ``exc_info`` in kwargs is the exception being handled; when the
        headers were already sent, the connection is closed instead.
        """
        if self._headers_written:
            log.error("cannot send error {status}: the response has started", status=status_code)
            if not self._finished:
                try:
                    self.finish()
                except Exception:
                    log.failure("finishing after an error failed")
                self.request.connection.keep_alive = False
            return
        self.clear()
        reason = kwargs.get("reason")
        exc_info = kwargs.get("exc_info")
        if exc_info is not None:
            exception = exc_info[1]
            if isinstance(exception, HTTPError) and exception.reason:
                reason = exception.reason
            if isinstance(exception, HTTPAuthenticationRequired):
                for challenge in exception.challenge_headers():
                    self.add_header("WWW-Authenticate", challenge)
        self.set_status(status_code, reason=reason)
        if status_code == 405:
            # RFC 9110 §15.5.6: a 405 must say which methods are allowed.
            self.set_header("Allow", ", ".join(self._allowed_methods()))
        try:
            self.write_error(status_code, **kwargs)
        except Exception:
            log.failure("write_error failed")
        if not self._finished:
            try:
                self.finish()
            except Exception:
                if self._headers_written:
                    raise
                log.failure("the {status} error page could not be sent", status=status_code)
                self._finish_bare_error(status_code)

    def _finish_bare_error(self, status_code: int) -> None:
        """Answer ``status_code`` with no header of the handler's: one of them was refused."""
        self._headers = HTTPHeaders()
        self._new_cookie = None
        self._write_buffer = []
        self._transforms = ()
        self._status_code = status_code
        self._reason = responses.get(status_code, "Unknown")
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Write the error page; override for custom pages. Tracebacks only in ``debug``."""
        if (
            self.settings.get("serve_traceback", self.settings.get("debug"))
            and "exc_info" in kwargs
        ):
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            for line in traceback.format_exception(*kwargs["exc_info"]):
                self.write(line)
            return
        message = escape.xhtml_escape(self._reason)
        self.finish(
            f"<html><title>{status_code}: {message}</title>"
            f"<body>{status_code}: {message}</body></html>"
        )

    def _handle_request_exception(
        self, error: BaseException, exc_info: tuple | None = None
    ) -> None:
        if isinstance(error, Finish):
            if not self._finished:
                self.finish(*error.args)
            return
        if isinstance(error, HTTPInputError):
            # A malformed form body (or too many fields), found when the
            # arguments were first read: the client's fault, as in Tornado.
            bad_request = HTTPError(400, "%s", error)
            bad_request.__cause__ = error
            error, exc_info = bad_request, (HTTPError, bad_request, error.__traceback__)
        if exc_info is None:
            exc_info = (type(error), error, error.__traceback__)
        if isinstance(error, _CLIENT_GONE_ERRORS) and getattr(
            self.request.connection, "client_disconnected", False
        ):
            # The client went away while the handler waited on it: nothing to
            # answer, but the request still ends (on_finish runs, as after finish()).
            log.debug("client disconnected during {summary}", summary=self._request_summary())
            if not self._finished:
                self._finished = True
                if self.body_stream is not None:
                    self.body_stream.release_reading()
                self._call_on_finish()
            return
        if self._finished:
            log.failure(
                "exception after the response finished", Failure(error, exc_info[0], exc_info[2])
            )
            return
        self.log_exception(*exc_info)
        if isinstance(error, HTTPError):
            self.send_error(error.status_code, exc_info=exc_info)
        else:
            self.send_error(500, exc_info=exc_info)

    def _client_disconnected(self) -> None:
        """The client went away: tell ``on_connection_close``, then cancel what we wait on."""
        try:
            self.on_connection_close()
        except Exception:
            log.failure("on_connection_close raised in {handler}", handler=type(self).__name__)
        waiting_on = self._waiting_on
        if waiting_on is None or waiting_on.called or self._finished:
            return
        cancel = self.cancel_on_disconnect
        if cancel is None:
            cancel = self.settings.get("cancel_on_disconnect", True)
        if cancel:
            waiting_on.cancel()

    def _handle_failure(self, failure: Failure) -> None:
        error = failure.value
        assert error is not None
        traceback_object = failure.getTracebackObject()
        self._handle_request_exception(error, (failure.type, error, traceback_object))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log an exception that ends the request; override to log elsewhere (as in Tornado).

        An `HTTPError` logs its ``log_message`` as a warning (none without
        one); anything else logs the traceback.
        """
        if isinstance(value, HTTPError):
            if value.log_message:
                log.warn(
                    "{status} {summary}: {message}",
                    status=value.status_code,
                    summary=self._request_summary(),
                    message=value.log_message % value.args,
                )
            return
        log.failure(
            "Uncaught exception {summary}",
            Failure(value, typ, tb),
            summary=self._request_summary(),
        )

    def _request_summary(self) -> str:
        uri = redact_uri(self.request.uri)
        return f"{self.request.method} {uri} ({self.request.remote_ip})"

    # -- users, settings, URLs -----------------------------------------------------

    @property
    def current_user(self) -> Any:
        """The logged-in user, from `get_current_user` (computed once per request)."""
        if not hasattr(self, "_current_user"):
            self._current_user = self.get_current_user()
        return self._current_user

    @current_user.setter
    def current_user(self, value: Any) -> None:
        self._current_user = value

    def get_current_user(self) -> Any:
        """Override to identify the user (from a secure cookie, a header...)."""
        return None

    def get_login_url(self) -> str:
        self.require_setting("login_url", "@authenticated")
        return self.settings["login_url"]

    def require_setting(self, name: str, feature: str = "this feature") -> None:
        """Raise a clear error when an application setting a feature needs is missing."""
        if not self.settings.get(name):
            raise Exception(
                f"You must define the '{name}' setting in your application to use {feature}"
            )

    def reverse_url(self, name: str, /, *args: Any, **kwargs: Any) -> str:
        """The path of the route called ``name``, its groups filled with ``args`` (or ``kwargs``)."""
        return self.application.reverse_url(name, *args, **kwargs)

    # -- ETags ---------------------------------------------------------------------

    def compute_etag(self) -> str | None:
        """An ETag for the buffered body (a SHA-1 of it); return None to disable ETags.

        Bodies larger than the ``max_etag_body_size`` setting (64 KiB by
        default; None hashes every size) get none: hashing costs about as
        much as sending them. Set an ``Etag`` header yourself for those, or
        raise the setting when revalidating large bodies is worth it.
        """
        buffer = self._write_buffer
        limit = self.settings.get("max_etag_body_size", DEFAULT_MAX_ETAG_BODY_SIZE)
        if limit is not None and sum(map(len, buffer)) > limit:
            return None
        if len(buffer) == 1:
            return f'"{hashlib.sha1(buffer[0]).hexdigest()}"'
        hasher = hashlib.sha1()
        for part in buffer:
            hasher.update(part)
        return f'"{hasher.hexdigest()}"'

    def set_etag_header(self) -> None:
        etag = self.compute_etag()
        if etag is not None:
            self._headers.set_canonical("etag", "Etag", self._convert_header_value(etag))

    def check_etag_header(self) -> bool:
        """True when If-None-Match matches our ETag (weak comparison, RFC 9110 §13.1.2)."""
        entry = self.request.headers.table.get("if-none-match")
        if entry is None:
            return False
        header = ",".join(entry[1])
        if not header:
            return False
        etag = self._headers.get("Etag")
        if not etag:
            return False
        tags = _ETAG_LIST.findall(header)
        if "*" in tags:
            return True
        ours = etag[2:] if etag.startswith("W/") else etag
        return any((tag[2:] if tag.startswith("W/") else tag) == ours for tag in tags)

    # -- XSRF ----------------------------------------------------------------------

    @property
    def xsrf_token(self) -> bytes:
        """This request's XSRF token, masked anew per request (BREACH resistance).

        The unmasked token lives in the ``_xsrf`` cookie; the value given to
        pages is ``2|mask|token XOR mask|timestamp`` in hex.
        """
        if not hasattr(self, "_xsrf_token"):
            token, timestamp = self._get_raw_xsrf_token()
            mask = os.urandom(4)
            masked = bytes(a ^ b for a, b in zip(token, mask * (len(token) // 4 + 1)))
            self._xsrf_token = b"|".join(
                [b"2", mask.hex().encode(), masked.hex().encode(), str(int(timestamp)).encode()]
            )
            if self._xsrf_cookie_is_new:
                cookie_kwargs = dict(self.settings.get("xsrf_cookie_kwargs", {}))
                cookie_kwargs.setdefault("samesite", "Lax")
                self.set_cookie(
                    self.settings.get("xsrf_cookie_name", "_xsrf"),
                    self._xsrf_token.decode(),
                    expires_days=cookie_kwargs.pop("expires_days", None),
                    **cookie_kwargs,
                )
        return self._xsrf_token

    def _get_raw_xsrf_token(self) -> tuple[bytes, float]:
        self._xsrf_cookie_is_new = False
        cookie = self.get_cookie(self.settings.get("xsrf_cookie_name", "_xsrf"))
        decoded = _decode_xsrf_token(cookie) if cookie else None
        if decoded is None:
            self._xsrf_cookie_is_new = True
            return os.urandom(16), time.time()
        return decoded

    def check_xsrf_cookie(self) -> None:
        """Refuse (403) a state-changing request whose form or header token does not match the cookie.

        The cheap checks come first so that a forged request never costs a
        form parse: without a decodable ``_xsrf`` cookie the answer is 403
        at once, and a matching ``X-Xsrftoken``/``X-Csrftoken`` header is
        enough. Only then is the ``_xsrf`` argument read, which parses the
        body; a handler without a method for the request (it will answer
        405) is checked against the query string only.
        """
        cookie = self.get_cookie(self.settings.get("xsrf_cookie_name", "_xsrf"))
        expected = _decode_xsrf_token(cookie) if cookie else None
        headers = self.request.headers
        header_token = headers.get("X-Xsrftoken") or headers.get("X-Csrftoken")
        if expected is None:
            if header_token:
                raise HTTPError(403, "XSRF cookie missing or malformed")
            raise HTTPError(403, "'_xsrf' argument missing from POST (and no XSRF cookie)")
        if header_token and _xsrf_token_matches(header_token, expected):
            return
        if self._has_method_for_request():
            token = self.get_argument("_xsrf", None)
        else:
            token = self.get_query_argument("_xsrf", None)
        if not token and not header_token:
            raise HTTPError(403, "'_xsrf' argument missing from POST")
        if not token or not _xsrf_token_matches(token, expected):
            raise HTTPError(403, "XSRF cookie does not match POST argument")

    def _has_method_for_request(self) -> bool:
        """True when a method of the handler answers this request (else it answers 405).

        An overridden `default` answers every method the handler has no method for.
        """
        name = self.request.method.lower()
        return (
            hasattr(self, name)
            or (name == "head" and hasattr(self, "get"))
            or type(self).default is not RequestHandler.default
        )

    def xsrf_form_html(self) -> str:
        """A hidden ``<input>`` carrying the XSRF token, for HTML forms."""
        token = escape.xhtml_escape(self.xsrf_token)
        return f'<input type="hidden" name="_xsrf" value="{token}"/>'

    # -- cyclone-web's methods, for handlers on this base --------------------------------
    # cyclone.web.RequestHandler gets these from cyclone.web_features.WebMixin, listed
    # before this class. Every cyclone 1.x handler could render, so handlers on the
    # core base (WebSocket, SSE, RPC) keep these names: each calls the mixin's method
    # bound to this handler, or says which distribution to install.

    def render(self, template_name: str, **kwargs: Any) -> Any:
        """Render a template and finish with it (cyclone-web's `WebMixin.render`)."""
        return _web_mixin(self).render(self, template_name, **kwargs)

    def render_string(self, template_name: str, **kwargs: Any) -> Any:
        """Render a template to bytes (cyclone-web's `WebMixin.render_string`)."""
        return _web_mixin(self).render_string(self, template_name, **kwargs)

    def render_linked_js(self, js_files: Iterable[str]) -> Any:
        return _web_mixin(self).render_linked_js(self, js_files)

    def render_embed_js(self, js_embed: Iterable[Any]) -> Any:
        return _web_mixin(self).render_embed_js(self, js_embed)

    def render_linked_css(self, css_files: Iterable[str]) -> Any:
        return _web_mixin(self).render_linked_css(self, css_files)

    def render_embed_css(self, css_embed: Iterable[Any]) -> Any:
        return _web_mixin(self).render_embed_css(self, css_embed)

    def get_template_namespace(self) -> dict[str, Any]:
        return _web_mixin(self).get_template_namespace(self)

    def get_template_path(self) -> str | None:
        return _web_mixin(self).get_template_path(self)

    def create_template_loader(self, template_path: str) -> Any:
        return _web_mixin(self).create_template_loader(self, template_path)

    @property
    def ui(self) -> Any:
        """The UI methods and ``ui.modules`` (cyclone-web's `WebMixin.ui`)."""
        return _web_mixin(self).ui.fget(self)

    @property
    def locale(self) -> Any:
        """The user's locale (cyclone-web's `WebMixin.locale`)."""
        return _web_mixin(self).locale.fget(self)

    @locale.setter
    def locale(self, value: Any) -> None:
        self.__dict__["_locale"] = value

    def get_user_locale(self) -> Any:
        """Override to choose the locale (e.g. from a cookie); None means use the browser's."""
        return None

    def get_browser_locale(self, default: str = "en_US") -> Any:
        return _web_mixin(self).get_browser_locale(self, default)

    def static_url(self, path: str, include_host: bool | None = None, **kwargs: Any) -> str:
        """The versioned URL of a static file (cyclone-web's `WebMixin.static_url`)."""
        return _web_mixin(self).static_url(self, path, include_host, **kwargs)

    # -- the lifecycle -------------------------------------------------------------

    def _execute(
        self, transforms: list[Any] | tuple[()], *args: bytes | str, **kwargs: bytes | str
    ) -> Any:
        """Run one request: checks, prepare, the method, finish; errors become responses.

        Runs synchronously as long as nothing returns a Deferred or coroutine,
        and continues asynchronously from the first one that does.
        """
        self._transforms = transforms
        if self._stream_request_body:
            self.body_stream = RequestBodyStream()
        try:
            method = self.request.method
            if method not in self.SUPPORTED_METHODS:
                raise HTTPError(405)
            if args:
                self.path_args = [
                    self.decode_argument(a) if isinstance(a, bytes) else a for a in args
                ]
            if kwargs:
                self.path_kwargs = {
                    k: self.decode_argument(v, name=k) if isinstance(v, bytes) else v
                    for k, v in kwargs.items()
                }
            if (
                method not in ("GET", "HEAD", "OPTIONS")
                and self.settings.get("xsrf_cookies")
                and not self.no_xsrf
            ):
                self.check_xsrf_cookie()
            result = self.prepare()
            if result is not None and is_awaitable(result):
                d = self._waiting_on = as_deferred(result)
                d.addCallback(self._after_prepare)
                d.addErrback(self._handle_failure)
                return d
            if self.body_stream is not None or self._finished:
                return self._after_prepare(None)
            # What _after_prepare and _run_method do for a synchronous prepare()
            # without a streamed body, in this one try: two calls less per request.
            self._prepared = True
            return self._call_method()
        except Exception as error:
            self._handle_request_exception(error)
            return None

    def _after_prepare(self, _: Any) -> Any:
        self._prepared = True
        stream = self.body_stream
        if stream is not None:
            stream.release_reading()
            if not self._finished and not stream.complete.called:
                d: defer.Deferred[Any] = defer.Deferred()
                self._waiting_on = d
                stream.complete.addCallback(lambda _: d.callback(None) if not d.called else None)
                d.addCallback(self._run_method)
                d.addErrback(self._handle_failure)
                return d
        if self._finished:
            return None
        return self._run_method(None)

    def _run_method(self, _: Any) -> Any:
        try:
            if self._finished:
                return None
            return self._call_method()
        except Exception as error:
            self._handle_request_exception(error)
        return None

    def _call_method(self) -> Any:
        """Call the HTTP method; finish after it, now or once what it returned completes.

        Returns that Deferred, or None once the method ran synchronously.
        What the method raises is the caller's to handle.
        """
        method_name = self.request.method.lower()
        method = getattr(self, method_name, None)
        if method is None and method_name == "head":
            method = getattr(self, "get", None)
        if method is None:
            method = self.default
        result = method(*self.path_args, **self.path_kwargs)
        if result is not None:
            if is_awaitable(result):
                d = self._waiting_on = as_deferred(result)
                d.addCallback(self._after_method)
                d.addErrback(self._handle_failure)
                return d
            raise TypeError(f"{method_name}() returned {result!r}; expected None or awaitable")
        if self._auto_finish and not self._finished:
            self.finish()
        return None

    def _after_method(self, _: Any) -> None:
        if self._auto_finish and not self._finished:
            self.finish()

    def _allowed_methods(self) -> list[str]:
        allowed = []
        for method in self.SUPPORTED_METHODS:
            if method == "HEAD" and hasattr(self, "get"):
                allowed.append(method)
            elif hasattr(self, method.lower()):
                allowed.append(method)
        return allowed


def _xsrf_token_matches(token: str | bytes, expected: tuple[bytes, float]) -> bool:
    """True when ``token`` decodes to the same secret as the cookie's (constant time)."""
    submitted = _decode_xsrf_token(token)
    return submitted is not None and hmac.compare_digest(submitted[0], expected[0])


def _decode_xsrf_token(token: str | bytes) -> tuple[bytes, float] | None:
    """Unmask an XSRF token (``2|mask|masked|ts`` or a bare hex token); None if malformed."""
    text = escape.to_unicode(token)
    try:
        if text.startswith("2|"):
            _, mask_hex, masked_hex, timestamp = text.split("|")
            mask = bytes.fromhex(mask_hex)
            masked = bytes.fromhex(masked_hex)
            if len(mask) != 4 or not masked:
                return None
            if not (timestamp.isdigit() and timestamp.isascii()):
                return None
            if len(timestamp) > _MAX_TIMESTAMP_DIGITS:
                return None
            raw = bytes(a ^ b for a, b in zip(masked, mask * (len(masked) // 4 + 1)))
            return raw, float(int(timestamp))
        raw = bytes.fromhex(text)
        return (raw, 0.0) if raw else None
    except ValueError:
        return None


def _cookie_morsel(name: str, value: str) -> http.cookies.Morsel[str]:
    """A Morsel for a cookie whose name is a token and value is ASCII without separators."""
    if not isinstance(name, str) or not _COOKIE_NAME.fullmatch(name):
        raise ValueError(f"invalid cookie name: {name!r}")
    if _COOKIE_VALUE_FORBIDDEN.search(value):
        raise ValueError(
            f"invalid cookie value (only ASCII without separators or controls): {value!r}"
        )
    morsel: http.cookies.Morsel[str] = http.cookies.Morsel()
    morsel.set(name, value, value)
    return morsel


def _cookie_expires(expires: Any) -> str:
    """An Expires attribute from a timestamp, a datetime or a time tuple."""
    if isinstance(expires, (int, float)):
        expires = _finite_number("expires", expires)
    elif not isinstance(expires, (datetime.datetime, tuple, time.struct_time)):
        raise ValueError(f"invalid cookie expires (a timestamp or datetime): {expires!r}")
    return format_timestamp(expires)


def _set_cookie_extensions(morsel: http.cookies.Morsel[str], extensions: dict[str, Any]) -> None:
    """Set extra attributes given as keyword arguments (``comment=...``, ``partitioned=True``).

    Flags take booleans, other attributes checked values; an attribute the
    Morsel does not know is refused.
    """
    for key, extra in extensions.items():
        attribute = key.replace("_", "-").lower()
        if attribute in _COOKIE_FLAGS or isinstance(extra, bool):
            if attribute not in _COOKIE_FLAGS:
                raise ValueError(f"cookie attribute {key!r} takes a value, not {extra!r}")
            if not extra:
                continue
        else:
            extra = _cookie_attribute_value(key, extra)
        try:
            morsel[attribute] = extra
        except http.cookies.CookieError:
            raise ValueError(f"unknown cookie attribute: {key!r}") from None


def _finite_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"invalid cookie {name} (a finite number): {value!r}")
    return value


def _max_age_value(value: Any) -> str:
    """Max-Age as Tornado accepts it (an int, or its text) but nothing else (RFC 6265 §4.1.1)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,20}", value):
        return value
    raise ValueError(f"invalid cookie max_age (an integer): {value!r}")


def _cookie_attribute_value(name: str, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if not _COOKIE_ATTRIBUTE_VALUE.fullmatch(text):
        raise ValueError(
            f"invalid cookie {name} (ASCII without ';' or control characters): {value!r}"
        )
    return text


# -- redirects -------------------------------------------------------------------------


def is_safe_redirect_url(url: str, allowed_hosts: Iterable[str] = ()) -> bool:
    """True when redirecting a browser to ``url`` keeps it on this site.

    For URLs a request names, such as the ``next`` argument of a login form,
    which an attacker can point at their own site (an open redirect). Safe:

    - a path on this site: it starts with a single ``/``, not ``//`` and not
      ``/\\`` (browsers read a backslash as a slash, so both name a host);
    - an absolute ``http``/``https`` URL whose host (``host`` or
      ``host:port``, compared case-insensitively) is in ``allowed_hosts``,
      with no user name (``https://site.example@evil.example``).

    Anything with whitespace or control characters (browsers drop tabs and
    newlines, so ``/\\t/evil.example`` is ``//evil.example`` to them), relative
    references (``account``, ``?x=1``), other schemes (``javascript:``) and
    scheme-relative URLs are refused. See `RequestHandler.get_safe_next_url`,
    which allows the request's own host and the ``allowed_redirect_hosts``
    setting.
    """
    if not isinstance(url, str) or not url:
        return False
    if _NOT_IN_A_SAFE_REDIRECT.search(url) or any(character.isspace() for character in url):
        return False
    as_browsers_read_it = url.replace("\\", "/")
    if as_browsers_read_it.startswith("/"):
        if as_browsers_read_it.startswith("//"):
            return False
        # Dot segments must not climb to a "//" start either ("/.//evil.example"):
        # browsers keep that a path, but code that joins URLs as text does not.
        return not urllib.parse.urljoin("/", as_browsers_read_it).startswith("//")
    try:
        parts = urllib.parse.urlsplit(as_browsers_read_it)
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return False
    host = parts.netloc.lower()
    return any(host == allowed.lower() for allowed in allowed_hosts)


def _same_origin_path(path: str) -> str:
    """``path`` with its leading run of slashes, backslashes, tabs and newlines made one ``/``.

    A URL built from the request path (``//evil.example/`` with its slash
    removed, or a relative redirect resolved against it) then stays a path on
    this host instead of naming another one.
    """
    return "/" + path.lstrip(_LEADING_SLASHES)


def _names_a_host(url: str) -> bool:
    """True for an absolute (``scheme:``) or scheme-relative (``//host``) URL."""
    return url.startswith("//") or bool(urllib.parse.urlsplit(url).scheme)


def _encode_url(url: str) -> str:
    """Percent-encode ``url`` for a Location header as browsers encode what they send.

    Non-ASCII characters, spaces and controls become UTF-8 ``%XX`` escapes;
    existing escapes are kept; a non-ASCII host becomes its IDNA (punycode)
    form, which every client understands (a percent-encoded host is understood
    only by browsers).
    """
    if url.isascii() and not _NOT_IN_A_SAFE_REDIRECT.search(url):
        return url
    parts = urllib.parse.urlsplit(url)
    if parts.netloc and not parts.netloc.isascii():
        userinfo, at, host_port = parts.netloc.rpartition("@")
        host, colon, port = host_port.partition(":")
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as error:
            raise ValueError(f"cannot encode the host of {url!r} for a redirect: {error}")
        url = urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}{colon}{port}"))
    return urllib.parse.quote(url, safe=_URL_SAFE_CHARACTERS)


class ErrorHandler(RequestHandler):
    """Answers every request with the ``status_code`` given in the route's kwargs."""

    def initialize(self, status_code: int = 404) -> None:  # type: ignore[override]
        self.set_status(status_code)

    def prepare(self) -> None:
        raise HTTPError(self._status_code)

    def check_xsrf_cookie(self) -> None:
        pass


# -- decorators ----------------------------------------------------------------------


def asynchronous(method: _Method) -> _Method:
    """Keep the request open after the method returns, until it calls ``self.finish()``."""

    @functools.wraps(method)
    def wrapper(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
        self._auto_finish = False
        result = method(self, *args, **kwargs)
        if isinstance(result, defer.Deferred) or inspect.iscoroutine(result):
            d = self._waiting_on = as_deferred(result)
            d.addErrback(self._handle_failure)
            return None
        return result

    return wrapper  # type: ignore[return-value]


def authenticated(method: _Method) -> _Method:
    """Require ``current_user``: redirect GET/HEAD to ``login_url``, answer 403 otherwise.

    Put it above ``@defer.inlineCallbacks`` so the check runs before the generator starts.
    """

    @functools.wraps(method)
    def wrapper(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
        if not self.current_user:
            if self.request.method in ("GET", "HEAD"):
                url = self.get_login_url()
                if "?" not in url:
                    next_url = _same_origin_path(self.request.uri)
                    if urllib.parse.urlsplit(url).scheme:
                        next_url = f"{self.request.protocol}://{self.request.host}{next_url}"
                    url = url_concat(url, {"next": next_url})
                self.redirect(url)
                return None
            raise HTTPError(403)
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def addslash(method: _Method) -> _Method:
    """Redirect ``/foo`` to ``/foo/`` (GET/HEAD, 301; other methods get 404)."""
    return _slash_redirect(method, lambda path: None if path.endswith("/") else path + "/")


def removeslash(method: _Method) -> _Method:
    """Redirect ``/foo/`` to ``/foo`` (GET/HEAD, 301; other methods get 404)."""
    return _slash_redirect(
        method, lambda path: (path.rstrip("/") or "/") if path.endswith("/") else None
    )


def _slash_redirect(method: _Method, fix_path: Callable[[str], str | None]) -> _Method:
    """Wrap ``method`` to redirect GET/HEAD (301) to ``fix_path(path)`` unless that is None.

    Other methods get 404, as a body cannot follow a redirect. The target
    stays on this host whatever the request path is: ``//evil.example/``
    goes to ``/evil.example``, never to a scheme-relative URL.
    """

    @functools.wraps(method)
    def wrapper(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
        target = fix_path(self.request.path)
        if target is None or target == self.request.path:
            return method(self, *args, **kwargs)
        if self.request.method not in ("GET", "HEAD"):
            raise HTTPError(404)
        self._redirect_within_origin(target, permanent=True)
        return None

    return wrapper  # type: ignore[return-value]


_HandlerClass = TypeVar("_HandlerClass", bound=type[RequestHandler])


def stream_request_body(cls: _HandlerClass) -> _HandlerClass:
    """Class decorator: deliver the body to ``data_received(chunk)`` as it arrives.

    ``prepare()`` runs when the headers arrive (raise the body limit there
    with ``self.request.connection.set_max_body_size(n)``); the HTTP method
    runs once the whole body was received. Nothing is buffered by cyclone.
    """
    if not issubclass(cls, RequestHandler):
        raise TypeError(f"expected a RequestHandler subclass, got {cls!r}")
    cls._stream_request_body = True
    return cls
