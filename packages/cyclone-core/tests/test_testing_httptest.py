"""Tornado's testing helpers on cyclone: the same cases pass under pytest-twisted, pytest and trial."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor

from cyclone.testing import AsyncTestCase, LoopbackHTTPClient, bind_unused_port

sys.path.insert(0, str(Path(__file__).parent))

from tornado_style_cases import CASES, HelloHTTPSTest, HelloHTTPTest, PlainAsyncTest, make_app

__all__ = [
    "HelloHTTPSTest",
    "HelloHTTPTest",
    "PlainAsyncTest",
]  # collected here, under pytest-twisted

CASES_FILE = Path(__file__).with_name("tornado_style_cases.py")


def _run_cases(tmp_path, *argv: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(CASES_FILE, tmp_path / "test_tornado_style.py")
    return subprocess.run(
        [sys.executable, *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )


def test_the_tornado_style_cases_pass_under_trial(tmp_path):
    result = _run_cases(tmp_path, "-m", "twisted.trial", "test_tornado_style")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"PASSED (successes={CASES})" in result.stdout


def test_the_tornado_style_cases_pass_under_trial_on_the_asyncio_reactor(tmp_path):
    result = _run_cases(tmp_path, "-m", "twisted.trial", "--reactor=asyncio", "test_tornado_style")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"PASSED (successes={CASES})" in result.stdout


def test_the_tornado_style_cases_pass_under_pytest_without_pytest_twisted(tmp_path):
    result = _run_cases(
        tmp_path, "-m", "pytest", "-q", "-p", "no:twisted", "-p", "no:cacheprovider", "."
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{CASES} passed" in result.stdout


def test_waiting_from_code_the_reactor_runs_says_to_await():
    # pytest-twisted runs plain test functions on its reactor greenlet.
    class Inside(AsyncTestCase):
        def test_nothing(self):
            pass

    with pytest.raises(RuntimeError, match="await instead of waiting"):
        Inside("test_nothing").wait(timeout=1)


def test_expect_log_fails_when_the_message_never_comes():
    from cyclone.testing import ExpectLog

    with pytest.raises(AssertionError, match="never logged"):
        with ExpectLog("cyclone", "never logged"):
            pass


@pytest_twisted.ensureDeferred
async def test_bind_unused_port_gives_a_listening_socket_a_reactor_can_adopt():
    sock, port = bind_unused_port()
    try:
        assert sock.getsockname() == ("127.0.0.1", port)
        listening = reactor.adoptStreamPort(sock.fileno(), socket.AF_INET, make_app())
    finally:
        sock.close()
    try:
        response = await LoopbackHTTPClient().fetch(f"http://127.0.0.1:{port}/")
        assert (response.code, response.body) == (200, b"Hello, world")
    finally:
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_the_client_fails_with_the_connection_error_when_nothing_listens():
    sock, port = bind_unused_port()
    sock.close()
    with pytest.raises(ConnectionRefusedError):
        await LoopbackHTTPClient().fetch(f"http://127.0.0.1:{port}/", raise_error=False)


def test_expect_log_matches_twisted_events_under_the_namespace_and_at_the_level():
    import logging

    from twisted.logger import Logger

    from cyclone.testing import ExpectLog

    with ExpectLog("cyclone", r"cache \w+ missed") as expectation:
        Logger(namespace="cyclone.cache").warn("cache {name} missed", name="pages")
    assert expectation.matched == 1 and not expectation.logged_stack
    with pytest.raises(AssertionError):
        with ExpectLog("cyclone", "cache"):
            Logger(namespace="cyclonex.cache").warn("cache")  # another namespace
    with pytest.raises(AssertionError):
        with ExpectLog("cyclone", "cache", level=logging.ERROR):
            Logger(namespace="cyclone.cache").warn("cache")  # another level
    with ExpectLog("cyclone", "nothing", required=False) as optional:
        pass
    assert optional.matched == 0


def test_expect_log_keeps_a_matching_stdlib_record_from_the_handlers_and_sees_children():
    import logging

    from cyclone.testing import ExpectLog

    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    parent = logging.getLogger("expectlog_test")
    parent.addHandler(handler)
    try:
        with ExpectLog("expectlog_test", "expected", level=logging.WARNING):
            parent.warning("expected one")
            parent.warning("something else")
        assert seen == ["something else"]
        with ExpectLog(parent, "from a child", level=logging.WARNING) as expectation:
            logging.getLogger("expectlog_test.child").warning("from a child")
        assert expectation.matched == 1
    finally:
        parent.removeHandler(handler)


def test_async_test_timeout_comes_from_the_environment_as_in_tornado(monkeypatch):
    from cyclone.testing import get_async_test_timeout

    monkeypatch.delenv("ASYNC_TEST_TIMEOUT", raising=False)
    assert get_async_test_timeout() == 5
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "0.25")
    assert get_async_test_timeout() == 0.25
    monkeypatch.setenv("ASYNC_TEST_TIMEOUT", "soon")
    assert get_async_test_timeout() == 5


ASYNCIO_CASES = """
import asyncio

