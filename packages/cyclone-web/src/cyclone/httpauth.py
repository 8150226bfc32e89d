"""HTTP Basic (RFC 7617) and Digest (RFC 7616) authentication for handlers.

    from cyclone import web, httpauth

    def check(handler, username, password):       # may also return a Deferred or be async
        return (username, password) == ("admin", "secret")

    class Admin(web.RequestHandler):
        @httpauth.basic_auth(check, realm="admin area")
        def get(self):
            self.write(f"hello {self.current_user}")

A request without valid credentials gets 401 with the matching
``WWW-Authenticate`` challenge; on success ``handler.current_user`` is the
user name. Passwords and digests are compared in constant time. Digest nonces
are signed timestamps (no server-side state) that expire after
``nonce_lifetime`` seconds, answered with ``stale=true`` so browsers retry
silently; a replayed nonce count is refused.
"""

from __future__ import annotations

import base64
import binascii
import collections
import functools
import hashlib
import hmac
import inspect
import os
import re
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from cyclone.handler import HTTPAuthenticationRequired, RequestHandler

__all__ = [
    "DigestAuthenticationRequired",
    "basic_auth",
    "digest_auth",
    "digest_ha1",
    "parse_basic_authorization",
    "parse_digest_authorization",
]

_PROCESS_SECRET = os.urandom(32)
_DIGEST_PARAM = re.compile(
    r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)'
)
#: A Digest nonce count is 8 hex digits (RFC 7616 §3.4: nc-value = 8LHEX); fewer
#: are accepted from lenient clients, more or anything else is refused.
_NONCE_COUNT = re.compile(r"[0-9A-Fa-f]{1,8}")
_HASHES: dict[str, Callable[[bytes], Any]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
}


async def _resolve(value: Any) -> Any:
    if isinstance(value, defer.Deferred) or inspect.isawaitable(value):
        return await value
    return value


