"""An asynchronous HTTP client on treq: ``fetch``, Tornado's ``AsyncHTTPClient``, JSON-RPC.

Needs the ``client`` extra: ``pip install "cyclone-web[client]"`` (treq, and
through it pyOpenSSL for HTTPS); so does `cyclone.auth`, which talks to identity
providers through it. Without it, importing either raises an ImportError that
says so.

    from twisted.internet import defer, task
    from cyclone.httpclient import JsonRPC, fetch

    async def main(reactor):
        response = await fetch("https://example.org/", timeout=10)
        print(response.code, response.headers["Content-Type"], len(response.body))
        data = (await fetch("http://127.0.0.1:8888/api", method="POST",
                            postdata=b'{"q": 1}',
                            headers={"Content-Type": "application/json"})).json()
        result = await JsonRPC("http://127.0.0.1:8888/jsonrpc").callRemote("add", 1, 2)

    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))

`fetch` returns a Deferred firing with an `HTTPResponse` (``code``,
``reason``, ``headers``, ``body``, ``json()``, ``effective_url``) whatever the
status — call ``raise_for_status()`` to turn 4xx/5xx into `HTTPClientError`,
as the old cyclone client returned every response too. HTTPS certificates are
verified against the system's trust roots (or ``ca_certs``) and the host name
by Twisted's browser-like policy (service-identity); ``validate_cert=False``
turns that off for tests against self-signed servers. Large bodies can be
streamed with ``streaming_callback`` instead of being kept in memory, and a
buffered body larger than ``max_body_size`` is refused.

Each call uses a fresh, non-persistent connection unless you pass a
``pool`` (a ``twisted.web.client.HTTPConnectionPool``), for keep-alive. That
fresh connection's factory is quiet: a ``fetch`` logs nothing by itself (Twisted
would log "Starting factory" and "Stopping factory" for every call).
``proxy="http://host:3128"`` sends the request through an HTTP proxy (CONNECT
for https).

`AsyncHTTPClient` and `HTTPRequest` are Tornado's API over the same ``fetch``, with
Tornado's defaults: redirects followed, a final status outside 2xx raised as
`HTTPClientError` (``raise_error=False`` returns it), 20 s timeouts.

From cyclone 1.x: redirects are not followed unless ``follow_redirects=True``
(or ``followRedirect=True``), a POST without Content-Type is sent as a form,
``proxy=(host, port)``, and the names `StringProducer`, `Receiver`, ``agent``
and ``proxy_agent`` for code driving Twisted's Agent itself.
"""

from __future__ import annotations

import base64
import itertools
import json
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import defer
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web import client as web_client
from twisted.web import http as web_http
from twisted.web.error import InfiniteRedirection
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer, IPolicyForHTTPS
from zope.interface import implementer

from cyclone import escape
from cyclone._httpproxy import ProxyAddress, ProxyError, parse_proxy
from cyclone.httputil import HTTPHeaders

try:
    import treq
    from treq.client import HTTPClient
except ImportError as error:  # pragma: no cover - exercised by tools/check_wheels.py
    raise ImportError(
        f"cyclone.httpclient (and cyclone.auth, which uses it) needs treq ({error}): "
        "pip install 'cyclone-web[client]'"
    ) from error

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "AsyncHTTPClient",
    "HTTPClientError",
    "HTTPRequest",
    "HTTPResponse",
    "HTTPTimeoutError",
    "JsonRPC",
    "JsonRPCError",
    "ProxyError",
    "Receiver",
    "StringProducer",
    "TooManyRedirects",
    "fetch",
]

#: Default limit of a buffered response body; stream larger ones (bytes).
DEFAULT_MAX_BODY_SIZE = 100 * 1024 * 1024
#: Default limit for the whole exchange: connect, send, headers and body (seconds).
DEFAULT_TIMEOUT = 60.0


class HTTPClientError(Exception):
    """A request failed: a 4xx/5xx given to ``raise_for_status``, a body too large, etc."""

    def __init__(self, message: str, response: HTTPResponse | None = None) -> None:
        super().__init__(message)
        self.response = response

    @property
    def code(self) -> int | None:
        return self.response.code if self.response is not None else None


class HTTPTimeoutError(HTTPClientError, TimeoutError):
    """The whole exchange did not finish within ``timeout`` seconds."""


class TooManyRedirects(HTTPClientError):
    """More than ``max_redirects`` redirects were followed."""


