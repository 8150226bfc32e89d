"""A small blog written from Tornado's user guide, run by Tornado.

cyclone_app.py is this file with ``tornado`` replaced by ``cyclone``; test_tornado_docs.py
runs both and compares their pages. The guide's pieces: handlers and reverse_url
("Structure of a Tornado web application"), templates with a base layout, blocks and a
UI module ("Templates and UI"), signed-cookie sign-in, ``@authenticated`` and
``xsrf_cookies`` ("Authentication and security"), static files with ``static_url``
("Running and deploying"), an ``async def`` handler, and the ``asyncio.run(main())``
start-up.

    python tornado_app.py --port=8888       # http://127.0.0.1:8888/
"""

import asyncio
import os.path
import re

import tornado
from tornado.options import define, options

define("port", default=8888, help="run on the given port", type=int)
define("address", default="127.0.0.1", help="the address to listen on")

ENTRIES = [
    {"slug": "hello", "title": "Hello, world", "author": "bret", "text": "The first entry."},
    {"slug": "templates", "title": "Templates & UI", "author": "ben", "text": "<b>escaped</b>"},
]


class BaseHandler(tornado.web.RequestHandler):
    def get_current_user(self):
        user = self.get_signed_cookie("user")
        return tornado.escape.to_unicode(user) if user else None


class HomeHandler(BaseHandler):
    def get(self):
        self.render("home.html", entries=ENTRIES)


class EntryHandler(BaseHandler):
    def get(self, slug):
        entry = next((entry for entry in ENTRIES if entry["slug"] == slug), None)
        if not entry:
            raise tornado.web.HTTPError(404)
        self.render("entry.html", entry=entry)


class ComposeHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self):
        self.render("compose.html")

    @tornado.web.authenticated
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
        http = tornado.httpclient.AsyncHTTPClient()
        url = "%s://%s%s" % (self.request.protocol, self.request.host, self.reverse_url("api"))
        response = await http.fetch(url)
        json = tornado.escape.json_decode(response.body)
        self.write("Fetched " + str(len(json["entries"])) + " entries from the JSON API")


class SleepHandler(BaseHandler):
    async def get(self):
        await asyncio.sleep(0.01)
        self.write({"slept": True})


class Entry(tornado.web.UIModule):
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
    return tornado.web.Application(
        [
            tornado.web.url(r"/", HomeHandler, name="home"),
            tornado.web.url(r"/entry/([^/]+)", EntryHandler, name="entry"),
            tornado.web.url(r"/compose", ComposeHandler, name="compose"),
            tornado.web.url(r"/login", LoginHandler, name="login"),
            tornado.web.url(r"/logout", LogoutHandler, name="logout"),
            tornado.web.url(r"/api/entries", EntriesApiHandler, name="api"),
            tornado.web.url(r"/fetch", FetchHandler, name="fetch"),
            tornado.web.url(r"/sleep", SleepHandler, name="sleep"),
            (r"/old-home", tornado.web.RedirectHandler, {"url": "/"}),
        ],
        **settings,
    )


async def main():
    tornado.options.parse_command_line()
    app = make_app()
    app.listen(options.port, options.address)
    print("http://%s:%d/" % (options.address, options.port), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
