"""Start each hello world form as a user would, on a free port, and request the page."""

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
TWISTD = pathlib.Path(sys.executable).with_name("twistd")
#: Seconds to wait for a server to listen, or for a response.
TIMEOUT = 30.0


class Server:
    """A subprocess whose log is read until Twisted says which port it listens on."""

    def __init__(self, args, cwd, env=None):
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.port = self._wait_for_port()

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def _wait_for_port(self):
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                self.stop()
                raise AssertionError("no 'starting on' line:\n" + "".join(self.output)) from None
            if line is None:
                self.stop()
                raise AssertionError("the server exited:\n" + "".join(self.output))
            match = re.search(r"starting on (\d+)", line)
            if match:
                return int(match.group(1))

    def get(self, path="/"):
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, response.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start():
    servers = []

    def run(args, cwd=HERE, env=None):
        server = Server(args, cwd, env)
        servers.append(server)
        return server

    yield run
    for server in servers:
        server.stop()


def test_script_with_the_port_as_argument(start):
    server = start([sys.executable, "-u", str(HERE / "helloworld.py"), "0"])
    assert server.get("/") == (200, b"Hello, world")


def test_script_with_the_port_from_the_environment(start):
    server = start([sys.executable, "-u", str(HERE / "helloworld.py")], env={"PORT": "0"})
    assert server.get("/") == (200, b"Hello, world")
    assert any("Log opened." in line for line in server.output)


def test_tac_under_twistd_ny(start, tmp_path):
    assert TWISTD.exists(), f"twistd not found next to {sys.executable}"
    server = start(
        [str(TWISTD), "-ny", str(HERE / "helloworld.tac")], cwd=tmp_path, env={"PORT": "0"}
    )
    assert server.get("/") == (200, b"hello world")


def test_script_and_tac_default_to_port_8888():
    script = (HERE / "helloworld.py").read_text()
    tac = (HERE / "helloworld.tac").read_text()
    assert 'os.environ.get("PORT", 8888)' in script
    assert 'os.environ.get("PORT", 8888)' in tac
