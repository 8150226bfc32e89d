"""StaticFileHandler: caching headers, conditional and range requests, streaming,
file handles, traversal, and static_url versioning."""

from __future__ import annotations

import datetime
import hashlib
import http.client
import os
import zlib

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor, threads

from cyclone import staticfiles
from cyclone.staticfiles import StaticFileHandler
from cyclone.testing import Client
from cyclone.web import Application, HTTPError, RequestHandler

WAIT = 10.0
CSS = b"body { color: red; }\n" * 10


@pytest.fixture
def root(tmp_path):
    """A static directory with a few files, next to a secret that must stay out of reach."""
    static = tmp_path / "static"
    (static / "docs").mkdir(parents=True)
    (static / "app.css").write_bytes(CSS)
    (static / "data.bin").write_bytes(bytes(range(256)) * 4)
    (static / "docs" / "index.html").write_bytes(b"<h1>docs</h1>")
    (static / "empty.txt").write_bytes(b"")
    (tmp_path / "secret.txt").write_bytes(b"top secret")
    StaticFileHandler.reset()
    yield static
    StaticFileHandler.reset()


@pytest.fixture
def client(root):
    return Client(Application(static_path=str(root)))


@pytest.fixture
def serve():
    ports = []

    def listen(factory):
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        ports.append(port)
        return port.getHost().port

    yield listen
    for port in ports:
        pytest_twisted.blockon(defer.maybeDeferred(port.stopListening))


# -- plain responses ----------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_file_is_served_with_type_length_etag_and_last_modified(client, root):
    response = await client.get("/static/app.css")
    assert response.code == 200
    assert response.body == CSS
    assert response.headers["Content-Type"] == "text/css; charset=UTF-8"
    assert response.headers["Content-Length"] == str(len(CSS))
    assert response.headers["Etag"].startswith('"')
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Last-Modified" in response.headers
    assert "Cache-Control" not in response.headers
    binary = await client.get("/static/data.bin")
    assert binary.headers["Content-Type"] == "application/octet-stream"
    assert binary.body == bytes(range(256)) * 4


@pytest_twisted.ensureDeferred
async def test_empty_file_and_missing_file(client):
    empty = await client.get("/static/empty.txt")
    assert (empty.code, empty.body, empty.headers["Content-Length"]) == (200, b"", "0")
    assert (await client.get("/static/nope.css")).code == 404


@pytest_twisted.ensureDeferred
async def test_favicon_and_robots_are_served_from_the_static_path(client, root):
    (root / "robots.txt").write_bytes(b"User-agent: *\n")
    response = await client.get("/robots.txt")
    assert (response.code, response.body) == (200, b"User-agent: *\n")
    assert (await client.get("/favicon.ico")).code == 404


@pytest_twisted.ensureDeferred
async def test_head_sends_the_headers_without_the_body(client):
    response = await client.head("/static/app.css")
    assert response.code == 200
    assert response.headers["Content-Length"] == str(len(CSS))
    assert response.body == b""


@pytest_twisted.ensureDeferred
async def test_static_url_prefix_setting_moves_the_route(root):
    client = Client(Application(static_path=str(root), static_url_prefix="/assets/"))
    assert (await client.get("/assets/app.css")).body == CSS
    assert (await client.get("/static/app.css")).code == 404


# -- conditional requests -------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_if_none_match_with_the_etag_is_304_without_body(client):
    first = await client.get("/static/app.css")
    etag = first.headers["Etag"]
    for header in (etag, f'"other", {etag}', "*", "W/" + etag):
        response = await client.get("/static/app.css", headers={"If-None-Match": header})
        assert response.code == 304, header
        assert response.body == b""
    other = await client.get("/static/app.css", headers={"If-None-Match": '"other"'})
    assert (other.code, other.body) == (200, CSS)


