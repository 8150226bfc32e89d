"""What every page of the demo shares: the navigation, the signed-in user, the language,
security headers and styled error pages.

Every page handler subclasses `BaseHandler` and names itself with ``page`` (the
navigation highlights it). The WebSocket, event-stream and RPC handlers do not:
they answer programs, not people.
"""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger

import cyclone.locale
import cyclone.web

log = Logger()


def N_(message: str) -> str:
    """Mark ``message`` for ``python -m cyclone.locale extract``; it is translated where shown."""
    return message


#: The navigation bar: (page, path, label); labels are translated when rendered.
NAV = [
    ("templates", "/templates", N_("Templates")),
    ("form", "/form", N_("Forms")),
    ("signin", "/signin", N_("Sign in")),
    ("upload", "/upload", N_("Upload")),
    ("locale", "/locale", N_("Languages")),
    ("chat", "/chat", N_("Chat")),
    ("feed", "/feed", N_("Live feed")),
    ("rpc", "/rpc", N_("RPC")),
    ("static", "/static-files", N_("Static files")),
    ("redis", "/redis", N_("Redis")),
]

#: The languages the demo is translated into (catalogs in ../locale); en_US is the source.
LANGUAGES = ["en_US", "pt_BR", "es_ES"]

#: Scripts and styles come from /static only: an inline <script> or style="" attribute
#: would be refused by the browser (and fail the demo's browser test).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


class BaseHandler(cyclone.web.RequestHandler):
    """The demo's pages: user from a secure cookie, language from a cookie, styled errors."""

    #: Which navigation entry this page is ("" for none).
    page = ""

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")

    def get_current_user(self) -> str | None:
        """The name in the signed ``user`` cookie (demosite.signin sets it), or None."""
        name = self.get_secure_cookie("user", max_age_days=1)
        return name.decode("utf-8") if name else None

    def get_user_locale(self) -> cyclone.locale.Locale | None:
        """The language chosen on /locale; without one, the browser's Accept-Language."""
        code = self.get_cookie("locale")
        if code in LANGUAGES:
            return cyclone.locale.get(code)
        return None

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(
            nav=NAV,
            page=self.page,
            languages=LANGUAGES,
            xsrf_value=self.xsrf_token.decode("ascii"),
        )
        return namespace

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors are pages of the site too: same layout, a way back, no traceback."""
        try:
            self.render("error.html", status_code=status_code, reason=self._reason)
        except Exception:
            log.failure("rendering the {status} page failed", status=status_code)
            super().write_error(status_code, **kwargs)


class NotFoundHandler(BaseHandler):
    """Every path no route matches (the ``default_handler_class``): the styled 404 page."""

    def prepare(self) -> None:
        raise cyclone.web.HTTPError(404)

    def check_xsrf_cookie(self) -> None:
        """A POST to a missing page is a 404 too, not an XSRF 403."""