class HTTPResponse:
    """A complete response: status, headers and (unless streamed) the body."""

    def __init__(
        self,
        code: int,
        reason: str,
        headers: HTTPHeaders,
        body: bytes,
        effective_url: str,
        request_url: str,
    ) -> None:
        self.code = code
        self.reason = reason
        self.headers = headers
        self.body = body
        #: The URL that answered, after redirects.
        self.effective_url = effective_url
        self.request_url = request_url

    @property
    def phrase(self) -> str:
        """The reason phrase (Twisted's name)."""
        return self.reason

    @property
    def text(self) -> str:
        """The body decoded with the Content-Type charset (UTF-8 by default)."""
        charset = "utf-8"
        content_type = self.headers.get("Content-Type", "")
        for parameter in content_type.split(";")[1:]:
            name, _, value = parameter.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip('"')
        return self.body.decode(charset, "replace")

    def json(self) -> Any:
        """The body parsed as JSON (ValueError if it is not)."""
        return json.loads(self.body)

    @property
    def error(self) -> HTTPClientError | None:
        """An `HTTPClientError` for a 4xx or 5xx status, else None.

        True-ish exactly when cyclone 1.x's boolean ``response.error`` was True.
        """
        if self.code >= 400:
            return HTTPClientError(
                f"HTTP {self.code} {self.reason} from {self.effective_url}", self
            )
        return None

    @property
    def length(self) -> int:
        """The number of body bytes received (cyclone 1.x's ``response.length``)."""
        return len(self.body)

    def raise_for_status(self) -> HTTPResponse:
        """Raise `HTTPClientError` for a 4xx or 5xx status; return self otherwise."""
        error = self.error
        if error is not None:
            raise error
        return self

    def __repr__(self) -> str:
        return f"<HTTPResponse {self.code} {self.effective_url} {len(self.body)} bytes>"


@implementer(IBodyProducer)
class StringProducer:
    """A request body held in memory, for Twisted's ``Agent.request`` (cyclone 1.x's name).

    ``agent.request(b"POST", url, headers, StringProducer(b"a=1"))``
    """

    def __init__(self, body: bytes | str) -> None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        if not isinstance(body, bytes):
            raise TypeError(f"StringProducer needs bytes or str, not {body!r}")
        self.body = body
        self.length = len(body)

    def startProducing(self, consumer: Any) -> defer.Deferred[None]:
        consumer.write(self.body)
        return defer.succeed(None)

    def pauseProducing(self) -> None:
        """Nothing to pause: the whole body is written at once."""

    def resumeProducing(self) -> None:
        """Nothing to resume."""

    def stopProducing(self) -> None:
        """Nothing to stop."""


class Receiver(Protocol):
    """Collects a Twisted response body: ``response.deliverBody(Receiver(finished))``.

    ``finished`` fires with the body as bytes once the response ended (cyclone
    1.x's name). Unlike 1.x, a body cut short (the connection dropped before the
    declared length) fails ``finished`` instead of passing on a partial body.
    """

    def __init__(self, finished: defer.Deferred[bytes]) -> None:
        self.finished = finished
        self.data: list[bytes] = []

    def dataReceived(self, data: bytes) -> None:
        self.data.append(data)

    def connectionLost(self, reason: Failure | None = None) -> None:
        if reason is not None and not reason.check(
            web_client.ResponseDone, web_http.PotentialDataLoss
        ):
            self.finished.errback(reason)
            return
        self.finished.callback(b"".join(self.data))


def __getattr__(name: str) -> Any:
    """cyclone 1.x's module-level agents, made on first use (not at import, which would
    choose the reactor before the application could)."""
    if name in ("agent", "proxy_agent"):
        from twisted.internet import reactor

        made = (
            web_client.Agent(reactor)
            if name == "agent"
            else web_client.ProxyAgent(None, reactor)  # 1.x set its _proxyEndpoint per request
        )
        globals()[name] = made
        return made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _QuietHTTP11ClientFactory(web_client._HTTP11ClientFactory):
    """Twisted's HTTP/1.1 client factory without the start/stop lines it logs per connection."""

    noisy = False


class _QuietConnectionPool(web_client.HTTPConnectionPool):
    """The pool ``fetch`` makes when none is given: its connections log nothing."""

    _factory = _QuietHTTP11ClientFactory


