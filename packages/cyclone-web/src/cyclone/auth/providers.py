"""Sign-in with Google, GitHub, Facebook and Twitter, with Tornado's class and method names.

    class GitHubLoginHandler(cyclone.web.RequestHandler, GitHubOAuth2Mixin):
        async def get(self):       # settings: github_oauth={"key": ID, "secret": SECRET}
            redirect_uri = "https://app.example.org/auth/github"
            if self.get_argument("code", None) or self.get_argument("error", None):
                user = await self.get_authenticated_user(redirect_uri=redirect_uri)
                self.set_secure_cookie("user", user["login"])
                self.redirect("/")
            else:
                self.authorize_redirect(redirect_uri=redirect_uri, scope=["read:user"])

Every endpoint is a class attribute and can also be set in the provider's
settings dict (``authorize_url``, ``access_token_url``, ``api_url``...), so
tests and self-hosted look-alikes (GitHub Enterprise, Gitea) point elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from twisted.logger import Logger

from cyclone.auth._async import returns_deferred
from cyclone.auth.oauth import OAuthMixin
from cyclone.auth.oauth2 import OAuth2Mixin
from cyclone.httpclient import HTTPClientError

__all__ = ["FacebookGraphMixin", "GitHubOAuth2Mixin", "GoogleOAuth2Mixin", "TwitterMixin"]

log = Logger()


class GoogleOAuth2Mixin(OAuth2Mixin):
    """Google sign-in (OAuth 2.0), as Tornado's.

    Settings: ``google_oauth={"key": CLIENT_ID, "secret": CLIENT_SECRET}``
    from the Google Cloud console's Credentials page, where the redirect URI
    must be registered. `get_authenticated_user` fires with the token
    response; fetch the profile with ``oauth2_request(self._OAUTH_USERINFO_URL,
    access_token=...)``. For a verified ID token instead, use
    `OpenIdConnectMixin` with ``_OIDC_ISSUER = "https://accounts.google.com"``.
    """

    _OAUTH_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
    _OAUTH_ACCESS_TOKEN_URL = "https://www.googleapis.com/oauth2/v4/token"
    _OAUTH_USERINFO_URL = "https://www.googleapis.com/oauth2/v1/userinfo"
    _OAUTH_SETTINGS_KEY = "google_oauth"
    _OAUTH_STATE_COOKIE = "_oauth2_google"

    def get_google_oauth_settings(self) -> dict[str, Any]:
        """``settings["google_oauth"]``; override to keep the credentials elsewhere."""
        return self.get_oauth_settings()


class GitHubOAuth2Mixin(OAuth2Mixin):
    """GitHub sign-in (OAuth app or GitHub App user token).

    Settings: ``github_oauth={"key": CLIENT_ID, "secret": CLIENT_SECRET}``,
    plus optional ``authorize_url``, ``access_token_url`` and ``api_url``
    for GitHub Enterprise or a look-alike. `get_authenticated_user` fires
    with the ``/user`` object (``login``, ``id``, ``name``, ``email``...)
    and ``access_token``; with the ``user:email`` scope a private ``email``
    is filled from the primary verified address.
    """

    _OAUTH_AUTHORIZE_URL = "https://github.com/login/oauth/authorize"
    _OAUTH_ACCESS_TOKEN_URL = "https://github.com/login/oauth/access_token"
    _GITHUB_API_URL = "https://api.github.com"
    _OAUTH_SETTINGS_KEY = "github_oauth"
    _OAUTH_STATE_COOKIE = "_oauth2_github"

    @returns_deferred
    async def get_authenticated_user(
        self,
        redirect_uri: str | None = None,
        code: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        extra_params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        token = await OAuth2Mixin.get_authenticated_user(
            self, redirect_uri, code, client_id, client_secret, extra_params
        )
        access_token = token["access_token"]
        user = await self.github_request("/user", access_token=access_token)
        if not user.get("email"):
            try:
                emails = await self.github_request("/user/emails", access_token=access_token)
            except HTTPClientError as error:
                log.info("GitHub /user/emails not readable ({code})", code=error.code)
                emails = []
            for entry in emails or []:
                if entry.get("primary") and entry.get("verified"):
                    user["email"] = entry.get("email")
        user["access_token"] = access_token
        user["token"] = token
        return dict(user)

    def github_request(
        self,
        path: str,
        access_token: str | None = None,
        post_args: dict[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Call the GitHub REST API at ``path`` (e.g. ``/user/repos``); fires with the JSON."""
        base = str(self.get_oauth_settings().get("api_url") or self._GITHUB_API_URL)
        return self.oauth2_request(
            base.rstrip("/") + path, access_token=access_token, post_args=post_args, **args
        )


