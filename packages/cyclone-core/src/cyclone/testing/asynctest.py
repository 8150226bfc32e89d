"""Tornado's `AsyncTestCase` and `gen_test` on Twisted: synchronous tests that run the reactor.

    from cyclone.testing import AsyncTestCase, gen_test
    from twisted.internet import reactor, task

    class TestLater(AsyncTestCase):
        @gen_test(timeout=2)
        async def test_deferred_later(self):
            value = await task.deferLater(reactor, 0.01, lambda: 42)
            self.assertEqual(value, 42)

A test method is an ordinary synchronous `unittest.TestCase` method; what it
waits for (a `gen_test` coroutine, `AsyncHTTPTestCase.fetch`, `wait`) runs the
reactor until that one thing is done, as Tornado's ``IOLoop.run_sync`` does.
So the same test runs under ``trial``, under plain pytest and under pytest with
pytest-twisted, whose reactor runs in a greenlet: there the wait hands control
to that greenlet (``pytest_twisted.blockon``) instead of running the reactor a
second time. Twisted's reactor is process-wide, so there is no ``io_loop`` per
test: ``self.reactor`` is the installed reactor.

`run_until_complete` is the one primitive; call it from a test method to wait
for any Deferred or coroutine.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import unittest
from collections.abc import Callable
from typing import Any, overload

from twisted.internet import defer
from twisted.python.failure import Failure

from cyclone.coroutines import as_deferred

__all__ = ["AsyncTestCase", "gen_test", "get_async_test_timeout", "run_until_complete"]

#: Tornado's default for a test's asynchronous part (``ASYNC_TEST_TIMEOUT`` overrides it).
DEFAULT_ASYNC_TEST_TIMEOUT = 5.0


def get_async_test_timeout() -> float:
    """Seconds an asynchronous step of a test may take: ``$ASYNC_TEST_TIMEOUT``, else 5.

    Tornado's name and environment variable, so a CI setting made for
    Tornado's tests applies to these too.
    """
    try:
        return float(os.environ["ASYNC_TEST_TIMEOUT"])
    except (KeyError, ValueError):
        return DEFAULT_ASYNC_TEST_TIMEOUT


def run_until_complete(awaitable: Any, timeout: float | None = None) -> Any:
    """Run the reactor until ``awaitable`` (a Deferred or coroutine) is done; return its result.

    Raises what it raised, or `TimeoutError` after ``timeout`` seconds
    (`get_async_test_timeout` when None), having cancelled it. Called while
    the reactor is already running in this thread (inside a Deferred callback
    or an ``async def`` pytest-twisted test) it raises `RuntimeError`: there,
    ``await`` instead.
    """
    from twisted.internet import reactor

    seconds = get_async_test_timeout() if timeout is None else timeout
    deferred = as_deferred(awaitable)

    def timed_out(result: Any, after: float) -> Any:
        raise TimeoutError(f"the test's asynchronous step timed out after {after:g} seconds")

    deferred.addTimeout(seconds, reactor, onTimeoutCancel=timed_out)
    outcome: list[Any] = []
    finished = deferred.addBoth(outcome.append)
    if not outcome:
        try:
            blockon = _pytest_twisted_blockon()
            if blockon is None and reactor.running:
                raise RuntimeError(
                    "the reactor is already running here: await instead of waiting for it"
                )
        except RuntimeError:
            finished.cancel()
            raise
        if blockon is not None:
            blockon(finished)
        else:
            _spin(reactor, finished, outcome)
    if not outcome:
        raise RuntimeError("the reactor stopped before the test's asynchronous step finished")
    if isinstance(outcome[0], Failure):
        outcome[0].raiseException()
    return outcome[0]


def _spin(reactor: Any, finished: defer.Deferred[Any], outcome: list[Any]) -> None:
    """Run ``reactor`` until ``outcome`` is filled, then crash it (so it can run again), as trial does."""
    finished.addBoth(lambda _: reactor.crash())
    if not outcome:
        reactor.run()


def _pytest_twisted_blockon() -> Callable[[defer.Deferred[Any]], Any] | None:
    """pytest-twisted's ``blockon`` when its reactor greenlet serves this test, else None."""
    plugin = sys.modules.get("pytest_twisted")
    instances = getattr(plugin, "_instances", None)
    reactor_greenlet = getattr(instances, "gr_twisted", None)
    if plugin is None or reactor_greenlet is None or reactor_greenlet.dead:
        return None
    import greenlet

    if greenlet.getcurrent() is reactor_greenlet:
        raise RuntimeError(
            "this test already runs on the reactor (pytest-twisted): await instead of waiting"
        )
    blockon: Callable[[defer.Deferred[Any]], Any] = plugin.blockon
    return blockon


class AsyncTestCase(unittest.TestCase):
    """A `unittest.TestCase` whose methods may wait for Deferreds and coroutines; Tornado's.

    Test methods that are ``async def`` (or return a Deferred) are run to
    completion with `get_async_test_timeout`, as if decorated with `gen_test`.
    ``stop()``/``wait()`` are Tornado's callback-style pair.
    """

    def __init__(self, methodName: str = "runTest") -> None:
        super().__init__(methodName)
        self._stop_result: list[Any] = []
        self._waiting: defer.Deferred[Any] | None = None

    def setUp(self) -> None:
        super().setUp()
        from twisted.internet import reactor

        self.reactor: Any = reactor

    def _callTestMethod(self, method: Callable[[], Any]) -> None:
        result = method()
        if inspect.isawaitable(result) or isinstance(result, defer.Deferred):
            run_until_complete(result)
        elif result is not None:
            raise TypeError(f"test method {method.__name__} returned {result!r}, not None")

    def stop(self, _arg: Any = None, **kwargs: Any) -> None:
        """End the current (or next) `wait`, which returns ``_arg`` or the keyword arguments."""
        value = kwargs or _arg
        if self._waiting is not None and not self._waiting.called:
            self._waiting.callback(value)
        else:
            self._stop_result.append(value)

    def wait(
        self, condition: Callable[[], bool] | None = None, timeout: float | None = None
    ) -> Any:
        """Run the reactor until `stop` is called (and ``condition()`` holds, if given)."""
        while True:
            if self._stop_result:
                value = self._stop_result.pop(0)
            else:
                self._waiting = defer.Deferred()
                try:
                    value = run_until_complete(self._waiting, timeout)
                finally:
                    self._waiting = None
            if condition is None or condition():
                return value


@overload
def gen_test(func: Callable[..., Any]) -> Callable[..., None]: ...


@overload
def gen_test(
    func: None = None, timeout: float | None = None
) -> Callable[[Callable[..., Any]], Callable[..., None]]: ...


def gen_test(func: Callable[..., Any] | None = None, timeout: float | None = None) -> Any:
    """Run an ``async def`` (or generator-based) test method to completion; Tornado's decorator.

    ``timeout`` seconds (default `get_async_test_timeout`) bound the whole
    method: past them the coroutine is cancelled and the test fails with
    `TimeoutError`. Inside, ``await`` Deferreds (and, on the asyncio reactor,
    asyncio awaitables too); a generator method yields Deferreds as with
    ``inlineCallbacks``.
    """

    def wrap(test: Callable[..., Any]) -> Callable[..., None]:
        @functools.wraps(test)
        def run(self: Any, *args: Any, **kwargs: Any) -> None:
            if inspect.isgeneratorfunction(test):
                pending = defer.inlineCallbacks(test)(self, *args, **kwargs)
            else:
                pending = test(self, *args, **kwargs)
            run_until_complete(pending, timeout)

        return run

    if func is not None:
        return wrap(func)
    return wrap