@implementer(IPolicyForHTTPS)
class _InsecurePolicy:
    """TLS without certificate checks (``validate_cert=False``): tests and self-signed hosts."""

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        from twisted.internet import ssl

        return ssl.CertificateOptions(verify=False)


def _tls_policy(validate_cert: bool, ca_certs: str | None) -> Any:
    if not validate_cert:
        return _InsecurePolicy()
    if ca_certs is None:
        return web_client.BrowserLikePolicyForHTTPS()
    from twisted.internet import ssl

    with open(ca_certs, "rb") as f:
        pem = f.read()
    authorities = [ssl.Certificate.loadPEM(block) for block in _pem_certificates(pem)]
    if not authorities:
        raise ValueError(f"no PEM certificate in ca_certs {ca_certs!r}")
    return web_client.BrowserLikePolicyForHTTPS(
        trustRoot=ssl.trustRootFromCertificates(authorities)
    )


def _pem_certificates(pem: bytes) -> list[bytes]:
    begin, end = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"
    blocks = []
    start = pem.find(begin)
    while start != -1:
        stop = pem.find(end, start)
        if stop == -1:
            break
        blocks.append(pem[start : stop + len(end)])
        start = pem.find(begin, stop)
    return blocks


def _request_headers(headers: Mapping[str, Any] | HTTPHeaders | None) -> Headers:
    result = Headers()
    if headers is None:
        return result
    if isinstance(headers, HTTPHeaders):
        items = list(headers.get_all())
    else:
        items = []
        for name, value in headers.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            items.extend((name, v) for v in values)
    for name, value in items:
        result.addRawHeader(
            escape.utf8(name),
            escape.utf8(str(value) if not isinstance(value, (str, bytes)) else value),
        )
    return result


def _response_headers(raw: Headers) -> HTTPHeaders:
    headers = HTTPHeaders()
    for name, values in raw.getAllRawHeaders():
        text_name = name.decode("latin-1")
        for value in values:
            headers.add(text_name, value.decode("latin-1"))
    return headers


def fetch(
    url: str | bytes,
    method: str | bytes | None = None,
    headers: Mapping[str, Any] | HTTPHeaders | None = None,
    postdata: bytes | str | Mapping[str, Any] | None = None,
    *,
    body: bytes | str | None = None,
    json_body: Any = None,
    follow_redirects: bool = False,
    max_redirects: int = 5,
    timeout: float | None = DEFAULT_TIMEOUT,
    connect_timeout: float | None = None,
    validate_cert: bool = True,
    ca_certs: str | None = None,
    streaming_callback: Callable[[bytes], Any] | None = None,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    pool: web_client.HTTPConnectionPool | None = None,
    proxy: str | tuple[str, int | str] | None = None,
    reactor: Any = None,
    **legacy: Any,
) -> defer.Deferred[HTTPResponse]:
    """Send one request and fire with its `HTTPResponse` (for every status).

    ``method`` defaults to POST when a body is given, GET otherwise.
    ``postdata``/``body`` are sent as they are (``str`` as UTF-8); a mapping
    is sent form-encoded; ``json_body`` is sent as JSON. A POST without a
    Content-Type header is sent as ``application/x-www-form-urlencoded``, as
    cyclone 1.x and Tornado do. With ``streaming_callback`` every body chunk
    goes to it as it arrives and ``response.body`` stays empty. ``timeout``
    bounds the whole exchange (`HTTPTimeoutError`).

    Redirects are returned as responses, as in cyclone 1.x, unless
    ``follow_redirects=True`` (1.x spelling: ``followRedirect``); following more
    than ``max_redirects`` (``maxRedirects``) raises `TooManyRedirects`.

    ``proxy`` sends the request through an HTTP proxy, given as
    ``"http://[user:password@]host:port"`` or 1.x's ``(host, port)``: http URLs
    go to it in absolute form (RFC 9112 §3.2.2), https URLs through a CONNECT
    tunnel (RFC 9110 §9.3.6) with the certificate checked end to end.
    """
    if reactor is None:
        from twisted.internet import reactor
    follow_redirects, max_redirects = _legacy_redirect_options(
        legacy, follow_redirects, max_redirects
    )
    text_url = _checked_url(url)
    request_headers = _request_headers(headers)
    data = _encode_body(body if body is not None else postdata, json_body, request_headers)
    verb = _method(method, data)
    if verb == "POST" and not request_headers.hasHeader(b"content-type"):
        request_headers.setRawHeaders(b"content-type", [b"application/x-www-form-urlencoded"])
    agent = _build_agent(
        reactor,
        pool,
        _tls_policy(validate_cert, ca_certs),
        connect_timeout,
        parse_proxy(proxy) if proxy is not None else None,
    )
    if follow_redirects:
        agent = web_client.BrowserLikeRedirectAgent(agent, redirectLimit=max_redirects)
    exchange = defer.ensureDeferred(
        _exchange(
            HTTPClient(agent),
            verb,
            text_url,
            request_headers,
            data,
            _BodyLimit(text_url, max_body_size, streaming_callback),
            max_redirects,
        )
    )
    return _with_deadline(exchange, reactor, timeout, f"{verb} {text_url}")