@pytest_twisted.ensureDeferred
async def test_if_modified_since_is_304_unless_the_file_is_newer(client, root):
    first = await client.get("/static/app.css")
    modified = first.headers["Last-Modified"]
    response = await client.get("/static/app.css", headers={"If-Modified-Since": modified})
    assert (response.code, response.body) == (304, b"")
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    response = await client.get("/static/app.css", headers={"If-Modified-Since": old})
    assert response.code == 200
    garbage = await client.get("/static/app.css", headers={"If-Modified-Since": "yesterday"})
    assert garbage.code == 200


@pytest_twisted.ensureDeferred
async def test_if_none_match_takes_precedence_over_if_modified_since(client):
    first = await client.get("/static/app.css")
    response = await client.get(
        "/static/app.css",
        headers={"If-None-Match": '"other"', "If-Modified-Since": first.headers["Last-Modified"]},
    )
    assert response.code == 200


# -- ranges ---------------------------------------------------------------------------------

DATA = bytes(range(256)) * 4
SIZE = len(DATA)


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 10),
        ("bytes=100-199", 100, 200),
        ("bytes=1000-", 1000, SIZE),
        ("bytes=-24", SIZE - 24, SIZE),
        ("bytes=1000-5000", 1000, SIZE),
        ("bytes=-5000", 0, SIZE),
    ],
)
@pytest_twisted.ensureDeferred
async def test_range_gives_206_with_content_range(client, header, start, end):
    response = await client.get("/static/data.bin", headers={"Range": header})
    assert response.code == 206
    assert response.body == DATA[start:end]
    assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert response.headers["Content-Length"] == str(end - start)


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
@pytest_twisted.ensureDeferred
async def test_unsatisfiable_range_is_416_with_the_size(client, header):
    response = await client.get("/static/data.bin", headers={"Range": header})
    assert response.code == 416
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"
    assert response.body == b""


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=9-2", "items=0-5", "bytes=x-y"])
@pytest_twisted.ensureDeferred
async def test_multiple_or_malformed_ranges_send_the_whole_file(client, header):
    response = await client.get("/static/data.bin", headers={"Range": header})
    assert response.code == 200
    assert response.body == DATA
    assert "Content-Range" not in response.headers


@pytest_twisted.ensureDeferred
async def test_if_range_serves_the_range_only_while_the_validator_matches(client):
    first = await client.get("/static/data.bin")
    etag, modified = first.headers["Etag"], first.headers["Last-Modified"]
    for validator in (etag, modified):
        response = await client.get(
            "/static/data.bin", headers={"Range": "bytes=0-3", "If-Range": validator}
        )
        assert (response.code, response.body) == (206, DATA[:4])
    for validator in ('"stale"', "Mon, 01 Jan 2001 00:00:00 GMT"):
        response = await client.get(
            "/static/data.bin", headers={"Range": "bytes=0-3", "If-Range": validator}
        )
        assert (response.code, response.body) == (200, DATA)


@pytest_twisted.ensureDeferred
async def test_head_with_range_gives_the_range_headers_only(client):
    response = await client.head("/static/data.bin", headers={"Range": "bytes=10-19"})
    assert response.code == 206
    assert response.headers["Content-Length"] == "10"
    assert response.body == b""


# -- versions and cache headers ---------------------------------------------------------------


class Urls(RequestHandler):
    def get(self):
        self.write(
            {
                "plain": self.static_url("app.css"),
                "host": self.static_url("app.css", include_host=True),
                "unversioned": self.static_url("app.css", include_version=False),
                "missing": self.static_url("missing.js"),
                "spaced": self.static_url("a b/c.js"),
            }
        )


@pytest_twisted.ensureDeferred
async def test_static_url_adds_a_content_hash_and_optionally_the_host(root):
    client = Client(Application([(r"/urls", Urls)], static_path=str(root)), host="cdn.example")
    urls = (await client.get("/urls")).json()
    version = hashlib.sha256(CSS).hexdigest()[:32]
    assert urls["plain"] == f"/static/app.css?v={version}"
    assert urls["host"] == f"http://cdn.example/static/app.css?v={version}"
    assert urls["unversioned"] == "/static/app.css"
    assert urls["missing"] == "/static/missing.js"
    assert urls["spaced"] == "/static/a%20b/c.js"


