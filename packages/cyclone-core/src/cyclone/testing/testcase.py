"""cyclone 1.x's test case: a ``twisted.trial`` TestCase with ``self.client``.

    from cyclone.testing import CycloneTestCase

    class TestHello(CycloneTestCase):
        app_builder = staticmethod(make_app)

        async def test_hello(self):
            response = await self.client.get("/")
            self.assertEqual(response.code, 200)

It runs under ``trial`` and under pytest. Importing it loads ``twisted.trial``.

Handlers that await asyncio libraries need Twisted's asyncio reactor, in tests
too: ``trial --reactor=asyncio`` or ``pytest --reactor=asyncio``
(pytest-twisted). There, ``async def`` test methods of `CycloneTestCase` run
like handlers (`cyclone.coroutines`), so they may await asyncio as well as the
client's Deferreds.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.trial import unittest

from cyclone.coroutines import as_deferred
from cyclone.testing.client import Client

__all__ = ["CycloneTestCase"]


class CycloneTestCase(unittest.TestCase):
    """A trial TestCase with ``self.client`` for the application ``app_builder()`` returns.

    Either set ``app_builder`` as a class attribute or pass it first to
    ``__init__`` as the old cyclone did::

        class TestApp(CycloneTestCase):
            def __init__(self, *args, **kwargs):
                CycloneTestCase.__init__(self, build_app, *args, **kwargs)
    """

    app_builder: Callable[[], Any] | None = None

    def __init__(self, app_builder: Any = None, *args: Any, **kwargs: Any) -> None:
        if app_builder is not None and not callable(app_builder):
            args = (app_builder, *args)  # trial passed the test method name first
            app_builder = None
        builder = app_builder or getattr(type(self), "app_builder", None)
        super().__init__(*args, **kwargs)
        self.app: Any = builder() if builder is not None else None
        self.client = Client(self.app) if self.app is not None else None
        name = getattr(self, "_testMethodName", None)
        method = getattr(self, name, None) if name else None
        if method is not None and inspect.iscoroutinefunction(method):
            setattr(self, name, _run_like_a_handler(method))  # type: ignore[arg-type]


def _run_like_a_handler(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run an ``async def`` test with cyclone's runner: asyncio too on the asyncio reactor."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        return as_deferred(method(*args, **kwargs))

    return run
