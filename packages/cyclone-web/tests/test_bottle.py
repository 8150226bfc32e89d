"""Bottle-style routes: plain functions become handler methods of a cyclone.web.Application."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer

import cyclone.web
from cyclone import bottle
from cyclone.testing import Client
from cyclone.web import HTTPError, RequestHandler


@pytest.fixture(autouse=True)
def fresh_routes() -> Iterator[None]:
    bottle.clear_routes()
    yield
    bottle.clear_routes()


@pytest_twisted.ensureDeferred
async def test_a_routed_function_receives_the_handler() -> None:
    @bottle.route("/")
    def index(web):
        web.write("Hello, world")

    response = await Client(bottle.create_app()).get("/")
    assert response.code == 200
    assert response.body == b"Hello, world"


@pytest_twisted.ensureDeferred
async def test_path_groups_are_passed_after_the_handler() -> None:
    @bottle.route(r"/users/(\d+)/posts/(\w+)")
    def post(web, user_id, slug):
        web.write({"user": user_id, "slug": slug})

    response = await Client(bottle.create_app()).get("/users/7/posts/hello")
    assert response.json() == {"user": "7", "slug": "hello"}


@pytest_twisted.ensureDeferred
async def test_functions_on_one_path_share_it_by_method() -> None:
    @bottle.route("/item")
    def show(web):
        web.write("show")

    @bottle.route("/item", method="post")
    def create(web):
        web.set_status(201)
        web.write("created " + web.get_argument("name"))

    @bottle.route("/item", method=["PUT", "DELETE"])
    def change(web):
        web.write(web.request.method.lower())

    client = Client(bottle.create_app())
    assert (await client.get("/item")).body == b"show"
    created = await client.post("/item", data={"name": "x"})
    assert (created.code, created.body) == (201, b"created x")
    assert (await client.put("/item", data=b"")).body == b"put"
    assert (await client.delete("/item")).body == b"delete"
    assert (await client.options("/item")).code == 405


@pytest_twisted.ensureDeferred
async def test_async_and_deferred_functions_finish_when_done() -> None:
    @bottle.route("/async")
    async def later(web):
        value = await defer.succeed("async")
        web.write(value)

    @bottle.route("/inline")
    @defer.inlineCallbacks
    def inline(web):
        value = yield defer.succeed("inline")
        web.write(value)

    client = Client(bottle.create_app())
    assert (await client.get("/async")).body == b"async"
    assert (await client.get("/inline")).body == b"inline"


@pytest_twisted.ensureDeferred
async def test_http_errors_and_handler_decorators_work_on_functions() -> None:
    @bottle.route("/missing")
    def missing(web):
        raise HTTPError(404)

    @bottle.route("/private")
    @cyclone.web.authenticated
    def private(web):
        web.write("secret")

    client = Client(bottle.create_app(login_url="/login"))
    assert (await client.get("/missing")).code == 404
    redirected = await client.get("/private")
    assert redirected.code == 302
    assert redirected.headers["Location"].startswith("/login?next=")


@pytest_twisted.ensureDeferred
async def test_base_handler_more_handlers_and_settings_reach_the_application() -> None:
    class Base(RequestHandler):
        def get_current_user(self):
            return "ana"

    class Plain(RequestHandler):
        def get(self):
            self.write("plain")

    @bottle.route("/me")
    def me(web):
        web.write(f"{web.current_user} {web.settings.greeting}")

    app = bottle.create_app(base_handler=Base, more_handlers=[(r"/plain", Plain)], greeting="hi")
    client = Client(app)
    assert (await client.get("/me")).body == b"ana hi"
    assert (await client.get("/plain")).body == b"plain"


@pytest_twisted.ensureDeferred
async def test_bare_decorator_routes_the_function_name() -> None:
    @bottle.route
    def status(web):
        web.write("ok")

    assert (await Client(bottle.create_app()).get("/status")).body == b"ok"


def test_named_routes_can_be_reversed() -> None:
    @bottle.route(r"/a/(\d+)", name="a")
    def a(web, number):
        pass

    assert bottle.create_app().reverse_url("a", 5) == "/a/5"


def test_two_functions_for_the_same_method_and_path_are_refused() -> None:
    @bottle.route("/x")
    def one(web):
        pass

    @bottle.route("/x")
    def two(web):
        pass

    with pytest.raises(ValueError, match="GET '/x' is routed to both one and two"):
        bottle.create_app()


def test_routes_lists_what_was_registered() -> None:
    def f(web):
        pass

    bottle.route("/f", method=("get", "head"), callback=f)
    assert bottle.routes() == [("/f", ("GET", "HEAD"), f)]


def test_run_serves_until_sigterm_and_logs_to_the_given_file(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from cyclone.bottle import route, run

            @route("/")
            def index(web):
                web.write("Hello from run")

            run(host="127.0.0.1", port=0, log=sys.stdout)
            """
        )
    )
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "cyclone.bottle serving on http://" in line:
                address = line.rsplit("http://", 1)[1].strip()
                break
        else:
            pytest.fail(f"run() exited with {process.wait(10)} without serving")
        import urllib.request

        with urllib.request.urlopen(f"http://{address}/", timeout=30) as response:
            assert response.read() == b"Hello from run"
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=30)[0]
        assert "Main loop terminated." in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


# -- cyclone 1.x ------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_method_any_serves_every_method_without_its_own_function() -> None:
    @bottle.route("/thing", method="any")
    def anything(web):
        web.write(f"any {web.request.method}")

    @bottle.route("/thing", method="post")
    def create(web):
        web.write("created")

    client = Client(bottle.create_app())
    assert (await client.get("/thing")).body == b"any GET"
    assert (await client.put("/thing", body=b"x")).body == b"any PUT"
    assert (await client.delete("/thing")).body == b"any DELETE"
    assert (await client.post("/thing", body=b"x")).body == b"created"


@pytest_twisted.ensureDeferred
async def test_a_1x_router_stands_where_a_handler_class_goes() -> None:
    def show(cli, name):
        cli.write(f"hello {name}")

    def update(cli, name):
        cli.write(f"updated {name}")

    router = bottle.Router()
    router.add("get", show)
    router.add("POST", update)
    app = cyclone.web.Application([(r"/user/(\w+)", router)])
    client = Client(app)
    assert (await client.get("/user/ana")).body == b"hello ana"
    assert (await client.post("/user/ana", body=b"")).body == b"updated ana"
    assert (await client.delete("/user/ana")).code == 405
    assert isinstance(router(app, _request_for(app)), RequestHandler)


def _request_for(app):
    from cyclone.httputil import HTTPServerRequest

    return HTTPServerRequest(method="GET", uri="/user/x")


def test_an_empty_router_says_what_it_needs() -> None:
    with pytest.raises(ValueError, match=r"add\(method, callback\)"):
        bottle.Router().handler_class  # noqa: B018