@pytest_twisted.ensureDeferred
async def test_versioned_url_is_cacheable_for_a_year(root):
    client = Client(Application([(r"/urls", Urls)], static_path=str(root)))
    versioned = (await client.get("/urls")).json()["plain"]
    response = await client.get(versioned)
    assert response.code == 200
    assert response.headers["Cache-Control"] == f"max-age={86400 * 365}"
    assert "Expires" in response.headers


@pytest_twisted.ensureDeferred
async def test_version_hash_is_cached_until_reset_but_not_in_debug_mode(root):
    cached = Client(Application([(r"/urls", Urls)], static_path=str(root)))
    first = (await cached.get("/urls")).json()["plain"]
    (root / "app.css").write_bytes(b"changed")
    assert (await cached.get("/urls")).json()["plain"] == first
    StaticFileHandler.reset()
    assert (await cached.get("/urls")).json()["plain"] != first

    debug = Client(Application([(r"/urls", Urls)], static_path=str(root), debug=True))
    before = (await debug.get("/urls")).json()["plain"]
    (root / "app.css").write_bytes(b"changed again")
    assert (await debug.get("/urls")).json()["plain"] != before


def test_version_hash_of_a_large_file_is_computed_in_chunks(root, monkeypatch):
    big = os.urandom(3 * staticfiles.CHUNK_SIZE + 5)
    (root / "big.bin").write_bytes(big)
    reads = []
    real_open = open

    def counting_open(*args, **kwargs):
        file = real_open(*args, **kwargs)
        real_read = file.read
        file.read = lambda size=-1: reads.append(size) or real_read(size)
        return file

    monkeypatch.setattr(staticfiles, "open", counting_open, raising=False)
    version = StaticFileHandler.get_version({"static_path": str(root)}, "big.bin")
    assert version == hashlib.sha256(big).hexdigest()[:32]
    assert reads and all(0 < size <= staticfiles.CHUNK_SIZE for size in reads)
    assert StaticFileHandler.get_version({"static_path": str(root)}, "missing.bin") is None


@pytest_twisted.ensureDeferred
async def test_static_url_without_static_path_names_the_missing_setting():
    class NoStatic(RequestHandler):
        def get(self):
            self.write(self.static_url("x.css"))

    response = await Client(Application([(r"/", NoStatic)], debug=True)).get("/")
    assert response.code == 500
    assert b"static_path" in response.body


# -- directories ----------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_default_filename_serves_directories_and_redirects_without_slash(root):
    app = Application(
        [(r"/site/(.*)", StaticFileHandler, {"path": str(root), "default_filename": "index.html"})]
    )
    client = Client(app)
    response = await client.get("/site/docs/")
    assert (response.code, response.body) == (200, b"<h1>docs</h1>")
    response = await client.get("/site/docs")
    assert response.code == 301
    assert response.headers["Location"] == "/site/docs/"


@pytest_twisted.ensureDeferred
async def test_directory_without_default_filename_is_refused(client):
    assert (await client.get("/static/docs/")).code == 403
    assert (await client.get("/static/docs")).code == 403


# -- traversal --------------------------------------------------------------------------------


@pytest.fixture
def outside_link(root, tmp_path):
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    os.symlink(tmp_path, root / "linkdir")
    os.symlink(root / "app.css", root / "inside.css")


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/docs/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/docs%2F..%2F..%2Fsecret.txt",
        "/static//etc/passwd",
        "/static/%2Fetc%2Fpasswd",
        "/static/app.css%00.png",
        "/static/%00",
        "/static/link.txt",
        "/static/linkdir/secret.txt",
    ],
)
@pytest_twisted.ensureDeferred
async def test_requests_cannot_leave_the_static_root(client, outside_link, path):
    response = await client.get(path)
    assert response.code in (403, 404), path
    assert b"top secret" not in response.body
    assert b"root:" not in response.body


@pytest_twisted.ensureDeferred
async def test_symlink_inside_the_root_is_served(client, outside_link):
    response = await client.get("/static/inside.css")
    assert (response.code, response.body) == (200, CSS)


