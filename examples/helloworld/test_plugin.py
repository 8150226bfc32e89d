"""Run helloworld_app.py under ``twistd -n cyclone``, one process and two workers, and request it."""

from __future__ import annotations

import os
import pathlib
import queue
import re
import subprocess
import sys
import threading
import urllib.request

import pytest

HERE = pathlib.Path(__file__).parent
#: Seconds to wait for the server to listen, answer or stop.
TIMEOUT = 30.0
TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


class Twistd:
    """``twistd -n cyclone ...`` in this directory, its log read on a thread."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*TWISTD, "-n", "cyclone", "--app=helloworld_app.Application", "--port=0", *args],
            cwd=HERE,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} line:\n" + "".join(self.output)) from None
            if line is None:
                raise AssertionError("twistd exited:\n" + "".join(self.output))
            match = re.search(pattern, line)
            if match:
                return match

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            code = self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            code = self.process.wait()
        self._reader.join(TIMEOUT)
        return code


@pytest.fixture
def twistd():
    started: list[Twistd] = []

    def start(*args: str) -> Twistd:
        server = Twistd(*args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def get(port: int) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=TIMEOUT) as response:
        return response.status, response.read()


def test_plugin_serves_the_application(twistd) -> None:
    server = twistd()
    port = int(
        server.wait_for(r"cyclone serving Application on http://127\.0\.0\.1:(\d+)").group(1)
    )
    assert get(port) == (200, b"Hello, world")
    server.stop()
    assert any("Server Shut Down." in line for line in server.output)


def test_plugin_serves_the_application_from_two_workers(twistd) -> None:
    server = twistd("--workers=2")
    port = int(server.wait_for(r"on http://127\.0\.0\.1:(\d+) with 2 workers").group(1))
    for _ in range(2):
        server.wait_for(r"worker \d+ serving")
    assert get(port) == (200, b"Hello, world")
    server.stop()
    assert sum("stopped (exit 0" in line for line in server.output) == 2
