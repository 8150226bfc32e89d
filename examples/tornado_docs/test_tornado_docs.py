"""Run the Tornado user guide's blog under Tornado and under cyclone and compare every page.

Both programs are started as a user would (``python tornado_app.py --port N``) and
visited by the same scripted user over real sockets: pages, a 404, the sign-in
redirect, the XSRF-protected forms, a signed-cookie session, an ``async def``
handler that fetches from the server itself, static files and a redirect rule.
Answers must be the same, apart from the differences cyclone keeps on purpose
(docs/migrating.md): the static version hash, the XSRF token, JSON spacing,
``charset`` on static text files and the ``Server`` header.
"""

from __future__ import annotations

import ast
import http.cookiejar
import json
import os
import pathlib
import queue
import re
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

HERE = pathlib.Path(__file__).parent
TIMEOUT = 30.0

pytest.importorskip("tornado", reason="Tornado is a test dependency: examples/requirements.txt")


def code_of(path: pathlib.Path) -> str:
    """The program without its module docstring."""
    source = path.read_text()
    docstring = ast.parse(source).body[0]
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
    return "\n".join(source.splitlines()[docstring.end_lineno :])


def test_the_cyclone_program_is_the_tornado_program_with_only_the_name_changed() -> None:
    tornado_code = code_of(HERE / "tornado_app.py")
    assert re.sub(r"\btornado\b", "cyclone", tornado_code) == code_of(HERE / "cyclone_app.py")
    assert "asyncio.run(main())" in tornado_code and "app.listen(" in tornado_code


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Visitor:
    """One browser: a cookie jar, redirects seen rather than followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects()
        )

    def cookie(self, name: str) -> str | None:
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)

    def request(self, path: str, form: dict[str, str] | None = None) -> dict[str, object]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            response = self.opener.open(self.base + path, data=data, timeout=TIMEOUT)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            body = response.read()
        return {
            "status": response.status,
            "content-type": response.headers.get("Content-Type"),
            "location": response.headers.get("Location"),
            "body": body,
        }


def normalized(page: dict[str, object]) -> dict[str, object]:
    """The page with the values that differ on purpose (or at random) replaced."""
    body = page["body"]
    assert isinstance(body, bytes)
    body = re.sub(rb'(name="_xsrf" value=")[^"]+"', rb'\1TOKEN"', body)
    body = re.sub(rb"(/static/[\w.]+)\?v=[0-9a-f]+", rb"\1?v=VERSION", body)
    return {**page, "body": body}


def visit(base: str) -> dict[str, dict[str, object]]:
    """What one user sees, page by page, from a fresh blog."""
    pages: dict[str, dict[str, object]] = {}
    user = Visitor(base)
    pages["home"] = user.request("/")
    pages["entry"] = user.request("/entry/hello")
    pages["missing entry"] = user.request("/entry/nope")
    pages["compose before sign-in"] = user.request("/compose")
    pages["sign-in form"] = user.request("/login")
    pages["sign-in without the xsrf field"] = user.request("/login", {"name": "alice"})
    token = user.cookie("_xsrf")
    assert token, "the sign-in form sets the _xsrf cookie"
    pages["sign-in"] = user.request("/login", {"name": "alice", "_xsrf": token})
    pages["home signed in"] = user.request("/")
    pages["compose form"] = user.request("/compose")
    pages["publish"] = user.request(
        "/compose", {"title": "Async handlers", "text": "await <it>", "_xsrf": token}
    )
    pages["published entry"] = user.request("/entry/async-handlers")
    pages["async fetch"] = user.request("/fetch")
    pages["async sleep"] = user.request("/sleep")
    pages["json api"] = user.request("/api/entries")
    stylesheet = re.search(rb'href="(/static/blog\.css\?v=[0-9a-f]+)"', pages["home"]["body"])
    assert stylesheet, pages["home"]["body"]
    pages["static_url"] = user.request(stylesheet.group(1).decode())
    pages["static without version"] = user.request("/static/blog.js")
    pages["robots.txt"] = user.request("/robots.txt")
    pages["redirect rule"] = user.request("/old-home")
    pages["sign out"] = user.request("/logout")
    pages["home signed out"] = user.request("/")
    return pages


def start(script: str) -> tuple[subprocess.Popen[str], str]:
    """``python script --port N`` on a free port; returns the process and the URL it prints."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, script, f"--port={port}"],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    output = []
    while (line := lines.get(timeout=TIMEOUT)) is not None:
        output.append(line)
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if match:
            return process, match.group(0)
    raise AssertionError(f"{script} exited:\n" + "".join(output))


@pytest.fixture(scope="module")
def both() -> Iterator[dict[str, dict[str, dict[str, object]]]]:
    """Each program started, visited once by the same script, its pages returned."""
    processes = []
    try:
        pages = {}
        for name in ("tornado", "cyclone"):
            process, url = start(f"{name}_app.py")
            processes.append(process)
            pages[name] = visit(url)
        yield pages
    finally:
        for process in processes:
            process.terminate()
            process.wait(TIMEOUT)


def test_the_pages_are_what_the_guide_describes(both) -> None:
    pages = both["tornado"]
    assert pages["home"]["status"] == 200 and b"Hello, world" in pages["home"]["body"]
    assert b".entry { margin-bottom: 1em; }" in pages["home"]["body"]
    assert pages["missing entry"]["status"] == 404
    assert pages["compose before sign-in"]["location"] == "/login?next=%2Fcompose"
    assert pages["sign-in without the xsrf field"]["status"] == 403
    assert b"Signed in as alice" in pages["home signed in"]["body"]
    assert pages["publish"]["location"] == "/entry/async-handlers"
    assert b"await &lt;it&gt;" in pages["published entry"]["body"]
    assert pages["async fetch"]["body"] == b"Fetched 3 entries from the JSON API"
    assert b"Sign in" in pages["home signed out"]["body"]


@pytest.mark.parametrize(
    "page",
    [
        "home",
        "entry",
        "missing entry",
        "compose before sign-in",
        "sign-in form",
        "sign-in without the xsrf field",
        "sign-in",
        "home signed in",
        "compose form",
        "publish",
        "published entry",
        "async fetch",
        "redirect rule",
        "sign out",
        "home signed out",
    ],
)
def test_cyclone_serves_the_same_page_as_tornado(both, page: str) -> None:
    assert normalized(both["cyclone"][page]) == normalized(both["tornado"][page])


def test_json_and_static_files_differ_only_where_cyclone_says_so(both) -> None:
    tornado, cyclone = both["tornado"], both["cyclone"]
    for page in ("json api", "async sleep"):
        assert cyclone[page]["status"] == tornado[page]["status"] == 200
        assert json.loads(cyclone[page]["body"]) == json.loads(tornado[page]["body"])
        assert cyclone[page]["content-type"] == tornado[page]["content-type"]
    for page in ("static_url", "static without version", "robots.txt"):
        assert cyclone[page]["status"] == tornado[page]["status"] == 200
        assert cyclone[page]["body"] == tornado[page]["body"]
        content_type = tornado[page]["content-type"]
        assert cyclone[page]["content-type"] in (content_type, f"{content_type}; charset=UTF-8")
