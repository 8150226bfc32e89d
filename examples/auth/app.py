"""Sign in with OpenID Connect (Keycloak, Google, the local test provider...) or GitHub.

    python provider.py --port 9000 --client-id cyclone-example --client-secret s3cret \\
        --redirect-uri http://127.0.0.1:8888/auth/oidc
    python app.py --issuer http://127.0.0.1:9000 --client-id cyclone-example --client-secret s3cret

then open http://127.0.0.1:8888/ and press "Sign in". The signed-in user is
kept in a signed, HttpOnly cookie; signing out is a POST protected by XSRF.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.python import log

import cyclone.web
from cyclone.auth import AuthError, GitHubOAuth2Mixin, OpenIdConnectMixin

HERE = Path(__file__).parent


class BaseHandler(cyclone.web.RequestHandler):
    def get_current_user(self) -> Any:
        raw = self.get_secure_cookie("user", max_age_days=1)
        return json.loads(raw) if raw else None

    def sign_in(self, user: dict[str, Any]) -> None:
        """Keep who signed in (not the provider's tokens) and go home."""
        self.set_secure_cookie(
            "user", json.dumps(user), expires_days=1, httponly=True, samesite="Lax"
        )
        self.redirect("/")

    def refuse(self, error: AuthError) -> None:
        self.set_status(error.status_code)
        self.render("index.html", error=error.message)


class HomeHandler(BaseHandler):
    def get(self) -> None:
        self.render("index.html", error=None)


class OpenIdConnectLoginHandler(BaseHandler, OpenIdConnectMixin):
    _OAUTH_SETTINGS_KEY = "openid_connect"

    async def get(self) -> None:
        redirect_uri = self.reverse_url("oidc")
        if self.get_argument("code", None) or self.get_argument("error", None):
            try:
                user = await self.get_authenticated_user(redirect_uri=redirect_uri)
            except AuthError as error:
                self.refuse(error)
                return
            name = user.get("name") or user.get("email") or user["sub"]
            self.sign_in({"name": name, "email": user.get("email"), "via": "OpenID Connect"})
        else:
            await self.authorize_redirect(redirect_uri=redirect_uri, scope="openid profile email")


class GitHubLoginHandler(BaseHandler, GitHubOAuth2Mixin):
    async def get(self) -> None:
        redirect_uri = self.reverse_url("github")
        if self.get_argument("code", None) or self.get_argument("error", None):
            try:
                user = await self.get_authenticated_user(redirect_uri=redirect_uri)
            except AuthError as error:
                self.refuse(error)
                return
            name = user.get("name") or user["login"]
            self.sign_in({"name": name, "email": user.get("email"), "via": "GitHub"})
        else:
            self.authorize_redirect(redirect_uri=redirect_uri, scope=["read:user", "user:email"])


class LogoutHandler(BaseHandler):
    def post(self) -> None:
        self.clear_cookie("user")
        self.redirect("/")


def make_app(
    issuer: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    github: dict[str, str] | None = None,
    cookie_secret: str | None = None,
) -> cyclone.web.Application:
    handlers: list[Any] = [
        cyclone.web.url(r"/", HomeHandler),
        cyclone.web.url(r"/auth/logout", LogoutHandler),
    ]
    settings: dict[str, Any] = {"providers": []}
    if issuer:
        handlers.append(cyclone.web.url(r"/auth/oidc", OpenIdConnectLoginHandler, name="oidc"))
        settings["openid_connect"] = {"issuer": issuer, "key": client_id, "secret": client_secret}
        settings["providers"].append(("/auth/oidc", "OpenID Connect"))
    if github:
        handlers.append(cyclone.web.url(r"/auth/github", GitHubLoginHandler, name="github"))
        settings["github_oauth"] = github
        settings["providers"].append(("/auth/github", "GitHub"))
    return cyclone.web.Application(
        handlers,
        template_path=str(HERE / "templates"),
        cookie_secret=cookie_secret or secrets.token_hex(32),
        xsrf_cookies=True,
        login_url="/",
        **settings,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--issuer", help="OpenID Connect issuer URL")
    parser.add_argument("--client-id", default=os.environ.get("OIDC_CLIENT_ID"))
    parser.add_argument(
        "--client-secret",
        default=os.environ.get("OIDC_CLIENT_SECRET"),
        help="or $OIDC_CLIENT_SECRET (keeps it out of the process list)",
    )
    options = parser.parse_args(argv)
    github = None
    if os.environ.get("GITHUB_CLIENT_ID"):
        github = {
            "key": os.environ["GITHUB_CLIENT_ID"],
            "secret": os.environ["GITHUB_CLIENT_SECRET"],
        }
    if not options.issuer and not github:
        parser.error("give --issuer (OpenID Connect) or set GITHUB_CLIENT_ID/GITHUB_CLIENT_SECRET")
    log.startLogging(sys.stdout)
    app = make_app(
        options.issuer,
        options.client_id,
        options.client_secret,
        github,
        os.environ.get("COOKIE_SECRET"),
    )
    port = reactor.listenTCP(options.port, app, interface=options.interface)
    print(f"listening on http://{options.interface}:{port.getHost().port}/", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
