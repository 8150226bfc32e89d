"""Sign-in applications used by the cyclone.auth tests, served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from twisted.internet import defer, reactor

from cyclone.auth import AuthError, OpenIdConnectMixin
from cyclone.web import Application, RequestHandler

CLIENT_ID = "cyclone-test-client"
CLIENT_SECRET = "test-client-secret-0123456789"
COOKIE_SECRET = "test cookie secret, 32 bytes long!!"


class SignInPage(RequestHandler):
    """What applications do: start, or finish and show who signed in; errors as JSON."""

    results: list[dict[str, Any]]

    def initialize(self, results: list[dict[str, Any]] | None = None) -> None:
        self.results = results if results is not None else []

    def fail(self, error: AuthError) -> None:
        self.set_status(error.status_code)
        self.write({"error": str(error), "provider_error": error.error})

    def succeed(self, user: dict[str, Any]) -> None:
        self.results.append(user)
        self.write({key: user.get(key) for key in ("sub", "email", "name", "login", "username")})


class OIDCLogin(SignInPage, OpenIdConnectMixin):
    async def get(self) -> None:
        if self.get_argument("code", None) or self.get_argument("error", None):
            try:
                user = await self.get_authenticated_user(
                    redirect_uri="/auth/oidc",
                    fetch_userinfo=self.settings.get("fetch_userinfo", False),
                )
            except AuthError as error:
                self.fail(error)
                return
            self.succeed(user)
        else:
            await self.authorize_redirect(redirect_uri="/auth/oidc", scope="openid profile email")


class OIDCLoginInlineCallbacks(SignInPage, OpenIdConnectMixin):
    """The same, written with inlineCallbacks and errors left to the framework."""

    @defer.inlineCallbacks
    def get(self) -> Any:
        if self.get_argument("code", None) or self.get_argument("error", None):
            user = yield self.get_authenticated_user(redirect_uri="/auth/oidc-inline")
            self.succeed(user)
        else:
            yield self.authorize_redirect(redirect_uri="/auth/oidc-inline")


class OIDCLoginCallbacks(SignInPage, OpenIdConnectMixin):
    """The same with plain Deferred callbacks."""

    def get(self) -> defer.Deferred[None]:
        if self.get_argument("code", None) or self.get_argument("error", None):
            d = self.get_authenticated_user(redirect_uri="/auth/oidc-callbacks")
            d.addCallback(self.succeed)
            return d
        return self.authorize_redirect(redirect_uri="/auth/oidc-callbacks")


@contextmanager
def serve(
    handlers: list[tuple[str, type, dict[str, Any]] | tuple[str, type]], **settings: Any
) -> Iterator[str]:
    """Serve an Application on a free loopback port; yields its base URL."""
    settings.setdefault("cookie_secret", COOKIE_SECRET)
    settings.setdefault("access_log", False)
    port = reactor.listenTCP(0, Application(handlers, **settings), interface="127.0.0.1")
    try:
        yield f"http://127.0.0.1:{port.getHost().port}"
    finally:
        port.stopListening()
