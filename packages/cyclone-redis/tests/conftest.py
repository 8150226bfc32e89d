"""Real redis-server processes for the tests.

``redis_url`` is ``$REDIS_URL`` when set, otherwise a redis-server started on a free
loopback port for the session. ``redis_server`` starts a private one per test, which
the test may kill and restart on the same port. Without redis-server the tests are
skipped locally, but fail under ``CI=true``: they must run there.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

REDIS_SERVER = os.environ.get(
    "REDIS_SERVER", shutil.which("redis-server") or "/usr/bin/redis-server"
)

# How long a starting redis-server may take to say it is ready.
STARTUP_TIMEOUT = 60.0


def _require_redis_server() -> str:
    if os.path.exists(REDIS_SERVER) and os.access(REDIS_SERVER, os.X_OK):
        return REDIS_SERVER
    message = f"redis-server not found at {REDIS_SERVER!r} (set REDIS_SERVER or install redis)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + ": the Redis tests must run under CI=true", pytrace=False)
    pytest.skip(message)


def _wait_for_output(process: subprocess.Popen, marker: bytes) -> bytes:
    """Read the process's output until *marker*, then keep draining it in a thread.

    Unbuffered reads: select() on a pipe behind Python's buffered reader misses
    lines already buffered. Draining afterwards keeps a chatty process from
    blocking on a full pipe.
    """
    fd = process.stdout.fileno()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    output = b""
    while marker not in output:
        remaining = deadline - time.monotonic()
        ready = select.select([fd], [], [], max(remaining, 0))[0] if remaining > 0 else []
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            process.kill()
            process.wait(10)
            raise RuntimeError(
                f"{process.args[0]} never said {marker!r}:\n{output.decode(errors='replace')}"
            )
        output += chunk
    threading.Thread(target=_drain, args=(process,), daemon=True).start()
    return output


def _drain(process: subprocess.Popen) -> None:
    try:
        while os.read(process.stdout.fileno(), 65536):
            pass
    except (OSError, ValueError):
        pass
    finally:
        process.stdout.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One redis-server process that can be killed and started again on the same port."""

    def __init__(self, tmp_path, port: int | None = None, *extra: str) -> None:
        self.binary = _require_redis_server()
        self.port = port or free_port()
        self.dir = tmp_path
        self.extra = list(extra)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.dir),
            "--loglevel", "notice",
            *self.extra,
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        _wait_for_output(self.process, b"Ready to accept connections")
        return self

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients, like a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis everyone may use: ``$REDIS_URL`` or a session-wide private server."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server.url
    finally:
        server.kill()


@pytest.fixture
def redis_server(tmp_path):
    """Start private redis-servers for one test: ``redis_server(*extra_args)``."""
    servers: list[RedisServer] = []

    def start(*extra: str, port: int | None = None) -> RedisServer:
        server = RedisServer(tmp_path, port, *extra).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.process is not None:
            server.resume()
        server.kill()


@pytest.fixture
def unused_port():
    """A loopback TCP port nothing listens on (yet)."""
    return free_port()


@pytest.fixture
def key():
    """A key prefix no other test (or user of a shared $REDIS_URL) uses."""
    return f"cyclone-test:{uuid.uuid4().hex}:"
