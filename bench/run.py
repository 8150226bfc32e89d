"""Benchmark cyclone 2 against aiohttp, Tornado, twisted.web, Autobahn and a raw Twisted ceiling.

    python bench/run.py                 # full run: every scenario, 3 rounds x 5 s (about 25 min)
    python bench/run.py --quick         # smoke run: 1 round x 1 s, written to *-quick.md
    python bench/run.py --servers tornado,raw_twisted --scenarios hello,big
    python bench/run.py --scenarios idle-http,idle-ws --idle-connections 10000

Every server runs pinned to CPU 0 (``taskset -c 0``) and the load generator (wrk,
bench/ws_load.py or bench/idle_load.py) to CPU 1, on loopback only. For each
throughput scenario the runner starts every server afresh, checks that each one
answers correctly, warms it up, then measures in rounds that alternate between the
servers (the order rotates each round), so machine noise falls on all of them alike
and the ratios within one run are fair. The idle-connection scenarios measure one
server at a time: its resident memory before and after it holds many idle
connections, each checked to be open and idle.

Third-party frameworks are installed from PyPI into their own virtualenvs under
``bench/.venvs/`` and cyclone 2 from ``packages/``, by this script, so a fresh
machine reproduces the run. The report is printed as markdown, with the targets of
issue 20 judged under the tables, and written to ``bench/results/<date>-<set>.md``
(and ``latest.md`` for complete full runs). See bench/README.md for what each number
means. The exit status is 1 when a cyclone server could not be measured.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import datetime
import hashlib
import http.client
import json
import os
import pathlib
import platform
import resource
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

BENCH = pathlib.Path(__file__).resolve().parent
ROOT = BENCH.parent
SERVERS_DIR = BENCH / "servers"
WRK_DIR = BENCH / "wrk"
VENVS = BENCH / ".venvs"
RESULTS = BENCH / "results"
PACKAGES = ROOT / "packages"

SERVER_CPU = "0"
LOAD_CPU = "1"
#: The `nice -n N` prefix for the servers and load generators; main() sets it from --nice.
NICE: list[str] = []
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Seconds a server gets to start listening; a cold venv import can take a few.
STARTUP_TIMEOUT = 30.0
#: Seconds for each extra benchmark module (bench/template_bench.py) to return.
EXTRA_TIMEOUT = 900
#: What bench/template_bench.py needs beside cyclone (Tornado).
EXTRAS_REQUIREMENTS = BENCH / "requirements-extras.txt"
#: Seconds the WebSocket load generator runs before each measured round (connections
#: are opened anew each round; this lets the windows fill).
WS_ROUND_WARMUP = 1.0
#: Seconds a server gets to finish its work after the idle connections are open,
#: before its memory is read; then its CPU time is watched for IDLE_CPU_WINDOW.
IDLE_SETTLE_SECONDS = 1.0
IDLE_CPU_WINDOW = 2.0
#: Seconds the idle client may take to open all its connections.
IDLE_OPEN_TIMEOUT = 300.0
#: Descriptors a server or client needs beyond its idle connections.
SPARE_DESCRIPTORS = 512

sys.path.insert(0, str(SERVERS_DIR))
sys.path.insert(0, str(BENCH))
import payloads  # noqa: E402  (bench/servers/payloads.py, shared with the servers)
import targets  # noqa: E402  (bench/targets.py: what issue 20 asks)
import ws_load  # noqa: E402  (bench/ws_load.py: the handshake helpers, for the answer check)

# --------------------------------------------------------------------------- servers

_AIOHTTP_C_PARSER = (
    "import aiohttp.http_parser as parser\n"
    "found = parser.HttpRequestParser.__module__\n"
    "assert found == 'aiohttp._http_parser', "
    "'aiohttp is using its pure-Python HTTP parser (' + found + '), not the C one issue 20 "
    "names: is AIOHTTP_NO_EXTENSIONS set, or is there no wheel for this Python?'\n"
)
_AIOHTTP_C_WEBSOCKET = (
    _AIOHTTP_C_PARSER + "import aiohttp._websocket.reader as reader\n"
    "found = reader.WebSocketReader.__module__\n"
    "assert found.endswith('reader_c'), "
    "'aiohttp is using its pure-Python WebSocket reader (' + found + ')'\n"
)


@dataclasses.dataclass(frozen=True)
class Server:
    """One benchmarked server: a script in bench/servers run by a venv's Python."""

    name: str
    label: str
    script: str
    venv: str
    level: str  # "callback", "handler", "reference" or "ceiling"
    probe: str  # a module that must import in the venv, or the server is not measured
    protocol: str = "http"  # or "websocket"
    #: A cyclone 2 server: the run fails (exit status 1) if it cannot be measured.
    ours: bool = False
    #: Python statements that must run without error in the venv (after the probe import).
    requirement: str = ""
    #: (scenario, why this server does not take part in it) pairs.
    not_serving: tuple[tuple[str, str], ...] = ()

    def reason_not_serving(self, scenario: str) -> str | None:
        return dict(self.not_serving).get(scenario)


_NO_RENDER = "no render() at this level"
SERVERS = [
    Server(
        "cyclone_callback",
        "cyclone 2 callback",
        "cyclone_callback.py",
        "cyclone2-core",
        "callback",
        "cyclone.httpserver",
        ours=True,
        not_serving=(("template", "HTTPServer callback level: " + _NO_RENDER),),
    ),
    Server(
        "cyclone_router",
        "cyclone 2 Router",
        "cyclone_router.py",
        "cyclone2-core",
        "handler",
        "cyclone.routing",
        ours=True,
        not_serving=(("template", "render() needs cyclone-web; this venv is core only"),),
    ),
    Server(
        "cyclone_web",
        "cyclone 2 web",
        "cyclone_web.py",
        "cyclone2",
        "handler",
        "cyclone.web",
        ours=True,
    ),
    Server("tornado", "Tornado 6", "tornado_app.py", "tornado", "reference", "tornado.web"),
    Server(
        "aiohttp",
        "aiohttp",
        "aiohttp_app.py",
        "aiohttp",
        "reference",
        "aiohttp.web",
        requirement=_AIOHTTP_C_PARSER,
    ),
    Server(
        "cyclone13", "cyclone 1.3", "cyclone13_app.py", "cyclone13", "reference", "cyclone.web"
    ),
    Server(
        "raw_twisted",
        "raw Twisted",
        "raw_twisted.py",
        "twisted",
        "ceiling",
        "twisted.internet.protocol",
    ),
    Server(
        "twisted_web",
        "twisted.web",
        "twisted_web.py",
        "twisted",
        "reference",
        "twisted.web.server",
        not_serving=(
            (
                "template",
                "twisted.web has no Tornado-style templates (twisted.web.template is XML)",
            ),
        ),
    ),
    Server(
        "cyclone_websocket",
        "cyclone 2 websocket",
        "ws_cyclone.py",
        "cyclone2-websocket",
        "handler",
        "cyclone.websocket",
        protocol="websocket",
        ours=True,
    ),
    Server(
        "tornado_websocket",
        "Tornado 6",
        "ws_tornado.py",
        "tornado",
        "reference",
        "tornado.websocket",
        protocol="websocket",
    ),
    Server(
        "aiohttp_websocket",
        "aiohttp",
        "ws_aiohttp.py",
        "aiohttp",
        "reference",
        "aiohttp.web",
        protocol="websocket",
        requirement=_AIOHTTP_C_WEBSOCKET,
    ),
    Server(
        "autobahn",
        "Autobahn|Python (Twisted)",
        "ws_autobahn.py",
        "autobahn",
        "reference",
        "autobahn.twisted.websocket",
        protocol="websocket",
    ),
]
SERVERS_BY_NAME = {server.name: server for server in SERVERS}


