"""The sign-in in progress, kept in a signed cookie between the redirect and the return.

`begin` makes a fresh ``state`` (and PKCE verifier and OpenID Connect
``nonce``), stores them with the redirect URI in a signed, HttpOnly,
SameSite=Lax cookie that lives `DEFAULT_MAX_AGE` seconds, and returns them
for the authorization URL. `finish` deletes that cookie and checks the
``state`` the provider sent back against it (RFC 6749 §10.12): a callback
that did not start in this browser — a forged link, a replay, an expired or
second tab's sign-in — is refused with `AuthError` before any code is
redeemed. The cookie is signed with the ``cookie_secret`` setting through
the handler's secure-cookie API, so it cannot be made up or altered; it
holds no token.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import time
import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any

from cyclone.auth.errors import AuthError, status_for_provider_error
from cyclone.auth.pkce import new_code_verifier
from cyclone.handler import RequestHandler

__all__ = ["DEFAULT_MAX_AGE", "LoginState", "begin", "finish", "validate_redirect_uri"]

#: Seconds a started sign-in may take before its state cookie is refused
#: (the ``oauth_state_max_age`` setting): long enough to type a password and
#: pass a second factor, short enough that a leaked cookie goes stale.
DEFAULT_MAX_AGE = 600


@dataclass(frozen=True)
class LoginState:
    """What a sign-in remembers: the values sent to the provider and when."""

    state: str
    redirect_uri: str | None
    code_verifier: str | None = None
    nonce: str | None = None
    issued_at: float = 0.0


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_redirect_uri(handler: RequestHandler, redirect_uri: str) -> str:
    """``redirect_uri`` made absolute against the request, or ValueError if unsafe.

    It must be http(s) with a host, without user info or a fragment
    (RFC 6749 §3.1.2). Plain http is allowed only to a loopback host
    (RFC 8252 §7.3) unless the ``oauth_allow_http_redirect_uri`` setting is
    true: the code and state would otherwise cross the network in clear.
    """
    absolute = urllib.parse.urljoin(handler.request.full_url(), redirect_uri)
    parts = urllib.parse.urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"redirect_uri must be an http(s) URL with a host, got {redirect_uri!r}")
    if parts.fragment or "#" in absolute:
        raise ValueError(f"redirect_uri must not have a fragment (RFC 6749 §3.1.2): {absolute!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"redirect_uri must not carry user info: {absolute!r}")
    if (
        parts.scheme == "http"
        and not _is_loopback(parts.hostname)
        and not handler.settings.get("oauth_allow_http_redirect_uri", False)
    ):
        raise ValueError(
            f"refusing plain-http redirect_uri {absolute!r}: use https, or set "
            "oauth_allow_http_redirect_uri=True for a trusted network"
        )
    return absolute


def _max_age(handler: RequestHandler) -> float:
    return float(handler.settings.get("oauth_state_max_age", DEFAULT_MAX_AGE))


def begin(
    handler: RequestHandler,
    cookie_name: str,
    redirect_uri: str | None,
    *,
    pkce: bool = True,
    nonce: bool = False,
) -> LoginState:
    """Start a sign-in: new random values, remembered in the signed cookie ``cookie_name``."""
    handler.require_setting("cookie_secret", "OAuth sign-in (the signed state cookie)")
    login = LoginState(
        state=secrets.token_urlsafe(32),
        redirect_uri=redirect_uri,
        code_verifier=new_code_verifier() if pkce else None,
        nonce=secrets.token_urlsafe(32) if nonce else None,
        issued_at=time.time(),
    )
    handler.set_secure_cookie(
        cookie_name,
        json.dumps(asdict(login), separators=(",", ":")),
        expires_days=None,
        max_age=int(_max_age(handler)),
        httponly=True,
        samesite="Lax",
        secure=handler.request.protocol == "https",
    )
    return login


def _load(handler: RequestHandler, cookie_name: str) -> LoginState:
    max_age = _max_age(handler)
    raw = handler.get_secure_cookie(cookie_name, max_age_days=max_age / 86400 + 1)
    if raw is None:
        raise AuthError(
            "no sign-in in progress in this browser (the state cookie is missing, forged or "
            "expired): start again"
        )
    try:
        fields: Any = json.loads(raw)
        login = LoginState(**fields)
    except (TypeError, ValueError):
        raise AuthError("the sign-in state cookie is unreadable: start again") from None
    if time.time() - login.issued_at > max_age:
        raise AuthError(f"the sign-in took longer than {max_age:g} seconds: start again")
    return login


def finish(handler: RequestHandler, cookie_name: str, state_argument: str = "state") -> LoginState:
    """End a sign-in: delete the cookie, check the returned state, raise on a provider error.

    The cookie goes first so the same callback cannot be replayed. A
    provider ``error`` (RFC 6749 §4.1.2.1, e.g. ``access_denied``) is
    trusted only once the state matched: otherwise anyone could craft the
    message shown.
    """
    handler.clear_cookie(cookie_name)
    login = _load(handler, cookie_name)
    returned = handler.get_argument(state_argument, None)
    if returned is None:
        raise AuthError("the provider's answer has no 'state' parameter")
    if not hmac.compare_digest(returned.encode(), login.state.encode()):
        raise AuthError("the 'state' parameter does not match this browser's sign-in")
    error = handler.get_argument("error", None)
    if error is not None:
        description = handler.get_argument("error_description", None)
        message = f"the provider refused the sign-in: {error}"
        if description:
            message += f" ({description})"
        raise AuthError(
            message,
            status_code=status_for_provider_error(error),
            error=error,
            description=description,
        )
    return login


def returned_from_provider(handler: RequestHandler, cookie_name: str) -> bool:
    """True when this request is the provider's answer to a sign-in that this browser began."""
    return (
        handler.get_argument("state", None) is not None
        and handler.get_cookie(cookie_name) is not None
    )