class FacebookGraphMixin(OAuth2Mixin):
    """Facebook Login with the Graph API, as Tornado's.

    Tornado's call shape: ``get_authenticated_user(redirect_uri, client_id,
    client_secret, code, extra_fields=None)`` fires with ``id``, ``name``,
    ``first_name``, ``last_name``, ``locale``, ``picture``, ``link`` (and
    ``extra_fields``), ``access_token`` and ``session_expires``. Optional
    settings ``facebook_oauth={"authorize_url", "access_token_url", "api_url"}``.
    """

    _OAUTH_ACCESS_TOKEN_URL = "https://graph.facebook.com/oauth/access_token?"
    _OAUTH_AUTHORIZE_URL = "https://www.facebook.com/dialog/oauth?"
    _OAUTH_NO_CALLBACKS = False
    _FACEBOOK_BASE_URL = "https://graph.facebook.com"
    _OAUTH_SETTINGS_KEY = "facebook_oauth"
    _OAUTH_STATE_COOKIE = "_oauth2_facebook"
    _OAUTH_TOKEN_REQUEST_METHOD = "GET"  # as Facebook documents it, and as Tornado sends it

    @returns_deferred
    async def get_authenticated_user(  # type: ignore[override]
        self,
        redirect_uri: str,
        client_id: str,
        client_secret: str,
        code: str | None = None,
        extra_fields: dict[str, Any] | list[str] | None = None,
    ) -> dict[str, Any] | None:
        token = await OAuth2Mixin.get_authenticated_user(
            self, redirect_uri, code, client_id, client_secret
        )
        access_token = str(token["access_token"])
        fields = {"id", "name", "first_name", "last_name", "locale", "picture", "link"}
        if extra_fields:
            fields.update(extra_fields)
        user = await self.facebook_request(
            "/me",
            access_token=access_token,
            # Graph API "appsecret_proof": proves the call comes from the app's server.
            appsecret_proof=hmac.new(
                client_secret.encode(), access_token.encode(), hashlib.sha256
            ).hexdigest(),
            fields=",".join(sorted(fields)),
        )
        if user is None:
            return None
        result = {field: user.get(field) for field in fields}
        result["access_token"] = access_token
        result["session_expires"] = str(token.get("expires_in"))
        return result

    def facebook_request(
        self,
        path: str,
        access_token: str | None = None,
        post_args: dict[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Call the Graph API at ``path`` (e.g. ``/me/feed``); fires with the JSON."""
        base = str(self.get_oauth_settings().get("api_url") or self._FACEBOOK_BASE_URL)
        return self.oauth2_request(
            base.rstrip("/") + path, access_token=access_token, post_args=post_args, **args
        )


class TwitterMixin(OAuthMixin):
    """Twitter (X) sign-in with OAuth 1.0a, as Tornado's.

    Settings ``twitter_consumer_key`` and ``twitter_consumer_secret``. The
    user is ``/account/verify_credentials`` with ``username`` (the screen
    name) and ``access_token``. Like Tornado's, it targets API v1.1, which X
    now offers only on paid tiers.
    """

    _OAUTH_REQUEST_TOKEN_URL = "https://api.twitter.com/oauth/request_token"
    _OAUTH_ACCESS_TOKEN_URL = "https://api.twitter.com/oauth/access_token"
    _OAUTH_AUTHORIZE_URL = "https://api.twitter.com/oauth/authorize"
    _OAUTH_AUTHENTICATE_URL = "https://api.twitter.com/oauth/authenticate"
    _OAUTH_NO_CALLBACKS = False
    _TWITTER_BASE_URL = "https://api.twitter.com/1.1"

    @returns_deferred
    async def authenticate_redirect(self, callback_uri: str | None = None) -> None:
        """Like ``authorize_redirect``, but the provider skips the prompt once authorized."""
        await self._redirect_to(self._OAUTH_AUTHENTICATE_URL, callback_uri)

    def twitter_request(
        self,
        path: str,
        access_token: dict[str, Any],
        post_args: dict[str, Any] | None = None,
        **args: Any,
    ) -> Any:
        """Call the v1.1 API at ``path`` (e.g. ``/statuses/user_timeline/btaylor``)."""
        if path.startswith(("http:", "https:")):
            url = path
        else:
            url = self._TWITTER_BASE_URL + path + ".json"
        return self.oauth_request(url, access_token, post_args=post_args, **args)

    def _oauth_consumer_token(self) -> dict[str, Any]:
        handler = self._handler
        handler.require_setting("twitter_consumer_key", "Twitter OAuth")
        handler.require_setting("twitter_consumer_secret", "Twitter OAuth")
        return {
            "key": handler.settings["twitter_consumer_key"],
            "secret": handler.settings["twitter_consumer_secret"],
        }

    async def _oauth_get_user_future(self, access_token: dict[str, Any]) -> dict[str, Any]:
        user = await self.twitter_request("/account/verify_credentials", access_token=access_token)
        if user:
            user["username"] = user["screen_name"]
        return user
