"""The demo site's sign-in: a secure cookie, ``@authenticated`` and a safe ``next``.

`examples/demo/app.py` adds these routes and sets ``login_url="/login"``:

- ``/account``: a page behind `cyclone.web.authenticated`; a visitor who is not
  signed in is sent to ``/login?next=%2Faccount``;
- ``/login``: a form asking for a name (a demo: there is no password); posting
  it sets the signed ``user`` cookie and redirects to ``next`` only when
  ``get_safe_next_url()`` says it stays on this site, so a link such as
  ``/login?next=//evil.example`` cannot send the user elsewhere (it lands on ``/``);
- ``/logout``: clears the cookie (a POST, so it carries the XSRF token).
"""

from __future__ import annotations

from typing import Any

import cyclone.web


class UserHandler(cyclone.web.RequestHandler):
    def get_current_user(self) -> str | None:
        user = self.get_secure_cookie("user")
        return user.decode() if user else None


class AccountPage(UserHandler):
    @cyclone.web.authenticated
    def get(self) -> None:
        self.render("account.html", user=self.current_user)


class LoginPage(UserHandler):
    def get(self) -> None:
        self.render("login.html", next_url=self.get_safe_next_url(), error=None)

    def post(self) -> None:
        name = self.get_argument("name", "")
        if not name:
            self.set_status(400)
            self.render("login.html", next_url=self.get_safe_next_url(), error="Type a name.")
            return
        self.set_secure_cookie("user", name, httponly=True, samesite="Lax")
        self.redirect(self.get_safe_next_url())


class LogoutHandler(UserHandler):
    def post(self) -> None:
        self.clear_cookie("user")
        self.redirect(self.get_safe_next_url())


def login_handlers() -> list[Any]:
    """The sign-in routes, for `cyclone.web.Application` (with ``login_url="/login"``)."""
    return [
        (r"/account", AccountPage),
        (r"/login", LoginPage),
        (r"/logout", LogoutHandler),
    ]
