"""`OpenIdConnectMixin`: sign in with any OpenID Connect provider from its issuer URL.

    class KeycloakLoginHandler(cyclone.web.RequestHandler, OpenIdConnectMixin):
        _OAUTH_SETTINGS_KEY = "keycloak"
        # settings: {"keycloak": {"issuer": "https://sso.example.org/realms/staff",
        #                         "key": CLIENT_ID, "secret": CLIENT_SECRET}}

        async def get(self):
            if self.get_argument("code", None) or self.get_argument("error", None):
                user = await self.get_authenticated_user()
                self.set_secure_cookie("user", user["sub"])
                self.redirect("/")
            else:
                await self.authorize_redirect(
                    redirect_uri=self.reverse_url("keycloak"), scope=["openid", "email"])

The provider's endpoints come from its discovery document (OpenID Connect
Discovery 1.0 §4) and its signing keys from its JWK Set; both are cached
(`_OIDC_CACHE_SECONDS`) and the key set is fetched again when a token names
a key it does not have (key rotation). The code flow uses state, PKCE and a
``nonce``; the ID token is checked as OpenID Connect Core §3.1.3.7 says
(`cyclone.auth.id_token`). ``authorize_redirect`` may have to fetch the
discovery document, so it must be awaited.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from twisted.logger import Logger

from cyclone.auth import jwt
from cyclone.auth._async import returns_deferred
from cyclone.auth.client import decode_json
from cyclone.auth.errors import AuthError
from cyclone.auth.id_token import DEFAULT_CLOCK_SKEW, validate_id_token_claims
from cyclone.auth.oauth2 import OAuth2Mixin, _concat

__all__ = ["OpenIdConnectMixin", "clear_openid_connect_cache"]

log = Logger()

#: Discovery documents and JWK Sets by URL: (time fetched, document).
_cache: dict[str, tuple[float, dict[str, Any]]] = {}
#: A JWK Set is fetched again for an unknown ``kid`` at most this often (seconds).
_JWKS_REFETCH_INTERVAL = 60.0


def clear_openid_connect_cache() -> None:
    """Forget every cached discovery document and key set (tests, key revocation)."""
    _cache.clear()


class OpenIdConnectMixin(OAuth2Mixin):
    """Sign in with OpenID Connect (authorization code flow, PKCE, validated ID token).

    - ``_OIDC_ISSUER`` (setting ``issuer``): the provider's issuer URL,
      e.g. ``https://accounts.google.com``;
    - ``_OIDC_ALGORITHMS``: the ID-token signature algorithms accepted
      (RS256, RS384, RS512; RS256 is what every provider must offer);
    - ``_OIDC_CLOCK_SKEW``: seconds of clock difference tolerated (120);
    - ``_OIDC_TRUSTED_AUDIENCES``: other audiences an ID token may name;
    - ``_OIDC_CACHE_SECONDS``: how long discovery and keys are reused (3600).
    """

    _OAUTH_SETTINGS_KEY: str | None = "openid_connect"
    _OAUTH_STATE_COOKIE = "_oidc_state"
    _OIDC_ISSUER: str = ""
    _OIDC_ALGORITHMS: ClassVar[tuple[str, ...]] = ("RS256", "RS384", "RS512")
    _OIDC_CLOCK_SKEW: float = DEFAULT_CLOCK_SKEW
    _OIDC_TRUSTED_AUDIENCES: ClassVar[tuple[str, ...]] = ()
    _OIDC_CACHE_SECONDS: float = 3600.0

    def _oidc_issuer(self) -> str:
        return self._oauth_endpoint("issuer", "_OIDC_ISSUER").rstrip("/")

    async def _cached_document(self, url: str, what: str, max_age: float) -> dict[str, Any]:
        cached = _cache.get(url)
        if cached is not None and time.time() - cached[0] < max_age:
            return cached[1]
        response = await self.get_auth_http_client().fetch(
            url, headers={"Accept": "application/json"}
        )
        document = decode_json(response, what)
        _cache[url] = (time.time(), document)
        return document

    @returns_deferred
    async def get_oidc_configuration(self) -> dict[str, Any]:
        """The provider's discovery document, fetched once per `_OIDC_CACHE_SECONDS`.

        Its ``issuer`` must be the configured issuer exactly (Discovery §4.3),
        or a document served elsewhere could redirect our sign-ins.
        """
        issuer = self._oidc_issuer()
        url = issuer + "/.well-known/openid-configuration"
        document = await self._cached_document(
            url, "the discovery document", self._OIDC_CACHE_SECONDS
        )
        if document.get("issuer", "").rstrip("/") != issuer:
            _cache.pop(url, None)
            raise AuthError(
                f"the discovery document at {url} names issuer {document.get('issuer')!r}, "
                f"not {issuer!r}",
                status_code=502,
            )
        for member in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(member), str):
                raise AuthError(f"the discovery document has no {member}", status_code=502)
        return document

    @returns_deferred
    async def authorize_redirect(
        self,
        redirect_uri: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        extra_params: dict[str, Any] | None = None,
        scope: list[str] | str | None = None,
        response_type: str = "code",
    ) -> None:
        """Send the browser to the provider (OIDC Core §3.1.2.1); await it.

        ``scope`` defaults to ``openid profile email`` and always includes
        ``openid``. A ``nonce`` joins the state and PKCE challenge.
        """
        configuration = await self.get_oidc_configuration()
        client_id, _ = self._oauth_client(client_id, None)
        scopes = (scope.split() if isinstance(scope, str) else list(scope)) if scope else []
        scopes = scopes or ["openid", "profile", "email"]
        if "openid" not in scopes:
            scopes.insert(0, "openid")
        login = self._begin_sign_in(redirect_uri, nonce=True)
        args = self._oauth_authorize_args(
            login, login.redirect_uri, client_id, extra_params, scopes, response_type
        )
        self._handler.redirect(_concat(configuration["authorization_endpoint"], args))

    @returns_deferred
    async def get_authenticated_user(
        self,
        redirect_uri: str | None = None,
        code: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        extra_params: dict[str, Any] | None = None,
        fetch_userinfo: bool = False,
    ) -> dict[str, Any]:
        """Check the answer, redeem the code, validate the ID token; fires with the user.

        The dict holds the ID token's claims (``sub``, ``email``, ``name``...)
        — merged with the UserInfo endpoint's when ``fetch_userinfo`` — plus
        ``access_token``, ``id_token`` (the raw JWT, e.g. for logout's
        ``id_token_hint``) and ``token`` (the whole token response).
        """
        configuration = await self.get_oidc_configuration()
        login, redirect_uri, code = self._finish_sign_in(redirect_uri, code)
        client_id, client_secret = self._oauth_client(client_id, client_secret)
        if not client_id:
            raise ValueError(f"{type(self).__name__} needs a client_id to check ID tokens")
        form, headers = self._oauth_token_request(
            login, redirect_uri, code, client_id, client_secret, extra_params
        )
        token = await self._redeem_code(configuration["token_endpoint"], form, headers)
        raw_id_token = token.get("id_token")
        if not isinstance(raw_id_token, str):
            raise AuthError("the token response has no id_token (was 'openid' in the scope?)")
        claims = await self.validate_id_token(
            raw_id_token,
            client_id=client_id,
            nonce=login.nonce,
            access_token=token["access_token"],
        )
        user = dict(claims)
        if fetch_userinfo:
            info = await self.oidc_userinfo(token["access_token"])
            if info.get("sub") != claims["sub"]:
                # OIDC Core §5.3.4: a different subject means a substituted response.
                raise AuthError("the UserInfo response is about another subject", status_code=502)
            user = {**info, **claims}
        user.update(access_token=token["access_token"], id_token=raw_id_token, token=token)
        return user

    @returns_deferred
    async def validate_id_token(
        self,
        id_token: str,
        client_id: str | None = None,
        nonce: str | None = None,
        access_token: str | None = None,
    ) -> dict[str, Any]:
        """Verify an ID token's signature with the provider's keys and check its claims.

        Fires with the claims or fails with `AuthError` (403) saying which
        check failed. ``nonce`` is required when the authorization request
        sent one (it always does here).
        """
        configuration = await self.get_oidc_configuration()
        client_id, _ = self._oauth_client(client_id, None)
        token = jwt.decode_compact(id_token)
        jwks_uri = configuration["jwks_uri"]
        jwks = await self._cached_document(jwks_uri, "the JWK Set", self._OIDC_CACHE_SECONDS)
        if jwt.find_key(token, jwks) is None:
            # The provider may have rotated its keys since we cached them.
            jwks = await self._cached_document(jwks_uri, "the JWK Set", _JWKS_REFETCH_INTERVAL)
        jwt.verify_signature(token, jwks, self._OIDC_ALGORITHMS)
        validate_id_token_claims(
            token.claims,
            issuer=configuration["issuer"],
            client_id=str(client_id),
            nonce=nonce,
            algorithm=token.algorithm,
            access_token=access_token,
            trusted_audiences=self._OIDC_TRUSTED_AUDIENCES,
            clock_skew=self._OIDC_CLOCK_SKEW,
        )
        return token.claims

    @returns_deferred
    async def oidc_userinfo(self, access_token: str) -> dict[str, Any]:
        """The UserInfo endpoint's claims for this access token (OIDC Core §5.3)."""
        configuration = await self.get_oidc_configuration()
        endpoint = configuration.get("userinfo_endpoint")
        if not endpoint:
            raise AuthError("the provider has no userinfo_endpoint", status_code=502)
        response = await self.get_auth_http_client().fetch(
            endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        return decode_json(response, "the UserInfo request")
