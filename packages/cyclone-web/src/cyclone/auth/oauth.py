"""`OAuthMixin`: OAuth 1.0a sign-in (RFC 5849) with HMAC-SHA1 signed requests.

    class MyLoginHandler(cyclone.web.RequestHandler, OAuthMixin):
        _OAUTH_REQUEST_TOKEN_URL = "https://provider.example/oauth/request_token"
        _OAUTH_AUTHORIZE_URL = "https://provider.example/oauth/authorize"
        _OAUTH_ACCESS_TOKEN_URL = "https://provider.example/oauth/access_token"

        def _oauth_consumer_token(self):
            return {"key": self.settings["my_key"], "secret": self.settings["my_secret"]}

        async def _oauth_get_user_future(self, access_token):
            return await self.oauth_request("https://provider.example/me", access_token)

        async def get(self):
            if self.get_argument("oauth_token", None):
                user = await self.get_authenticated_user()
                ...
            else:
                await self.authorize_redirect(callback_uri="/auth/login")

Tornado's API. Every request is signed in an ``Authorization: OAuth``
header (RFC 5849 §3.5.1) rather than the query string, and the request
token travels in a signed, HttpOnly cookie rather than Tornado's plain one.
Only OAuth 1.0a is spoken: ``_OAUTH_VERSION = "1.0"`` (2007's revision,
broken by session fixation) is refused.
"""

from __future__ import annotations

import hmac
import json
import urllib.parse
from typing import TYPE_CHECKING, Any, cast

from cyclone.auth import login_state
from cyclone.auth._async import resolve, returns_deferred
from cyclone.auth.client import AuthHTTPClient, decode_api_response, parse_body, redact_url
from cyclone.auth.errors import AuthError
from cyclone.auth.oauth1_signature import (
    authorization_header,
    hmac_sha1_signature,
    oauth_parameters,
    parse_token_response,
)
from cyclone.httpclient import DEFAULT_MAX_BODY_SIZE, HTTPResponse
from cyclone.httputil import url_concat

if TYPE_CHECKING:
    from cyclone.handler import RequestHandler

__all__ = ["OAuthMixin"]


