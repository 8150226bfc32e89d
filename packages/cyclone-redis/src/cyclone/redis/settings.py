"""Where a Redis server is and how to log in, from a URL or a settings mapping.

    >>> from cyclone.redis.settings import redis_settings
    >>> redis_settings("redis://:secret@cache.local:6380/2")
    RedisSettings(host='cache.local', port=6380, path=None, db=2, username=None, tls=False, tls_verify=True)

Accepted URLs (the same forms redis-py and most hosting providers use):

- ``redis://[[username]:password@]host[:port][/db]``
- ``rediss://...``: the same over TLS, certificate checked against the host name
  (``?ssl_cert_reqs=none`` turns the check off, for self-signed test servers)
- ``unix:///path/to/redis.sock[?db=N]``

Query parameters ``db``, ``username`` and ``password`` may replace the URL's parts.
A mapping is either an application's settings, holding ``redis_url`` (a URL) or
``redis`` (a URL or a mapping), or directly a mapping with the keys ``host``,
``port``, ``db``, ``username``, ``password``, ``path`` (unix socket), ``tls``,
``tls_verify`` or ``url``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["DEFAULT_URL", "RedisSettings", "parse_url", "redis_settings"]

DEFAULT_URL = "redis://localhost:6379/0"

# The port Redis listens on unless configured otherwise (redis.conf "port").
DEFAULT_PORT = 6379

_SCHEMES = ("redis", "rediss", "unix")
_QUERY_KEYS = frozenset({"db", "username", "password", "ssl_cert_reqs"})
_MAPPING_KEYS = frozenset(
    {"host", "port", "db", "username", "password", "path", "tls", "tls_verify", "url"}
)


@dataclasses.dataclass(frozen=True)
class RedisSettings:
    """One Redis server: TCP ``host``/``port`` or a unix socket ``path``, plus login and db."""

    host: str = "localhost"
    port: int = DEFAULT_PORT
    path: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    tls: bool = False
    tls_verify: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.db, int) or isinstance(self.db, bool) or self.db < 0:
            raise ValueError(f"Redis db must be a non-negative integer, not {self.db!r}")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError(f"Redis port must be an integer in 1..65535, not {self.port!r}")
        if self.path is not None and self.tls:
            raise ValueError(f"TLS over a unix socket is not supported: {self.path!r}")

    @property
    def address(self) -> str:
        """Where the server is, for messages (never includes the password)."""
        if self.path is not None:
            return f"unix:{self.path} db={self.db}"
        scheme = "rediss" if self.tls else "redis"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/{self.db}"


def _integer(name: str, value: Any, url: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"Redis {name} must be an integer, not {value!r} in {url!r}")


def parse_url(url: str) -> RedisSettings:
    """Parse ``redis://``, ``rediss://`` and ``unix://`` URLs into `RedisSettings`."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(
            f"Redis URL scheme must be one of {', '.join(_SCHEMES)}, not {parts.scheme!r} "
            f"(in {url!r})"
        )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(query) - _QUERY_KEYS)
    if unknown:
        raise ValueError(f"Unknown Redis URL parameter(s) {', '.join(unknown)} in {url!r}")

    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    username = query.get("username", username)
    password = query.get("password", password)

    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError(f"Redis unix URL needs a socket path: {url!r}")
        db = _integer("db", query.get("db", 0), url)
        return RedisSettings(path=unquote(parts.path), db=db, username=username, password=password)

    db_text = parts.path.lstrip("/")
    if "db" in query:
        db_text = query["db"]
    db = _integer("db", db_text or 0, url)
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"Redis port must be an integer in 1..65535 in {url!r}")
    verify = query.get("ssl_cert_reqs", "required").lower()
    if verify not in ("required", "none"):
        raise ValueError(f"ssl_cert_reqs must be 'required' or 'none', not {verify!r} in {url!r}")
    return RedisSettings(
        host=parts.hostname or "localhost",
        port=port,
        db=db,
        username=username,
        password=password,
        tls=parts.scheme == "rediss",
        tls_verify=verify == "required",
    )


def _from_mapping(mapping: Mapping[str, Any]) -> RedisSettings:
    unknown = sorted(set(mapping) - _MAPPING_KEYS)
    if unknown:
        raise ValueError(
            f"Unknown Redis setting(s) {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(sorted(_MAPPING_KEYS))}"
        )
    base = parse_url(mapping["url"]) if "url" in mapping else RedisSettings()
    changes = {key: value for key, value in mapping.items() if key != "url"}
    for key in ("port", "db"):
        if key in changes:
            changes[key] = _integer(key, changes[key], repr(dict(mapping, password="...")))
    return dataclasses.replace(base, **changes)


def redis_settings(source: str | Mapping[str, Any] | RedisSettings | None = None) -> RedisSettings:
    """Turn a URL, a settings mapping or ``None`` (``redis://localhost:6379/0``) into settings."""
    if source is None:
        return parse_url(DEFAULT_URL)
    if isinstance(source, RedisSettings):
        return source
    if isinstance(source, str):
        return parse_url(source)
    if isinstance(source, Mapping):
        if "redis_url" in source:
            return redis_settings(source["redis_url"])
        if "redis" in source:
            return redis_settings(source["redis"])
        return _from_mapping(source)
    raise TypeError(
        f"Redis settings must be a URL, a mapping or RedisSettings, not {type(source).__name__}"
    )
