"""Signing in through an identity provider with cyclone.auth: OpenID Connect, and GitHub.

- /auth/oidc uses `OpenIdConnectMixin` with any OpenID Connect provider, found
  from its issuer URL (Keycloak, Google, Authentik... or the local test provider
  of examples/auth): discovery, the authorization code flow with PKCE, and the
  ID token checked against the provider's keys (``iss``, ``aud``, ``exp``,
  ``nonce``).
- /auth/github uses `GitHubOAuth2Mixin` (an OAuth app's client id and secret).

Both end like the password form: the user's name in the signed ``user``
cookie (`demosite.signin.sign_in`); the provider's tokens are not kept. The
``next`` page the visitor asked for survives the trip to the provider in a
signed, HttpOnly cookie that lives `NEXT_MAX_AGE` seconds: it is checked with
``get_safe_next_url()`` before it is stored and again when it is used, so a
link to /auth/oidc?next=//attacker.example still lands on this site. A refused
sign-in (denied consent, a forged or stale callback, a bad ID token, an
unreachable provider) shows the sign-in page with the reason.

`setup` gives the routes and settings for the providers configured; without
any, the demo has no such routes and the sign-in page says so.
"""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger

from cyclone.auth import AuthError, GitHubOAuth2Mixin, OpenIdConnectMixin
from cyclone.handler import is_safe_redirect_url
from cyclone.web import url
from demosite.base import BaseHandler
from demosite.signin import ExternalSignIn, IdentityProviders, render_sign_in, sign_in

log = Logger()

#: The signed cookie holding ``next`` while the visitor is at the provider.
NEXT_COOKIE = "signin_next"
#: Seconds a sign-in may take at the provider before ``next`` is forgotten (as
#: cyclone.auth's own state cookie: time to type a password and pass a second factor).
NEXT_MAX_AGE = 600
#: Where a signed-in visitor goes when no (safe) ``next`` was given.
DEFAULT_NEXT = "/account"


class ExternalSignInHandler(BaseHandler):
    """What the provider handlers share: ``next`` across the round trip, success, refusal."""

    page = "signin"
    #: The provider's name, on the button and the account page.
    label = ""
    #: The route's name (for the redirect URI registered with the provider).
    route = ""

    def remember_next(self) -> None:
        """Keep the safe ``next`` argument for the return from the provider."""
        self.set_secure_cookie(
            NEXT_COOKIE,
            self.get_safe_next_url(DEFAULT_NEXT),
            expires_days=None,
            max_age=NEXT_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=self.request.protocol == "https",
        )

    def recall_next(self) -> str:
        """The ``next`` kept by `remember_next` (once: the cookie is deleted), or the default."""
        raw = self.get_secure_cookie(NEXT_COOKIE, max_age_days=NEXT_MAX_AGE / 86400)
        self.clear_cookie(NEXT_COOKIE)
        next_url = raw.decode("utf-8") if raw else DEFAULT_NEXT
        hosts = [self.request.host, *self.settings.get("allowed_redirect_hosts", ())]
        return next_url if is_safe_redirect_url(next_url, allowed_hosts=hosts) else DEFAULT_NEXT

    def returned_from_provider(self) -> bool:
        return bool(self.get_argument("code", None) or self.get_argument("error", None))

    def redirect_uri(self) -> str:
        return self.reverse_url(self.route)

    def signed_in(self, name: str) -> None:
        sign_in(self, name, via=self.label)
        self.redirect(self.recall_next())

    def refuse(self, message: str, status_code: int) -> None:
        """The sign-in page again, saying why, with the ``next`` the visitor came with."""
        self.set_status(status_code)
        render_sign_in(
            self, self.recall_next(), error=f"Sign-in with {self.label} failed: {message}"
        )

    def configuration_error(self, error: ValueError) -> None:
        """Our side cannot sign in this way (e.g. an http redirect URI on a public host)."""
        log.failure("sign-in with {provider} is misconfigured", provider=self.label)
        self.refuse(str(error), 500)


class OpenIdConnectSignIn(ExternalSignInHandler, OpenIdConnectMixin):
    """/auth/oidc: off to the provider, and back with an authorization code."""

    _OAUTH_SETTINGS_KEY = "openid_connect"
    label = "OpenID Connect"
    route = "auth-oidc"

    async def get(self) -> None:
        try:
            if self.returned_from_provider():
                user = await self.get_authenticated_user(redirect_uri=self.redirect_uri())
                self.signed_in(user.get("name") or user.get("email") or user["sub"])
            else:
                self.remember_next()
                await self.authorize_redirect(
                    redirect_uri=self.redirect_uri(), scope="openid profile email"
                )
        except AuthError as error:
            self.refuse(error.message, error.status_code)
        except ValueError as error:  # a redirect URI cyclone.auth refuses (plain http...)
            self.configuration_error(error)


class GitHubSignIn(ExternalSignInHandler, GitHubOAuth2Mixin):
    """/auth/github: GitHub's OAuth 2.0 flow, then its /user API for the name."""

    label = "GitHub"
    route = "auth-github"

    async def get(self) -> None:
        try:
            if self.returned_from_provider():
                user = await self.get_authenticated_user(redirect_uri=self.redirect_uri())
                self.signed_in(user.get("name") or user["login"])
            else:
                self.remember_next()
                self.authorize_redirect(
                    redirect_uri=self.redirect_uri(), scope=["read:user", "user:email"]
                )
        except AuthError as error:
            self.refuse(error.message, error.status_code)
        except ValueError as error:
            self.configuration_error(error)


def setup(providers: IdentityProviders) -> tuple[list[Any], dict[str, Any]]:
    """The routes and application settings for the providers configured."""
    routes: list[Any] = []
    buttons: list[ExternalSignIn] = []
    settings: dict[str, Any] = {}
    if providers.oidc_issuer:
        routes.append(url(r"/auth/oidc", OpenIdConnectSignIn, name=OpenIdConnectSignIn.route))
        buttons.append(ExternalSignIn(OpenIdConnectSignIn.label, "/auth/oidc", "signin-oidc"))
        settings["openid_connect"] = {
            "issuer": providers.oidc_issuer,
            "key": providers.oidc_client_id,
            "secret": providers.oidc_client_secret,
        }
    if providers.github_client_id:
        routes.append(url(r"/auth/github", GitHubSignIn, name=GitHubSignIn.route))
        buttons.append(ExternalSignIn(GitHubSignIn.label, "/auth/github", "signin-github"))
        github = {"key": providers.github_client_id, "secret": providers.github_client_secret}
        for setting, value in (
            ("authorize_url", providers.github_authorize_url),
            ("access_token_url", providers.github_token_url),
            ("api_url", providers.github_api_url),
        ):
            if value:
                github[setting] = value
        settings["github_oauth"] = github
    settings["external_sign_in"] = buttons
    return routes, settings