class OAuthMixin:
    """Sign in with an OAuth 1.0a provider; mix into a `RequestHandler`.

    Class attributes: ``_OAUTH_REQUEST_TOKEN_URL``, ``_OAUTH_AUTHORIZE_URL``,
    ``_OAUTH_ACCESS_TOKEN_URL``, ``_OAUTH_NO_CALLBACKS`` (the provider takes
    only its registered callback) and ``_OAUTH_REQUEST_TOKEN_COOKIE``.
    Subclasses implement ``_oauth_consumer_token()`` (``{"key", "secret"}``)
    and ``_oauth_get_user_future(access_token)``.
    """

    _OAUTH_REQUEST_TOKEN_URL: str = ""
    _OAUTH_AUTHORIZE_URL: str = ""
    _OAUTH_ACCESS_TOKEN_URL: str = ""
    _OAUTH_VERSION: str = "1.0a"
    _OAUTH_NO_CALLBACKS: bool = False
    _OAUTH_REQUEST_TOKEN_COOKIE: str = "_oauth_request_token"

    @property
    def _handler(self) -> RequestHandler:
        return cast("RequestHandler", self)

    def _oauth_consumer_token(self) -> dict[str, Any]:
        """The consumer's ``{"key": ..., "secret": ...}``; subclasses must override."""
        raise NotImplementedError(f"{type(self).__name__} must define _oauth_consumer_token()")

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any]:
        """The signed-in user's details; subclasses must override (may return a Deferred)."""
        raise NotImplementedError(f"{type(self).__name__} must define _oauth_get_user_future()")

    def get_auth_http_client(self) -> AuthHTTPClient:
        """The client used to reach the provider; override to add ``ca_certs``, a pool..."""
        return AuthHTTPClient()

    def _check_version(self) -> None:
        if getattr(self, "_OAUTH_VERSION", "1.0a") != "1.0a":
            raise ValueError(
                f"{type(self).__name__}._OAUTH_VERSION is {self._OAUTH_VERSION!r}: only OAuth "
                "1.0a is supported (1.0 is open to session fixation)"
            )

    async def _signed_fetch(
        self,
        method: str,
        url: str,
        token: dict[str, Any] | None = None,
        body_args: dict[str, Any] | None = None,
        max_body_size: int | None = None,
        **oauth_extra: str,
    ) -> HTTPResponse:
        """Send a request signed with the consumer's and ``token``'s secrets."""
        consumer = self._oauth_consumer_token()
        params = oauth_parameters(
            str(consumer["key"]), str(token["key"]) if token else None, **oauth_extra
        )
        params["oauth_signature"] = hmac_sha1_signature(
            method,
            url,
            [*params.items(), *(body_args or {}).items()],
            str(consumer["secret"]),
            str(token["secret"]) if token else None,
        )
        headers = {"Authorization": authorization_header(params)}
        body = None
        if body_args is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(body_args)
        options = {} if max_body_size is None else {"max_body_size": max_body_size}
        return await self.get_auth_http_client().fetch(
            url, method=method, headers=headers, body=body, **options
        )

    async def _fetch_token(self, response: HTTPResponse, what: str) -> dict[str, str]:
        if response.code >= 400:
            fields = parse_body(response) or {}
            detail = fields.get("error_description") or fields.get("error")
            raise AuthError(
                f"{what} was refused by the provider: HTTP {response.code} {response.reason} from "
                f"{redact_url(response.effective_url)}" + (f" ({detail})" if detail else ""),
                error=fields.get("error"),
                description=fields.get("error_description"),
                status_code=403 if response.code in (401, 403) else 502,
                response=response,
            )
        try:
            return parse_token_response(response.body)
        except ValueError as error:
            raise AuthError(f"{what}: {error}", status_code=502, response=response) from None

    @returns_deferred
    async def authorize_redirect(
        self,
        callback_uri: str | None = None,
        extra_params: dict[str, Any] | None = None,
        http_client: Any = None,
    ) -> None:
        """Get a request token (§2.1) and send the browser to authorize it (§2.2); await it.

        ``callback_uri`` may be relative to this request, or ``"oob"`` to
        show the authorization URL instead of redirecting. The request token
        is kept in a signed cookie for `get_authenticated_user`.
        """
        await self._redirect_to(self._OAUTH_AUTHORIZE_URL, callback_uri, extra_params)

    async def _redirect_to(
        self,
        authorize_url: str,
        callback_uri: str | None,
        extra_params: dict[str, Any] | None = None,
    ) -> None:
        self._check_version()
        handler = self._handler
        handler.require_setting("cookie_secret", "OAuth sign-in (the signed request-token cookie)")
        if handler.get_argument("denied", None) is not None and handler.get_cookie(
            self._OAUTH_REQUEST_TOKEN_COOKIE
        ):
            handler.clear_cookie(self._OAUTH_REQUEST_TOKEN_COOKIE)
            raise AuthError("the user did not authorize the sign-in", error="access_denied")
        if callback_uri and self._OAUTH_NO_CALLBACKS:
            raise ValueError(f"{type(self).__name__} does not support oauth_callback")
        if callback_uri and callback_uri != "oob":
            callback_uri = login_state.validate_redirect_uri(handler, callback_uri)
        response = await self._signed_fetch(
            "POST",
            self._OAUTH_REQUEST_TOKEN_URL,
            body_args=extra_params or None,
            oauth_callback=callback_uri or "oob",
        )
        token = await self._fetch_token(response, "the request-token request")
        if token.get("oauth_callback_confirmed") != "true":
            raise AuthError(
                "the provider did not confirm the callback (not OAuth 1.0a)", status_code=502
            )
        handler.set_secure_cookie(
            self._OAUTH_REQUEST_TOKEN_COOKIE,
            json.dumps([token["key"], token["secret"]]),
            expires_days=None,
            max_age=int(handler.settings.get("oauth_state_max_age", login_state.DEFAULT_MAX_AGE)),
            httponly=True,
            samesite="Lax",
            secure=handler.request.protocol == "https",
        )
        url = url_concat(authorize_url, {"oauth_token": token["key"]})
        if callback_uri == "oob":
            handler.finish(url)
        else:
            handler.redirect(url)

    @returns_deferred
    async def get_authenticated_user(self, http_client: Any = None) -> dict[str, Any]:
        """Exchange the authorized request token for an access token (§2.3); fires with the user.

        The ``oauth_token`` the provider sent back must be the one in this
        browser's signed cookie. The user dict is ``_oauth_get_user_future``'s,
        with ``access_token`` (``key``, ``secret`` and the provider's extra fields).
        """
        self._check_version()
        handler = self._handler
        handler.clear_cookie(self._OAUTH_REQUEST_TOKEN_COOKIE)
        max_age = float(handler.settings.get("oauth_state_max_age", login_state.DEFAULT_MAX_AGE))
        cookie = handler.get_secure_cookie(
            self._OAUTH_REQUEST_TOKEN_COOKIE, max_age_days=max_age / 86400
        )
        if handler.get_argument("denied", None) is not None:
            raise AuthError("the user did not authorize the sign-in", error="access_denied")
        if cookie is None:
            raise AuthError(
                "no sign-in in progress in this browser (the request-token cookie is missing, "
                "forged or expired): start again"
            )
        key, secret = json.loads(cookie)
        returned = handler.get_argument("oauth_token", None)
        if returned is None or not hmac.compare_digest(returned.encode(), key.encode()):
            raise AuthError("the oauth_token returned does not match this browser's sign-in")
        verifier = handler.get_argument("oauth_verifier", None)
        if not verifier:
            raise AuthError("the provider's answer has no oauth_verifier")
        response = await self._signed_fetch(
            "POST",
            self._OAUTH_ACCESS_TOKEN_URL,
            token={"key": key, "secret": secret},
            oauth_verifier=verifier,
        )
        access_token = await self._fetch_token(response, "the access-token request")
        user = await resolve(self._oauth_get_user_future(access_token))
        if not user:
            raise AuthError("the provider returned no user", status_code=502)
        user["access_token"] = access_token
        return cast(dict, user)

    def _oauth_request_parameters(
        self,
        url: str,
        access_token: dict[str, Any],
        parameters: dict[str, Any] | None = None,
        method: str = "GET",
    ) -> dict[str, str]:
        """Tornado's helper: the signed ``oauth_*`` parameters for a request to ``url``.

        ``parameters`` are every query and form argument the request will
        carry; add the result to the query (or use `oauth_request`).
        """
        consumer = self._oauth_consumer_token()
        params = oauth_parameters(str(consumer["key"]), str(access_token["key"]))
        params["oauth_signature"] = hmac_sha1_signature(
            method,
            url,
            [*params.items(), *(parameters or {}).items()],
            str(consumer["secret"]),
            str(access_token["secret"]),
        )
        return params

    @returns_deferred
    async def oauth_request(
        self,
        url: str,
        access_token: dict[str, Any],
        post_args: dict[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Call an API with a signed request; fires with the decoded JSON (None if empty).

        ``args`` go in the query, ``post_args`` make it a form POST; both are
        covered by the signature. A 4xx/5xx raises `HTTPClientError`.
        """
        if args:
            url = url_concat(url, args)
        response = await self._signed_fetch(
            "POST" if post_args is not None else "GET",
            url,
            token=access_token,
            body_args=post_args,
            max_body_size=DEFAULT_MAX_BODY_SIZE,
        )
        return decode_api_response(response)
