"""How the sign-in mixins talk to providers: `AuthHTTPClient` and answer decoding.

`AuthHTTPClient.fetch` has Tornado's ``AsyncHTTPClient.fetch`` call shape
(``url, method=, headers=, body=``) on top of `cyclone.httpclient.fetch`, so
a handler can override ``get_auth_http_client()`` to add ``ca_certs`` for a
self-hosted provider, a connection pool, or a shorter timeout. Errors are
turned into `AuthError` with the provider's own ``error`` and
``error_description``, and with URLs stripped of their query so no secret
or token reaches a message or a log line.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from cyclone.auth.errors import AuthError, status_for_provider_error
from cyclone.httpclient import HTTPClientError, HTTPResponse, fetch

__all__ = [
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_TIMEOUT",
    "AuthHTTPClient",
    "decode_json",
    "decode_token_response",
    "redact_url",
]

log = Logger()

#: Seconds a provider has to answer one request of a sign-in.
DEFAULT_TIMEOUT = 30.0
#: Largest provider answer read during a sign-in (token, discovery, JWKS): 1 MiB.
DEFAULT_MAX_RESPONSE_SIZE = 1024 * 1024


def redact_url(url: str) -> str:
    """``url`` without its query and fragment: safe to show in errors and logs."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class AuthHTTPClient:
    """Fetches provider URLs with a bounded time and size and a ``User-Agent``."""

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        max_body_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        **fetch_options: Any,
    ) -> None:
        self.timeout = timeout
        self.max_body_size = max_body_size
        self.fetch_options = fetch_options

    def fetch(
        self,
        url: str,
        method: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
        **options: Any,
    ) -> defer.Deferred[HTTPResponse]:
        """Send one request; network failures become `AuthError` (502)."""
        merged = {"User-Agent": "cyclone.auth", **(headers or {})}
        arguments = {
            "follow_redirects": True,  # as Tornado's client, which the mixins were written for
            "timeout": self.timeout,
            "max_body_size": self.max_body_size,
            **self.fetch_options,
            **options,
        }
        d = fetch(url, method=method, headers=merged, body=body, **arguments)

        def unreachable(failure: Any) -> Any:
            if failure.check(AuthError):
                return failure
            reason = failure.getErrorMessage() or failure.type.__name__
            raise AuthError(
                f"cannot reach the provider at {redact_url(url)}: {reason}", status_code=502
            )

        return d.addErrback(unreachable)


def _provider_error(response: HTTPResponse, fields: dict[str, Any], what: str) -> AuthError:
    error = str(fields.get("error"))
    description = fields.get("error_description")
    message = f"{what} was refused by the provider: {error}"
    if description:
        message += f" ({description})"
    status = status_for_provider_error(error)
    return AuthError(
        message,
        status_code=status,
        error=error,
        description=str(description) if description else None,
        response=response,
    )


def parse_body(response: HTTPResponse) -> dict[str, Any] | None:
    """A JSON object or form-encoded body as a dict; None for anything else."""
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        return dict(urllib.parse.parse_qsl(response.text, keep_blank_values=True))
    try:
        value = json.loads(response.body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def decode_token_response(response: HTTPResponse, what: str = "the token request") -> dict:
    """A token endpoint's answer (RFC 6749 §5.1) as a dict, or `AuthError` (§5.2).

    JSON or form-encoded (GitHub without ``Accept``); an ``error`` member is
    an error whatever the status, as GitHub answers errors with 200.
    """
    fields = parse_body(response)
    if fields is not None and fields.get("error"):
        raise _provider_error(response, fields, what)
    if response.code >= 400 or fields is None:
        raise AuthError(
            f"{what} failed: HTTP {response.code} {response.reason} from "
            f"{redact_url(response.effective_url)}",
            status_code=502,
            response=response,
        )
    if not fields.get("access_token"):
        raise AuthError(
            f"{what}: the provider's answer has no access_token (members: {sorted(fields)})",
            status_code=502,
            response=response,
        )
    return fields


def decode_json(response: HTTPResponse, what: str) -> dict[str, Any]:
    """A provider document (discovery, JWKS, user info) as a dict, or `AuthError` (502)."""
    fields = parse_body(response) if response.code < 400 else None
    if response.code >= 400 or fields is None:
        error_fields = parse_body(response)
        if error_fields is not None and error_fields.get("error"):
            raise _provider_error(response, error_fields, what)
        raise AuthError(
            f"{what} failed: HTTP {response.code} {response.reason} from "
            f"{redact_url(response.effective_url)}"
            + ("" if response.code >= 400 else " (not a JSON object)"),
            status_code=502,
            response=response,
        )
    return fields


def decode_api_response(response: HTTPResponse) -> Any:
    """An API answer as Tornado's ``*_request`` methods return it: JSON, or None if empty.

    A 4xx/5xx raises `cyclone.httpclient.HTTPClientError` (with ``.response``),
    as Tornado's client raises its ``HTTPClientError``.
    """
    if response.code >= 400:
        raise HTTPClientError(
            f"HTTP {response.code} {response.reason} from {redact_url(response.effective_url)}",
            response,
        )
    if not response.body.strip():
        return None
    return json.loads(response.body)