# -- streaming over a real socket ------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_large_file_is_streamed_whole_over_a_socket(root, serve, monkeypatch):
    big = os.urandom(5 * 1024 * 1024)
    (root / "big.bin").write_bytes(big)
    reads = []
    real_open = open

    def counting_open(*args, **kwargs):
        file = real_open(*args, **kwargs)
        real_read = file.read
        file.read = lambda size=-1: reads.append(size) or real_read(size)
        return file

    monkeypatch.setattr(staticfiles, "open", counting_open, raising=False)
    port = serve(Application(static_path=str(root)))

    def fetch():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        connection.request("GET", "/static/big.bin")
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response.status, response.headers["Content-Length"], body

    status, length, body = await threads.deferToThread(fetch)
    assert status == 200
    assert length == str(len(big))
    assert hashlib.sha256(body).digest() == hashlib.sha256(big).digest()
    # Read in bounded chunks, never the whole file at once.
    assert reads and all(0 < size <= staticfiles.CHUNK_SIZE for size in reads)


class AbortingClient(protocol.Protocol):
    """Reads the first bytes of a response, then drops the connection."""

    def __init__(self):
        self.received = 0
        self.got_data = defer.Deferred()

    def connectionMade(self):
        self.transport.write(b"GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")

    def dataReceived(self, data):
        self.received += len(data)
        if not self.got_data.called:
            self.got_data.callback(None)
            self.transport.abortConnection()


@pytest_twisted.ensureDeferred
async def test_file_is_closed_when_the_client_aborts_mid_download(root, serve, monkeypatch):
    big_path = root / "big.bin"
    big_path.write_bytes(b"\xab" * (8 * 1024 * 1024))
    opened = []
    real_open = open

    def tracking_open(*args, **kwargs):
        file = real_open(*args, **kwargs)
        opened.append(file)
        return file

    monkeypatch.setattr(staticfiles, "open", tracking_open, raising=False)
    finished = defer.Deferred()

    class Tracked(StaticFileHandler):
        def on_finish(self):
            finished.callback(None)

    port = serve(Application([(r"/static/(.*)", Tracked, {"path": str(root)})]))
    client = await protocol.ClientCreator(reactor, AbortingClient).connectTCP("127.0.0.1", port)
    await client.got_data.addTimeout(WAIT, reactor)
    await finished.addTimeout(WAIT, reactor)
    assert len(opened) == 1
    assert opened[0].closed
    open_fds = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in _list_fds()}
    assert str(big_path) not in open_fds
    assert client.received < big_path.stat().st_size


def _list_fds():
    fds = []
    for name in os.listdir("/proc/self/fd"):
        try:
            os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        fds.append(name)
    return fds


@pytest_twisted.ensureDeferred
async def test_gzip_applies_to_large_static_text_files_and_head_agrees_with_get(root):
    (root / "big.css").write_bytes(CSS * 2000)
    client = Client(Application(static_path=str(root), compress_response=True))
    gzip = {"Accept-Encoding": "gzip"}
    got = await client.get("/static/big.css", headers=gzip)
    assert got.headers["Content-Encoding"] == "gzip"
    assert zlib.decompress(got.body, 16 + zlib.MAX_WBITS) == CSS * 2000
    head = await client.head("/static/big.css", headers=gzip)
    for name in ("Content-Encoding", "Etag", "Vary", "Content-Type"):
        assert head.headers.get(name) == got.headers.get(name), name
    assert "Content-Length" not in head.headers
    ranged = await client.get("/static/big.css", headers={**gzip, "Range": "bytes=0-9"})
    assert (ranged.code, ranged.body) == (206, (CSS * 2000)[:10])
    assert "Content-Encoding" not in ranged.headers
    revalidated = await client.get(
        "/static/big.css", headers={**gzip, "If-None-Match": got.headers["Etag"]}
    )
    assert revalidated.code == 304


