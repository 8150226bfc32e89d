"""WebSocket echo benchmark: cyclone vs Tornado vs Autobahn|Python (Twisted), loopback only.

    python bench/ws_bench.py                 # all three servers, prints msgs/s and ratios
    python bench/ws_bench.py --quick         # shorter run
    BENCH_QUICK=1 python -c "import ws_bench; print(ws_bench.run())"   # as bench/run.py does

Scenarios: CONNECTIONS concurrent WebSocket connections each keep WINDOW 64-byte text
messages in flight (16, then 1: strict ping-pong); every echo received sends the next message. The load generator is a
separate process (pinned to CPU 1 when ``taskset`` exists, the server to CPU 0) that does
as little as possible: it pre-encodes one masked frame and counts echoed bytes (each echo
is the same 66-byte unmasked frame, checked byte for byte once per connection), so the
server is the bottleneck. Each server gets WARMUP seconds, then is measured for DURATION
seconds or MAX_MESSAGES messages, whichever comes first.

The Autobahn server runs from ``bench/.venvs/autobahn`` (created on first use with
``pip install autobahn``); Tornado must be importable (bench/requirements-extras.txt).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

BENCH = pathlib.Path(__file__).resolve().parent
AUTOBAHN_VENV = BENCH / ".venvs" / "autobahn"

MESSAGE = "x" * 64
CONNECTIONS = 32
#: Messages each connection keeps in flight: 16 lets a server read several frames per
#: socket read (throughput); 1 is strict ping-pong (per-message latency and syscalls).
WINDOWS = (16, 1)
WARMUP = 1.0
DURATION = 5.0
QUICK_DURATION = 2.0
MAX_MESSAGES = 5_000_000
SERVER_CPU = "0"
LOAD_CPU = "1"
STARTUP_TIMEOUT = 30.0

SERVERS = {
    "cyclone": "cyclone.websocket (cyclone 2)",
    "tornado": "tornado.websocket",
    "autobahn": "autobahn.twisted.websocket",
}


# ----------------------------------------------------------------------------- servers


def serve_cyclone(port: int) -> None:
    from twisted.internet import reactor

    from cyclone.routing import Router
    from cyclone.websocket import WebSocketHandler

    class Echo(WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message, binary=isinstance(message, bytes))

    reactor.listenTCP(port, Router([(r"/ws", Echo)]), interface="127.0.0.1", backlog=1024)
    reactor.run()


def serve_tornado(port: int) -> None:
    import asyncio

    import tornado.web
    import tornado.websocket

    class Echo(tornado.websocket.WebSocketHandler):
        def open(self) -> None:
            # Tornado leaves Nagle on unless asked; cyclone and Autobahn turn it off.
            self.set_nodelay(True)

        def on_message(self, message: str | bytes) -> None:
            self.write_message(message, binary=isinstance(message, bytes))

    async def main() -> None:
        tornado.web.Application([(r"/ws", Echo)]).listen(port, address="127.0.0.1")
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_autobahn(port: int) -> None:
    from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
    from twisted.internet import reactor

    class Echo(WebSocketServerProtocol):
        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            self.sendMessage(payload, isBinary)

    factory = WebSocketServerFactory(f"ws://127.0.0.1:{port}")
    factory.protocol = Echo
    reactor.listenTCP(port, factory, interface="127.0.0.1", backlog=1024)
    reactor.run()


# ------------------------------------------------------------------------ load generator


def _masked_frame(text: str) -> bytes:
    payload = text.encode()
    assert len(payload) < 126
    mask = b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def _cpu_seconds(pid: int) -> float:
    """User+system CPU time of ``pid`` from /proc (Linux), 0.0 elsewhere."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(
    port: int, connections: int, window: int, warmup: float, duration: float, server_pid: int = 0
) -> dict:
    """Drive ``connections`` echo loops against 127.0.0.1:port; return counts and rates.

    With ``server_pid`` it also reports the server's CPU time over the measured window, so
    ``msgs_per_cpu_s`` stays comparable when other processes compete for the CPUs.
    """
    import asyncio
    import base64

    frame = _masked_frame(MESSAGE)
    expected = bytes([0x81, len(MESSAGE)]) + MESSAGE.encode()
    echo_size = len(expected)
    state = {"received": 0, "measuring": False, "errors": 0}

    class Loop(asyncio.Protocol):
        def __init__(self, ready: asyncio.Future) -> None:
            self.ready = ready
            self.head = b""
            self.buffered = 0
            self.checked = False
            self.upgraded = False

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]
            key = base64.b64encode(os.urandom(16)).decode()
            transport.write(  # type: ignore[attr-defined]
                (
                    f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )

        def data_received(self, data: bytes) -> None:
            if not self.upgraded:
                self.head += data
                if b"\r\n\r\n" not in self.head:
                    return
                head, _, rest = self.head.partition(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 101"):
                    state["errors"] += 1
                    self.transport.close()
                    return
                self.upgraded = True
                self.ready.set_result(None)
                data = rest
                if not data:
                    return
            if not self.checked and len(data) >= echo_size:
                self.checked = True
                if data[:echo_size] != expected:
                    state["errors"] += 1
            total = self.buffered + len(data)
            count, self.buffered = divmod(total, echo_size)
            if count:
                if state["measuring"]:
                    state["received"] += count
                self.transport.write(frame * count)

        def connection_lost(self, exc: Exception | None) -> None:
            if not self.ready.done():
                self.ready.set_exception(ConnectionError("closed during handshake"))

    async def main() -> dict:
        loop = asyncio.get_running_loop()
        protocols = []
        for _ in range(connections):
            ready = loop.create_future()
            _, proto = await loop.create_connection(lambda r=ready: Loop(r), "127.0.0.1", port)
            await ready
            protocols.append(proto)
        for proto in protocols:
            proto.transport.write(frame * window)
        await asyncio.sleep(warmup)
        state["measuring"] = True
        cpu_started = _cpu_seconds(server_pid) if server_pid else 0.0
        started = time.perf_counter()
        while time.perf_counter() - started < duration and state["received"] < MAX_MESSAGES:
            await asyncio.sleep(0.05)
        state["measuring"] = False
        elapsed = time.perf_counter() - started
        cpu = (_cpu_seconds(server_pid) - cpu_started) if server_pid else 0.0
        for proto in protocols:
            proto.transport.close()
        return {
            "messages": state["received"],
            "seconds": round(elapsed, 3),
            "msgs_per_s": state["received"] / elapsed,
            "server_cpu_s": round(cpu, 3),
            "msgs_per_cpu_s": state["received"] / cpu if cpu else None,
            "errors": state["errors"],
        }

    return asyncio.run(main())


# ------------------------------------------------------------------------------ runner


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pinned(cpu: str) -> list[str]:
    return ["taskset", "-c", cpu] if shutil.which("taskset") and os.cpu_count() != 1 else []


def _autobahn_python() -> str:
    python = AUTOBAHN_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(AUTOBAHN_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "autobahn", "twisted"], check=True
        )
    return str(python)


def _wait_listening(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {STARTUP_TIMEOUT} s")


def measure(server: str, duration: float, window: int) -> dict:
    """Start one server, run the load generator against it, stop the server."""
    python = _autobahn_python() if server == "autobahn" else sys.executable
    port = _free_port()
    process = subprocess.Popen(
        [*_pinned(SERVER_CPU), python, str(BENCH / "ws_bench.py"), "--serve", server, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_listening(port, process)
        completed = subprocess.run(
            [
                *_pinned(LOAD_CPU),
                sys.executable,
                str(BENCH / "ws_bench.py"),
                "--load",
                str(port),
                str(CONNECTIONS),
                str(window),
                str(WARMUP),
                str(duration),
                str(process.pid),
            ],
            capture_output=True,
            text=True,
            timeout=duration + WARMUP + STARTUP_TIMEOUT,
            check=True,
        )
        return json.loads(completed.stdout)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _scenario(duration: float, window: int) -> tuple[dict, list[str]]:
    results: dict = {}
    for server in SERVERS:
        try:
            results[server] = measure(server, duration, window)
        except Exception as error:  # one missing server must not hide the others
            results[server] = {"error": f"{type(error).__name__}: {error}"}
        print(f"   window {window}, {server}: {results[server]}", flush=True)
    tornado = results.get("tornado", {})
    for row in results.values():
        if tornado.get("msgs_per_s") and "msgs_per_s" in row:
            row["ratio_to_tornado"] = round(row["msgs_per_s"] / tornado["msgs_per_s"], 2)
        if tornado.get("msgs_per_cpu_s") and row.get("msgs_per_cpu_s"):
            row["cpu_ratio_to_tornado"] = round(
                row["msgs_per_cpu_s"] / tornado["msgs_per_cpu_s"], 2
            )
    lines = [
        f"WebSocket echo: {CONNECTIONS} connections x {window} in flight, 64-byte text, "
        f"{duration:g} s after {WARMUP:g} s warm-up, server on 1 CPU",
        "",
        "| server | msgs/s | x Tornado | msgs per server CPU-s | x Tornado | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for server, row in results.items():
        if "msgs_per_s" in row:
            per_cpu = row.get("msgs_per_cpu_s")
            lines.append(
                f"| {SERVERS[server]} | {row['msgs_per_s']:,.0f} | "
                f"{row.get('ratio_to_tornado', '-')} | "
                f"{f'{per_cpu:,.0f}' if per_cpu else '-'} | "
                f"{row.get('cpu_ratio_to_tornado', '-')} | {row['errors']} |"
            )
        else:
            lines.append(f"| {SERVERS[server]} | failed: {row['error']} | | | | |")
    return results, lines


def run(quick: bool | None = None) -> dict:
    """Measure every server in each scenario.

    Returns ``{"window16/cyclone": {"msgs_per_s", "ratio_to_tornado", "msgs_per_cpu_s",
    "cpu_ratio_to_tornado", ...}, ..., "markdown": text}``.
    """
    if quick is None:
        quick = os.environ.get("BENCH_QUICK") == "1"
    duration = QUICK_DURATION if quick else DURATION
    found: dict = {}
    markdown: list[str] = []
    for window in WINDOWS:
        results, lines = _scenario(duration, window)
        found.update({f"window{window}/{server}": row for server, row in results.items()})
        markdown += [*lines, ""]
    return {**found, "markdown": "\n".join(markdown).rstrip()}


def main() -> None:
    arguments = sys.argv[1:]
    if arguments[:1] == ["--serve"]:
        {"cyclone": serve_cyclone, "tornado": serve_tornado, "autobahn": serve_autobahn}[
            arguments[1]
        ](int(arguments[2]))
    elif arguments[:1] == ["--load"]:
        port, connections, window = (int(a) for a in arguments[1:4])
        warmup, duration = (float(a) for a in arguments[4:6])
        server_pid = int(arguments[6]) if len(arguments) > 6 else 0
        print(json.dumps(load(port, connections, window, warmup, duration, server_pid)))
    else:
        print(run(quick="--quick" in arguments)["markdown"])


if __name__ == "__main__":
    main()