class HTTPRequest:
    """Tornado's description of a request, for `AsyncHTTPClient.fetch`.

    Tornado's defaults: redirects are followed (up to 5), and connecting and the
    whole request each get 20 seconds. ``auth_username``/``auth_password`` send
    Basic credentials; ``proxy_host``/``proxy_port`` go through an HTTP proxy.
    Tornado options this client does not implement (``max_clients``, curl's
    ``prepare_curl_callback``, ``header_callback``, ...) are a `TypeError`
    rather than silently ignored.
    """

    def __init__(
        self,
        url: str,
        method: str = "GET",
        headers: Mapping[str, Any] | HTTPHeaders | None = None,
        body: bytes | str | None = None,
        *,
        auth_username: str | None = None,
        auth_password: str | None = None,
        auth_mode: str | None = None,
        connect_timeout: float | None = 20.0,
        request_timeout: float | None = 20.0,
        follow_redirects: bool = True,
        max_redirects: int = 5,
        user_agent: str | None = None,
        proxy_host: str | None = None,
        proxy_port: int | None = None,
        validate_cert: bool = True,
        ca_certs: str | None = None,
        streaming_callback: Callable[[bytes], Any] | None = None,
    ) -> None:
        if auth_mode not in (None, "basic"):
            raise ValueError(f"unsupported auth_mode {auth_mode!r}: only 'basic'")
        self.url = url
        self.method = method.upper()
        self.headers = HTTPHeaders(headers or {})
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.auth_username = auth_username
        self.auth_password = auth_password
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self.proxy_host = proxy_host
        self.proxy_port = proxy_port
        self.validate_cert = validate_cert
        self.ca_certs = ca_certs
        self.streaming_callback = streaming_callback

    def _fetch(self, reactor: Any) -> defer.Deferred[HTTPResponse]:
        headers = HTTPHeaders(self.headers)
        if self.user_agent and "User-Agent" not in headers:
            headers["User-Agent"] = self.user_agent
        if self.auth_username is not None and "Authorization" not in headers:
            credentials = f"{self.auth_username}:{self.auth_password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
        proxy = None
        if self.proxy_host:
            proxy = (self.proxy_host, self.proxy_port or 80)
        return fetch(
            self.url,
            method=self.method,
            headers=headers,
            body=self.body,
            follow_redirects=self.follow_redirects,
            max_redirects=self.max_redirects,
            timeout=self.request_timeout,
            connect_timeout=self.connect_timeout,
            validate_cert=self.validate_cert,
            ca_certs=self.ca_certs,
            streaming_callback=self.streaming_callback,
            proxy=proxy,
            reactor=reactor,
        )


class AsyncHTTPClient:
    """Tornado's client API over `fetch`: ``await AsyncHTTPClient().fetch(url)``.

        class MainHandler(RequestHandler):
            async def get(self):
                response = await AsyncHTTPClient().fetch("http://127.0.0.1:8888/api")
                self.write(response.body)

    ``fetch(request, raise_error=True, **kwargs)`` takes a URL (with `HTTPRequest`'s
    keyword arguments) or an `HTTPRequest`, and returns a Deferred (awaitable in
    handlers) firing with an `HTTPResponse`. As in Tornado, redirects are followed
    and a final status outside 2xx raises `HTTPClientError` unless
    ``raise_error=False``; network errors and timeouts raise either way.
    ``defaults`` gives keyword arguments for every request. Each instance is
    independent (there is no per-IOLoop singleton to share, so ``force_instance``
    changes nothing) and ``close()`` has nothing to release.
    """

    def __init__(
        self, force_instance: bool = False, defaults: Mapping[str, Any] | None = None
    ) -> None:
        self.defaults = dict(defaults or {})

    def fetch(
        self, request: str | HTTPRequest, raise_error: bool = True, **kwargs: Any
    ) -> defer.Deferred[HTTPResponse]:
        if isinstance(request, HTTPRequest):
            if kwargs:
                raise ValueError("kwargs can't be used if request is an HTTPRequest object")
        else:
            request = HTTPRequest(request, **{**self.defaults, **kwargs})
        from twisted.internet import reactor

        d = request._fetch(reactor)
        if raise_error:
            d.addCallback(_raise_for_non_2xx)
        return d

    def close(self) -> None:
        """Nothing to release: each fetch uses its own connection."""


