"""The blog of tornado_app.py, written from Tornado's user guide, run by cyclone.

This is tornado_app.py with ``tornado`` replaced by ``cyclone`` in the code and nothing
else changed: the start-up is Tornado's ``asyncio.run(main())`` with ``app.listen()``.
test_tornado_docs.py checks that and compares the pages both serve.

    python cyclone_app.py --port=8888       # http://127.0.0.1:8888/
"""

import asyncio
import os.path
import re

import cyclone
from cyclone.options import define, options

define("port", default=8888, help="run on the given port", type=int)
define("address", default="127.0.0.1", help="the address to listen on")

ENTRIES = [
    {"slug": "hello", "title": "Hello, world", "author": "bret", "text": "The first entry."},
    {"slug": "templates", "title": "Templates & UI", "author": "ben", "text": "<b>escaped</b>"},
]


class BaseHandler(cyclone.web.RequestHandler):
    def get_current_user(self):
        user = self.get_signed_cookie("user")
        return cyclone.escape.to_unicode(user) if user else None


class HomeHandler(BaseHandler):
    def get(self):
        self.render("home.html", entries=ENTRIES)


class EntryHandler(BaseHandler):
    def get(self, slug):
        entry = next((entry for entry in ENTRIES if entry["slug"] == slug), None)
        if not entry:
            raise cyclone.web.HTTPError(404)
        self.render("entry.html", entry=entry)


class ComposeHandler(BaseHandler):
    @cyclone.web.authenticated
    def get(self):
        self.render("compose.html")

    @cyclone.web.authenticated
    def post(self):
        title = self.get_argument("title")
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "entry"
        ENTRIES.insert(
            0,
            {
                "slug": slug,
                "title": title,
                "author": self.current_user,
                "text": self.get_argument("text"),
            },
        )
        self.redirect(self.reverse_url("entry", slug))


class LoginHandler(BaseHandler):
    def get(self):
        self.render("login.html")

    def post(self):
        self.set_signed_cookie("user", self.get_argument("name"))
        self.redirect(self.reverse_url("home"))


class LogoutHandler(BaseHandler):
    def get(self):
        self.clear_cookie("user")
        self.redirect(self.reverse_url("home"))


class EntriesApiHandler(BaseHandler):
    def get(self):
        self.write({"entries": [entry["title"] for entry in ENTRIES]})


class FetchHandler(BaseHandler):
    async def get(self):
        http = cyclone.httpclient.AsyncHTTPClient()
        url = "%s://%s%s" % (self.request.protocol, self.request.host, self.reverse_url("api"))
        response = await http.fetch(url)
        json = cyclone.escape.json_decode(response.body)
        self.write("Fetched " + str(len(json["entries"])) + " entries from the JSON API")


class SleepHandler(BaseHandler):
    async def get(self):
        await asyncio.sleep(0.01)
        self.write({"slept": True})


class Entry(cyclone.web.UIModule):
    def embedded_css(self):
        return ".entry { margin-bottom: 1em; }"

    def render(self, entry, show_comments=False):
        return self.render_string("modules/entry.html", entry=entry, show_comments=show_comments)


def make_app():
    settings = {
        "template_path": os.path.join(os.path.dirname(__file__), "templates"),
        "static_path": os.path.join(os.path.dirname(__file__), "static"),
        "ui_modules": {"Entry": Entry},
        "cookie_secret": "__TODO:_GENERATE_YOUR_OWN_RANDOM_VALUE_HERE__",
        "login_url": "/login",
        "xsrf_cookies": True,
    }
    return cyclone.web.Application(
        [
            cyclone.web.url(r"/", HomeHandler, name="home"),
            cyclone.web.url(r"/entry/([^/]+)", EntryHandler, name="entry"),
            cyclone.web.url(r"/compose", ComposeHandler, name="compose"),
            cyclone.web.url(r"/login", LoginHandler, name="login"),
            cyclone.web.url(r"/logout", LogoutHandler, name="logout"),
            cyclone.web.url(r"/api/entries", EntriesApiHandler, name="api"),
            cyclone.web.url(r"/fetch", FetchHandler, name="fetch"),
            cyclone.web.url(r"/sleep", SleepHandler, name="sleep"),
            (r"/old-home", cyclone.web.RedirectHandler, {"url": "/"}),
        ],
        **settings,
    )


async def main():
    cyclone.options.parse_command_line()
    app = make_app()
    app.listen(options.port, options.address)
    print("http://%s:%d/" % (options.address, options.port), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
