"""Holds many idle connections open to one server, for the idle-memory scenarios of bench/run.py.

    python bench/idle_load.py PORT http|websocket CONNECTIONS [CONCURRENCY]

Driven over stdin/stdout, one JSON line per step, so that the runner can read the
server's memory between the steps:

1. warm-up: WARMUP_CONNECTIONS connections each make the scenario's exchange once
   and close; then ``{"event": "warmed"}`` and wait for a line on stdin;
2. ``open``: CONNECTIONS connections each make the exchange once (``http``: one
   keep-alive ``GET /hello`` and its whole response; ``websocket``: the RFC 6455
   opening handshake to /ws) and then stay open and silent; at most CONCURRENCY
   are being set up at a time, which keeps the server's accept queue from
   overflowing. Prints ``{"event": "opened", "opened": n, "failed": n, ...}``;
3. ``check``: prints how many of them are still open with nothing received since
   their exchange (a server that closed or wrote to one makes it count as not idle);
4. ``close`` or end of input: close everything and exit.

Standard library only, one asyncio process: 10,000 sockets cost it about 30 MiB and
a second or two of CPU. It raises its own RLIMIT_NOFILE to fit (as root, the hard
limit too) and exits with status 2 if it cannot.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_load import handshake_problem, handshake_request

WARMUP_CONNECTIONS = 200
DEFAULT_CONCURRENCY = 200
EXCHANGE_TIMEOUT = 60.0
#: File descriptors beyond the sockets: the interpreter, stdio, the event loop's own.
SPARE_DESCRIPTORS = 256


def raise_descriptor_limit(needed: int) -> None:
    """Let this process hold ``needed`` descriptors, raising the hard limit if allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, max(hard, needed)))


class _IdleConnection(asyncio.Protocol):
    """One connection that makes one exchange, then only watches for unexpected input."""

    def __init__(self, port: int, mode: str) -> None:
        self.port = port
        self.mode = mode
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.buffer = b""
        self.body_left: int | None = None
        self.key = base64.b64encode(os.urandom(16)).decode("ascii")
        self.closed = False
        self.unexpected = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        if self.mode == "websocket":
            request = handshake_request(self.port, self.key)
        else:
            request = f"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n\r\n".encode()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            self.unexpected += len(data)
            return
        self.buffer += data
        if self.body_left is None:
            if b"\r\n\r\n" not in self.buffer:
                return
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            problem = self._head_problem(head)
            if problem:
                self.done.set_exception(ConnectionError(problem))
                return
        if self.body_left is not None and len(self.buffer) >= self.body_left:
            if len(self.buffer) > self.body_left:
                self.unexpected += len(self.buffer) - self.body_left
            self.buffer = b""
            self.done.set_result(None)

    def _head_problem(self, head: bytes) -> str | None:
        """Check the response head and set how many body bytes follow it."""
        if self.mode == "websocket":
            self.body_left = 0
            return handshake_problem(head, self.key)
        lines = head.split(b"\r\n")
        if not lines[0].startswith(b"HTTP/1.1 200"):
            return f"answered {lines[0][:60]!r}"
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if headers.get(b"connection") == b"close":
            return "the server asked to close a keep-alive connection"
        if b"content-length" not in headers:
            return "no Content-Length in the /hello response"
        self.body_left = int(headers[b"content-length"])
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"closed before the response ({exc})"))

    @property
    def idle(self) -> bool:
        """Open, its exchange complete, and nothing received since."""
        return self.done.done() and not self.closed and self.unexpected == 0


async def _open(port: int, mode: str, count: int, concurrency: int) -> tuple[list, list[str]]:
    """Open ``count`` connections, ``concurrency`` at a time; the good ones and the errors."""
    loop = asyncio.get_running_loop()
    limit = asyncio.Semaphore(concurrency)
    errors: list[str] = []

    async def one() -> _IdleConnection | None:
        async with limit:
            try:
                _, protocol = await loop.create_connection(
                    lambda: _IdleConnection(port, mode), "127.0.0.1", port
                )
                await asyncio.wait_for(protocol.done, EXCHANGE_TIMEOUT)
            except (OSError, asyncio.TimeoutError) as error:
                errors.append(f"{type(error).__name__}: {error}")
                return None
            return protocol

    opened = await asyncio.gather(*(one() for _ in range(count)))
    return [protocol for protocol in opened if protocol is not None], errors


async def _command() -> str:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    return line.strip()


def _say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def _run(port: int, mode: str, count: int, concurrency: int) -> None:
    warm, errors = await _open(port, mode, WARMUP_CONNECTIONS, concurrency)
    for protocol in warm:
        protocol.transport.close()
    _say(event="warmed", connections=len(warm), errors=errors[:5])
    connections: list[_IdleConnection] = []
    while True:
        command = await _command()
        if command == "open":
            started = time.perf_counter()
            connections, errors = await _open(port, mode, count, concurrency)
            _say(
                event="opened",
                opened=len(connections),
                failed=len(errors),
                errors=errors[:5],
                seconds=round(time.perf_counter() - started, 3),
            )
        elif command == "check":
            _say(
                event="checked",
                idle=sum(1 for protocol in connections if protocol.idle),
                closed=sum(1 for protocol in connections if protocol.closed),
                unexpected_bytes=sum(protocol.unexpected for protocol in connections),
            )
        else:
            break
    for protocol in connections:
        protocol.transport.close()


def main() -> None:
    port, mode, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    concurrency = int(sys.argv[4]) if len(sys.argv) > 4 else DEFAULT_CONCURRENCY
    if mode not in ("http", "websocket"):
        raise SystemExit(f"mode must be http or websocket, not {mode!r}")
    try:
        raise_descriptor_limit(count + WARMUP_CONNECTIONS + SPARE_DESCRIPTORS)
    except (ValueError, OSError) as error:
        print(f"cannot raise RLIMIT_NOFILE for {count} connections: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    asyncio.run(_run(port, mode, count, concurrency))


if __name__ == "__main__":
    main()
