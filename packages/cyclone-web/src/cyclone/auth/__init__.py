"""Third-party sign-in: OAuth 2.0, OpenID Connect and OAuth 1.0a mixins for request handlers.

    import cyclone.web
    from cyclone.auth import GitHubOAuth2Mixin

    class GitHubLoginHandler(cyclone.web.RequestHandler, GitHubOAuth2Mixin):
        async def get(self):
            redirect_uri = self.settings["base_url"] + "/auth/github"
            if self.get_argument("code", None) or self.get_argument("error", None):
                user = await self.get_authenticated_user(redirect_uri=redirect_uri)
                self.set_secure_cookie("user", user["login"])
                self.redirect("/")
            else:
                self.authorize_redirect(redirect_uri=redirect_uri, scope=["read:user"])

    app = cyclone.web.Application(
        [(r"/auth/github", GitHubLoginHandler)],
        cookie_secret="...", github_oauth={"key": CLIENT_ID, "secret": CLIENT_SECRET},
    )

The classes and methods are Tornado's (``tornado.auth``), so Tornado code
ports unchanged; every method returns a Deferred, usable with ``await``,
``inlineCallbacks`` or ``addCallback``. Safe by default: a ``state`` bound
to the browser by a signed cookie (needs the ``cookie_secret`` setting),
PKCE on OAuth 2.0, redirect URIs checked, ID tokens verified against the
provider's keys, tokens kept out of URLs and logs, and `AuthError` (403/502,
with the provider's message) for denial, forgery and provider failures.

- `OAuth2Mixin`, `OpenIdConnectMixin`, `OAuthMixin` (1.0a): any provider;
- `GoogleOAuth2Mixin`, `GitHubOAuth2Mixin`, `FacebookGraphMixin`, `TwitterMixin`.

OpenID 2.0 (``OpenIdMixin`` and cyclone 1.x's ``GoogleMixin``), the old
``FacebookMixin`` and ``FriendFeedMixin`` are gone with the services behind
them: ``from cyclone.auth import GoogleMixin`` raises an ImportError that names the
replacement, and looking them up as attributes raises an AttributeError with the same
message, so ``hasattr(cyclone.auth, "GoogleMixin")`` is False.
This module imports `cyclone.httpclient` (treq); ``cyclone.web`` does not
import it.
"""

from __future__ import annotations

import dis
import sys
from typing import Any

from cyclone.auth.errors import AuthError
from cyclone.auth.oauth import OAuthMixin
from cyclone.auth.oauth2 import OAuth2Mixin
from cyclone.auth.openid_connect import OpenIdConnectMixin, clear_openid_connect_cache
from cyclone.auth.providers import (
    FacebookGraphMixin,
    GitHubOAuth2Mixin,
    GoogleOAuth2Mixin,
    TwitterMixin,
)

__all__ = [
    "AuthError",
    "FacebookGraphMixin",
    "GitHubOAuth2Mixin",
    "GoogleOAuth2Mixin",
    "OAuth2Mixin",
    "OAuthMixin",
    "OpenIdConnectMixin",
    "TwitterMixin",
    "clear_openid_connect_cache",
]

_REMOVED = {
    "OpenIdMixin": "OpenID 2.0 is no longer offered by any major provider; "
    "use OpenIdConnectMixin (OpenID Connect)",
    "GoogleMixin": "Google shut down OpenID 2.0 and OAuth 1.0 in 2015; use GoogleOAuth2Mixin "
    "or OpenIdConnectMixin with _OIDC_ISSUER = 'https://accounts.google.com'",
    "FacebookMixin": "Facebook's old REST API is gone; use FacebookGraphMixin",
    "FriendFeedMixin": "FriendFeed closed in 2015",
}


_IMPORT_FROM = dis.opmap["IMPORT_FROM"]


def _looked_up_by_from_import(frame: Any) -> bool:
    """Whether ``frame`` is running the IMPORT_FROM step of ``from cyclone.auth import name``.

    That step turns an AttributeError into a generic "cannot import name" ImportError and
    drops its message, so for it we raise the ImportError ourselves. One exception type
    deriving from both ImportError and AttributeError would serve both callers, but CPython
    refuses that class (their instance layouts conflict). Should a Python release run the
    import differently, this is False and the import still fails, with Python's message.
    """
    code = frame.f_code.co_code
    return 0 <= frame.f_lasti < len(code) and code[frame.f_lasti] == _IMPORT_FROM


def __getattr__(name: str) -> Any:
    if name in _REMOVED:
        message = f"cyclone.auth.{name} was removed in cyclone 2: {_REMOVED[name]}"
        if _looked_up_by_from_import(sys._getframe(1)):
            raise ImportError(message, name=__name__)
        # An AttributeError, so hasattr() and getattr(..., default) see a missing name.
        raise AttributeError(message, name=name, obj=sys.modules[__name__])
    raise AttributeError(f"module 'cyclone.auth' has no attribute {name!r}")