def _cyclone_packages(*names: str) -> list[pathlib.Path]:
    """packages/cyclone-<name> for each name whose distribution has Python sources."""
    return [
        PACKAGES / f"cyclone-{name}"
        for name in names
        if any((PACKAGES / f"cyclone-{name}" / "src" / "cyclone").rglob("*.py"))
    ]


#: The cyclone distributions (packages/cyclone-<name>) installed editable in each venv.
CYCLONE_VENVS = {
    "cyclone2-core": ("core",),
    "cyclone2": ("core", "web"),
    "cyclone2-websocket": ("core", "websocket"),
    "extras": ("core", "web", "websocket"),
}


def _venv_requirements(venv: str) -> list[list[str]]:
    """The pip install commands (argument lists) that build each venv, in order."""
    if venv in CYCLONE_VENVS:
        commands = [["-e", str(path)] for path in _cyclone_packages(*CYCLONE_VENVS[venv])]
        if venv == "extras" and EXTRAS_REQUIREMENTS.exists():
            commands.append(["-r", str(EXTRAS_REQUIREMENTS)])
        return commands
    if venv == "tornado":
        return [["tornado>=6,<7"]]
    if venv == "aiohttp":
        # The current releases; aiohttp's wheels carry its C HTTP parser and WebSocket reader.
        return [["aiohttp", "aiohttp-jinja2", "jinja2"]]
    if venv == "autobahn":
        return [["autobahn", "twisted"]]
    if venv == "twisted":
        return [["twisted"]]
    if venv == "cyclone13":
        # cyclone 1.3 pins twisted==19.2.1 and pyOpenSSL==19.0.0: Twisted 19.2.1 does not
        # compile on Python 3.11 and that pyOpenSSL does not import with a current
        # cryptography on any Python, so take cyclone 1.3 alone and a current Twisted.
        return [["--no-deps", "cyclone==1.3"], ["twisted"]]
    raise ValueError(f"unknown venv {venv!r}")