def parse_basic_authorization(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from ``Authorization: Basic …``; None when absent or malformed."""
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep:
        return None
    return username, password


def basic_auth(
    check_credentials: Callable[[RequestHandler, str, str], Any], realm: str = "Restricted Access"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require HTTP Basic credentials accepted by ``check_credentials(handler, user, password)``."""

    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        async def wrapper(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
            credentials = parse_basic_authorization(self.request.headers.get("Authorization"))
            if credentials is None:
                raise HTTPAuthenticationRequired(
                    "no Basic credentials", "Basic", realm, charset="UTF-8"
                )
            username, password = credentials
            if not await _resolve(check_credentials(self, username, password)):
                raise HTTPAuthenticationRequired(
                    f"wrong credentials for {username!r}", "Basic", realm, charset="UTF-8"
                )
            self.current_user = username
            return await _resolve(method(self, *args, **kwargs))

        return wrapper

    return decorator


def parse_digest_authorization(header: str | None) -> dict[str, str] | None:
    """The parameters of ``Authorization: Digest …`` as a dict; None when absent or malformed."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _DIGEST_PARAM.match(rest, position)
        if not match:
            return None
        name = match.group(1).lower()
        quoted, token = match.group(2), match.group(3)
        params[name] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else token
        position = match.end()
    return params


class DigestAuthenticationRequired(HTTPAuthenticationRequired):
    """A 401 offering one Digest challenge per supported algorithm (RFC 7616 §3.7)."""

    def __init__(
        self, log_message: str, realm: str, nonce: str, algorithms: tuple[str, ...], stale: bool
    ) -> None:
        super().__init__(log_message, "Digest", realm)
        self.nonce = nonce
        self.algorithms = algorithms
        self.stale = stale

    def challenge_headers(self) -> list[str]:
        headers = []
        for algorithm in self.algorithms:
            value = (
                f'Digest realm="{self.realm}", qop="auth", algorithm={algorithm}, '
                f'nonce="{self.nonce}", opaque="{_opaque(self.realm)}"'
            )
            if self.stale:
                value += ", stale=true"
            headers.append(value)
        return headers


def _opaque(realm: str) -> str:
    return hashlib.sha256(_PROCESS_SECRET + realm.encode()).hexdigest()[:32]


def _make_nonce(secret: bytes, realm: str, now: float) -> str:
    timestamp = str(int(now))
    mac = hmac.new(secret, f"{timestamp}:{realm}".encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(f"{timestamp}:{mac}".encode()).decode()


def _nonce_age(secret: bytes, realm: str, nonce: str, now: float) -> float | None:
    """Seconds since the nonce was issued, or None if we did not issue it.

    The MAC is checked (as bytes: the client may send any text) before the
    timestamp is read as a number.
    """
    try:
        decoded = base64.b64decode(nonce, validate=True)
    except (binascii.Error, ValueError):
        return None
    timestamp, _, mac = decoded.partition(b":")
    expected = hmac.new(secret, timestamp + b":" + realm.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), mac):
        return None
    return now - int(timestamp)


#: Fields a qop=auth Digest Authorization must carry (RFC 7616 §3.4).
_DIGEST_FIELDS = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
#: Nonce counts remembered against replays; the oldest are forgotten first.
_MAX_SEEN_NONCE_COUNTS = 10000


class _DigestVerifier:
    """Checks one application's Digest credentials (RFC 7616, qop=auth) for `digest_auth`."""

    def __init__(
        self,
        get_password: Callable[[RequestHandler, str], Any] | None,
        get_ha1: Callable[[RequestHandler, str, str], Any] | None,
        realm: str,
        algorithms: tuple[str, ...],
        nonce_lifetime: float,
        clock: Callable[[], float],
    ) -> None:
        if (get_password is None) == (get_ha1 is None):
            raise TypeError("digest_auth needs exactly one of get_password or get_ha1")
        for algorithm in algorithms:
            if algorithm not in _HASHES:
                raise ValueError(
                    f"unsupported Digest algorithm {algorithm!r}; use {sorted(_HASHES)}"
                )
        self.get_password = get_password
        self.get_ha1 = get_ha1
        self.realm = realm
        self.algorithms = algorithms
        self.nonce_lifetime = nonce_lifetime
        self.clock = clock
        self.seen_counts: collections.OrderedDict[str, int] = collections.OrderedDict()

    def challenge(
        self, handler: RequestHandler, message: str, stale: bool = False
    ) -> DigestAuthenticationRequired:
        """The 401 to raise: ``message`` is logged, a fresh nonce is offered."""
        nonce = _make_nonce(_secret_for(handler), self.realm, self.clock())
        return DigestAuthenticationRequired(message, self.realm, nonce, self.algorithms, stale)

    async def verify(self, handler: RequestHandler) -> str:
        """The user name of valid credentials; raises the challenge otherwise."""
        params, algorithm = self._credentials(handler)
        ha1 = await self._ha1(handler, params["username"], algorithm)
        hash_function = _HASHES[algorithm]

        def digest(text: str) -> str:
            return hash_function(text.encode("utf-8")).hexdigest()

        ha2 = digest(f"{handler.request.method}:{params['uri']}")
        expected = digest(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
        answered = params["response"].lower().encode("utf-8", "replace")
        if not hmac.compare_digest(expected.encode("ascii"), answered):
            raise self.challenge(handler, f"wrong Digest response for {params['username']!r}")
        self._refuse_replay(handler, params)
        return params["username"]

    def _credentials(self, handler: RequestHandler) -> tuple[dict[str, str], str]:
        """The Authorization fields and algorithm, checked against this realm, URI and nonce."""
        params = parse_digest_authorization(handler.request.headers.get("Authorization"))
        if params is None:
            raise self.challenge(handler, "no Digest credentials")
        if any(name not in params for name in _DIGEST_FIELDS) or params["qop"] != "auth":
            raise self.challenge(handler, "incomplete Digest credentials")
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm not in self.algorithms or params["realm"] != self.realm:
            raise self.challenge(handler, f"unexpected Digest algorithm or realm: {algorithm}")
        if params["uri"] != handler.request.uri:
            raise self.challenge(handler, "Digest uri does not match the request")
        age = _nonce_age(_secret_for(handler), self.realm, params["nonce"], self.clock())
        if age is None:
            raise self.challenge(handler, "Digest nonce was not issued here")
        if age > self.nonce_lifetime:
            raise self.challenge(handler, "Digest nonce expired", stale=True)
        return params, algorithm

    async def _ha1(self, handler: RequestHandler, username: str, algorithm: str) -> str:
        """``H(username:realm:password)`` from the stored HA1 or the password."""
        if self.get_ha1 is not None:
            ha1 = await _resolve(self.get_ha1(handler, username, algorithm))
            if ha1 is None:
                raise self.challenge(handler, f"unknown user {username!r}")
            return str(ha1).lower()
        assert self.get_password is not None
        password = await _resolve(self.get_password(handler, username))
        if password is None:
            raise self.challenge(handler, f"unknown user {username!r}")
        return digest_ha1(username, self.realm, password, algorithm)

    def _refuse_replay(self, handler: RequestHandler, params: dict[str, str]) -> None:
        """Accept each nonce count of a nonce and client nonce once, in increasing order."""
        if not _NONCE_COUNT.fullmatch(params["nc"]):
            raise self.challenge(handler, "malformed Digest nonce count")
        count = int(params["nc"], 16)
        key = params["nonce"] + ":" + params["cnonce"]
        seen = self.seen_counts
        if seen.get(key, -1) >= count:
            raise self.challenge(handler, "replayed Digest nonce count")
        seen[key] = count
        seen.move_to_end(key)
        while len(seen) > _MAX_SEEN_NONCE_COUNTS:
            seen.popitem(last=False)


def digest_auth(
    get_password: Callable[[RequestHandler, str], Any] | None = None,
    realm: str = "Restricted Access",
    algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
    nonce_lifetime: float = 300.0,
    clock: Callable[[], float] = time.time,
    *,
    get_ha1: Callable[[RequestHandler, str, str], Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require HTTP Digest (qop=auth) credentials.

    Give either ``get_password(handler, user)`` returning the password, or
    ``get_ha1(handler, user, algorithm)`` returning the stored hex
    ``H(user:realm:password)`` for that algorithm (see `digest_ha1`), so
    plain passwords need not be stored. Either may return None for an
    unknown user, or a Deferred/awaitable.
    """
    verifier = _DigestVerifier(get_password, get_ha1, realm, algorithms, nonce_lifetime, clock)

    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        async def wrapper(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
            self.current_user = await verifier.verify(self)
            return await _resolve(method(self, *args, **kwargs))

        return wrapper

    return decorator


def digest_ha1(username: str, realm: str, password: str, algorithm: str = "SHA-256") -> str:
    """The value to store for ``get_ha1``: hex ``H(username:realm:password)`` (RFC 7616 §3.4.2)."""
    return _HASHES[algorithm](f"{username}:{realm}:{password}".encode()).hexdigest()


def _secret_for(handler: RequestHandler) -> bytes:
    secret = handler.settings.get("cookie_secret")
    if isinstance(secret, dict):
        secret = secret[max(secret)]
    if isinstance(secret, str):
        return secret.encode()
    return secret or _PROCESS_SECRET
