"""A typed user application on cyclone-web, checked by ``mypy --strict`` (nox -s typing).

Each ``# type: ignore[...]`` marks a deliberate mistake: mypy must see cyclone's
types to flag it, and --strict reports an ignore that flags nothing, so the
check fails if cyclone's types stop reaching users.
"""

from __future__ import annotations

from cyclone import template, web


class Home(web.RequestHandler):
    async def get(self) -> None:
        page = self.render_string("home.html", name="Ana")
        # A Deferred when a template expression waits on an unfired Deferred.
        self.write(page if isinstance(page, bytes) else await page)


class SignIn(web.RequestHandler):
    def post(self) -> None:
        self.set_secure_cookie("user", self.get_argument("name"))
        self.redirect(self.reverse_url("home"))


def make_app() -> web.Application:
    return web.Application(
        [web.url(r"/", Home, name="home"), (r"/sign-in", SignIn)],
        cookie_secret="change me",
        xsrf_cookies=True,
    )


def render_greeting() -> str:
    page = template.Template("Hello, {{ name }}!")
    web.Application([], default_host=42)  # type: ignore[arg-type]
    rendered = page.generate(name="Ana")
    if isinstance(rendered, bytes):
        return rendered.decode()
    raise TypeError("no Deferred value was given, so the page is bytes")
