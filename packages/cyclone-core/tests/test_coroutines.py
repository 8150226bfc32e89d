"""The one coroutine runner: Deferreds everywhere, asyncio too on the asyncio reactor.

The in-process tests run on the default reactor pytest-twisted starts; the
asyncio-reactor behaviour (tasks, cancellation, timeouts) is tested through a
real server in a subprocess (`asyncio_helpers.ASYNCIO_APP`).
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

sys.path.insert(0, str(Path(__file__).parent))

from asyncio_helpers import ASYNCIO_APP, get_json, get_text, upstream_echo_server
from deploy_helpers import PROCESS_TIMEOUT, ServerProcess

from cyclone.coroutines import (
    AsyncioReactorRequired,
    as_deferred,
    as_future,
    asyncio_loop,
    is_awaitable,
    maybe_deferred,
)

# -- on the default reactor ---------------------------------------------------------------


def test_plain_values_are_not_awaitable_and_become_fired_deferreds() -> None:
    assert not is_awaitable(None) and not is_awaitable("text")
    fired = as_deferred(42)
    assert fired.called and fired.result == 42


def test_a_deferred_is_returned_as_it_is() -> None:
    deferred: defer.Deferred[int] = defer.Deferred()
    assert is_awaitable(deferred)
    assert as_deferred(deferred) is deferred


@pytest_twisted.ensureDeferred
async def test_a_coroutine_awaiting_deferreds_runs_to_its_result() -> None:
    async def compute() -> int:
        first = await task.deferLater(reactor, 0, lambda: 20)
        return first + await defer.succeed(22)

    assert await as_deferred(compute()) == 42


@pytest_twisted.ensureDeferred
async def test_any_awaitable_object_is_awaited() -> None:
    class Later:
        def __await__(self):
            return task.deferLater(reactor, 0, lambda: "awaited").__await__()

    assert is_awaitable(Later())
    assert await as_deferred(Later()) == "awaited"


def test_maybe_deferred_turns_an_exception_into_a_failure() -> None:
    def broken() -> None:
        raise ValueError("nope")

    failed = maybe_deferred(broken)
    failures = []
    failed.addErrback(failures.append)
    assert failures[0].check(ValueError) and str(failures[0].value) == "nope"


@pytest_twisted.ensureDeferred
async def test_maybe_deferred_runs_coroutine_functions() -> None:
    async def double(value: int) -> int:
        await task.deferLater(reactor, 0, lambda: None)
        return value * 2

    assert await maybe_deferred(double, 21) == 42


def test_there_is_no_asyncio_loop_under_the_default_reactor() -> None:
    assert asyncio_loop() is None
    with pytest.raises(AsyncioReactorRequired, match="as_future\\(\\) needs"):
        as_future(defer.Deferred())


@pytest_twisted.ensureDeferred
async def test_asyncio_sleep_on_the_default_reactor_names_the_line_and_the_fix() -> None:
    async def handler_method() -> None:
        await task.deferLater(reactor, 0, lambda: None)
        await asyncio.sleep(0.01)

    with pytest.raises(AsyncioReactorRequired) as caught:
        await as_deferred(handler_method())
    message = str(caught.value)
    assert message.startswith(f"handler_method() at {__file__}:")
    assert "(no running event loop)" in message
    assert "the reactor is EPollReactor" in message or "the reactor is" in message
    assert "twistd -r asyncio" in message


@pytest_twisted.ensureDeferred
async def test_awaiting_an_asyncio_future_on_the_default_reactor_fails_clearly() -> None:
    loop = asyncio.new_event_loop()
    try:

        async def waits() -> None:
            await loop.create_future()

        with pytest.raises(AsyncioReactorRequired, match="await wasn't used with future"):
            await as_deferred(waits())
        with pytest.raises(AsyncioReactorRequired, match="awaiting an asyncio future needs"):
            await as_deferred(loop.create_future())
    finally:
        loop.close()


@pytest_twisted.ensureDeferred
async def test_cancelling_on_the_default_reactor_cancels_the_awaited_deferred() -> None:
    cancelled = []
    seen = []

    async def waits() -> None:
        try:
            await defer.Deferred(cancelled.append)
        except defer.CancelledError:
            seen.append("CancelledError")
            raise

    running = as_deferred(waits())
    running.cancel()
    with pytest.raises(defer.CancelledError):
        await running
    assert len(cancelled) == 1 and seen == ["CancelledError"]


# -- on the asyncio reactor, through a real server ----------------------------------------


@pytest.fixture(scope="module")
def asyncio_server(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("aioapp")
    (directory / "aioapp.py").write_text(ASYNCIO_APP)
    with upstream_echo_server() as upstream:
        server = ServerProcess(
            [sys.executable, "aioapp.py", "reactor-run"],
            directory,
            env={"UPSTREAM_PORT": str(upstream)},
        )
        try:
            yield server.wait_serving()
        finally:
            server.kill()


def test_asyncio_and_deferred_timeouts_both_cut_a_deferred_short(asyncio_server) -> None:
    status, text = get_text(asyncio_server, "/timeout")
    assert status == 200
    expected = ["wait_for timed out", "addTimeout timed out"]
    if sys.version_info >= (3, 11):
        expected.insert(1, "asyncio.timeout timed out")
    assert text.splitlines() == expected


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("asyncio", "ValueError: raised after asyncio.sleep"),
        ("deferred", "ZeroDivisionError: division by zero"),
    ],
)
def test_errors_after_either_kind_of_await_become_500s(asyncio_server, kind, error) -> None:
    assert get_json(asyncio_server, f"/fail?kind={kind}") == (
        500,
        {"status": 500, "error": error},
    )


def _events(address) -> list[str]:
    return get_json(address, "/events")[1]["events"]


def _wait_for_event(address, event: str) -> list[str]:
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while time.monotonic() < deadline:
        events = _events(address)
        if event in events:
            return events
        time.sleep(0.02)
    raise AssertionError(f"{event!r} never happened: {_events(address)}")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "asyncio",
            ["asyncio on_connection_close", "asyncio CancelledError", "asyncio on_finish"],
        ),
        (
            "deferred",
            [
                "deferred on_connection_close",
                "deferred canceller",
                "deferred CancelledError",
                "deferred on_finish",
            ],
        ),
    ],
)
def test_a_client_leaving_cancels_the_coroutine_whatever_it_awaits(
    asyncio_server, kind, expected
) -> None:
    with socket.create_connection((asyncio_server.host, asyncio_server.port)) as client:
        client.sendall(f"GET /hang?kind={kind} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        _wait_for_event(asyncio_server, f"{kind} started")
    events = _wait_for_event(asyncio_server, f"{kind} on_finish")
    mine = [event for event in events if event.startswith(kind) and "started" not in event]
    # On the asyncio reactor the coroutine sees asyncio's CancelledError even at a Deferred.
    assert mine == expected
