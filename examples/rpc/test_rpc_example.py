"""Run the RPC example as a user would: the server in a subprocess, then both clients."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent


class _Server:
    """The example server running in a subprocess on a free port."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(HERE / "server.py"), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = ""
        first_line = self.process.stdout.readline()
        if not first_line.startswith("listening on "):
            self.stop()
            raise AssertionError(f"the server did not start: {first_line}{self.output}")
        self.url = first_line.split()[-1]

    def stop(self) -> str:
        """Stop the server; return everything it printed after its first line."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.process.stdout.closed:
            self.output = self.process.stdout.read()
            self.process.stdout.close()
        return self.output


@pytest.fixture
def server():
    running = _Server()
    try:
        yield running
    finally:
        running.stop()


def _run_client(name: str, url: str) -> list[str]:
    finished = subprocess.run(
        [sys.executable, str(HERE / name), url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished.stdout.splitlines()


def test_synchronous_client_talks_to_both_protocols(server):
    lines = _run_client("client_sync.py", server.url)
    assert lines == [
        "xmlrpc add(2, 3) = 5",
        "xmlrpc math.mul(6, 7) = 42",
        "xmlrpc sort = [1, 2, 3]",
        "xmlrpc slow_upper = HELLO",
        "xmlrpc divide(1, 0) -> fault 20: division by zero",
        "xmlrpc help(add) = Add two integers.",
        "xmlrpc multicall = [2, 9]",
        "jsonrpc add(2, 3) = 5",
        "jsonrpc subtract(minuend=42, subtrahend=23) = 19",
        "jsonrpc slow_upper = HELLO",
        "jsonrpc divide(1, 0) -> error -32000: division by zero",
        "jsonrpc batch = [3, 'b']",
        "jsonrpc notification answer = None",
    ]
    # Notifications are run on the server even though nothing is answered.
    output = server.stop()
    assert "log: from a batch" in output
    assert "log: hi" in output


def test_asynchronous_client_talks_to_both_protocols(server):
    lines = _run_client("client_async.py", server.url)
    assert lines == [
        "xmlrpc add(2, 3) = 5",
        "xmlrpc math.mul(6, 7) = 42",
        "xmlrpc concurrent slow_upper = ['A', 'B', 'C']",
        "xmlrpc divide(1, 0) -> fault 20: division by zero",
        "xmlrpc via XmlRpcProxy math.mul(7, 6) = 42",
        "jsonrpc add(2, 3) = 5",
        "jsonrpc subtract(minuend=42, subtrahend=23) = 19",
        "jsonrpc divide(1, 0) -> error -32000: division by zero {'dividend': 1}",
        "jsonrpc batch = [3, 'b']",
        "jsonrpc notification sent",
    ]
    assert "log: from the async client" in server.stop()
