"""Run sqlite_users.py and redis_users.py as a user would: add a user with the CLI, log in over HTTP.

Redis: ``$REDIS_URL`` if set, otherwise a redis-server started on a free port. Without
redis-server the Redis tests are skipped locally and fail under ``CI=true``.
"""

from __future__ import annotations

import base64
import os
import pathlib
import queue
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

HERE = pathlib.Path(__file__).parent
#: Seconds to wait for a process to say it is ready, or for a response.
TIMEOUT = 30.0
REDIS_SERVER = os.environ.get(
    "REDIS_SERVER", shutil.which("redis-server") or "/usr/bin/redis-server"
)


class Process:
    """A subprocess whose output is read in a thread; ``wait_for(regex)`` returns the match."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, pattern: str) -> re.Match[str]:
        while True:
            line = self._lines.get(timeout=TIMEOUT)
            assert line is not None, f"{self.command} exited:\n" + "".join(self.output)
            if match := re.search(pattern, line):
                return match

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(TIMEOUT)


@pytest.fixture
def processes():
    started: list[Process] = []

    def start(*command: str) -> Process:
        started.append(Process(list(command)))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis_server(processes) -> tuple[Process, str]:
    if not os.access(REDIS_SERVER, os.X_OK):
        message = f"redis-server not found at {REDIS_SERVER!r} (set REDIS_SERVER or REDIS_URL)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + ": the Redis user store must be tested under CI=true")
        pytest.skip(message)
    port = free_port()
    server = processes(
        REDIS_SERVER,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    )
    server.wait_for("Ready to accept connections")
    return server, f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def redis_url(processes):
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    return start_redis_server(processes)[1]


def get(url: str, user: str | None = None, password: str | None = None) -> tuple[int, str, str]:
    """(status, body, WWW-Authenticate) of a GET, with Basic credentials if given."""
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read().decode(), ""
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers.get("WWW-Authenticate", "")


def add_user(script: str, *options: str, name: str, password: str) -> None:
    finished = subprocess.run(
        [sys.executable, str(HERE / script), *options, "add", name],
        input=password + "\n", capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert f"user {name!r} saved" in finished.stdout


def serve(processes, script: str, *options: str) -> str:
    server = processes(sys.executable, "-u", str(HERE / script), *options, "serve", "--port", "0")
    return server.wait_for(r"(http://[\d.]+:\d+)/").group(1)


def assert_only_the_right_password_logs_in(url: str, realm: str) -> None:
    status, _, challenge = get(url)
    assert (status, challenge) == (401, f'Basic realm="{realm}", charset="UTF-8"')
    assert get(url, "alice", "correct horse") == (200, "Hello, alice", "")
    assert get(url, "alice", "wrong horse")[0] == 401
    assert get(url, "mallory", "correct horse")[0] == 401


def assert_is_salted_scrypt_hash(stored: str, password: str) -> None:
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 64
    assert password not in stored


def test_sqlite_user_added_with_the_cli_logs_in_and_nobody_else(processes, tmp_path):
    db = str(tmp_path / "users.db")
    add_user("sqlite_users.py", "--db", db, name="alice", password="correct horse")
    url = serve(processes, "sqlite_users.py", "--db", db)
    assert_only_the_right_password_logs_in(url, "cyclone sqlite users")


def test_sqlite_stores_a_salted_scrypt_hash_and_add_changes_the_password(processes, tmp_path):
    db = str(tmp_path / "users.db")
    add_user("sqlite_users.py", "--db", db, name="alice", password="old password")
    add_user("sqlite_users.py", "--db", db, name="bob", password="old password")
    add_user("sqlite_users.py", "--db", db, name="alice", password="correct horse")
    with sqlite3.connect(db) as connection:
        rows = dict(connection.execute("SELECT name, password_hash FROM users"))
    assert rows.keys() == {"alice", "bob"}
    assert_is_salted_scrypt_hash(rows["alice"], "correct horse")
    assert rows["bob"].split("$")[4] != rows["alice"].split("$")[4]  # a fresh salt each time

    url = serve(processes, "sqlite_users.py", "--db", db)
    assert get(url, "alice", "old password")[0] == 401
    assert get(url, "alice", "correct horse")[0] == 200


def redis_call(url: str, *command: str) -> str | None:
    """One Redis command over a plain socket (RESP), to look at what the example stored."""
    parts = urllib.parse.urlsplit(url)
    commands = [["SELECT", parts.path.strip("/") or "0"], list(command)]
    if parts.password:
        commands.insert(0, ["AUTH", *filter(None, [parts.username, parts.password])])
    with socket.create_connection((parts.hostname, parts.port or 6379), TIMEOUT) as sock:
        replies = sock.makefile("rb")
        for each in commands:
            encoded = "".join(f"${len(arg.encode())}\r\n{arg}\r\n" for arg in each)
            sock.sendall(f"*{len(each)}\r\n{encoded}".encode())
            reply = replies.readline().decode().rstrip("\r\n")
            assert reply[0] in "+:$", f"{each[0]}: {reply}"
        if reply.startswith("$"):
            return None if reply == "$-1" else replies.readline().decode().rstrip("\r\n")
        return reply[1:]


def test_redis_user_added_with_the_cli_logs_in_and_nobody_else(processes, redis_url):
    key = f"cyclone-example-test:{uuid.uuid4().hex}:users"  # private on a shared $REDIS_URL
    options = ("--redis", redis_url, "--key", key)
    add_user("redis_users.py", *options, name="alice", password="correct horse")
    try:
        url = serve(processes, "redis_users.py", *options)
        assert_only_the_right_password_logs_in(url, "cyclone redis users")
        assert_is_salted_scrypt_hash(redis_call(redis_url, "HGET", key, "alice"), "correct horse")
    finally:
        redis_call(redis_url, "DEL", key)


def test_redis_down_answers_503_and_logins_work_again_when_it_is_back(processes):
    redis, redis_url = start_redis_server(processes)
    add_user("redis_users.py", "--redis", redis_url, name="alice", password="correct horse")
    url = serve(processes, "redis_users.py", "--redis", redis_url)
    assert get(url, "alice", "correct horse")[0] == 200

    redis.stop()
    assert get(url, "alice", "correct horse")[0] == 503
    assert get(url, "mallory", "anything")[0] == 503  # not a 401: we could not check

    port = redis_url.split(":")[2].split("/")[0]
    restarted = processes(
        REDIS_SERVER, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"
    )
    restarted.wait_for("Ready to accept connections")
    add_user("redis_users.py", "--redis", redis_url, name="alice", password="correct horse")
    # The server reconnects by itself (after at most 2 s); until then it keeps answering 503.
    # No readiness signal to wait for over HTTP: poll, for at most TIMEOUT seconds.
    deadline = time.monotonic() + TIMEOUT
    while (status := get(url, "alice", "correct horse")[0]) == 503:
        assert time.monotonic() < deadline, "still 503 long after Redis came back"
        time.sleep(0.2)
    assert status == 200


def test_the_cli_fails_clearly_when_redis_is_unreachable():
    finished = subprocess.run(
        [sys.executable, str(HERE / "redis_users.py"), "--redis",
         f"redis://127.0.0.1:{free_port()}/0", "add", "alice"],
        input="secret\n", capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert finished.returncode != 0
    assert "RedisUnavailable" in finished.stderr and "Connection refused" in finished.stderr
