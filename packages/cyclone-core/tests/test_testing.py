"""The in-process test client and CycloneTestCase."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest_twisted

from cyclone.handler import RequestHandler
from cyclone.routing import Router
from cyclone.testing import Client


class Everything(RequestHandler):
    SUPPORTED_METHODS = (*RequestHandler.SUPPORTED_METHODS,)

    def _describe(self):
        self.write(
            {
                "method": self.request.method,
                "body": self.request.body.decode(),
                "header": self.request.headers.get("X-Test"),
                "args": {k: self.get_arguments(k) for k in self.request.arguments},
            }
        )

    get = post = put = delete = patch = options = _describe


@pytest_twisted.ensureDeferred
async def test_every_method_helper_sends_its_method():
    client = Client(Router([(r"/", Everything)]))
    for method in ("get", "post", "put", "delete", "patch", "options"):
        response = await getattr(client, method)("/")
        assert response.json()["method"] == method.upper()
    head = await client.head("/")
    assert head.code == 200 and head.body == b""


@pytest_twisted.ensureDeferred
async def test_params_data_headers_and_raw_body():
    client = Client(Router([(r"/", Everything)]))
    response = await client.post("/?q=1", data={"a": ["x", "y"]}, headers={"X-Test": "yes"})
    assert response.json()["args"] == {"q": ["1"], "a": ["x", "y"]}
    assert response.json()["header"] == "yes"
    raw = await client.put(
        "/", body=b"raw-bytes", headers={"Content-Type": "application/octet-stream"}
    )
    assert raw.json()["body"] == "raw-bytes"
    as_json = await client.post("/", json_body={"k": 1})
    assert as_json.json()["body"] == '{"k": 1}'


class SetsCookie(RequestHandler):
    def get(self):
        self.set_cookie("visits", str(int(self.get_cookie("visits", "0")) + 1))
        self.set_secure_cookie("who", "me")


@pytest_twisted.ensureDeferred
async def test_cookies_persist_between_requests_and_secure_ones_decode():
    client = Client(Router([(r"/", SetsCookie)], cookie_secret="k"))
    await client.get("/")
    await client.get("/")
    assert client.cookies["visits"] == "2"
    assert client.cookies.get_secure_cookie("who") == b"me"


CASE = textwrap.dedent(
    """
    from twisted.internet import defer
    from cyclone.handler import RequestHandler
    from cyclone.routing import Router
    from cyclone.testing import CycloneTestCase

    class Hello(RequestHandler):
        def get(self):
            self.write("hello")

    def build():
        return Router([(r"/", Hello)])

    class OldStyle(CycloneTestCase):
        def __init__(self, *args, **kwargs):
            CycloneTestCase.__init__(self, build, *args, **kwargs)

        @defer.inlineCallbacks
        def test_hello(self):
            response = yield self.client.get("/")
            self.assertEqual(response.body, b"hello")

    class WithAttribute(CycloneTestCase):
        app_builder = staticmethod(build)

        @defer.inlineCallbacks
        def test_hello(self):
            response = yield self.client.get("/")
            self.assertEqual(response.code, 200)
    """
)


def _write_case(tmp_path):
    path = tmp_path / "test_cyclone_case.py"
    path.write_text(CASE)
    return path


def test_cyclone_test_case_runs_under_trial(tmp_path):
    _write_case(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "twisted.trial", "test_cyclone_case"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED (successes=2)" in result.stdout


def test_cyclone_test_case_runs_under_pytest(tmp_path):
    # trial TestCases spin the reactor themselves, so pytest-twisted (which
    # runs the reactor in a greenlet) must be off for such files.
    path = _write_case(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:twisted",
            "-p",
            "no:cacheprovider",
            str(path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


# -- cyclone 1.3's own tests of its client, ported ------------------------------------------

#: cyclone 1.3's cyclone/tests/test_testing.py with its imports pointed at cyclone-core and
#: one change: a positional builder is accepted (so "no builder" is ``CycloneTestCase()``).
#: The tests after test_cookies (params as a POST form, files, HTTP/1.0) are new.
CYCLONE_13_TESTS = textwrap.dedent(
    """
    from twisted.trial import unittest
    from cyclone.testing import CycloneTestCase, Client
    from cyclone.routing import Router as Application
    from cyclone.handler import RequestHandler, asynchronous
    from twisted.internet import reactor
    from twisted.internet.defer import inlineCallbacks


    class TestHandler(RequestHandler):
        def get(self):
            self.write("Something")

        def post(self):
            self.write("Something posted")

        def put(self):
            self.write("Something put")

        def head(self):
            self.write("")

        def delete(self):
            self.write("")


    class DeferredTestHandler(RequestHandler):
        @asynchronous
        def get(self):
            self.write("Something...")
            reactor.callLater(0.1, self.do_something)

        def do_something(self):
            self.write("done!")
            self.finish()


    class CookieTestHandler(RequestHandler):
        def get(self):
            self.set_secure_cookie("test_cookie", "test_value")
            self.finish()

        def post(self):
            value = self.get_secure_cookie("test_cookie")
            self.finish(value)


    class ParamsHandler(RequestHandler):
        def get(self):
            self.write({"q": self.get_argument("q"), "query": self.request.query})

        def post(self):
            self.write({
                "q": self.get_argument("q"),
                "query": self.request.query,
                "body": self.request.body.decode(),
                "type": self.request.headers.get("Content-Type"),
            })

        put = post


    class VersionHandler(RequestHandler):
        def get(self):
            self.write(self.request.version)


    class UploadHandler(RequestHandler):
        def post(self):
            self.write({
                name: [[f["filename"], f["body"].decode(), f["content_type"]] for f in files]
                for name, files in self.request.files.items()
            })


    def mock_app_builder():
        return Application([
            (r'/testing/', TestHandler),
            (r'/deferred_testing/', DeferredTestHandler),
            (r'/cookie_testing/', CookieTestHandler),
            (r'/params/', ParamsHandler),
            (r'/version/', VersionHandler),
            (r'/upload/', UploadHandler),
        ], cookie_secret="insecure")


    class TestTestCase(unittest.TestCase):
        def test_create(self):
            self.assertRaises(ValueError, CycloneTestCase)
            self.assertRaises(ValueError, CycloneTestCase, "run")
            case = CycloneTestCase(app_builder=mock_app_builder)
            self.assertTrue(case._app)
            self.assertTrue(case.client)


    class TestClient(unittest.TestCase):
        def setUp(self):
            self.app = mock_app_builder()
            self.client = Client(self.app)

        def test_create_client(self):
            app = mock_app_builder()
            client = Client(app)
            self.assertTrue(client.app)

        @inlineCallbacks
        def test_get_request(self):
            response = yield self.client.get("/testing/")
            self.assertEqual(response.content, b"Something")
            self.assertTrue(len(response.headers) > 3)

        @inlineCallbacks
        def test_get_request_with_params(self):
            response = yield self.client.get("/testing/", {"q": "query"})
            self.assertEqual(response.content, b"Something")
            self.assertTrue(len(response.headers) > 3)

        @inlineCallbacks
        def test_post_request(self):
            response = yield self.client.post("/testing/")
            self.assertEqual(response.content, b"Something posted")
            self.assertTrue(len(response.headers) > 3)

        @inlineCallbacks
        def test_put_request(self):
            response = yield self.client.put("/testing/")
            self.assertEqual(response.content, b"Something put")
            self.assertTrue(len(response.headers) > 3)

        @inlineCallbacks
        def test_head_request(self):
            response = yield self.client.head("/testing/")
            self.assertEqual(response.content, b"")
            self.assertTrue(len(response.headers) > 3)

        @inlineCallbacks
        def test_delete_request(self):
            response = yield self.client.delete("/testing/")
            self.assertEqual(response.content, b"")
            self.assertTrue(len(response.headers) > 3)

        @inlineCallbacks
        def test_get_deferred_request(self):
            response = yield self.client.get("/deferred_testing/")
            self.assertEqual(response.content, b"Something...done!")
            self.assertTrue(len(response.headers) > 3)

        @inlineCallbacks
        def test_cookies(self):
            response = yield self.client.get("/cookie_testing/")
            self.assertEqual(
                self.client.cookies.get_secure_cookie("test_cookie"),
                b"test_value"
            )
            signed = self.client.cookies["test_cookie"].value
            self.assertEqual(
                self.client.cookies.get_secure_cookie("test_cookie", signed),
                b"test_value"
            )

            response = yield self.client.post("/cookie_testing/")
            self.assertEqual(response.content, b"test_value")

        @inlineCallbacks
        def test_get_params_go_in_the_query(self):
            response = yield self.client.get("/params/", {"q": "a b"})
            self.assertEqual(response.json(), {"q": "a b", "query": "q=a+b"})

        @inlineCallbacks
        def test_post_and_put_params_are_a_form_body(self):
            for method in (self.client.post, self.client.put):
                response = yield method("/params/", params={"q": "a b"})
                self.assertEqual(response.json(), {
                    "q": "a b",
                    "query": "",
                    "body": "q=a+b",
                    "type": "application/x-www-form-urlencoded",
                })

        @inlineCallbacks
        def test_files_in_13s_request_files_shape_are_uploaded(self):
            files = {"doc": [
                {"filename": "a.txt", "body": b"first", "content_type": "text/plain"},
                {"filename": "b.txt", "body": b"second", "content_type": "text/csv"},
            ]}
            response = yield self.client.post("/upload/", files=files)
            self.assertEqual(response.json(), {
                "doc": [["a.txt", "first", "text/plain"], ["b.txt", "second", "text/csv"]],
            })

        @inlineCallbacks
        def test_a_request_may_be_http_1_0(self):
            response = yield self.client.get("/version/", version="HTTP/1.0")
            self.assertEqual(response.content, b"HTTP/1.0")
    """
)


def test_pytest_collects_cyclone_test_case_subclasses_but_not_the_base_or_marked_bases():
    from cyclone.testing import CycloneTestCase

    class AbstractBase(CycloneTestCase):
        __test__ = False

    class Concrete(AbstractBase):
        app_builder = staticmethod(lambda: Router([]))

    assert (CycloneTestCase.__test__, AbstractBase.__test__, Concrete.__test__) == (
        False,
        False,
        True,
    )


def test_cyclone_13s_client_tests_pass_under_trial(tmp_path):
    (tmp_path / "test_cyclone13.py").write_text(CYCLONE_13_TESTS)
    result = _run(tmp_path, "-m", "twisted.trial", "test_cyclone13")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED (successes=14)" in result.stdout


def test_cyclone_13s_client_tests_pass_under_pytest(tmp_path):
    (tmp_path / "test_cyclone13.py").write_text(CYCLONE_13_TESTS)
    result = _run(
        tmp_path, "-m", "pytest", "-q", "-p", "no:twisted", "-p", "no:cacheprovider", "."
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "14 passed" in result.stdout


# -- asyncio handlers ------------------------------------------------------------------------

ASYNCIO_HANDLERS = textwrap.dedent(
    """
    import asyncio

    from twisted.internet import task

    from cyclone.handler import RequestHandler
    from cyclone.routing import Router


    class Mixed(RequestHandler):
        async def get(self):
            from twisted.internet import reactor

            await asyncio.sleep(0.01)
            value = await task.deferLater(reactor, 0.01, lambda: "deferred")
            self.write({"value": value, "task": asyncio.current_task() is not None})


    def make_app():
        return Router([(r"/", Mixed)])
    """
)


def _run(tmp_path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )


def test_the_client_under_pytest_twisted_on_the_asyncio_reactor_runs_asyncio_handlers(tmp_path):
    (tmp_path / "handlers.py").write_text(ASYNCIO_HANDLERS)
    (tmp_path / "test_app.py").write_text(
        textwrap.dedent(
            """
            import pytest_twisted

            from cyclone.testing import Client
            from handlers import make_app


            @pytest_twisted.ensureDeferred
            async def test_mixed():
                response = await Client(make_app()).get("/")
                assert response.json() == {"value": "deferred", "task": True}
            """
        )
    )
    result = _run(
        tmp_path,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--reactor=asyncio",
        "test_app.py",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_cyclone_test_case_under_trial_on_the_asyncio_reactor_awaits_asyncio_too(tmp_path):
    (tmp_path / "handlers.py").write_text(ASYNCIO_HANDLERS)
    (tmp_path / "test_case.py").write_text(
        textwrap.dedent(
            """
            import asyncio

            from cyclone.testing import CycloneTestCase
            from handlers import make_app


            class MixedTest(CycloneTestCase):
                app_builder = staticmethod(make_app)

                async def test_handler_and_test_both_use_asyncio(self):
                    await asyncio.sleep(0.01)
                    self.assertIsNotNone(asyncio.current_task())
                    response = await self.client.get("/")
                    self.assertEqual(response.json(), {"value": "deferred", "task": True})
            """
        )
    )
    result = _run(tmp_path, "-m", "twisted.trial", "--reactor=asyncio", "test_case")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED (successes=1)" in result.stdout


def test_the_client_awaited_from_plain_asyncio_tests_gets_futures(tmp_path):
    (tmp_path / "handlers.py").write_text(ASYNCIO_HANDLERS)
    (tmp_path / "test_plain.py").write_text(
        textwrap.dedent(
            """
            import asyncio
            import unittest

            from cyclone.testing import Client
            from handlers import make_app


            class PlainAsyncio(unittest.IsolatedAsyncioTestCase):
                async def test_mixed(self):
                    pending = Client(make_app()).get("/")
                    self.assertIsInstance(pending, asyncio.Future)
                    response = await pending
                    self.assertEqual(response.json(), {"value": "deferred", "task": True})
            """
        )
    )
    result = _run(tmp_path, "-m", "unittest", "-v", "test_plain")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_mixed" in result.stderr and "OK" in result.stderr


def test_cyclone_13s_module_paths_of_the_test_client_and_test_case_exist():
    import cyclone.testing
    from cyclone.testing.client import Client
    from cyclone.testing.testcase import CycloneTestCase

    assert cyclone.testing.Client is Client
    assert cyclone.testing.CycloneTestCase is CycloneTestCase


def test_the_test_client_module_does_not_load_trial():
    import subprocess
    import sys

    code = (
        "import sys, cyclone.testing.client, cyclone.routing; "
        "print('twisted.trial' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
