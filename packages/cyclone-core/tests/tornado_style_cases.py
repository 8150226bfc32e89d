"""Tornado-style test cases for a cyclone app, written as a Tornado user writes them.

test_testing_httptest.py runs these classes in its own pytest process (pytest-twisted's
reactor greenlet) and copies this file to run it under ``trial`` and under pytest without
pytest-twisted, so every runner passes the same tests. It is not named ``test_*`` so that
pytest collects the classes once, through that module.
"""

from __future__ import annotations

import gzip
import logging
import unittest

from twisted.internet import defer, reactor, task

from cyclone.handler import RequestHandler
from cyclone.routing import Router
from cyclone.testing import (
    AsyncHTTPSTestCase,
    AsyncHTTPTestCase,
    AsyncTestCase,
    ExpectLog,
    HTTPClientError,
    gen_test,
)

#: Number of test methods below; the runners' summaries must count them all.
CASES = 20


class Hello(RequestHandler):
    def get(self):
        self.write("Hello, world")


class Fails(RequestHandler):
    def get(self):
        raise ZeroDivisionError("on purpose")


class Moves(RequestHandler):
    def get(self):
        self.redirect("/")

    def post(self):
        self.redirect("/echo", status=303)


class Scheme(RequestHandler):
    def get(self):
        self.write(self.request.protocol)


class Echo(RequestHandler):
    def get(self):
        self.write({"method": "GET", "header": self.request.headers.get("X-Test")})

    def post(self):
        self.write({"method": "POST", "body": self.request.body.decode()})


class Slow(RequestHandler):
    async def get(self):
        value = await task.deferLater(reactor, 0.01, lambda: "later")
        self.write(value)


class Gzipped(RequestHandler):
    def get(self):
        if "gzip" in self.request.headers.get("Accept-Encoding", ""):
            self.set_header("Content-Encoding", "gzip")
            self.write(gzip.compress(b"squeezed"))
        else:
            self.write("plain")


def make_app():
    return Router(
        [
            (r"/", Hello),
            (r"/fails", Fails),
            (r"/moves", Moves),
            (r"/echo", Echo),
            (r"/slow", Slow),
            (r"/gzipped", Gzipped),
            (r"/scheme", Scheme),
        ]
    )


class HelloHTTPTest(AsyncHTTPTestCase):
    def get_app(self):
        return make_app()

    def test_fetch_returns_code_body_and_headers(self):
        response = self.fetch("/")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.body, b"Hello, world")
        self.assertEqual(response.headers["Content-Type"], "text/html; charset=UTF-8")
        self.assertIsNone(response.error)

    def test_a_missing_page_is_returned_with_its_error(self):
        response = self.fetch("/missing")
        self.assertEqual(response.code, 404)
        self.assertIsInstance(response.error, HTTPClientError)
        self.assertEqual(response.error.code, 404)

    def test_raise_error_raises_for_a_missing_page(self):
        with self.assertRaises(HTTPClientError) as caught:
            self.fetch("/missing", raise_error=True)
        self.assertEqual(caught.exception.code, 404)

    def test_redirects_are_followed_unless_told_not_to(self):
        followed = self.fetch("/moves")
        self.assertEqual((followed.code, followed.body), (200, b"Hello, world"))
        self.assertEqual(followed.effective_url, self.get_url("/"))
        kept = self.fetch("/moves", follow_redirects=False)
        self.assertEqual(kept.code, 302)
        self.assertEqual(kept.headers["Location"], "/")

    def test_a_303_after_post_is_followed_with_get(self):
        response = self.fetch("/moves", method="POST", body="a=1")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.body, b'{"method":"GET","header":null}')

    def test_method_body_and_headers_reach_the_handler(self):
        posted = self.fetch("/echo", method="POST", body="x=1")
        self.assertEqual(posted.body, b'{"method":"POST","body":"x=1"}')
        got = self.fetch("/echo", headers={"X-Test": "yes"})
        self.assertEqual(got.body, b'{"method":"GET","header":"yes"}')

    def test_a_post_without_body_is_refused_as_tornado_does(self):
        with self.assertRaises(ValueError):
            self.fetch("/echo", method="POST")

    def test_get_url_names_the_real_port_and_absolute_urls_are_fetched(self):
        url = self.get_url("/slow")
        self.assertEqual(url, f"http://127.0.0.1:{self.get_http_port()}/slow")
        self.assertEqual(self.fetch(url).body, b"later")

    def test_an_uncaught_exception_is_a_500_and_is_logged(self):
        with ExpectLog("cyclone", "Uncaught exception") as expectation:
            response = self.fetch("/fails")
        self.assertEqual(response.code, 500)
        self.assertTrue(expectation.logged_stack)

    def test_the_client_asks_for_gzip_and_decompresses_as_tornados_does(self):
        response = self.fetch("/gzipped")
        self.assertEqual(response.body, b"squeezed")
        self.assertEqual(response.headers["X-Consumed-Content-Encoding"], "gzip")
        self.assertNotIn("Content-Encoding", response.headers)
        raw = self.fetch("/gzipped", decompress_response=False)
        self.assertEqual(raw.body, b"plain")

    @gen_test
    async def test_gen_test_awaits_the_client(self):
        response = await self.http_client.fetch(self.get_url("/slow"))
        self.assertEqual(response.body, b"later")

    @gen_test(timeout=3)
    def test_gen_test_runs_generator_tests(self):
        response = yield self.http_client.fetch(self.get_url("/"))
        self.assertEqual(response.code, 200)