def _venv_fingerprint(venv: str, python: str) -> str:
    """What the venv was built from; a change (new package, new deps) rebuilds it."""
    parts = [python, platform.python_version(), json.dumps(_venv_requirements(venv))]
    if venv in CYCLONE_VENVS:
        parts += [
            (path / "pyproject.toml").read_text()
            for path in _cyclone_packages(*CYCLONE_VENVS[venv])
        ]
    if venv == "extras" and EXTRAS_REQUIREMENTS.exists():
        parts.append(EXTRAS_REQUIREMENTS.read_text())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def ensure_venv(venv: str, python: str) -> pathlib.Path:
    """Create or refresh bench/.venvs/<venv> and return its Python."""
    directory = VENVS / venv
    venv_python = directory / "bin" / "python"
    marker = directory / ".bench-fingerprint"
    fingerprint = _venv_fingerprint(venv, python)
    if venv_python.exists() and marker.exists() and marker.read_text() == fingerprint:
        _compile_cyclone_sources(venv, venv_python)
        return venv_python
    print(f"[setup] building {directory.relative_to(ROOT)} ...", flush=True)
    if directory.exists():
        shutil.rmtree(directory)
    subprocess.run([python, "-m", "venv", str(directory)], check=True)
    pip = [str(venv_python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for arguments in _venv_requirements(venv):
        subprocess.run([*pip, *arguments], check=True)
    marker.write_text(fingerprint)
    _compile_cyclone_sources(venv, venv_python)
    return venv_python


def _compile_cyclone_sources(venv: str, venv_python: pathlib.Path) -> None:
    """Byte-compile the editable cyclone sources, as pip does for every wheel it installs.

    The peers come from wheels, compiled at install time. Editable cyclone
    sources are compiled on first import, and not at all where
    ``PYTHONDONTWRITEBYTECODE`` is set: then every server start compiles all
    of cyclone again, and its peak RSS counts the compiler's memory (about
    3 MiB for a cyclone.web hello process) that an installed cyclone never pays.
    """
    if venv not in CYCLONE_VENVS:
        return
    sources = [str(path / "src") for path in _cyclone_packages(*CYCLONE_VENVS[venv])]
    subprocess.run([str(venv_python), "-m", "compileall", "-q", *sources], check=True)


def probe(venv_python: pathlib.Path, module: str, requirement: str = "") -> str | None:
    """Return None if ``module`` imports in that venv and ``requirement`` runs, else the error."""
    result = subprocess.run(
        [str(venv_python), "-c", f"import {module}\n{requirement}"],
        capture_output=True,
        text=True,
        cwd=SERVERS_DIR,
    )
    if result.returncode == 0:
        return None
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {result.returncode}"


#: Facts about a venv worth a line in the report: which C accelerators its peer uses.
_VENV_FACTS = {
    "aiohttp": (
        "import aiohttp.http_parser as p, aiohttp._websocket.reader as r\n"
        "out.append('HTTP parser ' + p.HttpRequestParser.__module__ + '.HttpRequestParser'"
        " + (' (C)' if p.HttpRequestParser.__module__ == 'aiohttp._http_parser' else"
        " ' (pure Python!)'))\n"
        "out.append('WebSocket reader ' + r.WebSocketReader.__module__)\n"
        "import asyncio\n"
        "out.append('event loop ' + type(asyncio.new_event_loop()).__module__)\n"
    ),
    "tornado": (
        "try:\n"
        "    import tornado.speedups\n"
        "    out.append('tornado.speedups (C WebSocket masking) present')\n"
        "except ImportError:\n"
        "    out.append('tornado.speedups missing: pure-Python WebSocket masking')\n"
    ),
    "autobahn": (
        "import autobahn.websocket.utf8validator as u\n"
        "out.append('UTF-8 validator ' + u.Utf8Validator.__module__)\n"
    ),
}


def package_versions(venv: str, venv_python: pathlib.Path) -> str:
    """A short 'name version' list of the interesting packages in a venv, and its C parts."""
    names = (
        "cyclone-core",
        "cyclone-web",
        "cyclone-websocket",
        "cyclone",
        "tornado",
        "aiohttp",
        "aiohttp-jinja2",
        "jinja2",
        "autobahn",
        "twisted",
    )
    code = (
        "import importlib.metadata as m, platform\n"
        "out = []\n"
        f"for name in {names!r}:\n"
        "    try:\n"
        "        out.append(name + ' ' + m.version(name))\n"
        "    except m.PackageNotFoundError:\n"
        "        pass\n"
        "out.append('Python ' + platform.python_version())\n"
        "try:\n"
        + "".join(f"    {line}\n" for line in _VENV_FACTS.get(venv, "pass\n").splitlines())
        + "except Exception as error:\n"
        "    out.append('could not inspect: %r' % error)\n"
        "print(', '.join(out))\n"
    )
    result = subprocess.run([str(venv_python), "-c", code], capture_output=True, text=True)
    return result.stdout.strip() or f"? ({result.stderr.strip()[-200:]})"


def _free_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


class RunningServer:
    """A server process pinned to SERVER_CPU, with its CPU time and memory."""

    def __init__(
        self,
        server: Server,
        venv_python: pathlib.Path,
        log_directory: pathlib.Path,
        python_arguments: tuple[str, ...] = (),
        extra_arguments: tuple[str, ...] = (),
    ) -> None:
        """Start ``python [python_arguments] script port [extra_arguments]``."""
        self.server = server
        self.port = _free_port()
        self.log_path = log_directory / f"{server.name}-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                *NICE,
                "taskset",
                "-c",
                SERVER_CPU,
                str(venv_python),
                *python_arguments,
                str(SERVERS_DIR / server.script),
                str(self.port),
                *extra_arguments,
            ],
            cwd=SERVERS_DIR,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def wait_until_listening(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"exited with status {self.process.returncode}: {self.log_tail()}"
                )
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            time.sleep(0.05)
        raise RuntimeError(f"not listening on port {self.port} after {STARTUP_TIMEOUT:.0f} s")

    def cpu_seconds(self) -> float:
        """utime + stime of the server process, from /proc/<pid>/stat (fields 14 and 15)."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def _status_kib(self, field: str) -> int:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise RuntimeError(f"no {field} in /proc/{self.process.pid}/status")

    def peak_rss_mib(self) -> float:
        """VmHWM: the largest resident set the process has had, in MiB."""
        return self._status_kib("VmHWM") / 1024

    def rss_kib(self) -> int:
        """VmRSS: the resident set now, in KiB."""
        return self._status_kib("VmRSS")

    def log_tail(self, lines: int = 8) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` has open (from /proc/<pid>/fd)."""
    inodes = set()
    for entry in os.scandir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(entry.path)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def _tcp_table() -> list[tuple[int, int, str, str]]:
    """(local port, remote port, state, inode) of every TCP socket, from /proc/net/tcp{,6}."""
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local = int(fields[1].rsplit(":", 1)[1], 16)
                remote = int(fields[2].rsplit(":", 1)[1], 16)
                rows.append((local, remote, fields[3], fields[9]))
    return rows


def established_connections(server_pid: int, port: int, client_pid: int) -> tuple[int, list[int]]:
    """The server's ESTABLISHED connections on ``port`` from the client, and other peers' ports.

    A connection counts when the server process holds its socket (so one still in the
    kernel's accept queue, or closed by either side, does not) and the client process
    holds the other end. Any other peer (another program on the machine that happened
    to connect to this port) is listed apart by its port, so it can be reported.
    Sockets are told apart by inode: the kernel writes /proc/net/tcp in pieces, so a
    socket can appear twice (or be missed) while other sockets come and go.
    """
    server_inodes = _socket_inodes(server_pid)
    client_inodes = _socket_inodes(client_pid)
    table = _tcp_table()
    client_ports = {
        local for local, remote, _, inode in table if remote == port and inode in client_inodes
    }
    ours: set[str] = set()
    others: dict[str, int] = {}
    for local, remote, state, inode in table:
        if state == "01" and local == port and inode in server_inodes:
            if remote in client_ports:
                ours.add(inode)
            else:
                others[inode] = remote
    return len(ours), sorted(others.values())


def describe_peer(port: int) -> str:
    """Which process holds the local TCP port ``port`` (for reporting a stranger)."""
    inodes = {inode for local, _, _, inode in _tcp_table() if local == port and inode != "0"}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if _socket_inodes(int(entry.name)) & inodes:
                command = pathlib.Path(f"/proc/{entry.name}/cmdline").read_bytes()
                words = command.replace(b"\0", b" ").decode(errors="replace").strip()
                return f"port {port}: pid {entry.name} ({words[:120]})"
    return f"port {port}: owner not found"


# --------------------------------------------------------------------------- scenarios


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One kind of load, sent to the same route on every server of its protocol.

    ``kind`` is ``wrk`` (HTTP requests from wrk), ``ws-echo`` (bench/ws_load.py keeps
    ``window`` messages in flight per connection) or ``idle`` (bench/idle_load.py holds
    connections open; ``idle_protocol`` says which).
    """

    name: str
    title: str
    kind: str = "wrk"
    path: str = ""
    wrk_headers: tuple[str, ...] = ()
    request_script: str | None = None  # a bench/wrk/*.lua file that shapes the request
    window: int = 0
    idle_protocol: str = ""

    @property
    def protocol(self) -> str:
        if self.kind == "idle":
            return self.idle_protocol
        return "websocket" if self.kind == "ws-echo" else "http"


SCENARIOS = [
    Scenario("hello", "GET /hello, keep-alive", path="/hello"),
    Scenario(
        "hello-close",
        "GET /hello, Connection: close",
        path="/hello",
        wrk_headers=("-H", "Connection: close"),
    ),
    Scenario("json", "GET /json (~1 KB JSON document)", path="/json"),
    Scenario("big", "GET /big (256 KiB body)", path="/big"),
    Scenario("form", "POST /form (20 urlencoded fields)", path="/form", request_script="form.lua"),
    Scenario("template", "GET /template (50-row page through render())", path="/template"),
    Scenario(
        "ws-echo",
        "WebSocket echo, 64-byte text, 16 in flight per connection",
        "ws-echo",
        window=16,
    ),
    Scenario(
        "ws-pingpong",
        "WebSocket echo, 64-byte text, 1 in flight per connection (ping-pong)",
        "ws-echo",
        window=1,
    ),
    Scenario(
        "idle-http",
        "Idle keep-alive HTTP connections (one GET /hello each)",
        "idle",
        idle_protocol="http",
    ),
    Scenario(
        "idle-ws",
        "Idle WebSocket connections (after the handshake)",
        "idle",
        idle_protocol="websocket",
    ),
]
SCENARIOS_BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}

FORM_BODY = urllib.parse.urlencode(payloads.FORM_FIELDS)


def check_response(port: int, scenario: Scenario) -> None:
    """Fetch the scenario's route once and raise if the answer is not the expected one."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    path = scenario.path or "/hello"
    try:
        headers = {}
        if scenario.wrk_headers:
            name, value = scenario.wrk_headers[1].split(": ", 1)
            headers[name] = value
        if scenario.name == "form":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request("POST", path, body=FORM_BODY, headers=headers)
        else:
            connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status} {response.reason}: {body[:200]!r}")
    if path == "/hello":
        ok = body == payloads.HELLO
    elif path == "/json":
        ok = json.loads(body) == payloads.JSON_DOCUMENT
    elif path == "/big":
        ok = body == payloads.BIG
    elif path == "/template":
        ok = payloads.escapes_markup(body) and payloads.normalize_page(
            body
        ) == payloads.normalize_page(payloads.reference_page())
    else:
        ok = body.strip() == payloads.FORM_ANSWER
    if not ok:
        raise RuntimeError(f"{path} answered a wrong body ({len(body)} bytes): {body[:80]!r}")


