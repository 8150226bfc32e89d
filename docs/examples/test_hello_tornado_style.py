"""A Tornado-style test of a cyclone application; the core guide includes it."""

from cyclone.handler import RequestHandler
from cyclone.routing import Router
from cyclone.testing import AsyncHTTPTestCase, ExpectLog, gen_test


class Hello(RequestHandler):
    def get(self):
        self.write("Hello, world")


class Broken(RequestHandler):
    def get(self):
        raise ZeroDivisionError


class HelloTest(AsyncHTTPTestCase):
    def get_app(self):
        return Router([(r"/", Hello), (r"/broken", Broken)])

    def test_hello(self):
        response = self.fetch("/")
        self.assertEqual((response.code, response.body), (200, b"Hello, world"))

    def test_broken(self):
        with ExpectLog("cyclone", "Uncaught exception"):
            self.assertEqual(self.fetch("/broken").code, 500)

    @gen_test(timeout=2)
    async def test_awaited(self):
        response = await self.http_client.fetch(self.get_url("/"))
        self.assertEqual(response.code, 200)
