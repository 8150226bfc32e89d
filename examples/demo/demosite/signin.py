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

Passwords are never stored: `Users` keeps a salted PBKDF2 hash for the form and
Basic, and the Digest HA1 value (RFC 7616 §3.4.2) per algorithm.

Third-party sign-in (OAuth 2.0 / OpenID Connect with cyclone.auth) belongs in
`EXTERNAL_SIGN_IN`: each entry becomes a button on /signin.
"""

from __future__ import annotations

import hashlib
import hmac
import os
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
    """A "Sign in with ..." button: the label and the URL that starts the provider's flow."""

    label: str
    url: str


#: Providers added by cyclone.auth (OAuth 2.0 / OpenID Connect) go here; empty by default.
EXTERNAL_SIGN_IN: list[ExternalSignIn] = []


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
        self.render("signin.html", error=None, name="", next_url=next_url, **self._extra())

    async def post(self) -> None:
        name = self.get_body_argument("name", "")
        password = self.get_body_argument("password", "", strip=False)
        next_url = self.get_safe_next_url("/account")
        if not await USERS.check(name, password):
            error = "Unknown user name or wrong password."
            self.render("signin.html", error=error, name=name, next_url=next_url, **self._extra())
            return
        # No expires_days: a session cookie, gone when the browser closes; the server
        # also refuses it after a day (max_age_days in BaseHandler.get_current_user).
        self.set_secure_cookie("user", name, expires_days=None, httponly=True, samesite="Lax")
        self.redirect(next_url)

    def _extra(self) -> dict[str, object]:
        return {"accounts": DEMO_ACCOUNTS, "external": EXTERNAL_SIGN_IN}


class AccountPage(BaseHandler):
    """Only for signed-in users; shows what the signed cookie holds."""

    page = "signin"

    @cyclone.web.authenticated
    def get(self) -> None:
        raw = self.get_cookie("user", "")
        parts = raw.split("|")
        self.render(
            "account.html",
            cookie=raw,
            parts=parts,
            verified=decode_signed_value(self.settings.cookie_secret, "user", raw) is not None,
        )


class SignOut(BaseHandler):
    """POST (with the XSRF token) clears the cookie; a GET link could be forged by any site."""

    def post(self) -> None:
        self.clear_cookie("user", httponly=True, samesite="Lax")
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
