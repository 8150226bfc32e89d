"""Shared fixtures for the examples' tests: a headless Chromium and example servers.

    def test_page(browser, run_example):
        url = run_example(HERE / "app.py")            # started with --port 0, waits for it
        page = browser.new_page()
        page.goto(url)

``browser`` is a Playwright (sync API) Chromium, shared by the whole session. It
uses the system's Chromium (Debian's ``chromium`` at /usr/bin/chromium, or
``$CHROMIUM``), never a browser downloaded by ``playwright install``. Without
Playwright or Chromium the browser tests are skipped locally, and fail under
``CI=true``: a CI run must never pass by skipping them.

``run_example(script, *args)`` starts an example as a user would, in a
subprocess, passes ``--port 0`` (``port=None``: a free port, for examples that
print the port they were asked for rather than the one they got) and waits for the
``http://host:port/`` line the example prints once it listens. Its output is
collected in the background, shown if the test fails, and the process is
stopped after the test.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

#: Seconds to wait for an example to print its URL.
STARTUP_TIMEOUT = 30.0

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_URL = re.compile(r"http://([\w.\-]+):(\d+)/")


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run under CI=true: {why}", pytrace=False)
    pytest.skip(why)


def _chromium_path() -> str | None:
    """``$CHROMIUM`` if set (and only it), else the system's Chromium."""
    if os.environ.get("CHROMIUM"):
        candidates = [os.environ["CHROMIUM"]]
    else:
        candidates = ["/usr/bin/chromium"]
        candidates += [shutil.which(name) for name in ("chromium", "chromium-browser")]
    for candidate in candidates:
        if candidate and os.path.exists(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium driven through Playwright's sync API."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: pip install -r examples/requirements.txt")
    executable = _chromium_path()
    if executable is None:
        _unavailable("no Chromium found (apt install chromium, or set $CHROMIUM)")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
    except Exception as error:
        playwright.stop()
        _unavailable(f"Chromium at {executable} did not start: {error}")
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (its own cookies and storage), closed after the test."""
    from playwright.sync_api import expect

    ctx = browser.new_context()
    ctx.set_default_timeout(15_000)
    # expect() has its own 5 s default; a loaded CI machine needs the same slack as actions.
    expect.set_options(timeout=15_000)
    try:
        yield ctx
    finally:
        ctx.close()


class ExampleServer:
    """One example running in a subprocess; ``url`` is where it listens."""

    def __init__(self, command: list[str], cwd: pathlib.Path) -> None:
        self.command = command
        self.output: list[str] = []
        self._listening = threading.Event()
        self.url = ""
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            match = _URL.search(line)
            if match and not self._listening.is_set():
                host = match.group(1)
                if host in ("0.0.0.0", "::"):
                    host = "127.0.0.1"
                self.url = f"http://{host}:{match.group(2)}"
                self._listening.set()
        self._listening.set()

    def wait_listening(self) -> str:
        if not self._listening.wait(STARTUP_TIMEOUT) or not self.url:
            self.stop()
            raise RuntimeError(
                f"{' '.join(self.command)} did not print its URL within {STARTUP_TIMEOUT} s:\n"
                + "".join(self.output)
            )
        return self.url

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(5)


def free_port() -> int:
    """A TCP port nobody listens on right now (for examples that cannot take ``--port 0``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def run_example(request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Start an example script on loopback and return its base URL (no trailing slash)."""
    servers: list[ExampleServer] = []

    def start(script: pathlib.Path | str, *args: str, port: int | None = 0) -> str:
        """``port=None`` picks a free port for examples that print the port they were given."""
        script = pathlib.Path(script)
        if port is None:
            port = free_port()
        command = [sys.executable, str(script), "--port", str(port), *args]
        server = ExampleServer(command, cwd=script.parent)
        servers.append(server)
        return server.wait_listening()

    yield start
    for server in servers:
        server.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for server in servers:
            print(f"--- output of {' '.join(server.command)} ---\n" + "".join(server.output))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report