class HelloHTTPSTest(AsyncHTTPSTestCase):
    def get_app(self):
        return make_app()

    def test_fetch_goes_over_tls_and_the_handler_sees_https(self):
        self.assertTrue(self.get_url("/").startswith("https://127.0.0.1:"))
        response = self.fetch("/scheme")
        self.assertEqual((response.code, response.body), (200, b"https"))
        self.assertEqual(response.effective_url, self.get_url("/scheme"))

    def test_redirects_stay_on_the_tls_port(self):
        response = self.fetch("/moves", method="POST", body="a=1")
        self.assertEqual(response.code, 200)
        self.assertEqual(response.effective_url, self.get_url("/echo"))

    @gen_test
    async def test_gen_test_awaits_the_https_client(self):
        response = await self.http_client.fetch(self.get_url("/slow"))
        self.assertEqual(response.body, b"later")


class PlainAsyncTest(AsyncTestCase):
    def test_stop_ends_wait_with_its_value(self):
        self.reactor.callLater(0.01, self.stop, 42)
        self.assertEqual(self.wait(), 42)

    async def test_async_methods_run_without_the_decorator(self):
        value = await task.deferLater(self.reactor, 0.01, lambda: "ran")
        self.assertEqual(value, "ran")

    def test_expect_log_sees_stdlib_logging(self):
        with ExpectLog("tornado_style.app", "disk .* full", level=logging.WARNING):
            logging.getLogger("tornado_style.app").warning("disk %s full", "/var")

    def test_gen_test_timeout_fails_with_timeout_error(self):
        @gen_test(timeout=0.05)
        async def never(case):
            await defer.Deferred()

        with self.assertRaises(TimeoutError):
            never(self)

    def test_a_failing_assertion_after_an_await_fails_the_test(self):
        class Failing(AsyncTestCase):
            async def test_undecorated(self):
                await task.deferLater(self.reactor, 0, lambda: None)
                self.fail("reached after the await")

            @gen_test
            async def test_decorated(self):
                await task.deferLater(self.reactor, 0, lambda: None)
                self.fail("reached after the await")

        for name in ("test_undecorated", "test_decorated"):
            result = unittest.TestResult()
            Failing(name).run(result)
            self.assertEqual(len(result.failures), 1, (name, result.errors))
            self.assertIn("reached after the await", result.failures[0][1])
