"""Run the asyncio examples as a user would and request their pages over real sockets."""

from __future__ import annotations

import json
import os
import pathlib
import queue
import re
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

HERE = pathlib.Path(__file__).parent
TWISTD = pathlib.Path(sys.executable).with_name("twistd")
TIMEOUT = 30.0


class Server:
    """A subprocess; ``port`` is read from the URL (or twistd's serving line) it prints."""

    def __init__(self, args: list[str]) -> None:
        self.process = subprocess.Popen(
            args,
            cwd=HERE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.port = self._wait_for_port()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def _wait_for_port(self) -> int:
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError("no URL printed:\n" + "".join(self.output)) from None
            if line is None:
                raise AssertionError("the server exited:\n" + "".join(self.output))
            match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if match:
                return int(match.group(1))

    def get(self, path: str) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, response.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start():
    servers: list[Server] = []

    def run(args: list[str]) -> Server:
        server = Server(args)
        servers.append(server)
        return server

    yield run
    for server in servers:
        server.stop()


@pytest.fixture
def listening_socket():
    """Something to probe: a socket listening on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_tornados_hello_world_runs_with_only_the_import_changed(start) -> None:
    server = start([sys.executable, "tornado_hello.py", "--port=0"])
    assert server.get("/") == (200, b"Hello, world")
    source = (HERE / "tornado_hello.py").read_text()
    assert "app.listen(" in source and "asyncio.run(main())" in source


def test_probe_awaits_a_deferred_and_asyncio_open_connection(start, listening_socket) -> None:
    server = start([sys.executable, "app.py", "--port=0"])
    status, body = server.get(f"/probe?host=localhost&port={listening_socket}")
    answer = json.loads(body)
    assert status == 200
    assert answer["address"] == "127.0.0.1" and answer["reachable"] is True
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        unused = closed.getsockname()[1]
    answer = json.loads(server.get(f"/probe?host=127.0.0.1&port={unused}")[1])
    assert answer["reachable"] is False and "ConnectionRefusedError" in answer["reason"]


def test_wait_sleeps_with_asyncio_then_a_deferred_inside_a_task(start) -> None:
    server = start([sys.executable, "app.py", "--port=0"])
    status, body = server.get("/wait?seconds=0.05")
    assert status == 200
    assert json.loads(body) == {"waited": 0.05, "in_a_task": True}


def test_the_same_app_under_twistd_on_the_asyncio_reactor(start, listening_socket) -> None:
    assert TWISTD.exists(), f"twistd not found next to {sys.executable}"
    server = start(
        [str(TWISTD), "-n", "-r", "asyncio", "cyclone", "--app=app.make_app", "--port=0"]
    )
    status, body = server.get(f"/probe?host=127.0.0.1&port={listening_socket}")
    assert status == 200 and json.loads(body)["reachable"] is True
    assert json.loads(server.get("/wait?seconds=0.02")[1])["in_a_task"] is True
