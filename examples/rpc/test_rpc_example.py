"""Run the RPC example as a user would: the server in a subprocess, then both clients."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent


@pytest.fixture
def server_url():
    server = subprocess.Popen(
        [sys.executable, "-u", str(HERE / "server.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first_line = server.stdout.readline()
        assert first_line.startswith("listening on "), first_line + server.stdout.read()
        yield first_line.split()[-1]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.output = server.stdout.read()
        server.stdout.close()


def _run_client(name: str, url: str) -> list[str]:
    finished = subprocess.run(
        [sys.executable, str(HERE / name), url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished.stdout.splitlines()


def test_synchronous_client_talks_to_both_protocols(server_url):
    lines = _run_client("client_sync.py", server_url)
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


def test_asynchronous_client_talks_to_both_protocols(server_url):
    lines = _run_client("client_async.py", server_url)
    assert lines == [
        "xmlrpc add(2, 3) = 5",
        "xmlrpc math.mul(6, 7) = 42",
        "xmlrpc concurrent slow_upper = ['A', 'B', 'C']",
        "xmlrpc divide(1, 0) -> fault 20: division by zero",
        "jsonrpc add(2, 3) = 5",
        "jsonrpc subtract(minuend=42, subtrahend=23) = 19",
        "jsonrpc divide(1, 0) -> error -32000: division by zero {'dividend': 1}",
        "jsonrpc batch = [3, 'b']",
        "jsonrpc notification sent",
    ]