from cyclone.handler import RequestHandler
from cyclone.routing import Router
from cyclone.testing import AsyncHTTPTestCase, gen_test


class Sleeps(RequestHandler):
    async def get(self):
        await asyncio.sleep(0.01)
        self.write("slept")


class AsyncioTest(AsyncHTTPTestCase):
    def get_app(self):
        return Router([(r"/", Sleeps)])

    def test_fetch_serves_a_handler_awaiting_asyncio(self):
        self.assertEqual(self.fetch("/").body, b"slept")

    @gen_test
    async def test_gen_test_awaits_asyncio_and_deferreds(self):
        await asyncio.sleep(0.01)
        self.assertIsNotNone(asyncio.current_task())
        response = await self.http_client.fetch(self.get_url("/"))
        self.assertEqual(response.body, b"slept")
"""


def test_on_the_asyncio_reactor_tests_and_handlers_await_asyncio_under_trial(tmp_path):
    (tmp_path / "test_asyncio_cases.py").write_text(ASYNCIO_CASES)
    result = _run_cases(tmp_path, "-m", "twisted.trial", "--reactor=asyncio", "test_asyncio_cases")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED (successes=2)" in result.stdout


def test_on_the_asyncio_reactor_tests_and_handlers_await_asyncio_under_pytest_twisted(tmp_path):
    (tmp_path / "test_asyncio_cases.py").write_text(ASYNCIO_CASES)
    result = _run_cases(
        tmp_path,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--reactor=asyncio",
        "test_asyncio_cases.py",
        "test_tornado_style.py",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{CASES + 2} passed" in result.stdout


@pytest_twisted.ensureDeferred
async def test_the_https_client_checks_the_certificate_unless_told_not_to():
    import ssl

    from cyclone.testing.httptest import _context_factory
    from cyclone.testing.selfsigned import self_signed_files

    certfile, keyfile = self_signed_files()
    context = _context_factory({"certfile": certfile, "keyfile": keyfile})
    port = reactor.listenSSL(0, make_app(), context, interface="127.0.0.1")
    url = f"https://127.0.0.1:{port.getHost().port}/"
    try:
        with pytest.raises(ssl.SSLError, match="certificate verify failed"):
            await LoopbackHTTPClient().fetch(url)
        trusted = await LoopbackHTTPClient().fetch(url, ca_certs=certfile)
        unchecked = await LoopbackHTTPClient(defaults={"validate_cert": False}).fetch(url)
    finally:
        await port.stopListening()
    assert trusted.body == unchecked.body == b"Hello, world"


def test_client_defaults_are_checked_like_fetch_options():
    with pytest.raises(TypeError, match="proxy_host"):
        LoopbackHTTPClient(defaults={"proxy_host": "example.org"})
