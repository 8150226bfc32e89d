"""Signing in: a signed session cookie, ``@authenticated`` pages, HTTP Basic and Digest.

- /signin checks a user name and password and sets the ``user`` cookie with
  ``set_secure_cookie``: signed with the application's ``cookie_secret`` and
  timestamped, so it cannot be forged or edited, and HttpOnly + SameSite=Lax.
- /account is ``@authenticated``: without the cookie it redirects to the
  ``login_url`` setting with ``?next=/account``; /signin goes back there
  afterwards, but only to a URL on this site: ``get_safe_next_url()`` replaces
  a ``next`` leading elsewhere (``//attacker.example``, ``https://...``) with /account.
- /auth/basic and /auth/digest ask the browser for the same credentials over HTTP
  authentication (`cyclone.httpauth`).
- "Sign in with OpenID Connect" and "Sign in with GitHub" (cyclone.auth, in
  `demosite.external_signin`) appear when the demo is started with an
  `IdentityProviders` configuration; without one the page says how to add them.

Passwords are never stored: `Users` keeps a salted PBKDF2 hash for the form and
Basic, and the Digest HA1 value (RFC 7616 §3.4.2) per algorithm.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import urllib.parse
from dataclasses import dataclass
from typing import NamedTuple

from twisted.internet import defer, threads

import cyclone.web
from cyclone import httpauth
from cyclone.signing import decode_signed_value
from demosite.base import BaseHandler

#: The demo's accounts (user -> password); the page shows them, so they are no secret.
DEMO_ACCOUNTS = {"ana": "cyclone", "bob": "twisted"}
REALM = "cyclone demo"
DIGEST_ALGORITHMS = ("SHA-256", "MD5")
#: PBKDF2 iterations: slow enough to make guessing costly, fast enough for a demo.
PBKDF2_ITERATIONS = 200_000


class ExternalSignIn(NamedTuple):
    """A "Sign in with ..." button: the provider's name, the URL that starts its flow, an id."""

    label: str
    url: str
    id: str


@dataclass(frozen=True)
class IdentityProviders:
    """The identity providers the demo offers sign-in with; none by default.

    OpenID Connect needs the issuer and a client id (and usually a secret); GitHub
    an OAuth app's client id and secret. The GitHub endpoints default to
    github.com's; GitHub Enterprise or a look-alike (the local test provider)
    sets them. app.py fills them from its command line and environment (see the
    README).
    """

    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    github_client_id: str | None = None
    github_client_secret: str | None = None
    github_authorize_url: str | None = None
    github_token_url: str | None = None
    github_api_url: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.oidc_issuer or self.github_client_id)

    def problems(self) -> list[str]:
        """What is missing for the providers named (empty when usable)."""
        found = []
        if self.oidc_issuer and not self.oidc_client_id:
            found.append("--oidc-issuer needs --oidc-client-id (or $DEMO_OIDC_CLIENT_ID)")
        if self.oidc_client_id and not self.oidc_issuer:
            found.append("--oidc-client-id needs --oidc-issuer (or $DEMO_OIDC_ISSUER)")
        if self.github_client_id and not self.github_client_secret:
            found.append(
                "--github-client-id needs --github-client-secret (or $DEMO_GITHUB_CLIENT_SECRET)"
            )
        return found


#: The cookie saying how the visitor signed in ("password", "OpenID Connect", "GitHub").
VIA_COOKIE = "signin_via"


def sign_in(handler: BaseHandler, name: str, via: str) -> None:
    """Set the signed ``user`` cookie (and how they signed in) for a session."""
    # No expires_days: session cookies, gone when the browser closes; the server
    # also refuses them after a day (max_age_days in BaseHandler.get_current_user).
    for cookie, value in (("user", name), (VIA_COOKIE, via)):
        handler.set_secure_cookie(cookie, value, expires_days=None, httponly=True, samesite="Lax")


def render_sign_in(
    handler: BaseHandler, next_url: str, error: str | None = None, name: str = ""
) -> None:
    """The sign-in page, with a button per configured provider carrying ``next``."""
    external = [
        provider._replace(url=provider.url + "?" + urllib.parse.urlencode({"next": next_url}))
        for provider in handler.settings.get("external_sign_in", [])
    ]
    handler.render(
        "signin.html",
        error=error,
        name=name,
        next_url=next_url,
        accounts=DEMO_ACCOUNTS,
        external=external,
    )


