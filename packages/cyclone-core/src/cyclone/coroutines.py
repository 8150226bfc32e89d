"""Run what user code returns — a value, a Deferred, a coroutine, an asyncio awaitable — as a Deferred.

    from cyclone.coroutines import maybe_deferred

    class Handler(RequestHandler):
        async def get(self):
            await asyncio.sleep(0.1)                  # asyncio (on the asyncio reactor)
            rows = await pool.runQuery("select 1")    # a Deferred, in the same function
            self.write({"rows": rows})

    d = maybe_deferred(handler.get)                   # always a Deferred

Everything cyclone awaits on behalf of an application goes through this module:
handler methods and ``prepare``, ``data_received``, WebSocket ``open`` and
``on_message``, SSE ``bind``, RPC methods, shutdown hooks, pub/sub callbacks.

How a coroutine runs depends on the installed reactor:

- On Twisted's asyncio reactor (``asyncio.run`` + ``app.listen``,
  ``twistd -r asyncio``, ``asyncioreactor.install()``) it runs inside a real
  `asyncio.Task`, so ``asyncio.current_task()``, ``asyncio.timeout()`` and
  asyncio-native libraries work. The task's driver (`_TaskDriver`) passes
  asyncio futures to the loop and waits for each Deferred the coroutine
  awaits, resuming it with the Deferred's result or failure. Cancelling the
  returned Deferred cancels the task: the coroutine sees
  `asyncio.CancelledError` at its current ``await`` (a Deferred it was
  awaiting is cancelled too), and the Deferred fails with
  `defer.CancelledError` once the coroutine has unwound.
- On any other reactor it runs as Twisted runs coroutines
  (`Deferred.fromCoroutine`): Deferreds only, no task. Awaiting an asyncio
  object there fails with `AsyncioReactorRequired`, which says what to change.

A function that returns a plain value never touches any of this:
`is_awaitable` is checked first, so synchronous handlers stay synchronous.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import inspect
import sys
import types
from collections.abc import Callable, Coroutine, Generator
from typing import Any, TypeVar

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = [
    "AsyncioReactorRequired",
    "as_deferred",
    "as_future",
    "asyncio_loop",
    "is_awaitable",
    "maybe_deferred",
]

log = Logger(namespace="cyclone.coroutines")

_T = TypeVar("_T")
_Deferred = defer.Deferred
_CoroutineType = types.CoroutineType
#: Python 3.12 can run a task's first step at once instead of on the next loop turn.
_EAGER_TASKS = sys.version_info >= (3, 12)
#: RuntimeError messages asyncio raises when no asyncio loop drives the awaiting code.
_NO_LOOP_MESSAGES = ("no running event loop", "await wasn't used with future")


class AsyncioReactorRequired(RuntimeError):
    """An ``async def`` awaited an asyncio object while a non-asyncio reactor runs it."""


def asyncio_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop under the installed reactor, or None if it is not the asyncio reactor."""
    reactor = sys.modules.get("twisted.internet.reactor")
    loop = getattr(reactor, "_asyncioEventloop", None)
    if loop is None:
        return None
    # cyclone.eventloop wraps a loop that asyncio.run owns; tasks need the real one.
    return getattr(loop, "wrapped_loop", loop)


def is_awaitable(value: Any) -> bool:
    """True for a Deferred, a coroutine or any other awaitable (what `as_deferred` waits for)."""
    # Exact types first: Deferred is an ABC here, so isinstance() on it is slow.
    kind = type(value)
    if kind is _CoroutineType or kind is _Deferred:
        return True
    return isinstance(value, _Deferred) or inspect.isawaitable(value)


def as_deferred(value: Any) -> defer.Deferred[Any]:
    """A Deferred for ``value``: itself if a Deferred, its outcome if awaitable, else fired with it."""
    kind = type(value)
    if kind is _CoroutineType:
        return _run_coroutine(value)
    if kind is _Deferred or isinstance(value, _Deferred):
        return value
    if isinstance(value, asyncio.Future):
        return _future_as_deferred(value)
    if inspect.isawaitable(value):
        return _run_coroutine(_await(value))
    return defer.succeed(value)


