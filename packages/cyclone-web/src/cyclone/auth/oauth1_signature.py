"""OAuth 1.0a request signing with HMAC-SHA1 (RFC 5849 §3.4), without I/O.

    >>> params = oauth_parameters("consumer-key", token="token-key")
    >>> params["oauth_signature"] = hmac_sha1_signature(
    ...     "POST", "https://api.example.com/1/statuses/update.json",
    ...     {**params, "status": "hi"}, "consumer-secret", "token-secret")
    >>> authorization_header(params)  # doctest: +ELLIPSIS
    'OAuth oauth_consumer_key="consumer-key", ...'

The signature covers the method, the base URL and every parameter — the
query string, a form-encoded body and the ``oauth_*`` protocol parameters —
so a request cannot be altered in transit without the secrets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "authorization_header",
    "base_string_uri",
    "hmac_sha1_signature",
    "oauth_parameters",
    "parse_token_response",
    "percent_encode",
    "signature_base_string",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Random bytes in ``oauth_nonce``: 24 hex digits (96 bits). RFC 5849 sets no format; providers
#: built on oauthlib accept only 20 to 30 letters and digits by default.
NONCE_BYTES = 12


def percent_encode(value: Any) -> str:
    """RFC 5849 §3.6: UTF-8, then escape everything but RFC 3986 unreserved characters."""
    text = value if isinstance(value, (str, bytes)) else str(value)
    return urllib.parse.quote(text, safe="~")


def base_string_uri(url: str) -> str:
    """RFC 5849 §3.4.1.2: lower-case scheme and host, default port dropped, no query."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urllib.parse.urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def _pairs(parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    items = parameters.items() if isinstance(parameters, Mapping) else parameters
    pairs: list[tuple[str, Any]] = []
    for name, value in items:
        if isinstance(value, (list, tuple)):
            pairs.extend((name, v) for v in value)
        else:
            pairs.append((name, value))
    return pairs


def signature_base_string(
    method: str, url: str, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]
) -> str:
    """RFC 5849 §3.4.1: ``METHOD&base-uri&normalized-parameters``, each percent-encoded.

    ``parameters`` are the request's query, form body and ``oauth_*`` pairs;
    the query of ``url`` itself is added too. ``oauth_signature`` and
    ``realm`` are left out, as §3.4.1.3.1 says.
    """
    query = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    encoded = sorted(
        (percent_encode(name), percent_encode(value))
        for name, value in [*query, *_pairs(parameters)]
        if name not in ("oauth_signature", "realm")
    )
    normalized = "&".join(f"{name}={value}" for name, value in encoded)
    return "&".join(
        percent_encode(part) for part in (method.upper(), base_string_uri(url), normalized)
    )


def hmac_sha1_signature(
    method: str,
    url: str,
    parameters: Mapping[str, Any] | Iterable[tuple[str, Any]],
    consumer_secret: str,
    token_secret: str | None = None,
) -> str:
    """RFC 5849 §3.4.2: base64 HMAC-SHA1 of the base string, keyed by both secrets."""
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret or '')}"
    base = signature_base_string(method, url, parameters)
    digest = hmac.new(key.encode("utf-8"), base.encode("ascii"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def oauth_parameters(consumer_key: str, token: str | None = None, **extra: str) -> dict[str, str]:
    """The protocol parameters of one request (RFC 5849 §3.1), without the signature."""
    params = {
        "oauth_consumer_key": consumer_key,
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(time.time())),
        "oauth_nonce": secrets.token_hex(NONCE_BYTES),
        "oauth_version": "1.0",
    }
    if token is not None:
        params["oauth_token"] = token
    params.update(extra)
    return params


def authorization_header(oauth_params: Mapping[str, str]) -> str:
    """The ``Authorization: OAuth ...`` header carrying the protocol parameters (§3.5.1)."""
    return "OAuth " + ", ".join(
        f'{percent_encode(name)}="{percent_encode(value)}"' for name, value in oauth_params.items()
    )


def parse_token_response(body: bytes) -> dict[str, str]:
    """A form-encoded token response (§2.1, §2.3) as a dict; ``key``/``secret`` added.

    Raises ValueError when ``oauth_token`` or ``oauth_token_secret`` is missing.
    """
    fields = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not fields.get("oauth_token") or "oauth_token_secret" not in fields:
        raise ValueError(
            f"the response has no oauth_token and oauth_token_secret (fields: {sorted(fields)})"
        )
    token = {"key": fields["oauth_token"], "secret": fields["oauth_token_secret"]}
    token.update(
        (name, value)
        for name, value in fields.items()
        if name not in ("oauth_token", "oauth_token_secret")
    )
    return token