def _raise_for_non_2xx(response: HTTPResponse) -> HTTPResponse:
    if not 200 <= response.code < 300:
        raise HTTPClientError(f"HTTP {response.code}: {response.reason}", response)
    return response


def _legacy_redirect_options(
    legacy: dict[str, Any], follow_redirects: bool, max_redirects: int
) -> tuple[bool, int]:
    """Accept cyclone 1.x's ``followRedirect``/``maxRedirects``; refuse other unknown options."""
    if "followRedirect" in legacy:
        follow_redirects = bool(legacy.pop("followRedirect"))
    if "maxRedirects" in legacy:
        max_redirects = int(legacy.pop("maxRedirects"))
    if legacy:
        raise TypeError(f"fetch() got unexpected keyword arguments {sorted(legacy)}")
    return follow_redirects, max_redirects


def _checked_url(url: str | bytes) -> str:
    text_url = url.decode("utf-8") if isinstance(url, bytes) else url
    scheme = urllib.parse.urlsplit(text_url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"fetch() needs an http or https URL, got {text_url!r}")
    return text_url


def _encode_body(data: Any, json_body: Any, request_headers: Headers) -> bytes | None:
    """The request body as bytes; sets Content-Type for JSON and form mappings."""
    if json_body is not None:
        if not request_headers.hasHeader(b"content-type"):
            request_headers.setRawHeaders(b"content-type", [b"application/json"])
        return json.dumps(json_body).encode("utf-8")
    if isinstance(data, Mapping):
        if not request_headers.hasHeader(b"content-type"):
            request_headers.setRawHeaders(b"content-type", [b"application/x-www-form-urlencoded"])
        return urllib.parse.urlencode(data, doseq=True).encode("ascii")
    if isinstance(data, str):
        return data.encode("utf-8")
    return data


def _method(method: str | bytes | None, data: bytes | None) -> str:
    """The request method, upper-case; 1.x passed it as bytes on Python 3."""
    if method is None:
        return "POST" if data else "GET"
    if isinstance(method, bytes):
        method = method.decode("ascii")
    return method.upper()


def _build_agent(
    reactor: Any,
    pool: web_client.HTTPConnectionPool | None,
    tls_policy: Any,
    connect_timeout: float | None,
    proxy: ProxyAddress | None,
) -> Any:
    """A Twisted agent connecting directly, or through ``proxy``."""
    if pool is None:
        pool = _QuietConnectionPool(reactor, persistent=False)
    if proxy is None:
        return web_client.Agent(
            reactor, contextFactory=tls_policy, connectTimeout=connect_timeout, pool=pool
        )
    from cyclone._httpproxy import ProxyingAgent

    return ProxyingAgent(reactor, proxy, tls_policy, connect_timeout, pool)


class _BodyLimit:
    """Collects a response body, or streams it, refusing more than ``max_body_size`` buffered."""

    def __init__(
        self, url: str, max_body_size: int, streaming_callback: Callable[[bytes], Any] | None
    ) -> None:
        self.url = url
        self.max_body_size = max_body_size
        self.streaming_callback = streaming_callback
        self.chunks: list[bytes] = []
        self.received = 0

    def __call__(self, chunk: bytes) -> None:
        if self.streaming_callback is not None:
            self.streaming_callback(chunk)
            return
        self.received += len(chunk)
        if self.received > self.max_body_size:
            raise HTTPClientError(
                f"response body from {self.url} exceeds max_body_size "
                f"({self.max_body_size} bytes); use streaming_callback"
            )
        self.chunks.append(chunk)


