"""The in-process test client: real HTTP/1.1 bytes to an application, no socket.

    from cyclone.testing import Client

    async def test_hello():
        client = Client(application)
        response = await client.get("/", headers={"Accept": "text/html"})
        assert response.code == 200 and response.body == b"Hello, world"

The client speaks real HTTP/1.1 bytes to the application's own protocol over
an in-memory transport, so requests go through the same parser, routing and
framing as on a socket, without opening one. Cookies persist across requests
(``client.cookies``), and ``client.cookies.get_secure_cookie(name)`` decodes a
signed cookie with the application's ``cookie_secret``.

Called from an asyncio task that cyclone does not drive (``asyncio.run``,
``unittest.IsolatedAsyncioTestCase``, pytest-asyncio) the client puts the
asyncio reactor on the running loop and returns asyncio futures instead of
Deferreds, so ``await client.get(...)`` works there too; Twisted's reactor
cannot restart, so only the first such loop of a process can serve (give the
tests one loop, e.g. pytest-asyncio's session scope).

`Response` (and the rest of the in-memory exchange) lives in
`cyclone.inmemory`; this module does not load ``twisted.trial``.
"""

from __future__ import annotations

import asyncio
import http.cookies
import json
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

from twisted.internet import defer

from cyclone import signing
from cyclone.coroutines import _drives_deferreds
from cyclone.httputil import HTTPHeaders, parse_http_date
from cyclone.httpwriter import request_bytes
from cyclone.inmemory import Response, exchange

__all__ = ["Client", "ClientCookies", "CookieValue", "Response"]

#: The methods whose ``params`` cyclone 1.3's client sent as the form body.
_BODY_METHODS = ("POST", "PUT", "PATCH")


class CookieValue(str):
    """A cookie's value: a `str` that also has cyclone 1.3's ``.value`` (its jar held morsels)."""

    @property
    def value(self) -> str:
        return str(self)


class ClientCookies(dict[str, str]):
    """The client's cookie jar; `get_secure_cookie` verifies signed cookies."""

    def __init__(self, client: Client) -> None:
        super().__init__()
        self._client = client

    def get_secure_cookie(
        self, name: str, value: str | None = None, max_age_days: float = 31
    ) -> bytes | None:
        """Decode the signed cookie ``name`` (or ``value``, when given) with the app's secret.

        The arguments are cyclone 1.3's and `RequestHandler.get_secure_cookie`'s.
        """
        secret = self._client.app.settings.get("cookie_secret")
        if not secret:
            raise ValueError("the application has no cookie_secret setting")
        if value is None:
            value = self.get(name)
        return signing.decode_signed_value(secret, name, value, max_age_days=max_age_days)

    def _update(self, headers: HTTPHeaders) -> None:
        for header in headers.get_list("Set-Cookie"):
            jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                expires = morsel["expires"] and parse_http_date(morsel["expires"])
                expired = morsel["max-age"] == "0" or (expires and expires < time.time())
                if expired:
                    self.pop(name, None)
                else:
                    self[name] = CookieValue(morsel.value)


class Client:
    """Sends requests to an application in memory; methods return Deferreds of `Response`."""

    def __init__(self, app: Any, host: str = "localhost") -> None:
        self.app = app
        self.host = host
        self.cookies = ClientCookies(self)

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> defer.Deferred[Response]:
        return self.request("GET", path, params=params, **kwargs)

    def head(
        self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> defer.Deferred[Response]:
        return self.request("HEAD", path, params=params, **kwargs)

    def delete(
        self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> defer.Deferred[Response]:
        return self.request("DELETE", path, params=params, **kwargs)

    def options(self, path: str, **kwargs: Any) -> defer.Deferred[Response]:
        return self.request("OPTIONS", path, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> defer.Deferred[Response]:
        """POST ``data`` (or 1.3's ``params=``) as a form, or ``body``/``json_body``/``files``."""
        return self.request("POST", path, data=data, **kwargs)

    def put(self, path: str, data: Any = None, **kwargs: Any) -> defer.Deferred[Response]:
        return self.request("PUT", path, data=data, **kwargs)

    def patch(self, path: str, data: Any = None, **kwargs: Any) -> defer.Deferred[Response]:
        return self.request("PATCH", path, data=data, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        files: Mapping[str, Any] | None = None,
        json_body: Any = None,
        version: str = "HTTP/1.1",
        host: str | None = None,
    ) -> defer.Deferred[Response]:
        """Send one request; ``data`` is form-encoded, ``files`` makes multipart/form-data.

        A ``files`` value is ``(filename, content, content_type)``, or, as
        cyclone 1.3 took it, a list of ``{"filename", "body", "content_type"}``
        dicts (``request.files``' own shape).

        ``params`` go in the query string, except for a POST, PUT or PATCH with
        no other body, where they are the form body, as cyclone 1.3's client
        sent them. ``version`` and ``host`` are 1.3's per-request arguments.
        """
        if params and method in _BODY_METHODS and data is None and body is None:
            data, params = params, None
        if params:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(params, doseq=True)
        request_headers = HTTPHeaders({"Host": host or self.host})
        if self.cookies:
            request_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if files:
            body, content_type = _encode_multipart(data or {}, files)
            request_headers["Content-Type"] = content_type
        elif data is not None:
            body = urllib.parse.urlencode(data, doseq=True)
            request_headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body)
            request_headers["Content-Type"] = "application/json"
        for name, value in (headers or {}).items():
            request_headers[name] = value
        raw_body = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        if raw_body or method in _BODY_METHODS:
            request_headers["Content-Length"] = str(len(raw_body))
        raw_request = request_bytes(method, path, request_headers, raw_body, version)
        return self._exchange(method, raw_request)

    def _exchange(self, method: str, raw_request: bytes) -> defer.Deferred[Response]:
        d = exchange(self.app, raw_request, head_only=method == "HEAD")

        def remember_cookies(response: Response) -> Response:
            self.cookies._update(response.headers)
            return response

        d.addCallback(remember_cookies)
        loop = _foreign_asyncio_task_loop()
        if loop is not None:
            return d.asFuture(loop)  # type: ignore[return-value]
        return d


def _foreign_asyncio_task_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop when called from an asyncio task that cannot await Deferreds."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return None
    if task is None or _drives_deferreds(task):
        return None
    return task.get_loop()


def _encode_multipart(fields: Mapping[str, Any], files: Mapping[str, Any]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                + (item if isinstance(item, bytes) else str(item).encode())
                + b"\r\n"
            )
    for name, filename, content, content_type in _file_parts(files):
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _file_parts(files: Mapping[str, Any]) -> list[tuple[str, str, bytes, str]]:
    """``(name, filename, content, content_type)`` for each file, from either accepted shape."""
    parts = []
    for name, value in files.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Mapping):
                content = item["body"]
                filename = item.get("filename", "")
                content_type = item.get("content_type", "application/octet-stream")
            else:
                filename, content, content_type = item
            parts.append((name, filename, content, content_type))
    return parts