class Users:
    """Verifies passwords without keeping them: PBKDF2 hashes, and Digest HA1 values."""

    def __init__(self, accounts: dict[str, str]) -> None:
        self._hashes: dict[str, tuple[bytes, bytes]] = {}
        self._ha1: dict[tuple[str, str], str] = {}
        for name, password in accounts.items():
            salt = os.urandom(16)
            self._hashes[name] = (salt, self._hash(password, salt))
            for algorithm in DIGEST_ALGORITHMS:
                self._ha1[name, algorithm] = httpauth.digest_ha1(name, REALM, password, algorithm)

    @staticmethod
    def _hash(password: str, salt: bytes) -> bytes:
        return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, PBKDF2_ITERATIONS)

    def check(self, name: str, password: str) -> defer.Deferred[bool]:
        """Fires True for the right password. PBKDF2 is slow on purpose, so it runs in a
        thread: the server keeps answering other requests meanwhile."""
        return threads.deferToThread(self._check, name, password)

    def _check(self, name: str, password: str) -> bool:
        salt, expected = self._hashes.get(name, (b"\0" * 16, b""))
        # Unknown names are hashed too, so timing does not tell which names exist.
        return hmac.compare_digest(self._hash(password, salt), expected) and bool(expected)

    def ha1(self, name: str, algorithm: str) -> str | None:
        return self._ha1.get((name, algorithm))


USERS = Users(DEMO_ACCOUNTS)


class SignInPage(BaseHandler):
    """The sign-in form; a right password sets the signed ``user`` cookie."""

    page = "signin"

    def get(self) -> None:
        next_url = self.get_safe_next_url("/account")
        if self.current_user:
            self.redirect(next_url)
            return
        render_sign_in(self, next_url)

    async def post(self) -> None:
        name = self.get_body_argument("name", "")
        password = self.get_body_argument("password", "", strip=False)
        next_url = self.get_safe_next_url("/account")
        if not await USERS.check(name, password):
            error = "Unknown user name or wrong password."
            render_sign_in(self, next_url, error=error, name=name)
            return
        sign_in(self, name, via="password")
        self.redirect(next_url)


class AccountPage(BaseHandler):
    """Only for signed-in users; shows what the signed cookie holds."""

    page = "signin"

    @cyclone.web.authenticated
    def get(self) -> None:
        raw = self.get_cookie("user", "")
        parts = raw.split("|")
        via = self.get_secure_cookie(VIA_COOKIE, max_age_days=1)
        self.render(
            "account.html",
            cookie=raw,
            parts=parts,
            verified=decode_signed_value(self.settings.cookie_secret, "user", raw) is not None,
            via=via.decode("utf-8") if via else "password",
        )


class SignOut(BaseHandler):
    """POST (with the XSRF token) clears the cookie; a GET link could be forged by any site."""

    def post(self) -> None:
        for cookie in ("user", VIA_COOKIE):
            self.clear_cookie(cookie, httponly=True, samesite="Lax")
        self.redirect(self.get_safe_next_url("/signin"))


def _check_basic(handler: BaseHandler, name: str, password: str) -> defer.Deferred[bool]:
    return USERS.check(name, password)


def _digest_ha1(handler: BaseHandler, name: str, algorithm: str) -> str | None:
    return USERS.ha1(name, algorithm)


class BasicAuthPage(BaseHandler):
    """HTTP Basic (RFC 7617): the browser asks for the user name and password."""

    page = "signin"

    @httpauth.basic_auth(_check_basic, realm=REALM)
    def get(self) -> None:
        self.render("httpauth.html", scheme="Basic", user=self.current_user)


class DigestAuthPage(BaseHandler):
    """HTTP Digest (RFC 7616): the password never crosses the wire, only a hash of it."""

    page = "signin"

    @httpauth.digest_auth(realm=REALM, algorithms=DIGEST_ALGORITHMS, get_ha1=_digest_ha1)
    def get(self) -> None:
        self.render("httpauth.html", scheme="Digest", user=self.current_user)
