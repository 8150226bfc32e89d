"""Run kvstore.py against the real PostgreSQL and use it over HTTP.

PostgreSQL is ``$POSTGRES_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/test``). When
it cannot be reached these tests are skipped with the reason, except under ``CI=true``,
where that is a failure: the CI machine has PostgreSQL. Each test uses its own table and
drops it afterwards.
"""

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
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise  # CI installs examples/requirements.txt: a missing psycopg2 is a failure there
    pytest.skip(
        "psycopg2 is not installed: pip install -r examples/requirements.txt",
        allow_module_level=True,
    )

HERE = pathlib.Path(__file__).parent
DSN = os.environ.get("POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
#: Seconds to wait for PostgreSQL, for the server to listen, or for a response.
TIMEOUT = 30.0


@pytest.fixture
def table():
    """A table name no other run uses; the table is dropped after the test."""
    try:
        connection = psycopg2.connect(DSN, connect_timeout=5)
    except psycopg2.OperationalError as error:
        message = f"PostgreSQL at {DSN} is not reachable, so kvstore.py was NOT tested: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    name = f"cyclone_example_kv_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
        connection.close()


class Server:
    """kvstore.py in a subprocess; ``url`` is set once it printed where it listens."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(HERE / "kvstore.py"), "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.output: list[str] = []
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_listening(self) -> str:
        while True:
            line = self.lines.get(timeout=TIMEOUT)
            assert line is not None, "kvstore.py exited:\n" + "".join(self.output)
            if match := re.search(r"(http://[\d.]+:\d+)/", line):
                return match.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(TIMEOUT)


@pytest.fixture
def start():
    servers: list[Server] = []

    def start(*args: str) -> Server:
        servers.append(Server("--dsn", DSN, *args))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def call(method: str, url: str, body: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def key_url(base: str, key: str) -> str:
    return f"{base}/keys/{urllib.parse.quote(key, safe='')}"


def test_values_are_stored_read_replaced_listed_and_deleted(start, table):
    url = start("--table", table).wait_listening()
    assert call("GET", url + "/keys") == (200, '{"keys":[]}')
    assert call("PUT", key_url(url, "greeting"), b"hello world") == (204, "")
    assert call("PUT", key_url(url, "answer"), b"42") == (204, "")
    assert call("GET", key_url(url, "greeting")) == (200, "hello world")

    assert call("PUT", key_url(url, "greeting"), "héllo again".encode()) == (204, "")
    assert call("GET", key_url(url, "greeting")) == (200, "héllo again")
    assert json.loads(call("GET", url + "/keys")[1]) == {"keys": ["answer", "greeting"]}

    assert call("DELETE", key_url(url, "greeting"))[0] == 204
    assert call("GET", key_url(url, "greeting"))[0] == 404
    assert call("DELETE", key_url(url, "greeting"))[0] == 404


def test_keys_and_values_are_data_not_sql(start, table):
    url = start("--table", table).wait_listening()
    key, value = "k'; DROP TABLE x; --", "%s %(name)s '); --"
    assert call("PUT", key_url(url, key), value.encode())[0] == 204
    assert call("GET", key_url(url, key)) == (200, value)
    assert json.loads(call("GET", url + "/keys")[1]) == {"keys": [key]}


def test_a_value_that_is_not_utf8_is_refused(start, table):
    url = start("--table", table).wait_listening()
    assert call("PUT", key_url(url, "k"), b"\xff\xfe")[0] == 400
    assert call("GET", key_url(url, "k"))[0] == 404


def test_values_survive_a_restart_of_the_server(start, table):
    first = start("--table", table)
    call("PUT", key_url(first.wait_listening(), "kept"), b"yes")
    first.stop()
    url = start("--table", table).wait_listening()
    assert call("GET", key_url(url, "kept")) == (200, "yes")


def test_the_server_says_why_and_exits_when_postgresql_is_unreachable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    finished = subprocess.run(
        [sys.executable, str(HERE / "kvstore.py"), "--port", "0",
         "--dsn", f"postgresql://postgres@127.0.0.1:{closed_port}/test"],
        capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert finished.returncode == 1
    assert "could not start:" in finished.stderr and str(closed_port) in finished.stderr
