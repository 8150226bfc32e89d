"""Two redisdemo.py processes on loopback sharing one real redis-server.

A listener streaming from server A receives what is posted to server B; both
answer 503 while Redis is down and recover (listeners included) when it is back.
Without redis-server this is skipped locally and fails under CI=true.
"""

from __future__ import annotations

import io
import os
import pathlib
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

HERE = pathlib.Path(__file__).parent
REDIS_SERVER = os.environ.get(
    "REDIS_SERVER", shutil.which("redis-server") or "/usr/bin/redis-server"
)

# How long a starting process may take to say it is ready.
STARTUP_TIMEOUT = 60.0

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using readBody with a transport:DeprecationWarning"
)


def _wait_for_line(process: subprocess.Popen, marker: str) -> str:
    """Read the process's output until a line containing *marker*, then drain it in a thread.

    Unbuffered reads: select() on a pipe behind Python's buffered reader misses
    lines already buffered. Draining afterwards keeps the process from blocking
    on a full pipe.
    """
    fd = process.stdout.fileno()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    output = b""
    while marker.encode() not in output or not output.split(marker.encode(), 1)[1].count(b"\n"):
        remaining = deadline - time.monotonic()
        ready = select.select([fd], [], [], remaining)[0] if remaining > 0 else []
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            process.kill()
            process.wait(10)
            text = output.decode(errors="replace")
            raise RuntimeError(f"{process.args[:2]} never said {marker!r}:\n{text}")
        output += chunk
    threading.Thread(target=_drain, args=(process,), daemon=True).start()
    text = output.decode(errors="replace")
    return next(line for line in text.splitlines() if marker in line)


def _drain(process: subprocess.Popen) -> None:
    try:
        while os.read(process.stdout.fileno(), 65536):
            pass
    except (OSError, ValueError):
        pass
    finally:
        process.stdout.close()