def check_websocket(port: int) -> None:
    """Open /ws, echo one 64-byte message and close; raise if any step goes wrong."""
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(ws_load.handshake_request(port, key))
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                raise RuntimeError(f"/ws closed during the handshake after {received[:80]!r}")
            received += chunk
        head, _, received = received.partition(b"\r\n\r\n")
        problem = ws_load.handshake_problem(head, key)
        if problem:
            raise RuntimeError(f"/ws handshake: {problem}")
        connection.sendall(ws_load.masked_text_frame(ws_load.MESSAGE))
        expected = bytes([0x81, len(ws_load.MESSAGE)]) + ws_load.MESSAGE
        while len(received) < len(expected):
            chunk = connection.recv(65536)
            if not chunk:
                raise RuntimeError("/ws closed instead of echoing")
            received += chunk
        if received[: len(expected)] != expected:
            raise RuntimeError(f"/ws echoed {received[:80]!r}")
        connection.sendall(b"\x88\x82\x00\x00\x00\x00\x03\xe8")  # Close 1000, mask of zeros


def check_server(port: int, scenario: Scenario) -> None:
    """The answer check that fits the scenario's protocol."""
    if scenario.protocol == "websocket":
        check_websocket(port)
    else:
        check_response(port, scenario)


def write_wrk_script(scenario: Scenario, directory: pathlib.Path) -> pathlib.Path:
    """The scenario's request script followed by report.lua's done() callback."""
    parts = []
    if scenario.request_script:
        parts.append((WRK_DIR / scenario.request_script).read_text())
    parts.append((WRK_DIR / "report.lua").read_text())
    path = directory / f"{scenario.name}.lua"
    path.write_text("\n".join(parts))
    return path