@pytest_twisted.ensureDeferred
async def test_static_handler_class_and_args_settings(root):
    class Custom(StaticFileHandler):
        def set_extra_headers(self, path):
            self.set_header("X-Static", path)

        def get_cache_time(self, path, modified, mime_type):
            return 60

        @classmethod
        def make_static_url(cls, settings, path, include_version=True):
            return "/static/" + path + "#custom"

    class Link(RequestHandler):
        def get(self):
            self.write(self.static_url("app.css"))

    app = Application(
        [(r"/link", Link)],
        static_path=str(root),
        static_handler_class=Custom,
        static_handler_args={"default_filename": "index.html"},
    )
    client = Client(app)
    response = await client.get("/static/app.css")
    assert response.headers["X-Static"] == "app.css"
    assert response.headers["Cache-Control"] == "max-age=60"
    assert (await client.get("/static/docs/")).body == b"<h1>docs</h1>"
    assert (await client.get("/link")).body == b"/static/app.css#custom"


# -- Tornado's hooks, on cyclone alone -------------------------------------------------------------
# (test_staticfiles_tornado.py runs the same subclasses on Tornado and compares.)


class InMemory(StaticFileHandler):
    """Content from a dict, returned as bytes (get_content may return bytes or chunks)."""

    FILES = {"a.txt": b"0123456789" * 10}

    @classmethod
    def get_absolute_path(cls, root, path):
        return path

    def validate_absolute_path(self, root, absolute_path):
        if absolute_path not in self.FILES:
            raise HTTPError(404)
        return absolute_path

    @classmethod
    def get_content(cls, abspath, start=None, end=None):
        return cls.FILES[abspath][start:end]

    def get_content_size(self):
        return len(self.FILES[self.absolute_path])

    def get_modified_time(self):
        return None

    def get_content_type(self):
        return "text/plain"


@pytest_twisted.ensureDeferred
async def test_get_content_may_return_bytes_and_ranges_still_apply():
    client = Client(Application([(r"/m/(.*)", InMemory, {"path": "unused"})]))
    whole = await client.get("/m/a.txt")
    assert (whole.code, whole.body) == (200, InMemory.FILES["a.txt"])
    assert whole.headers["Etag"] == f'"{hashlib.sha256(InMemory.FILES["a.txt"]).hexdigest()[:32]}"'
    assert "Last-Modified" not in whole.headers
    part = await client.get("/m/a.txt", headers={"Range": "bytes=5-14"})
    assert (part.code, part.body) == (206, InMemory.FILES["a.txt"][5:15])
    assert (await client.get("/m/other.txt")).code == 404


class AliasAndNoDotfiles(StaticFileHandler):
    """get_absolute_path maps an alias; validate_absolute_path adds a rule, then calls super()."""

    @classmethod
    def get_absolute_path(cls, root, path):
        return super().get_absolute_path(root, "app.css" if path == "latest.css" else path)

    def validate_absolute_path(self, root, absolute_path):
        if os.path.basename(absolute_path).startswith("."):
            raise HTTPError(404)
        return super().validate_absolute_path(root, absolute_path)


@pytest_twisted.ensureDeferred
async def test_get_absolute_path_and_validate_absolute_path_overrides_compose(root):
    (root / ".env").write_bytes(b"SECRET=1")

    class Link(RequestHandler):
        def get(self):
            self.write(self.static_url("latest.css"))

    app = Application(
        [(r"/link", Link)], static_path=str(root), static_handler_class=AliasAndNoDotfiles
    )
    client = Client(app)
    assert (await client.get("/static/latest.css")).body == CSS
    assert (await client.get("/static/.env")).code == 404
    assert (
        (await client.get("/link"))
        .body.decode()
        .endswith("?v=" + hashlib.sha256(CSS).hexdigest()[:32])
    )
    assert (await client.get("/static/../secret.txt")).code == 403


@pytest_twisted.ensureDeferred
async def test_allowed_symlink_directory_lets_links_reach_a_shared_directory(root, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "lib.js").write_bytes(b"lib()")
    os.symlink(shared / "lib.js", root / "lib.js")
    strict = Client(Application([(r"/s/(.*)", StaticFileHandler, {"path": str(root)})]))
    assert (await strict.get("/s/lib.js")).code == 403
    args = {"path": str(root), "allowed_symlink_directory": [str(root), str(shared)]}
    allowing = Client(Application([(r"/s/(.*)", StaticFileHandler, args)]))
    assert (await allowing.get("/s/lib.js")).body == b"lib()"
    assert (await allowing.get("/s/../secret.txt")).code == 403