def maybe_deferred(function: Callable[..., Any], *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
    """Call ``function`` and return `as_deferred` of its result; an exception becomes a failure."""
    try:
        result = function(*args, **kwargs)
    except BaseException:
        return defer.fail(Failure())
    return as_deferred(result)


def as_future(value: Any) -> asyncio.Future[Any]:
    """An asyncio future for a Deferred, coroutine or awaitable, for asyncio's own combinators.

    ``asyncio.gather``, ``asyncio.wait_for`` and ``asyncio.shield`` run
    coroutines in tasks of their own, which cannot await Deferreds. Give them
    ``as_future(d)`` for a Deferred, or ``as_future(coro())`` for a coroutine
    that awaits Deferreds: that coroutine then runs with cyclone's driver.
    Needs the asyncio reactor.
    """
    loop = asyncio_loop()
    if loop is None:
        raise AsyncioReactorRequired(_reactor_advice("as_future() needs"))
    if isinstance(value, _Deferred):
        return value.asFuture(loop)
    if isinstance(value, asyncio.Future):
        return value
    if type(value) is not _CoroutineType:
        if not inspect.isawaitable(value):
            raise TypeError(f"as_future() takes a Deferred or an awaitable, not {value!r}")
        value = _await(value)
    driver = _TaskDriver(value, loop)
    driver.task = loop.create_task(driver)
    return driver.task


def _drives_deferreds(task: asyncio.Task[Any]) -> bool:
    """True for a task running cyclone's driver (its coroutine may await Deferreds)."""
    return isinstance(task.get_coro(), _TaskDriver)


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _run_coroutine(coroutine: Coroutine[Any, Any, _T]) -> defer.Deferred[_T]:
    loop = asyncio_loop()
    if loop is None:
        deferred = defer.Deferred.fromCoroutine(coroutine)
        if not deferred.called or isinstance(deferred.result, Failure):
            deferred.addErrback(_explain_missing_loop)
        return deferred
    driver = _TaskDriver(coroutine, loop)
    result: _TaskDeferred[_T] = _TaskDeferred(driver)
    driver.report_to(result)
    if _EAGER_TASKS and loop.get_task_factory() is None:
        driver.task = asyncio.Task(driver, loop=loop, eager_start=True)  # type: ignore[call-arg]
    else:
        driver.task = loop.create_task(driver)
    return result


class _TaskDeferred(defer.Deferred[_T]):
    """The Deferred of a coroutine running in an asyncio task.

    ``cancel()`` cancels the task and, like cancelling a Deferred-driven
    coroutine, fires this Deferred once the coroutine has unwound (with
    `defer.CancelledError` unless the coroutine caught it and returned), not
    before: its ``finally`` blocks have run by the time anyone hears of it.
    """

    def __init__(self, driver: _TaskDriver) -> None:
        super().__init__()
        self._driver = driver

    def cancel(self) -> None:
        task = self._driver.task
        if not self.called and task is not None and not task.done():
            task.cancel()
            return
        super().cancel()


def _future_as_deferred(future: asyncio.Future[Any]) -> defer.Deferred[Any]:
    if asyncio_loop() is None and not future.done():
        return defer.fail(
            AsyncioReactorRequired(_reactor_advice("awaiting an asyncio future needs"))
        )
    return defer.Deferred.fromFuture(future)


def _explain_missing_loop(failure: Failure) -> Failure:
    """Turn asyncio's "no running event loop" errors into one that says how to fix it."""
    error = failure.value
    if type(error) is RuntimeError and (
        str(error) in _NO_LOOP_MESSAGES or str(error).startswith("There is no current event loop")
    ):
        where = _innermost_user_frame(failure.getTracebackObject())
        explained = AsyncioReactorRequired(
            _reactor_advice(f"{where} awaited an asyncio object ({error}), which needs")
        )
        explained.__cause__ = error
        return Failure(explained, AsyncioReactorRequired, failure.getTracebackObject())
    return failure


def _innermost_user_frame(traceback: types.TracebackType | None) -> str:
    asyncio_directory = asyncio.__file__.rsplit("/", 1)[0] if asyncio.__file__ else ""
    where = "a coroutine"
    while traceback is not None:
        code = traceback.tb_frame.f_code
        if not (asyncio_directory and code.co_filename.startswith(asyncio_directory)):
            where = f"{code.co_name}() at {code.co_filename}:{traceback.tb_lineno}"
        traceback = traceback.tb_next
    return where


def _reactor_advice(what: str) -> str:
    reactor = sys.modules.get("twisted.internet.reactor")
    name = type(reactor).__name__ if reactor is not None else "no reactor"
    return (
        f"{what} Twisted's asyncio reactor, but the reactor is {name}. Serve with "
        "app.listen() inside asyncio.run(), with twistd -r asyncio cyclone ..., or call "
        "twisted.internet.asyncioreactor.install() before anything imports "
        "twisted.internet.reactor"
    )


def _wake(result: Any, waker: asyncio.Future[Any]) -> Any:
    """Callback on an awaited Deferred: hand its outcome to the waiting task."""
    if not waker.done():
        waker.set_result(result)
    # A failure is thrown into the coroutine, so it counts as handled here.
    return None if isinstance(result, Failure) else result


class _TaskDriver(collections.abc.Coroutine[Any, Any, Any]):
    """The coroutine an asyncio task runs: the user's coroutine, with Deferreds made awaitable.

    An asyncio task only understands asyncio futures (and bare ``yield``).
    ``await deferred`` yields the Deferred itself, so this driver steps the
    user's coroutine and, when a Deferred comes out, gives the task a future
    that is set when the Deferred fires; the task then resumes the driver,
    which resumes the coroutine with the Deferred's result (or throws its
    failure in). Anything else the coroutine yields goes to the task as is,
    which is how asyncio futures keep working.

    With a Deferred (`report_to`) the outcome is reported there, from the step that
    finished the coroutine (no extra loop turn) and in the context the task
    was started from, and the task itself ends with None; without one (see
    `as_future`) the task carries the coroutine's own result.
    """

    __slots__ = ("_coroutine", "_loop", "_deferred", "_context", "_waker", "_awaited", "task")

    def __init__(
        self, coroutine: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop
    ) -> None:
        self._coroutine = coroutine
        self._loop = loop
        self._deferred: defer.Deferred[Any] | None = None
        self._context: contextvars.Context | None = None
        self._waker: asyncio.Future[Any] | None = None
        self._awaited: defer.Deferred[Any] | None = None
        self.task: asyncio.Task[Any] | None = None

    def report_to(self, deferred: defer.Deferred[Any]) -> None:
        """Fire ``deferred`` with the coroutine's outcome, in the caller's context."""
        self._deferred = deferred
        self._context = contextvars.copy_context()

    # -- the coroutine protocol the task drives ---------------------------------------

    def send(self, value: Any) -> Any:
        waker = self._waker
        if waker is not None:
            self._waker = self._awaited = None
            outcome = waker.result()
            if isinstance(outcome, Failure):
                return self._step(outcome.throwExceptionIntoGenerator, self._coroutine)
            value = outcome
        return self._step(self._coroutine.send, value)

    def throw(self, kind: Any, value: Any = None, traceback: Any = None) -> Any:
        error = kind if isinstance(kind, BaseException) else (value or kind())
        if traceback is not None:
            error = error.with_traceback(traceback)
        awaited = self._awaited
        if awaited is not None:
            # The task is being cancelled (asyncio.timeout, a client gone) while the
            # coroutine waits on a Deferred: cancel that Deferred too, as Twisted would.
            self._waker = self._awaited = None
            awaited.cancel()
        return self._step(self._coroutine.throw, error)

    def close(self) -> None:
        self._coroutine.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self

    def __iter__(self) -> _TaskDriver:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    # -- what asyncio shows in task reprs and "Task was destroyed" warnings -----------

    @property
    def __name__(self) -> str:
        return getattr(self._coroutine, "__qualname__", type(self._coroutine).__name__)

    @property
    def cr_code(self) -> Any:
        return getattr(self._coroutine, "cr_code", None)

    @property
    def cr_frame(self) -> Any:
        return getattr(self._coroutine, "cr_frame", None)

    @property
    def cr_running(self) -> bool:
        return bool(getattr(self._coroutine, "cr_running", False))

    def __repr__(self) -> str:
        return f"<cyclone task driver of {self._coroutine!r}>"

    # -- stepping -----------------------------------------------------------------------

    def _step(self, method: Callable[[Any], Any], argument: Any) -> Any:
        try:
            yielded = method(argument)
        except StopIteration as stop:
            if self._deferred is None:
                raise
            self._report(stop.value, None)
            raise StopIteration(None) from None
        except BaseException as error:
            if self._deferred is None:
                raise
            self._report(None, Failure())
            if isinstance(error, (asyncio.CancelledError, KeyboardInterrupt, SystemExit)):
                raise
            raise StopIteration(None) from None
        if type(yielded) is _Deferred or isinstance(yielded, _Deferred):
            waker = self._loop.create_future()
            # The flag an asyncio future sets when it is awaited: the task checks it.
            waker._asyncio_future_blocking = True
            self._waker = waker
            self._awaited = yielded
            yielded.addBoth(_wake, waker)
            return waker
        return yielded

    def _report(self, value: Any, failure: Failure | None) -> None:
        deferred = self._deferred
        assert deferred is not None and self._context is not None
        if deferred.called:
            if failure is not None:
                log.failure("a coroutine failed after its Deferred had fired", failure)
            return
        if failure is not None and failure.check(asyncio.CancelledError):
            # Those who hold the Deferred (addTimeout, handlers) expect Twisted's.
            cancelled = defer.CancelledError(*failure.value.args)  # type: ignore[union-attr]
            cancelled.__cause__ = failure.value
            failure = Failure(cancelled, defer.CancelledError, failure.getTracebackObject())
        if failure is None:
            self._context.run(deferred.callback, value)
        else:
            self._context.run(deferred.errback, failure)