def run_wrk(
    url: str, scenario: Scenario, script: pathlib.Path, seconds: int, connections: int
) -> dict:
    """Run wrk pinned to LOAD_CPU and return report.lua's totals."""
    command = [
        *NICE,
        "taskset",
        "-c",
        LOAD_CPU,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        *scenario.wrk_headers,
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON ") :])
    raise RuntimeError(
        f"wrk printed no totals (status {result.returncode}): {result.stderr.strip()[:300]}"
    )


def run_ws_load(
    instance: RunningServer, window: int, connections: int, warmup: float, seconds: float
) -> dict:
    """Run bench/ws_load.py pinned to LOAD_CPU; its messages, duration, server CPU, errors."""
    command = [
        *NICE,
        "taskset",
        "-c",
        LOAD_CPU,
        sys.executable,
        str(BENCH / "ws_load.py"),
        str(instance.port),
        str(connections),
        str(window),
        str(warmup),
        str(seconds),
        str(instance.process.pid),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + warmup + 120
    )
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"ws_load.py failed with status {result.returncode}: {tail}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- measurements


@dataclasses.dataclass
class Measurement:
    """The rounds of one server in one throughput scenario (requests or echoed messages)."""

    rounds: list[dict] = dataclasses.field(default_factory=list)
    peak_rss_mib: float = float("nan")
    failure: str | None = None
    not_applicable: str | None = None

    @property
    def requests_per_second(self) -> float:
        return statistics.median(r["requests"] / (r["duration_us"] / 1e6) for r in self.rounds)

    @property
    def spread(self) -> float:
        """(max - min) / median of the rounds' rates: how much the rounds disagree."""
        rates = [r["requests"] / (r["duration_us"] / 1e6) for r in self.rounds]
        return (max(rates) - min(rates)) / statistics.median(rates)

    @property
    def p99_ms(self) -> float | None:
        """wrk's 99th percentile latency, median over the rounds (None for WebSocket)."""
        if not self.rounds or "p99_us" not in self.rounds[0]:
            return None
        return statistics.median(r["p99_us"] for r in self.rounds) / 1000

    @property
    def cpu_us_per_request(self) -> float:
        requests = sum(r["requests"] for r in self.rounds)
        cpu = [r.get("cpu_seconds") for r in self.rounds]
        if not requests or any(seconds is None for seconds in cpu):
            return float("nan")
        return sum(seconds or 0.0 for seconds in cpu) / requests * 1e6

    @property
    def server_cpu_share(self) -> float:
        """The server's CPU time over the measured wall time: near 1 when it was the bottleneck."""
        cpu = [r.get("cpu_seconds") for r in self.rounds]
        if not self.rounds or any(seconds is None for seconds in cpu):
            return float("nan")
        return sum(seconds or 0.0 for seconds in cpu) / sum(
            r["duration_us"] / 1e6 for r in self.rounds
        )

    @property
    def load_cpu_share(self) -> float:
        """The WebSocket load generator's CPU time over the measured wall time (nan for wrk)."""
        if not self.rounds or "load_cpu_seconds" not in self.rounds[0]:
            return float("nan")
        return sum(r["load_cpu_seconds"] for r in self.rounds) / sum(
            r["duration_us"] / 1e6 for r in self.rounds
        )

    @property
    def errors(self) -> int:
        keys = ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
        return sum(r.get(key, 0) for r in self.rounds for key in (*keys, "errors"))

    @property
    def answer_errors(self) -> int:
        """Error answers and timeouts (wrk), or broken/wrong echoes (WebSocket)."""
        return sum(
            r.get("status_errors", 0) + r.get("timeouts", 0) + r.get("errors", 0)
            for r in self.rounds
        )

    def as_dict(self) -> dict:
        data = {
            "rounds": self.rounds,
            "peak_rss_mib": self.peak_rss_mib,
            "failure": self.failure,
            "not_applicable": self.not_applicable,
        }
        if self.rounds and not self.failure:
            data.update(
                requests_per_second=self.requests_per_second,
                p99_ms=self.p99_ms,
                cpu_us_per_request=self.cpu_us_per_request,
                errors=self.errors,
            )
        return data


@dataclasses.dataclass
class IdleMeasurement:
    """A server's memory before and while it holds ``connections`` idle connections."""

    connections: int = 0
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    established: int = 0
    idle: int = 0
    seconds_to_open: float = float("nan")
    idle_cpu_ms_per_s: float = float("nan")
    peak_rss_mib: float = float("nan")
    #: Connections to the server from other programs on the machine, by port and owner.
    other_peers: list[str] = dataclasses.field(default_factory=list)
    failure: str | None = None
    not_applicable: str | None = None

    @property
    def kib_per_connection(self) -> float:
        if not self.connections or self.failure:
            return float("nan")
        return (self.rss_after_kib - self.rss_before_kib) / self.connections

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["kib_per_connection"] = self.kib_per_connection
        return data


# --------------------------------------------------------------------------- running


_SETUP_ERRORS = (
    RuntimeError,
    OSError,
    ValueError,
    http.client.HTTPException,
    subprocess.TimeoutExpired,
    json.JSONDecodeError,
)


def run_scenario(
    scenario: Scenario,
    servers: list[Server],
    skipped: dict[str, str],
    pythons: dict[str, pathlib.Path],
    options: argparse.Namespace,
    work: pathlib.Path,
) -> dict[str, Measurement | IdleMeasurement]:
    """Measure every server of the scenario's protocol.

    A server that does not take part in this scenario, or could not be set up at all
    (``skipped``), still gets an entry saying why, so no peer silently drops out.
    """
    print(f"\n== {scenario.title}", flush=True)
    servers = [server for server in servers if server.protocol == scenario.protocol]
    kind = IdleMeasurement if scenario.kind == "idle" else Measurement
    results: dict[str, Measurement | IdleMeasurement] = {}
    for server in servers:
        reason = server.reason_not_serving(scenario.name)
        if reason:
            results[server.name] = kind(not_applicable=reason)
            print(f"   {server.name}: not applicable: {reason}", flush=True)
        elif server.name in skipped:
            results[server.name] = kind(failure=f"not measured: {skipped[server.name]}")
    serving = [server for server in servers if server.name not in results]
    if scenario.kind == "idle":
        for server in serving:
            results[server.name] = run_idle(scenario, server, pythons[server.venv], options, work)
    else:
        results.update(run_rounds(scenario, serving, pythons, options, work))
    return {server.name: results[server.name] for server in servers}


def run_rounds(
    scenario: Scenario,
    servers: list[Server],
    pythons: dict[str, pathlib.Path],
    options: argparse.Namespace,
    work: pathlib.Path,
) -> dict[str, Measurement]:
    """Start every server, check it, warm it up, then measure in interleaved rounds."""
    results = {server.name: Measurement() for server in servers}
    running: dict[str, RunningServer] = {}
    script = write_wrk_script(scenario, work) if scenario.kind == "wrk" else None

    def load(instance: RunningServer, seconds: int) -> dict:
        if scenario.kind == "wrk":
            assert script is not None
            url = f"http://127.0.0.1:{instance.port}{scenario.path}"
            before = instance.cpu_seconds()
            totals = run_wrk(url, scenario, script, seconds, options.connections)
            totals["cpu_seconds"] = instance.cpu_seconds() - before
            return totals
        return run_ws_load(
            instance, scenario.window, options.ws_connections, options.ws_warmup, seconds
        )

    try:
        for server in servers:
            running[server.name] = RunningServer(server, pythons[server.venv], work)
        for name, instance in running.items():
            try:
                instance.wait_until_listening()
                check_server(instance.port, scenario)
                if options.warmup:
                    load(instance, options.warmup)
            except _SETUP_ERRORS as error:
                results[name].failure = f"{type(error).__name__}: {error}"
                print(f"   {name}: FAILED before measuring: {results[name].failure}", flush=True)
        live = [name for name in running if results[name].failure is None]
        for round_index in range(options.rounds):
            shift = round_index % len(live) if live else 0
            for name in live[shift:] + live[:shift]:
                if results[name].failure:
                    continue
                instance = running[name]
                try:
                    totals = load(instance, options.duration)
                    if instance.process.poll() is not None:
                        raise RuntimeError(
                            f"server exited with status {instance.process.returncode}"
                        )
                except _SETUP_ERRORS as error:
                    results[
                        name
                    ].failure = (
                        f"{type(error).__name__}: {error} | server log: {instance.log_tail()}"
                    )
                    print(f"   {name}: FAILED: {results[name].failure}", flush=True)
                    continue
                results[name].rounds.append(totals)
                rate = totals["requests"] / (totals["duration_us"] / 1e6)
                latency = f"  p99 {totals['p99_us'] / 1000:7.2f} ms" if "p99_us" in totals else ""
                cpu = totals.get("cpu_seconds")
                print(
                    f"   round {round_index + 1}/{options.rounds}  {name:<17} {rate:>10.0f}/s"
                    f"{latency}  cpu {cpu if cpu is None else f'{cpu:.2f}'} s",
                    flush=True,
                )
        for name, instance in running.items():
            if instance.process.poll() is None:
                results[name].peak_rss_mib = instance.peak_rss_mib()
    finally:
        for instance in running.values():
            instance.stop()
    return results


def _client_event(client: subprocess.Popen, event: str, timeout: float) -> dict:
    """The next JSON line bench/idle_load.py prints, which must be ``event``."""
    assert client.stdout is not None
    ready, _, _ = select.select([client.stdout], [], [], timeout)
    line = client.stdout.readline() if ready else ""
    if not line:
        client.kill()
        _, errors = client.communicate(timeout=10)
        state = "timed out" if not ready else f"exited with status {client.returncode}"
        raise RuntimeError(f"idle_load.py {state} waiting for {event!r}: {errors.strip()[-300:]}")
    message = json.loads(line)
    if message.get("event") != event:
        raise RuntimeError(f"idle_load.py said {message!r}, expected {event!r}")
    return message


def _tell(client: subprocess.Popen, command: str) -> None:
    assert client.stdin is not None
    client.stdin.write(command + "\n")
    client.stdin.flush()


def run_idle(
    scenario: Scenario,
    server: Server,
    python: pathlib.Path,
    options: argparse.Namespace,
    work: pathlib.Path,
) -> IdleMeasurement:
    """Start one server and read its memory before and while it holds idle connections."""
    count = options.idle_connections
    result = IdleMeasurement(connections=count)
    if options.descriptor_problem:
        result.failure = options.descriptor_problem
        print(f"   {server.name}: FAILED: {result.failure}", flush=True)
        return result
    instance = RunningServer(server, python, work)
    client: subprocess.Popen | None = None
    try:
        instance.wait_until_listening()
        check_server(instance.port, scenario)
        client = subprocess.Popen(
            [
                *NICE,
                "taskset",
                "-c",
                LOAD_CPU,
                sys.executable,
                str(BENCH / "idle_load.py"),
                str(instance.port),
                scenario.protocol,
                str(count),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        warmed = _client_event(client, "warmed", STARTUP_TIMEOUT + 60)
        if warmed["errors"]:
            raise RuntimeError(f"warm-up connections failed: {warmed['errors'][0]}")
        time.sleep(IDLE_SETTLE_SECONDS)
        result.rss_before_kib = instance.rss_kib()
        _tell(client, "open")
        opened = _client_event(client, "opened", IDLE_OPEN_TIMEOUT)
        result.seconds_to_open = opened["seconds"]
        if opened["failed"]:
            raise RuntimeError(
                f"{opened['failed']} of {count} connections failed, first: {opened['errors'][0]}"
            )
        time.sleep(IDLE_SETTLE_SECONDS)
        cpu_before, started = instance.cpu_seconds(), time.monotonic()
        time.sleep(IDLE_CPU_WINDOW)
        result.idle_cpu_ms_per_s = (
            (instance.cpu_seconds() - cpu_before) / (time.monotonic() - started) * 1000
        )
        result.rss_after_kib = instance.rss_kib()
        for _ in range(3):  # a connection missed by one reading of /proc/net/tcp: read again
            result.established, strangers = established_connections(
                instance.process.pid, instance.port, client.pid
            )
            if result.established == count:
                break
            time.sleep(0.2)
        result.other_peers = [describe_peer(port) for port in strangers[:5]]
        if strangers:
            print(
                f"   {server.name}: {len(strangers)} connection(s) from other programs "
                f"(not counted): {'; '.join(result.other_peers)}",
                flush=True,
            )
        _tell(client, "check")
        checked = _client_event(client, "checked", 60)
        result.idle = checked["idle"]
        result.peak_rss_mib = instance.peak_rss_mib()
        if result.established != count or result.idle != count:
            raise RuntimeError(
                f"at the measurement the server held {result.established} ESTABLISHED "
                f"connections from the client, which saw {result.idle} of {count} connections open and idle "
                f"({checked['closed']} closed, {checked['unexpected_bytes']} unexpected bytes)"
            )
        print(
            f"   {server.name:<17} {result.kib_per_connection:6.2f} KiB/connection  "
            f"RSS {result.rss_before_kib / 1024:.1f} -> {result.rss_after_kib / 1024:.1f} MiB  "
            f"{result.established} established, {result.idle} idle, opened in "
            f"{result.seconds_to_open:.1f} s, idle CPU {result.idle_cpu_ms_per_s:.1f} ms/s",
            flush=True,
        )
    except _SETUP_ERRORS as error:
        result.failure = f"{type(error).__name__}: {error} | server log: {instance.log_tail(3)}"
        print(f"   {server.name}: FAILED: {result.failure}", flush=True)
    finally:
        if client is not None and client.poll() is None:
            with contextlib.suppress(OSError):
                _tell(client, "close")
            try:
                client.wait(timeout=30)
            except subprocess.TimeoutExpired:
                client.kill()
                client.wait()
        instance.stop()
    return result


def raise_descriptor_limit(needed: int) -> str | None:
    """Let this process, and the servers it starts, hold ``needed`` file descriptors.

    Returns None when done, else why not (then the idle scenarios fail with that reason).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return None
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, max(hard, needed)))
    except (ValueError, OSError) as error:
        return (
            f"RLIMIT_NOFILE is {soft}/{hard} and cannot be raised to {needed} ({error}): "
            "run as root or raise the hard limit (ulimit -Hn), or lower --idle-connections"
        )
    return None


# --------------------------------------------------------------------------- report


def _format_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _rate(measurement: object) -> float | None:
    if not isinstance(measurement, Measurement):
        return None
    if measurement.failure or measurement.not_applicable or not measurement.rounds:
        return None
    return measurement.requests_per_second


def _unmeasured_row(label: str, measurement: Measurement | IdleMeasurement, columns: int) -> str:
    if measurement.not_applicable:
        reason = f"not applicable: {measurement.not_applicable}"
    else:
        reason = f"failed: {measurement.failure or 'no rounds'}"
    return f"| {label} | {reason.replace('|', '/')[:200]} |" + " |" * (columns - 2)


#: The reference columns of the throughput tables, per protocol.
_RATE_REFERENCES = {
    "http": [
        ("tornado", "Tornado"),
        ("aiohttp", "aiohttp"),
        ("twisted_web", "twisted.web"),
        ("raw_twisted", "raw Twisted"),
    ],
    "websocket": [
        ("tornado_websocket", "Tornado"),
        ("aiohttp_websocket", "aiohttp"),
        ("autobahn", "Autobahn"),
    ],
}


def rate_table(scenario: Scenario, results: dict) -> list[str]:
    references = _RATE_REFERENCES[scenario.protocol]
    unit = "req" if scenario.protocol == "http" else "msg"
    header = [
        "server",
        f"{unit}/s",
        *[f"× {label}" for _, label in references],
        "p99 ms",
        f"CPU µs/{unit}",
        "server CPU",
        "load CPU",
        "peak RSS MiB",
        "errors",
    ]
    if scenario.protocol == "websocket":
        header.remove("p99 ms")
    else:
        header.remove("load CPU")
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    reference_rates = [_rate(results.get(name)) for name, _ in references]
    for name, measurement in results.items():
        label = SERVERS_BY_NAME[name].label
        mine = _rate(measurement)
        if mine is None:
            lines.append(_unmeasured_row(label, measurement, len(header)))
            continue
        ratios = [_format_ratio(mine / ref if ref else None) for ref in reference_rates]
        spread = f" ±{measurement.spread / 2:.0%}" if len(measurement.rounds) > 1 else ""
        cells = [label, f"{mine:,.0f}{spread}", *ratios]
        if scenario.protocol == "http":
            cells.append(f"{measurement.p99_ms:.2f}")
        cells += [f"{measurement.cpu_us_per_request:.1f}", f"{measurement.server_cpu_share:.0%}"]
        if scenario.protocol == "websocket":
            cells.append(f"{measurement.load_cpu_share:.0%}")
        cells += [f"{measurement.peak_rss_mib:.1f}", str(measurement.errors)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def idle_table(scenario: Scenario, results: dict) -> list[str]:
    reference = "tornado" if scenario.protocol == "http" else "tornado_websocket"
    header = [
        "server",
        "KiB per connection",
        "× Tornado",
        "RSS before → after MiB",
        "open at measurement (server / client)",
        "seconds to open",
        "idle CPU ms/s",
        "peak RSS MiB",
    ]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    theirs = results.get(reference)
    their_kib = None
    if isinstance(theirs, IdleMeasurement) and not theirs.failure and not theirs.not_applicable:
        their_kib = theirs.kib_per_connection
    for name, measurement in results.items():
        label = SERVERS_BY_NAME[name].label
        if measurement.failure or measurement.not_applicable:
            lines.append(_unmeasured_row(label, measurement, len(header)))
            continue
        kib = measurement.kib_per_connection
        lines.append(
            f"| {label} | {kib:.2f} | {_format_ratio(kib / their_kib if their_kib else None)} | "
            f"{measurement.rss_before_kib / 1024:.1f} → {measurement.rss_after_kib / 1024:.1f} | "
            f"{measurement.established:,} / {measurement.idle:,} | "
            f"{measurement.seconds_to_open:.1f} | {measurement.idle_cpu_ms_per_s:.1f} | "
            f"{measurement.peak_rss_mib:.1f} |"
        )
    for name, measurement in results.items():
        if isinstance(measurement, IdleMeasurement) and measurement.other_peers:
            lines += [
                "",
                f"{SERVERS_BY_NAME[name].label} also had connections from other programs on "
                f"the machine (not counted; their memory is in its RSS): "
                + "; ".join(measurement.other_peers),
            ]
    return lines


def targets_table(results: dict, chosen: list[targets.Target]) -> list[str]:
    lines = [
        "| target | measured (req/s, msgs/s or amount) | result | by CPU µs | result by CPU |",
        "|---|---:|---|---:|---|",
    ]
    verdicts = targets.evaluate(results, chosen)
    if not verdicts:
        return ["(none of these targets is about a scenario of this run)"]
    for verdict in verdicts:
        lines.append(
            f"| {verdict.target.text} | {verdict.measured} | {verdict.verdict} | "
            f"{verdict.by_cpu} | {verdict.cpu_verdict or '—'} |"
        )
    return lines


def _render_extra(result: object) -> list[str]:
    """A run() result as markdown: its own 'markdown' text, or a table of its values."""
    if isinstance(result, dict) and isinstance(result.get("markdown"), str):
        return [result["markdown"].rstrip()]
    if not isinstance(result, dict):
        return [f"```\n{json.dumps(result, indent=2, default=str)}\n```"]
    rows = {key: value for key, value in result.items() if isinstance(value, dict)}
    scalars = {key: value for key, value in result.items() if not isinstance(value, dict)}
    lines: list[str] = []
    if scalars:
        lines += ["| key | value |", "|---|---|"]
        lines += [f"| {key} | {_cell(value)} |" for key, value in scalars.items()]
        lines.append("")
    if rows:
        columns: list[str] = []
        for row in rows.values():
            columns += [column for column in row if column not in columns]
        lines += ["| case | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
        for key, row in rows.items():
            lines.append(
                f"| {key} | " + " | ".join(_cell(row.get(column, "")) for column in columns) + " |"
            )
    return lines


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str).replace("|", "/")
    return str(value).replace("|", "/")


def run_extras(
    options: argparse.Namespace, work: pathlib.Path
) -> list[tuple[str, object, str | None]]:
    """Call run() of bench/template_bench.py in its own process and venv."""
    found: list[tuple[str, object, str | None]] = []
    path = BENCH / "template_bench.py"
    try:
        python = str(ensure_venv("extras", options.python))
    except subprocess.CalledProcessError as error:
        found.append((path.name, None, f"could not build bench/.venvs/extras: {error}"))
        return found
    print(f"\n== extra: {path.name}", flush=True)
    output = work / f"{path.stem}.json"
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location({path.stem!r}, {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "result = module.run()\n"
        f"open({str(output)!r}, 'w').write(json.dumps(result, default=str))\n"
    )
    environment = dict(os.environ, BENCH_QUICK="1" if options.quick else "0")
    try:
        completed = subprocess.run(
            [python, "-c", code],
            cwd=BENCH,
            env=environment,
            timeout=EXTRA_TIMEOUT,
            text=True,
            capture_output=True,
        )
    except subprocess.TimeoutExpired:
        found.append((path.name, None, f"timed out after {EXTRA_TIMEOUT} s"))
        return found
    sys.stdout.write(completed.stdout)
    if completed.returncode != 0 or not output.exists():
        tail = " | ".join(completed.stderr.strip().splitlines()[-4:])
        found.append((path.name, None, f"failed with status {completed.returncode}: {tail}"))
        print(f"   failed: {tail}", flush=True)
        return found
    found.append((path.name, json.loads(output.read_text()), None))
    return found


def cyclone_problems(
    results: dict,
    servers: list[Server],
    skipped: dict[str, str],
    extras: list[tuple[str, object, str | None]],
) -> list[str]:
    """Why a cyclone 2 server (or the template engine bench) has no number, one line each."""
    problems = [
        f"{name}: {reason}" for name, reason in skipped.items() if SERVERS_BY_NAME[name].ours
    ]
    for scenario, measured in results.items():
        for server in servers:
            measurement = measured.get(server.name)
            if not server.ours or server.name in skipped:
                continue
            if measurement is None or measurement.not_applicable:
                continue
            if measurement.failure:
                problems.append(f"{server.name} in {scenario}: {measurement.failure}")
            elif isinstance(measurement, Measurement) and not measurement.rounds:
                problems.append(f"{server.name} in {scenario}: no rounds measured")
            elif isinstance(measurement, Measurement) and measurement.answer_errors:
                problems.append(
                    f"{server.name} in {scenario}: {measurement.answer_errors} error answers, "
                    "timeouts or broken echoes: its numbers are not valid"
                )
    problems += [f"{name}: {error}" for name, _, error in extras if error]
    return problems


def build_report(
    options: argparse.Namespace,
    results: dict[str, dict],
    skipped: dict[str, str],
    versions: dict[str, str],
    extras: list[tuple[str, object, str | None]],
    problems: list[str],
    started: datetime.datetime,
    set_name: str,
    elapsed: float,
) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    )
    cpu_model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    lines = [f"# cyclone benchmark, {started:%Y-%m-%d %H:%M} UTC ({set_name})", ""]
    if problems:
        lines += ["**INCOMPLETE: cyclone could not be measured:**", ""]
        lines += [f"- {problem}" for problem in problems]
        lines.append("")
    kinds = {SCENARIOS_BY_NAME[name].kind for name in results}
    lines += [
        f"- Machine: {os.cpu_count()} CPUs ({cpu_model}), Linux {platform.release()}; "
        f"servers pinned to CPU {SERVER_CPU}, load generators to CPU {LOAD_CPU}, both at nice "
        f"{options.nice}; loopback. The run took {elapsed / 60:.1f} min.",
        f"- Throughput: {options.rounds} round(s) × {options.duration} s per server and scenario "
        f"after a {options.warmup} s warm-up; rounds alternate between servers.",
    ]
    if "wrk" in kinds:
        lines.append(f"- HTTP load: wrk, 1 thread, {options.connections} connections.")
    if "ws-echo" in kinds:
        lines.append(
            f"- WebSocket load: bench/ws_load.py (one asyncio process), {options.ws_connections} "
            f"connections, opened anew each round and echoing for {options.ws_warmup:g} s "
            "before the measured seconds."
        )
    if "idle" in kinds:
        lines.append(
            f"- Idle connections: {options.idle_connections:,} per server, opened by "
            "bench/idle_load.py (one asyncio process) after 200 warm-up connections; KiB per "
            "connection = (VmRSS while they are open − VmRSS before) / connections; idle CPU "
            f"is the server's CPU time over {IDLE_CPU_WINDOW:g} s with all of them open "
            f"(one clock tick is {1000 / CLOCK_TICKS:g} ms)."
        )
    lines += [
        f"- Repository commit: {commit.stdout.strip() or '?'}.",
        "- Rates and p99 are medians over the rounds; CPU µs per request (or message) is the "
        "server's user+system time over all measured rounds; peak RSS is the server's VmHWM "
        "at the end of the scenario.",
    ]
    if options.note:
        lines.append(f"- Note: {options.note}")
    lines += ["", "Versions:", ""]
    lines += [f"- {venv}: {text}" for venv, text in versions.items()]
    if skipped:
        lines += ["", "Not measured:", ""]
        lines += [f"- {name}: {reason}" for name, reason in skipped.items()]
    for scenario_name, scenario_results in results.items():
        scenario = SCENARIOS_BY_NAME[scenario_name]
        title = scenario.title
        if scenario.kind == "idle":
            title = f"{options.idle_connections:,} {title[0].lower()}{title[1:]}"
        lines += ["", f"## {title}", ""]
        table = idle_table if scenario.kind == "idle" else rate_table
        lines += table(scenario, scenario_results)
    lines += [
        "",
        "## Targets (issue 20)",
        "",
        "Throughput targets are judged twice: on the measured rates, and *by CPU*, the",
        "reference's CPU µs per request (or message) divided by cyclone's, the same comparison",
        "as if each server had had a whole core: a cross-check on a busy machine. Memory and",
        "latency targets compare amounts (lower is better).",
        "",
    ]
    lines += targets_table(results, targets.ISSUE_20)
    lines += [
        "",
        "## Earlier targets (issue 2/3, met on 2026-12-06; a regression check)",
        "",
    ]
    lines += targets_table(results, targets.ISSUE_2_3)
    for filename, result, error in extras:
        lines += ["", f"## {filename} (template engines in-process, no HTTP)", ""]
        lines += [f"Not measured: {error}"] if error else _render_extra(result)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1 round of 1 s, 1 s warm-up, 2,000 idle connections",
    )
    parser.add_argument(
        "--duration", type=int, default=5, help="seconds per measured run (default 5)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="measured rounds per server and scenario (default 3)"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of unmeasured load first (default 2)"
    )
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument(
        "--ws-connections",
        type=int,
        default=50,
        help="WebSocket echo connections (default 50)",
    )
    parser.add_argument(
        "--idle-connections",
        type=int,
        help="connections each server holds in the idle scenarios (default 10000; 2000 --quick)",
    )
    parser.add_argument(
        "--servers", help="comma-separated subset of: " + ", ".join(SERVERS_BY_NAME)
    )
    parser.add_argument(
        "--scenarios", help="comma-separated subset of: " + ", ".join(SCENARIOS_BY_NAME)
    )
    parser.add_argument("--no-extras", action="store_true", help="skip template_bench.py")
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter the venvs are built from"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=-10 if os.geteuid() == 0 else 0,
        help="scheduling priority of servers and load generators (default -10 as root, so "
        "other work on the machine disturbs the run less; 0 turns it off)",
    )
    parser.add_argument(
        "--note", help="a line to add to the report (e.g. what else loaded the machine)"
    )
    parser.add_argument(
        "--output", type=pathlib.Path, default=RESULTS, help="directory for the report"
    )
    options = parser.parse_args(argv)
    options.ws_warmup = WS_ROUND_WARMUP
    if options.quick:
        options.duration, options.rounds, options.warmup = 1, 1, 1
        options.ws_warmup = WS_ROUND_WARMUP / 2
    if options.idle_connections is None:
        options.idle_connections = 2000 if options.quick else 10000
    if options.duration < 1 or options.rounds < 1 or options.warmup < 0:
        parser.error("--duration and --rounds must be at least 1, --warmup at least 0")
    if options.idle_connections < 1 or options.ws_connections < 1:
        parser.error("--idle-connections and --ws-connections must be at least 1")
    for field, known in (("servers", SERVERS_BY_NAME), ("scenarios", SCENARIOS_BY_NAME)):
        value = getattr(options, field)
        if value:
            names = [name.strip() for name in value.split(",") if name.strip()]
            unknown = [name for name in names if name not in known]
            if unknown:
                parser.error(f"unknown {field}: {', '.join(unknown)} (known: {', '.join(known)})")
            setattr(options, field, names)
        else:
            setattr(options, field, list(known))
    return options


def check_tools() -> None:
    """wrk and taskset must be installed, and two CPUs present, or nothing is measured."""
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed. Install Debian's package:\n\n    apt-get install -y wrk\n",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if shutil.which("taskset") is None:
        print(
            "taskset is not installed (Debian package util-linux):\n\n    apt-get install -y util-linux\n",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if (os.cpu_count() or 1) < 2:
        print(
            "this benchmark pins the servers and the load generators to two different CPUs; "
            "only one is present",
            file=sys.stderr,
        )
        raise SystemExit(2)


def estimated_minutes(options: argparse.Namespace, servers: list[Server]) -> float:
    """A rough duration of the run, from its parameters (servers start and check in ~1 s)."""
    seconds = 0.0
    for name in options.scenarios:
        scenario = SCENARIOS_BY_NAME[name]
        taking_part = [
            server
            for server in servers
            if server.protocol == scenario.protocol and not server.reason_not_serving(name)
        ]
        if scenario.kind == "idle":
            # Opening runs at roughly 1,000-3,000 connections/s, plus settling and checks.
            seconds += len(taking_part) * (options.idle_connections / 1500 + 6)
            continue
        per_round = options.duration + (options.ws_warmup + 1 if scenario.kind == "ws-echo" else 0)
        seconds += len(taking_part) * (2 + options.warmup + options.rounds * per_round)
    if not options.no_extras:
        seconds += 20 if options.quick else 30
    return seconds / 60


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(sys.argv[1:] if argv is None else argv)
    check_tools()
    if options.nice:
        NICE[:] = ["nice", "-n", str(options.nice)]
    options.descriptor_problem = None
    if any(SCENARIOS_BY_NAME[name].kind == "idle" for name in options.scenarios):
        options.descriptor_problem = raise_descriptor_limit(
            options.idle_connections + SPARE_DESCRIPTORS
        )
        if options.descriptor_problem:
            print(f"[limits] {options.descriptor_problem}", file=sys.stderr, flush=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    clock = time.monotonic()
    servers = [SERVERS_BY_NAME[name] for name in options.servers]
    skipped: dict[str, str] = {}
    pythons: dict[str, pathlib.Path] = {}
    versions: dict[str, str] = {}
    for venv in dict.fromkeys(server.venv for server in servers):
        try:
            pythons[venv] = ensure_venv(venv, options.python)
            versions[venv] = package_versions(venv, pythons[venv])
        except subprocess.CalledProcessError as error:
            for server in servers:
                if server.venv == venv:
                    skipped[server.name] = f"could not build bench/.venvs/{venv}: {error}"
    for server in servers:
        if server.name in skipped:
            continue
        problem = probe(pythons[server.venv], server.probe, server.requirement)
        if problem:
            skipped[server.name] = f"does not run in bench/.venvs/{server.venv}: {problem}"
    for name, reason in skipped.items():
        marker = "FAILED" if SERVERS_BY_NAME[name].ours else "skip"
        print(f"[{marker}] {name}: {reason}", flush=True)
    runnable = [server for server in servers if server.name not in skipped]
    print(
        f"[plan] {len(options.scenarios)} scenario(s), {len(runnable)} server(s): "
        f"about {estimated_minutes(options, runnable):.0f} min",
        flush=True,
    )

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="cyclone-bench-") as temporary:
        work = pathlib.Path(temporary)
        for scenario_name in options.scenarios:
            results[scenario_name] = run_scenario(
                SCENARIOS_BY_NAME[scenario_name], servers, skipped, pythons, options, work
            )
        extras = [] if options.no_extras else run_extras(options, work)

    problems = cyclone_problems(results, servers, skipped, extras)
    if options.quick:
        set_name = "quick"
    elif options.scenarios == list(SCENARIOS_BY_NAME) and options.servers == list(SERVERS_BY_NAME):
        set_name = "full"
    else:
        set_name = "-".join(options.scenarios)
    report = build_report(
        options,
        results,
        skipped,
        versions,
        extras,
        problems,
        started,
        set_name,
        time.monotonic() - clock,
    )
    print("\n" + report)
    options.output.mkdir(parents=True, exist_ok=True)
    path = options.output / f"{started:%Y-%m-%d}-{set_name}.md"
    path.write_text(report)
    raw = {
        scenario: {name: measurement.as_dict() for name, measurement in measured.items()}
        for scenario, measured in results.items()
    }
    path.with_suffix(".json").write_text(
        json.dumps(
            {"options": vars(options), "skipped": skipped, "versions": versions, "results": raw},
            indent=1,
            default=str,
        )
    )
    written = [path]
    if set_name == "full" and not problems:
        latest = options.output / "latest.md"
        latest.write_text(report)
        written.append(latest)
    print(
        "written: "
        + ", ".join(
            str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in written
        )
    )
    if problems:
        print("\nFAILED: cyclone could not be measured:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