def test_static_url_of_a_path_outside_the_root_is_refused(root):
    with pytest.raises(HTTPError) as raised:
        StaticFileHandler.get_version({"static_path": str(root)}, "../secret.txt")
    assert raised.value.status_code == 403


def test_content_above_max_version_content_size_gets_no_version(root):
    class Small(StaticFileHandler):
        MAX_VERSION_CONTENT_SIZE = len(CSS) - 1

    assert Small.make_static_url({"static_path": str(root)}, "app.css") == "/static/app.css"
    assert StaticFileHandler.make_static_url({"static_path": str(root)}, "app.css").startswith(
        "/static/app.css?v="
    )


def test_the_version_cache_keeps_the_most_recently_used_versions(root):
    class Counting(StaticFileHandler):
        MAX_CACHED_VERSIONS = 2
        hashed: list[str] = []

        @classmethod
        def get_content_version(cls, abspath):
            cls.hashed.append(os.path.basename(abspath))
            return super().get_content_version(abspath)

    settings = {"static_path": str(root)}
    for name in ("app.css", "data.bin", "app.css", "empty.txt", "app.css", "data.bin"):
        Counting.get_version(settings, name)
    assert Counting.hashed == ["app.css", "data.bin", "empty.txt", "data.bin"]
    assert len(Counting._static_hashes) == 2


class GrowingContent(StaticFileHandler):
    """get_content gives more than get_content_size said (a file that grew meanwhile)."""

    @classmethod
    def get_content(cls, abspath, start=None, end=None):
        yield from super().get_content(abspath, start, end)
        yield b"appended after the size was measured"


@pytest_twisted.ensureDeferred
async def test_content_beyond_the_promised_length_is_not_sent(root, serve):
    port = serve(Application([(r"/g/(.*)", GrowingContent, {"path": str(root)})]))

    def fetch_twice():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
        answers = []
        for _ in range(2):
            connection.request("GET", "/g/app.css")
            response = connection.getresponse()
            answers.append((response.status, response.headers["Content-Length"], response.read()))
        connection.close()
        return answers

    answers = await threads.deferToThread(fetch_twice)
    assert answers == [(200, str(len(CSS)), CSS)] * 2


@pytest_twisted.ensureDeferred
async def test_a_content_generator_is_closed_when_the_client_aborts(root, serve):
    (root / "big.bin").write_bytes(b"\xab" * (8 * 1024 * 1024))
    closed = defer.Deferred()

    class Watched(StaticFileHandler):
        @classmethod
        def get_content(cls, abspath, start=None, end=None):
            try:
                yield from super().get_content(abspath, start, end)
            finally:
                closed.callback(None)

    port = serve(Application([(r"/static/(.*)", Watched, {"path": str(root)})]))
    client = await protocol.ClientCreator(reactor, AbortingClient).connectTCP("127.0.0.1", port)
    await client.got_data.addTimeout(WAIT, reactor)
    await closed.addTimeout(WAIT, reactor)
    assert client.received < 8 * 1024 * 1024


@pytest_twisted.ensureDeferred
async def test_a_naive_modified_time_is_taken_as_utc(root):
    class Naive(StaticFileHandler):
        def get_modified_time(self):
            return datetime.datetime(2024, 5, 1, 12, 0, 0)

    client = Client(Application([(r"/n/(.*)", Naive, {"path": str(root)})]))
    response = await client.get("/n/app.css")
    assert response.headers["Last-Modified"] == "Wed, 01 May 2024 12:00:00 GMT"
    since = {"If-Modified-Since": "Wed, 01 May 2024 12:00:00 GMT", "If-None-Match": ""}
    assert (await client.get("/n/app.css", headers=since)).code == 304
