"""WebSocket echo load generator for bench/run.py's ``ws-echo`` and ``ws-pingpong`` scenarios.

    python bench/ws_load.py PORT CONNECTIONS WINDOW WARMUP DURATION [SERVER_PID]

Opens CONNECTIONS WebSocket connections to ``ws://127.0.0.1:PORT/ws``; each keeps
WINDOW 64-byte text messages in flight, and every echo received sends the next
message. It does as little as it can so that the server stays the bottleneck: one
masked frame is encoded once, echoes are counted by size (each is the same 66-byte
unmasked frame, compared byte for byte once per connection). After WARMUP seconds
it counts echoes for DURATION seconds and prints one JSON line: messages, seconds,
errors, its own CPU seconds (near DURATION means the load generator, not the server,
was the bottleneck) and, given SERVER_PID, the server's user+system CPU seconds over
exactly the measured window (from /proc/<pid>/stat).

Standard library only: bench/run.py runs it with its own interpreter, pinned to
the load CPU.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import pathlib
import sys
import time

MESSAGE = b"x" * 64
#: RFC 6455 section 1.3: the GUID appended to Sec-WebSocket-Key for the Accept hash.
WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HANDSHAKE_TIMEOUT = 30.0


def masked_text_frame(payload: bytes) -> bytes:
    """A final text frame as a client must send it (RFC 6455 section 5.3: masked)."""
    if len(payload) >= 126:
        raise ValueError(f"payload of {len(payload)} bytes needs an extended length")
    mask = b"\x01\x02\x03\x04"
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def handshake_request(port: int, key: str) -> bytes:
    """The opening handshake of RFC 6455 section 4.1 for /ws."""
    return (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    ).encode("ascii")


def expected_accept(key: str) -> bytes:
    """The Sec-WebSocket-Accept value a server must answer ``key`` with (section 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + WEBSOCKET_GUID).digest())


def handshake_problem(head: bytes, key: str) -> str | None:
    """None if ``head`` is a valid 101 answer to ``key``, else what is wrong with it."""
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 101"):
        return f"answered {lines[0][:60]!r}"
    accept = expected_accept(key)
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-accept":
            return None if value.strip() == accept else f"wrong Sec-WebSocket-Accept {value!r}"
    return "no Sec-WebSocket-Accept header"


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of ``pid`` from /proc/<pid>/stat (fields 14 and 15)."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _EchoLoop(asyncio.Protocol):
    """One connection: handshake, then send a message for every echo that comes back."""

    def __init__(self, port: int, frame: bytes, expected: bytes, state: dict) -> None:
        self.port = port
        self.frame = frame
        self.expected = expected
        self.state = state
        self.key = base64.b64encode(os.urandom(16)).decode("ascii")
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.head = b""
        self.buffered = 0
        self.checked = False
        self.upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.transport.write(handshake_request(self.port, self.key))

    def data_received(self, data: bytes) -> None:
        if not self.upgraded:
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            head, _, data = self.head.partition(b"\r\n\r\n")
            problem = handshake_problem(head, self.key)
            if problem:
                self.ready.set_exception(ConnectionError(f"handshake: {problem}"))
                self.transport.close()
                return
            self.upgraded = True
            self.ready.set_result(None)
            if not data:
                return
        if not self.checked and self.buffered == 0 and len(data) >= len(self.expected):
            self.checked = True
            if data[: len(self.expected)] != self.expected:
                self.state["errors"] += 1
        count, self.buffered = divmod(self.buffered + len(data), len(self.expected))
        if count:
            if self.state["measuring"]:
                self.state["received"] += count
            self.transport.write(self.frame * count)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed during the handshake"))
        elif self.state["running"]:
            self.state["errors"] += 1


async def _drive(
    port: int, connections: int, window: int, warmup: float, duration: float, server_pid: int
) -> dict:
    loop = asyncio.get_running_loop()
    frame = masked_text_frame(MESSAGE)
    expected = bytes([0x81, len(MESSAGE)]) + MESSAGE
    state = {"received": 0, "measuring": False, "running": True, "errors": 0}
    protocols = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(
            lambda: _EchoLoop(port, frame, expected, state), "127.0.0.1", port
        )
        await asyncio.wait_for(protocol.ready, HANDSHAKE_TIMEOUT)
        protocols.append(protocol)
    for protocol in protocols:
        protocol.transport.write(frame * window)
    await asyncio.sleep(warmup)
    state["measuring"] = True
    cpu_started = cpu_seconds(server_pid) if server_pid else 0.0
    own_cpu_started = time.process_time()
    started = time.perf_counter()
    await asyncio.sleep(duration)
    state["measuring"] = False
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(server_pid) - cpu_started if server_pid else None
    own_cpu = time.process_time() - own_cpu_started
    state["running"] = False
    for protocol in protocols:
        protocol.transport.close()
    return {
        "requests": state["received"],
        "duration_us": round(elapsed * 1e6),
        "cpu_seconds": cpu,
        "load_cpu_seconds": round(own_cpu, 3),
        "errors": state["errors"],
    }


def main() -> None:
    port, connections, window = (int(argument) for argument in sys.argv[1:4])
    warmup, duration = (float(argument) for argument in sys.argv[4:6])
    server_pid = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    result = asyncio.run(_drive(port, connections, window, warmup, duration, server_pid))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
