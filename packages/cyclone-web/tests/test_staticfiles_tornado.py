"""StaticFileHandler subclasses written for Tornado run unchanged on cyclone.

Each subclass below is written once, the way Tornado applications write them
(serving assets from a database, versioned URLs for a CDN, custom cache
headers, a custom 304 policy), and built on both ``tornado.web.StaticFileHandler``
(a test-only dependency) and cyclone's. Tornado serves it from its own event
loop in a worker thread, cyclone from the reactor; the same requests go to
both over loopback sockets and the answers are compared. Where cyclone differs
on purpose (``charset=UTF-8`` on text types, its ETag for files, a year of
caching for ``?v=`` URLs) the comparison says so.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import hashlib
import http.client
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import pytest_twisted
import tornado.httpserver
import tornado.netutil
import tornado.web
from twisted.internet import reactor, threads

from cyclone import web
from cyclone.staticfiles import StaticFileHandler

WAIT = 10.0
CSS = b"body { color: red; }\n" * 10
HTML = b"<!doctype html><h1>hello</h1>\n"
MODIFIED = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
#: The headers both frameworks must send alike, when they send them.
COMPARED_HEADERS = (
    "content-length",
    "content-range",
    "accept-ranges",
    "last-modified",
    "etag",
    "cache-control",
    "x-content-type-options",
    "location",
)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(port: int, method: str, target: str, headers: dict[str, str] | None = None) -> Answer:
    """One blocking HTTP/1.1 request to 127.0.0.1:``port`` (run in a worker thread)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    try:
        connection.request(method, target, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        connection.close()


#: builds (routes, settings) from a framework's web module: tornado.web or cyclone.web.
Application = Callable[[object], tuple[list, dict]]
#: sends requests with ``get(method, target, headers)`` and returns the answers.
Script = Callable[[Callable[..., Answer]], list[Answer]]


def run_on_tornado(application: Application, script: Script) -> list[Answer]:
    """Serve with Tornado on an event loop of its own (call it in a worker thread)."""

    async def main() -> list[Answer]:
        routes, settings = application(tornado.web)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(tornado.web.Application(routes, **settings))
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        try:
            return await asyncio.to_thread(script, functools.partial(fetch, port))
        finally:
            server.stop()
            await server.close_all_connections()

    return asyncio.run(main())


async def on_both(application: Application, script: Script) -> tuple[list[Answer], list[Answer]]:
    """``script``'s answers from Tornado and from cyclone serving the same ``application``."""
    tornado_answers = await threads.deferToThread(run_on_tornado, application, script)
    routes, settings = application(web)
    port = reactor.listenTCP(0, web.Application(routes, **settings), interface="127.0.0.1")
    try:
        cyclone_answers = await threads.deferToThread(
            script, functools.partial(fetch, port.getHost().port)
        )
    finally:
        await port.stopListening()
    return tornado_answers, cyclone_answers


def assert_alike(tornado_answer: Answer, cyclone_answer: Answer, skip: tuple[str, ...] = ()):
    assert cyclone_answer.status == tornado_answer.status
    assert cyclone_answer.body == tornado_answer.body
    for name in COMPARED_HEADERS:
        if name not in skip:
            assert cyclone_answer.headers.get(name) == tornado_answer.headers.get(name), name
    assert ("expires" in cyclone_answer.headers) == ("expires" in tornado_answer.headers)


def media_type(answer: Answer) -> str | None:
    value = answer.headers.get("content-type")
    return value.split(";")[0] if value else None


@pytest.fixture(autouse=True)
def forget_versions():
    StaticFileHandler.reset()
    tornado.web.StaticFileHandler.reset()
    yield
    StaticFileHandler.reset()
    tornado.web.StaticFileHandler.reset()


@pytest.fixture
def root(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "app.css").write_bytes(CSS)
    (static / "index.html").write_bytes(HTML)
    return static


# -- content from a database -------------------------------------------------------------------


@pytest.fixture
def database():
    """Assets in an SQL table, as an application keeps uploaded files (sqlite3, in memory)."""
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    connection.execute(
        "CREATE TABLE assets (name TEXT PRIMARY KEY, body BLOB, type TEXT, modified REAL, rev INT)"
    )
    connection.executemany(
        "INSERT INTO assets VALUES (?, ?, ?, ?, ?)",
        [
            (
                "logo.svg",
                b"<svg>" + b"x" * 200 + b"</svg>",
                "image/svg+xml",
                MODIFIED.timestamp(),
                7,
            ),
            ("notes.txt", b"hello from the database\n", "text/plain", MODIFIED.timestamp(), 3),
        ],
    )
    yield connection
    connection.close()


def database_application(database) -> Application:
    def application(web):
        class DatabaseStaticHandler(web.StaticFileHandler):
            """Tornado's recipe: override get_content, get_content_size, get_modified_time,
            get_absolute_path and validate_absolute_path to serve from a database."""

            @classmethod
            def row(cls, name):
                return database.execute(
                    "SELECT body, type, modified, rev FROM assets WHERE name = ?", (name,)
                ).fetchone()

            @classmethod
            def get_absolute_path(cls, root, path):
                return path

            def validate_absolute_path(self, root, absolute_path):
                if self.row(absolute_path) is None:
                    raise web.HTTPError(404)
                return absolute_path

            @classmethod
            def get_content(cls, abspath, start=None, end=None):
                body = cls.row(abspath)[0][start:end]
                for offset in range(0, len(body), 64):
                    yield body[offset : offset + 64]

            @classmethod
            def get_content_version(cls, abspath):
                return f"rev{cls.row(abspath)[3]}"

            def get_content_size(self):
                return len(self.row(self.absolute_path)[0])

            def get_modified_time(self):
                return datetime.datetime.fromtimestamp(
                    self.row(self.absolute_path)[2], datetime.timezone.utc
                )

            def get_content_type(self):
                return self.row(self.absolute_path)[1]

        class Links(web.RequestHandler):
            def get(self):
                self.write(self.static_url(self.get_argument("name")))

        return [(r"/links", Links)], {
            "static_path": "unused",
            "static_handler_class": DatabaseStaticHandler,
        }

    return application


@pytest_twisted.ensureDeferred
async def test_a_handler_serving_from_a_database_answers_as_on_tornado(database):
    def script(get):
        first = get("GET", "/static/logo.svg")
        return [
            first,
            get("HEAD", "/static/logo.svg"),
            get("GET", "/static/logo.svg", {"Range": "bytes=3-10"}),
            get("GET", "/static/logo.svg", {"If-None-Match": first.headers["etag"]}),
            get("GET", "/static/logo.svg", {"If-Modified-Since": first.headers["last-modified"]}),
            get("GET", "/static/notes.txt?v=rev3"),
            get("GET", "/static/missing.png"),
            get("GET", "/links?name=logo.svg"),
        ]

    tornado_answers, cyclone_answers = await on_both(database_application(database), script)
    for tornado_answer, cyclone_answer in zip(tornado_answers, cyclone_answers):
        assert_alike(tornado_answer, cyclone_answer, skip=("cache-control",))
    plain, head, ranged, by_etag, by_date, versioned, missing, link = cyclone_answers
    body = database.execute("SELECT body FROM assets WHERE name = 'logo.svg'").fetchone()[0]
    assert (plain.status, plain.body, plain.headers["content-type"]) == (
        200,
        body,
        "image/svg+xml",
    )
    assert plain.headers["etag"] == '"rev7"'
    assert plain.headers["last-modified"] == "Wed, 01 May 2024 12:00:00 GMT"
    assert (head.status, head.body, head.headers["content-length"]) == (200, b"", str(len(body)))
    assert (ranged.status, ranged.body) == (206, body[3:11])
    assert ranged.headers["content-range"] == f"bytes 3-10/{len(body)}"
    assert (by_etag.status, by_date.status) == (304, 304)
    # Versioned URLs: a year on cyclone, ten years on Tornado (CACHE_MAX_AGE).
    assert versioned.headers["cache-control"] == f"max-age={StaticFileHandler.CACHE_MAX_AGE}"
    assert missing.status == 404
    assert link.body == b"/static/logo.svg?v=rev7"


# -- versioned URLs for a CDN, custom cache headers ---------------------------------------------


def cdn_application(root) -> Application:
    def application(web):
        class VersionInPathHandler(web.StaticFileHandler):
            """URLs like /static/<version>/app.css that a CDN may cache for an hour."""

            CACHE_MAX_AGE = 3600

            @classmethod
            def make_static_url(cls, settings, path, include_version=True):
                version = cls.get_version(settings, path) if include_version else None
                return f"{settings['static_url_prefix']}{version or 'latest'}/{path}"

            def parse_url_path(self, url_path):
                return url_path.split("/", 1)[1]

            @classmethod
            def get_content_version(cls, abspath):
                return hashlib.md5(b"".join(cls.get_content(abspath))).hexdigest()[:8]

            def get_cache_time(self, path, modified, mime_type):
                return 0 if mime_type.startswith("text/html") else self.CACHE_MAX_AGE

            def set_extra_headers(self, path):
                self.set_header("X-Content-Type-Options", "nosniff")
                if path.endswith(".html"):
                    self.set_header("Cache-Control", "no-cache")

        class Links(web.RequestHandler):
            def get(self):
                versioned = self.static_url("app.css")
                self.write(versioned + " " + self.static_url("app.css", include_version=False))

        return [(r"/links", Links)], {
            "static_path": str(root),
            "static_url_prefix": "/assets/",
            "static_handler_class": VersionInPathHandler,
        }

    return application


@pytest_twisted.ensureDeferred
async def test_versioned_urls_in_the_path_with_custom_cache_headers_answer_as_on_tornado(root):
    def script(get):
        links = get("GET", "/links")
        versioned, plain = links.body.decode().split()
        return [
            links,
            get("GET", versioned),
            get("GET", plain),
            get("GET", "/assets/latest/index.html"),
            get("GET", "/assets/latest/missing.css"),
            get("GET", "/assets/latest/../../secret"),
        ]

    tornado_answers, cyclone_answers = await on_both(cdn_application(root), script)
    # cyclone's own ETag for files (size and modification time) differs on purpose.
    for tornado_answer, cyclone_answer in zip(tornado_answers[1:], cyclone_answers[1:]):
        assert_alike(tornado_answer, cyclone_answer, skip=("etag",))
        assert media_type(cyclone_answer) == media_type(tornado_answer)
    assert tornado_answers[0].body == cyclone_answers[0].body
    links, versioned, plain, page, missing, outside = cyclone_answers
    version = hashlib.md5(CSS).hexdigest()[:8]
    assert links.body == f"/assets/{version}/app.css /assets/latest/app.css".encode()
    assert (versioned.status, versioned.body) == (200, CSS)
    assert versioned.headers["cache-control"] == "max-age=3600"
    assert versioned.headers["x-content-type-options"] == "nosniff"
    assert versioned.headers["content-type"] == "text/css; charset=UTF-8"
    assert (page.body, page.headers["cache-control"]) == (HTML, "no-cache")
    assert "expires" not in page.headers
    assert missing.status == 404
    assert outside.status in (403, 404)


def build_number_application(root) -> Application:
    def application(web):
        class BuildNumberHandler(web.StaticFileHandler):
            """The pre-3.1 way: get_version from the settings instead of hashing files."""

            @classmethod
            def get_version(cls, settings, path):
                return settings["build"]

        class Links(web.RequestHandler):
            def get(self):
                self.write(self.static_url("app.css"))

        return [(r"/links", Links)], {
            "static_path": str(root),
            "static_handler_class": BuildNumberHandler,
            "build": "b42",
        }

    return application


@pytest_twisted.ensureDeferred
async def test_get_version_overridden_gives_the_version_of_every_url(root):
    def script(get):
        return [get("GET", "/links")]

    tornado_answers, cyclone_answers = await on_both(build_number_application(root), script)
    assert cyclone_answers[0].body == tornado_answers[0].body == b"/static/app.css?v=b42"


# -- a custom 304 policy and ETag ---------------------------------------------------------------


def revalidation_application(root) -> Application:
    def application(web):
        class DeployEtagHandler(web.StaticFileHandler):
            """Every file's ETag is the deploy id; HTML pages are never answered 304."""

            def compute_etag(self):
                return '"deploy-42"'

            def should_return_304(self):
                if self.absolute_path.endswith(".html"):
                    return False
                return super().should_return_304()

        return [(r"/files/(.*)", DeployEtagHandler, {"path": str(root)})], {}

    return application


@pytest_twisted.ensureDeferred
async def test_a_custom_304_policy_and_etag_answer_as_on_tornado(root):
    def script(get):
        first = get("GET", "/files/app.css")
        since = first.headers["last-modified"]
        return [
            first,
            get("GET", "/files/app.css", {"If-None-Match": '"deploy-42"'}),
            get("GET", "/files/app.css", {"If-None-Match": '"deploy-41"'}),
            get("GET", "/files/index.html", {"If-None-Match": '"deploy-42"'}),
            get("GET", "/files/app.css", {"If-Modified-Since": since}),
            get("GET", "/files/index.html", {"If-Modified-Since": since}),
        ]

    tornado_answers, cyclone_answers = await on_both(revalidation_application(root), script)
    for tornado_answer, cyclone_answer in zip(tornado_answers, cyclone_answers):
        assert_alike(tornado_answer, cyclone_answer)
    statuses = [answer.status for answer in cyclone_answers]
    assert statuses == [200, 304, 200, 200, 304, 200]
    assert cyclone_answers[0].headers["etag"] == '"deploy-42"'


# -- the hooks are called in Tornado's order ----------------------------------------------------

HOOKS = (
    "parse_url_path",
    "validate_absolute_path",
    "get_modified_time",
    "set_headers",
    "compute_etag",
    "get_content_type",
    "get_cache_time",
    "set_extra_headers",
    "should_return_304",
    "get_content_size",
)
CLASS_HOOKS = ("get_absolute_path", "get_content")


def recording_application(root, calls: dict[str, list[str]]) -> Application:
    def application(web):
        name = web.__name__
        recorded = calls.setdefault(name, [])

        def instance_hook(hook):
            def method(self, *args):
                recorded.append(hook)
                return getattr(super(Recording, self), hook)(*args)

            return method

        def class_hook(hook):
            def method(cls, *args):
                recorded.append(hook)
                return getattr(super(Recording, cls), hook)(*args)

            return classmethod(method)

        namespace = {hook: instance_hook(hook) for hook in HOOKS}
        namespace.update({hook: class_hook(hook) for hook in CLASS_HOOKS})
        namespace["get_content_version"] = classmethod(lambda cls, abspath: "v1")
        Recording = type("Recording", (web.StaticFileHandler,), namespace)
        return [(r"/files/(.*)", Recording, {"path": str(root)})], {}

    return application


@pytest_twisted.ensureDeferred
async def test_the_hooks_are_called_in_tornados_order(root):
    calls: dict[str, list[str]] = {}
    requests = [
        ("GET", "/files/app.css", {}),
        ("HEAD", "/files/app.css", {}),
        ("GET", "/files/app.css", {"Range": "bytes=0-9"}),
        ("GET", "/files/app.css", {"If-None-Match": "*"}),
        ("GET", "/files/missing.css", {}),
    ]

    def script(get):
        sequences = []
        for method, target, headers in requests:
            recorded = calls[next(reversed(calls))]
            recorded.clear()
            answer = get(method, target, headers)
            sequences.append(Answer(answer.status, {}, " ".join(recorded).encode()))
        return sequences

    tornado_answers, cyclone_answers = await on_both(recording_application(root, calls), script)
    for tornado_answer, cyclone_answer in zip(tornado_answers, cyclone_answers):
        assert (cyclone_answer.status, cyclone_answer.body) == (
            tornado_answer.status,
            tornado_answer.body,
        )
    assert [answer.status for answer in cyclone_answers] == [200, 200, 206, 304, 404]
    assert cyclone_answers[0].body.decode().split() == [
        "parse_url_path",
        "get_absolute_path",
        "validate_absolute_path",
        "get_modified_time",
        "set_headers",
        "compute_etag",
        "get_content_type",
        "get_cache_time",
        "set_extra_headers",
        "should_return_304",
        "get_content_size",
        "get_content",
    ]