async def _exchange(
    http: HTTPClient,
    method: str,
    url: str,
    headers: Headers,
    data: bytes | None,
    body: _BodyLimit,
    max_redirects: int,
) -> HTTPResponse:
    """Send the request, read the body, and describe the result as an `HTTPResponse`."""
    try:
        response = await http.request(
            method, url, headers=headers, data=data, allow_redirects=False, unbuffered=True
        )
    except web_client.ResponseFailed as error:
        if any(reason.check(InfiniteRedirection) for reason in error.reasons):
            raise TooManyRedirects(f"more than {max_redirects} redirects from {url}") from None
        raise
    await treq.collect(response, body)
    original = response.original
    final = original.request.absoluteURI if original.request is not None else None
    phrase = original.phrase
    return HTTPResponse(
        original.code,
        phrase.decode("latin-1") if isinstance(phrase, bytes) else phrase,
        _response_headers(original.headers),
        b"".join(body.chunks),
        final.decode("utf-8") if isinstance(final, bytes) else (final or url),
        url,
    )


def _with_deadline(
    exchange: defer.Deferred[HTTPResponse], reactor: Any, timeout: float | None, what: str
) -> defer.Deferred[HTTPResponse]:
    """Cancel ``exchange`` after ``timeout`` seconds and fail it with `HTTPTimeoutError`."""
    if timeout is None:
        return exchange
    timed_out: list[bool] = []

    def expire() -> None:
        timed_out.append(True)
        exchange.cancel()

    deadline = reactor.callLater(timeout, expire)

    def finish(outcome: Any) -> Any:
        if deadline.active():
            deadline.cancel()
        if timed_out and isinstance(outcome, Failure):
            # Cancelling surfaces as CancelledError or ResponseNeverReceived.
            raise HTTPTimeoutError(f"{what} took longer than {timeout}s")
        return outcome

    return exchange.addBoth(finish)


class JsonRPCError(Exception):
    """The JSON-RPC server answered with an error object (or not with JSON-RPC at all)."""

    def __init__(self, code: int | None, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})" if code is not None else message)
        self.code = code
        self.message = message
        self.data = data


class JsonRPC:
    """A JSON-RPC client: ``await JsonRPC(url).callRemote("add", 1, 2)``.

    Speaks JSON-RPC 2.0 by default (``version="1.0"`` leaves out the
    ``jsonrpc`` member, for old servers). ``proxy.add(1, 2)`` is the old cyclone
    spelling of ``callRemote``. Extra keyword arguments go to `fetch`
    (``timeout``, ``headers``, ``ca_certs``...).
    """

    def __init__(self, url: str, version: str = "2.0", **fetch_options: Any) -> None:
        self._url = url
        self._version = version
        self._headers = dict(fetch_options.pop("headers", None) or {})
        self._fetch_options = fetch_options
        self._ids = itertools.count(1)

    def callRemote(self, method: str, *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        """Call ``method`` with positional or (2.0 only) named parameters; fires with the result."""
        if args and kwargs:
            raise TypeError("JSON-RPC takes positional or named parameters, not both")
        call_id = next(self._ids)
        message: dict[str, Any] = {"method": method, "params": kwargs or list(args), "id": call_id}
        if self._version != "1.0":
            message = {"jsonrpc": self._version, **message}
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        headers.update(self._headers)
        d = fetch(
            self._url,
            method="POST",
            headers=headers,
            body=json.dumps(message).encode("utf-8"),
            **self._fetch_options,
        )
        return d.addCallback(self._result, method)

    def _result(self, response: HTTPResponse, method: str) -> Any:
        try:
            reply = response.json()
        except ValueError:
            raise JsonRPCError(
                None,
                f"{method}: HTTP {response.code} from {self._url} is not JSON-RPC "
                f"({response.body[:80]!r})",
            ) from None
        if not isinstance(reply, dict):
            raise JsonRPCError(None, f"{method}: unexpected JSON-RPC reply {reply!r}")
        error = reply.get("error")
        if error:
            if isinstance(error, dict):
                raise JsonRPCError(error.get("code"), str(error.get("message")), error.get("data"))
            raise JsonRPCError(None, str(error))
        if response.code >= 400:
            raise JsonRPCError(None, f"{method}: HTTP {response.code} {response.reason}")
        return reply.get("result")

    def __getattr__(self, name: str) -> Callable[..., defer.Deferred[Any]]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.callRemote(name, *args, **kwargs)
