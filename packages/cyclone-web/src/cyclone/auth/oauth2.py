"""`OAuth2Mixin`: the authorization-code flow (RFC 6749 §4.1) with state and PKCE.

    class GiteaLoginHandler(cyclone.web.RequestHandler, OAuth2Mixin):
        _OAUTH_AUTHORIZE_URL = "https://gitea.example.org/login/oauth/authorize"
        _OAUTH_ACCESS_TOKEN_URL = "https://gitea.example.org/login/oauth/access_token"
        _OAUTH_SETTINGS_KEY = "gitea_oauth"    # settings: {"key": ID, "secret": SECRET}

        async def get(self):
            redirect_uri = "https://app.example.org/auth/gitea"
            if self.get_argument("code", None) or self.get_argument("error", None):
                token = await self.get_authenticated_user(redirect_uri=redirect_uri)
                user = await self.oauth2_request(
                    "https://gitea.example.org/api/v1/user", access_token=token["access_token"])
                self.set_secure_cookie("user", user["login"])
                self.redirect("/")
            else:
                self.authorize_redirect(redirect_uri=redirect_uri, scope=["read:user"])

Tornado's API, plus what RFC 9700 (OAuth 2.0 Security BCP) asks of a client:
a ``state`` bound to the browser by a signed cookie (`cyclone.auth.login_state`),
PKCE with S256 on every request (`_OAUTH_PKCE`), redirect URIs checked, and
the token request sent as a POST with the client's credentials in the body
(or HTTP Basic: `_OAUTH_CLIENT_AUTHENTICATION`).
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import TYPE_CHECKING, Any, cast

from twisted.internet import defer

from cyclone.auth import login_state
from cyclone.auth._async import returns_deferred
from cyclone.auth.client import AuthHTTPClient, decode_api_response, decode_token_response
from cyclone.auth.errors import AuthError
from cyclone.auth.pkce import code_challenge
from cyclone.httpclient import DEFAULT_MAX_BODY_SIZE
from cyclone.httputil import url_concat

if TYPE_CHECKING:
    from cyclone.handler import RequestHandler

__all__ = ["OAuth2Mixin"]


def _concat(url: str, args: dict[str, Any]) -> str:
    """Tornado's endpoints end in ``?`` (Facebook's): ``url_concat`` without the stray ``?``."""
    return url_concat(url.rstrip("?"), args)


class OAuth2Mixin:
    """Sign in with an OAuth 2.0 provider; mix into a `RequestHandler`.

    Class attributes (each can also come from the ``_OAUTH_SETTINGS_KEY``
    settings dict, so tests and self-hosted providers point elsewhere
    without a subclass):

    - ``_OAUTH_AUTHORIZE_URL`` (setting ``authorize_url``): where the browser is sent;
    - ``_OAUTH_ACCESS_TOKEN_URL`` (``access_token_url``): where the code is redeemed;
    - ``_OAUTH_SETTINGS_KEY``: the settings entry with ``key`` (client id) and ``secret``;
    - ``_OAUTH_STATE_COOKIE``: the signed cookie holding the sign-in in progress;
    - ``_OAUTH_PKCE``: send a PKCE challenge (default True; providers ignore it
      if they do not support it, RFC 6749 §3.1);
    - ``_OAUTH_CLIENT_AUTHENTICATION``: ``client_secret_post`` (default) or
      ``client_secret_basic`` (RFC 6749 §2.3.1);
    - ``_OAUTH_TOKEN_REQUEST_METHOD``: ``POST`` (RFC 6749 §4.1.3), or ``GET``
      with the form in the query for providers that document it (Facebook).
    """

    _OAUTH_AUTHORIZE_URL: str = ""
    _OAUTH_ACCESS_TOKEN_URL: str = ""
    _OAUTH_NO_CALLBACKS: bool = False
    _OAUTH_SETTINGS_KEY: str | None = None
    _OAUTH_STATE_COOKIE: str = "_oauth2_state"
    _OAUTH_PKCE: bool = True
    _OAUTH_CLIENT_AUTHENTICATION: str = "client_secret_post"
    _OAUTH_TOKEN_REQUEST_METHOD: str = "POST"

    # -- configuration ------------------------------------------------------------

    @property
    def _handler(self) -> RequestHandler:
        return cast("RequestHandler", self)

    def get_oauth_settings(self) -> dict[str, Any]:
        """The ``_OAUTH_SETTINGS_KEY`` entry of the application settings, or ``{}``."""
        if not self._OAUTH_SETTINGS_KEY:
            return {}
        value = self._handler.settings.get(self._OAUTH_SETTINGS_KEY) or {}
        if not isinstance(value, dict):
            raise TypeError(f"setting {self._OAUTH_SETTINGS_KEY!r} must be a dict, got {value!r}")
        return value

    def _oauth_endpoint(self, setting: str, attribute: str) -> str:
        url = self.get_oauth_settings().get(setting) or getattr(self, attribute, "")
        if not url:
            raise ValueError(
                f"{type(self).__name__} has no {attribute} (set the class attribute or the "
                f"{setting!r} entry of the {self._OAUTH_SETTINGS_KEY!r} setting)"
            )
        return str(url)

    def _oauth_client(
        self, client_id: str | None, client_secret: str | None
    ) -> tuple[str | None, str | None]:
        settings = self.get_oauth_settings()
        return (
            client_id if client_id is not None else settings.get("key"),
            client_secret if client_secret is not None else settings.get("secret"),
        )

    def get_auth_http_client(self) -> AuthHTTPClient:
        """The client used to reach the provider; override to add ``ca_certs``, a pool..."""
        return AuthHTTPClient()

    # -- the flow -----------------------------------------------------------------

    def _oauth_authorize_args(
        self,
        login: login_state.LoginState,
        redirect_uri: str | None,
        client_id: str | None,
        extra_params: dict[str, Any] | None,
        scope: list[str] | str | None,
        response_type: str,
    ) -> dict[str, Any]:
        args: dict[str, Any] = {"response_type": response_type}
        if redirect_uri is not None:
            args["redirect_uri"] = redirect_uri
        if client_id is not None:
            args["client_id"] = client_id
        if extra_params:
            args.update(extra_params)
        if scope:
            args["scope"] = scope if isinstance(scope, str) else " ".join(scope)
        args["state"] = login.state
        if login.code_verifier is not None:
            args["code_challenge"] = code_challenge(login.code_verifier)
            args["code_challenge_method"] = "S256"
        if login.nonce is not None:
            args["nonce"] = login.nonce
        return args

    def _begin_sign_in(
        self, redirect_uri: str | None, nonce: bool = False
    ) -> login_state.LoginState:
        if login_state.returned_from_provider(self._handler, self._OAUTH_STATE_COOKIE) and (
            self._handler.get_argument("error", None) is not None
        ):
            # The provider sent the browser back with an error (denied consent):
            # starting over would loop through the provider, so say why instead.
            login_state.finish(self._handler, self._OAUTH_STATE_COOKIE)
        if redirect_uri is not None:
            redirect_uri = login_state.validate_redirect_uri(self._handler, redirect_uri)
        return login_state.begin(
            self._handler,
            self._OAUTH_STATE_COOKIE,
            redirect_uri,
            pkce=self._OAUTH_PKCE,
            nonce=nonce,
        )

    def authorize_redirect(
        self,
        redirect_uri: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        extra_params: dict[str, Any] | None = None,
        scope: list[str] | str | None = None,
        response_type: str = "code",
    ) -> defer.Deferred[None]:
        """Send the browser to the provider to sign in and consent (RFC 6749 §4.1.1).

        Adds ``state`` and a PKCE challenge, remembered in a signed cookie
        for `get_authenticated_user`. ``redirect_uri`` may be relative to
        this request; ``client_id`` defaults to the settings' ``key``.
        Like Tornado's, it redirects at once (no ``await`` needed) and raises
        at once; it returns a fired Deferred so ``await`` works too. When
        this request is the provider coming back with ``error`` (the user
        said no), it raises `AuthError` instead of starting over.
        ``client_secret`` is ignored, as in Tornado.
        """
        client_id, _ = self._oauth_client(client_id, None)
        authorize_url = self._oauth_endpoint("authorize_url", "_OAUTH_AUTHORIZE_URL")
        login = self._begin_sign_in(redirect_uri)
        args = self._oauth_authorize_args(
            login, login.redirect_uri, client_id, extra_params, scope, response_type
        )
        self._handler.redirect(_concat(authorize_url, args))
        return defer.succeed(None)

    def _oauth_token_request(
        self,
        login: login_state.LoginState,
        redirect_uri: str | None,
        code: str,
        client_id: str | None,
        client_secret: str | None,
        extra_params: dict[str, Any] | None = None,
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The form and headers of the token request (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
        form: dict[str, str] = {"grant_type": "authorization_code", "code": code}
        if redirect_uri is not None:
            form["redirect_uri"] = redirect_uri
        if login.code_verifier is not None:
            form["code_verifier"] = login.code_verifier
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        if self._OAUTH_CLIENT_AUTHENTICATION == "client_secret_basic" and client_secret:
            pair = f"{urllib.parse.quote(client_id or '', safe='')}:" + urllib.parse.quote(
                client_secret, safe=""
            )
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            if client_id is not None:
                form["client_id"] = client_id
            if client_secret is not None:
                form["client_secret"] = client_secret
        if extra_params:
            form.update(extra_params)
        return form, headers

    def _finish_sign_in(
        self, redirect_uri: str | None, code: str | None
    ) -> tuple[login_state.LoginState, str | None, str]:
        """Check the browser's answer; the sign-in state, redirect URI and code to redeem."""
        login = login_state.finish(self._handler, self._OAUTH_STATE_COOKIE)
        if redirect_uri is not None:
            redirect_uri = login_state.validate_redirect_uri(self._handler, redirect_uri)
            if login.redirect_uri is not None and redirect_uri != login.redirect_uri:
                raise ValueError(
                    f"redirect_uri {redirect_uri!r} is not the one this sign-in started with "
                    f"({login.redirect_uri!r}); the provider would refuse the code"
                )
        else:
            redirect_uri = login.redirect_uri
        if code is None:
            code = self._handler.get_argument("code", None)
        if not code:
            raise AuthError("the provider's answer has no authorization code")
        return login, redirect_uri, code

    @returns_deferred
    async def get_authenticated_user(
        self,
        redirect_uri: str | None = None,
        code: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        extra_params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Check the provider's answer and redeem its code; fires with the token response.

        Call it in the handler at ``redirect_uri`` when ``code`` (or
        ``error``) is among the arguments. The ``state`` is checked against
        this browser's signed cookie first, then the code is exchanged with
        the PKCE verifier. The dict is the provider's JSON (``access_token``,
        ``token_type``, ``expires_in``, maybe ``refresh_token``, ``scope``,
        ``id_token``). Raises `AuthError` on denial, bad state or a refused code.
        """
        login, redirect_uri, code = self._finish_sign_in(redirect_uri, code)
        client_id, client_secret = self._oauth_client(client_id, client_secret)
        form, headers = self._oauth_token_request(
            login, redirect_uri, code, client_id, client_secret, extra_params
        )
        token_url = self._oauth_endpoint("access_token_url", "_OAUTH_ACCESS_TOKEN_URL")
        return await self._redeem_code(token_url, form, headers)

    async def _redeem_code(
        self, token_url: str, form: dict[str, str], headers: dict[str, str]
    ) -> dict[str, Any]:
        http = self.get_auth_http_client()
        if self._OAUTH_TOKEN_REQUEST_METHOD == "GET":
            headers = {k: v for k, v in headers.items() if k != "Content-Type"}
            response = await http.fetch(_concat(token_url, form), headers=headers)
        else:
            response = await http.fetch(
                token_url, method="POST", headers=headers, body=urllib.parse.urlencode(form)
            )
        return decode_token_response(response)

    def _oauth_request_token_url(
        self,
        redirect_uri: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        code: str | None = None,
        extra_params: dict[str, Any] | None = None,
    ) -> str:
        """Tornado's helper: the token URL with these arguments in its query."""
        args: dict[str, Any] = {}
        if redirect_uri is not None:
            args["redirect_uri"] = redirect_uri
        if code is not None:
            args["code"] = code
        if client_id is not None:
            args["client_id"] = client_id
        if client_secret is not None:
            args["client_secret"] = client_secret
        if extra_params:
            args.update(extra_params)
        return _concat(self._oauth_endpoint("access_token_url", "_OAUTH_ACCESS_TOKEN_URL"), args)

    @returns_deferred
    async def oauth2_request(
        self,
        url: str,
        access_token: str | None = None,
        post_args: dict[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Call an API with the access token; fires with the decoded JSON (None if empty).

        The token goes in an ``Authorization: Bearer`` header (RFC 6750 §2.1),
        not in the query as Tornado does, so it stays out of server logs;
        ``args`` go in the query, ``post_args`` make it a form POST. A 4xx/5xx
        raises `cyclone.httpclient.HTTPClientError`.
        """
        headers = {"Accept": "application/json"}
        if access_token:
            headers["Authorization"] = f"Bearer {access_token}"
        if args:
            url = url_concat(url, args)
        http = self.get_auth_http_client()
        if post_args is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            response = await http.fetch(
                url,
                method="POST",
                headers=headers,
                body=urllib.parse.urlencode(post_args),
                max_body_size=DEFAULT_MAX_BODY_SIZE,
            )
        else:
            response = await http.fetch(url, headers=headers, max_body_size=DEFAULT_MAX_BODY_SIZE)
        return decode_api_response(response)