class RedisServer:
    def __init__(self, directory: pathlib.Path) -> None:
        if not os.access(REDIS_SERVER, os.X_OK):
            message = f"redis-server not found at {REDIS_SERVER!r}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message + ": the Redis example must run under CI=true", pytrace=False)
            pytest.skip(message)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait_for_line(self.process, "Ready to accept connections")

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def demo(redis_server):
    """Start redisdemo.py processes: ``demo()`` returns the base URL of a new one."""
    processes = []

    def start() -> str:
        process = subprocess.Popen(
            [sys.executable, str(HERE / "redisdemo.py"), "--port", "0", "--redis", redis_server.url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        processes.append(process)
        return _wait_for_line(process, "listening on").split()[-1]

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


async def request(url, method=b"GET", form=None):
    headers = Headers()
    body = None
    if form is not None:
        headers.addRawHeader(b"Content-Type", b"application/x-www-form-urlencoded")
        body = FileBodyProducer(io.BytesIO(urlencode(form).encode()))
    response = await Agent(reactor).request(method, url.encode(), headers, body)
    return response.code, (await readBody(response)).decode()


class LineStream(protocol.Protocol):
    """Collects a streamed body line by line; ``line()`` waits for the next one."""

    def __init__(self):
        self.buffer = b""
        self.lines = []
        self.waiting = []

    def dataReceived(self, data):
        self.buffer += data
        while b"\r\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            if self.waiting:
                self.waiting.pop(0).callback(line.decode())
            else:
                self.lines.append(line.decode())

    def connectionLost(self, reason):
        for waiter in self.waiting:
            waiter.errback(reason)

    def line(self):
        if self.lines:
            return defer.succeed(self.lines.pop(0))
        waiter = defer.Deferred()
        self.waiting.append(waiter)
        return waiter


async def listen(base_url, names):
    response = await Agent(reactor).request(b"GET", f"{base_url}/queue/{names}".encode())
    assert response.code == 200
    stream = LineStream()
    response.deliverBody(stream)
    return response, stream


async def subscribed(stream, count):
    """The next *count* lines, sorted: subscriptions are confirmed in any order."""
    return sorted([await stream.line() for _ in range(count)])


@pytest_twisted.ensureDeferred
async def test_keys_written_through_one_server_are_read_through_the_other(demo):
    a, b = demo(), demo()
    assert await request(f"{a}/text/foobar", b"POST", {"value": "hello world"}) == (
        200,
        "foobar=hello world\r\n",
    )
    assert await request(f"{b}/text/foobar") == (200, "foobar=hello world\r\n")
    assert await request(f"{b}/text/foobar", b"DELETE") == (200, "DEL foobar=1\r\n")
    assert await request(f"{a}/text/foobar") == (200, "foobar=None\r\n")


@pytest_twisted.ensureDeferred
async def test_listener_on_one_server_gets_what_is_posted_to_the_other(demo):
    a, b = demo(), demo()
    response, stream = await listen(a, "foo.*,msgs")
    try:
        assert await subscribed(stream, 2) == ["subscribed to foo.*", "subscribed to msgs"]
        assert await request(f"{b}/queue/msgs", b"POST", {"message": "hello world"}) == (
            200,
            "OK 1\r\n",
        )
        assert await stream.line() == "msgs: hello world"
        await request(f"{b}/queue/foo.bar", b"POST", {"message": "yes, we can"})
        assert await stream.line() == "foo.bar: yes, we can"
    finally:
        stream.transport.stopProducing()


@pytest_twisted.ensureDeferred
async def test_redis_down_means_503_and_everything_recovers_when_it_returns(demo, redis_server):
    a, b = demo(), demo()
    response, stream = await listen(a, "news")
    try:
        assert await stream.line() == "subscribed to news"
        redis_server.kill()
        assert (await request(f"{a}/text/k"))[0] == 503
        assert (await request(f"{b}/queue/news", b"POST", {"message": "lost"}))[0] == 503

        redis_server.start()
        assert await request(f"{a}/ready") == (200, "ready\r\n")
        assert await request(f"{b}/ready") == (200, "ready\r\n")
        assert await request(f"{b}/text/k", b"POST", {"value": "v"}) == (200, "k=v\r\n")
        assert await request(f"{b}/queue/news", b"POST", {"message": "back"}) == (200, "OK 1\r\n")
        assert await stream.line() == "news: back"
    finally:
        stream.transport.stopProducing()


class EventStream(protocol.Protocol):
    """Parses text/event-stream like EventSource; ``event()`` waits for the next event."""

    def __init__(self):
        self.buffer = b""
        self.events = []
        self.waiting = []

    def dataReceived(self, data):
        self.buffer += data
        while b"\n\n" in self.buffer:
            block, self.buffer = self.buffer.split(b"\n\n", 1)
            fields = {"event": "message", "data": []}
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(": ")
                if name == "data":
                    fields["data"].append(value)
                else:
                    fields[name] = value
            if not fields["data"]:
                continue
            event = (fields["event"], "\n".join(fields["data"]))
            if self.waiting:
                self.waiting.pop(0).callback(event)
            else:
                self.events.append(event)

    def event(self):
        if self.events:
            return defer.succeed(self.events.pop(0))
        waiter = defer.Deferred()
        self.waiting.append(waiter)
        return waiter


@pytest_twisted.ensureDeferred
async def test_event_source_feed_on_one_server_gets_what_is_posted_to_the_other(demo):
    a, b = demo(), demo()
    response = await Agent(reactor).request(b"GET", f"{a}/events/msgs,foo.*".encode())
    assert response.code == 200
    assert response.headers.getRawHeaders(b"content-type") == [b"text/event-stream; charset=utf-8"]
    stream = EventStream()
    response.deliverBody(stream)
    try:
        announced = sorted([await stream.event(), await stream.event()])
        assert announced == [("subscribed", "foo.*"), ("subscribed", "msgs")]
        await request(f"{b}/queue/foo.bar", b"POST", {"message": "line one\nline two"})
        assert await stream.event() == (
            "message",
            '{"channel":"foo.bar","message":"line one\\nline two"}',
        )
    finally:
        stream.transport.stopProducing()


@pytest_twisted.ensureDeferred
async def test_index_page_listens_with_event_source(demo):
    code, page = await request(demo() + "/")
    assert code == 200 and 'new EventSource("/events/msgs,foo.*")' in page
