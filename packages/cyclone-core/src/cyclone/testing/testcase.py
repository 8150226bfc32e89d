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

    Set ``app_builder`` as a class attribute, pass ``app_builder=`` to
    ``__init__`` as cyclone 1.3 did, or pass it first, positionally::

        class TestApp(CycloneTestCase):
            def __init__(self, *args, **kwargs):
                CycloneTestCase.__init__(self, build_app, *args, **kwargs)

    Without any of them it raises `ValueError`, as 1.3 did: a test case with
    no application would fail later, on ``self.client`` being ``None``.
    ``client_impl`` is the client class (1.3's hook for a custom client).
    """

    app_builder: Callable[[], Any] | None = None
    client_impl: Callable[[Any], Any] = Client
    #: pytest collects every TestCase class a test module imports; this base has no
    #: application, so only its subclasses are collected (trial does not read the flag).
    #: A base class of your own without an app builder sets ``__test__ = False`` too.
    __test__ = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__test__" not in cls.__dict__:
            cls.__test__ = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        builder = kwargs.pop("app_builder", None)
        if builder is None and args and callable(args[0]):
            builder, args = args[0], args[1:]
        builder = builder or getattr(type(self), "app_builder", None)
        if builder is None:
            raise ValueError(
                f"{type(self).__name__} has no application: set its app_builder attribute "
                "or pass app_builder= (a callable returning the application) to __init__"
            )
        super().__init__(*args, **kwargs)
        self.app: Any = builder()
        self.client = self.client_impl(self.app)
        name = getattr(self, "_testMethodName", None)
        method = getattr(self, name, None) if name else None
        if method is not None and inspect.iscoroutinefunction(method):
            setattr(self, name, _run_like_a_handler(method))  # type: ignore[arg-type]

    @property
    def _app(self) -> Any:
        """cyclone 1.3's name for `app`."""
        return self.app


def _run_like_a_handler(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run an ``async def`` test with cyclone's runner: asyncio too on the asyncio reactor."""

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> defer.Deferred[Any]:
        return as_deferred(method(*args, **kwargs))

    return run
