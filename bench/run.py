"""Benchmark cyclone 2 against Tornado 6, cyclone 1.3 and a raw Twisted ceiling with wrk.

    python bench/run.py                 # full run: 3 rounds x 5 s per scenario and server
    python bench/run.py --quick         # smoke run: 1 round x 1 s, written to *-quick.md
    python bench/run.py --servers tornado,raw_twisted --scenarios hello,big

Every server runs pinned to CPU 0 (``taskset -c 0``) and wrk to CPU 1, on
loopback only. For each scenario the runner starts every server afresh, checks
that each one answers the route correctly, warms it up, then measures in rounds
that alternate between the servers (the order rotates each round), so machine
noise falls on all of them alike and the ratios within one run are fair.

Third-party frameworks are installed from PyPI into their own virtualenvs under
``bench/.venvs/`` and cyclone 2 from ``packages/``, by this script, so a fresh
machine reproduces the run. Results are printed as markdown and written to
``bench/results/<date>-<set>.md`` (and ``latest.md`` for full runs). See
bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import http.client
import json
import os
import pathlib
import platform
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
WRK_CPU = "1"
#: The `nice -n N` prefix for the servers and wrk; main() sets it from --nice.
NICE: list[str] = []
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Seconds a server gets to start listening; a cold venv import can take a few.
STARTUP_TIMEOUT = 30.0
#: Seconds for each extra benchmark module (template, websocket) to return.
EXTRA_TIMEOUT = 900
#: What bench/template_bench.py and bench/ws_*.py need beside cyclone (e.g. Tornado).
EXTRAS_REQUIREMENTS = BENCH / "requirements-extras.txt"

sys.path.insert(0, str(SERVERS_DIR))
import payloads  # noqa: E402  (bench/servers/payloads.py, shared with the servers)

# --------------------------------------------------------------------------- servers


@dataclasses.dataclass(frozen=True)
class Server:
    """One benchmarked server: a script in bench/servers run by a venv's Python."""

    name: str
    label: str
    script: str
    venv: str
    level: str  # "callback", "handler", "reference" or "ceiling"
    probe: str  # a module that must import in the venv, or the server is skipped


SERVERS = [
    Server(
        "cyclone_callback",
        "cyclone 2 callback",
        "cyclone_callback.py",
        "cyclone2-core",
        "callback",
        "cyclone.httpserver",
    ),
    Server(
        "cyclone_router",
        "cyclone 2 Router",
        "cyclone_router.py",
        "cyclone2-core",
        "handler",
        "cyclone.routing",
    ),
    Server("cyclone_web", "cyclone 2 web", "cyclone_web.py", "cyclone2", "handler", "cyclone.web"),
    Server("tornado", "Tornado 6", "tornado_app.py", "tornado", "reference", "tornado.web"),
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
    ),
]
SERVERS_BY_NAME = {server.name: server for server in SERVERS}


def _cyclone2_packages() -> list[pathlib.Path]:
    """cyclone-core, plus cyclone-web once it has its web module."""
    found = [PACKAGES / "cyclone-core"]
    if (PACKAGES / "cyclone-web" / "src" / "cyclone" / "web.py").exists():
        found.append(PACKAGES / "cyclone-web")
    return found


def _extras_packages() -> list[pathlib.Path]:
    """The cyclone distributions the template and WebSocket benchmarks may import."""
    found = []
    for name in ("core", "web", "websocket"):
        path = PACKAGES / f"cyclone-{name}"
        if any((path / "src" / "cyclone").rglob("*.py")):
            found.append(path)
    return found


def _venv_requirements(venv: str) -> list[list[str]]:
    """The pip install commands (argument lists) that build each venv, in order."""
    if venv == "tornado":
        return [["tornado>=6,<7"]]
    if venv == "twisted":
        return [["twisted"]]
    if venv == "cyclone13":
        # cyclone 1.3 pins twisted==19.2.1 and pyOpenSSL==19.0.0: Twisted 19.2.1 does not
        # compile on Python 3.11 and that pyOpenSSL does not import with a current
        # cryptography on any Python, so take cyclone 1.3 alone and a current Twisted.
        return [["--no-deps", "cyclone==1.3"], ["twisted"]]
    if venv == "cyclone2":
        return [["-e", str(path)] for path in _cyclone2_packages()]
    if venv == "cyclone2-core":
        return [["-e", str(PACKAGES / "cyclone-core")]]
    if venv == "extras":
        commands = [["-e", str(path)] for path in _extras_packages()]
        if EXTRAS_REQUIREMENTS.exists():
            commands.append(["-r", str(EXTRAS_REQUIREMENTS)])
        return commands
    raise ValueError(f"unknown venv {venv!r}")


def _venv_fingerprint(venv: str, python: str) -> str:
    """What the venv was built from; a change (new package, new deps) rebuilds it."""
    parts = [python, platform.python_version(), json.dumps(_venv_requirements(venv))]
    if venv == "cyclone2":
        parts += [(path / "pyproject.toml").read_text() for path in _cyclone2_packages()]
    if venv == "cyclone2-core":
        parts.append((PACKAGES / "cyclone-core" / "pyproject.toml").read_text())
    if venv == "extras":
        parts += [(path / "pyproject.toml").read_text() for path in _extras_packages()]
        if EXTRAS_REQUIREMENTS.exists():
            parts.append(EXTRAS_REQUIREMENTS.read_text())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def ensure_venv(venv: str, python: str) -> pathlib.Path:
    """Create or refresh bench/.venvs/<venv> and return its Python."""
    directory = VENVS / venv
    venv_python = directory / "bin" / "python"
    marker = directory / ".bench-fingerprint"
    fingerprint = _venv_fingerprint(venv, python)
    if venv_python.exists() and marker.exists() and marker.read_text() == fingerprint:
        return venv_python
    print(f"[setup] building {directory.relative_to(ROOT)} ...", flush=True)
    if directory.exists():
        shutil.rmtree(directory)
    subprocess.run([python, "-m", "venv", str(directory)], check=True)
    pip = [str(venv_python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for arguments in _venv_requirements(venv):
        subprocess.run([*pip, *arguments], check=True)
    marker.write_text(fingerprint)
    return venv_python


def probe(venv_python: pathlib.Path, module: str) -> str | None:
    """Return None if ``module`` imports in that venv, else the error's last line."""
    result = subprocess.run(
        [str(venv_python), "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=SERVERS_DIR,
    )
    if result.returncode == 0:
        return None
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {result.returncode}"


def package_versions(venv_python: pathlib.Path) -> str:
    """A short 'name version' list of the interesting packages in a venv."""
    code = (
        "import importlib.metadata as m\n"
        "out = []\n"
        "for name in ('cyclone-core', 'cyclone-web', 'cyclone', 'tornado', 'twisted'):\n"
        "    try:\n"
        "        out.append(name + ' ' + m.version(name))\n"
        "    except m.PackageNotFoundError:\n"
        "        pass\n"
        "import platform\n"
        "out.append('Python ' + platform.python_version())\n"
        "print(', '.join(out))\n"
    )
    result = subprocess.run([str(venv_python), "-c", code], capture_output=True, text=True)
    return result.stdout.strip() or "?"


def _free_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


class RunningServer:
    """A server process pinned to SERVER_CPU, with its CPU time and peak memory."""

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

    def peak_rss_mib(self) -> float:
        """VmHWM: the largest resident set the process has had, in MiB."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

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


# --------------------------------------------------------------------------- scenarios


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One request shape, sent by wrk to the same route on every server."""

    name: str
    title: str
    path: str
    wrk_headers: tuple[str, ...] = ()
    request_script: str | None = None  # a bench/wrk/*.lua file that shapes the request


SCENARIOS = [
    Scenario("hello", "GET /hello, keep-alive", "/hello"),
    Scenario(
        "hello-close", "GET /hello, Connection: close", "/hello", ("-H", "Connection: close")
    ),
    Scenario("json", "GET /json (~1 KB JSON document)", "/json"),
    Scenario("big", "GET /big (256 KiB body)", "/big"),
    Scenario("form", "POST /form (20 urlencoded fields)", "/form", (), "form.lua"),
]
SCENARIOS_BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}

FORM_BODY = urllib.parse.urlencode(payloads.FORM_FIELDS)


def check_response(port: int, scenario: Scenario) -> None:
    """Fetch the scenario's route once and raise if the answer is not the expected one."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {}
        if scenario.wrk_headers:
            name, value = scenario.wrk_headers[1].split(": ", 1)
            headers[name] = value
        if scenario.name == "form":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request("POST", scenario.path, body=FORM_BODY, headers=headers)
        else:
            connection.request("GET", scenario.path, headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(
            f"{scenario.path} answered {response.status} {response.reason}: {body[:200]!r}"
        )
    if scenario.path == "/hello":
        ok = body == payloads.HELLO
    elif scenario.path == "/json":
        ok = json.loads(body) == payloads.JSON_DOCUMENT
    elif scenario.path == "/big":
        ok = body == payloads.BIG
    else:
        ok = body.strip() == payloads.FORM_ANSWER
    if not ok:
        raise RuntimeError(
            f"{scenario.path} answered a wrong body ({len(body)} bytes): {body[:80]!r}"
        )


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
    """Run wrk pinned to WRK_CPU and return report.lua's totals."""
    command = [
        *NICE,
        "taskset",
        "-c",
        WRK_CPU,
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


@dataclasses.dataclass
class Measurement:
    """The rounds of one server in one scenario."""

    rounds: list[dict] = dataclasses.field(default_factory=list)
    peak_rss_mib: float = float("nan")
    failure: str | None = None

    @property
    def requests_per_second(self) -> float:
        return statistics.median(r["requests"] / (r["duration_us"] / 1e6) for r in self.rounds)

    @property
    def spread(self) -> float:
        """(max - min) / median of the rounds' req/s: how much the rounds disagree."""
        rates = [r["requests"] / (r["duration_us"] / 1e6) for r in self.rounds]
        return (max(rates) - min(rates)) / statistics.median(rates)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r["p99_us"] for r in self.rounds) / 1000

    @property
    def cpu_us_per_request(self) -> float:
        requests = sum(r["requests"] for r in self.rounds)
        return (
            sum(r["cpu_seconds"] for r in self.rounds) / requests * 1e6
            if requests
            else float("nan")
        )

    @property
    def errors(self) -> int:
        keys = ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
        return sum(r[key] for r in self.rounds for key in keys)

    def as_dict(self) -> dict:
        data = {"rounds": self.rounds, "peak_rss_mib": self.peak_rss_mib, "failure": self.failure}
        if self.rounds:
            data.update(
                requests_per_second=self.requests_per_second,
                p99_ms=self.p99_ms,
                cpu_us_per_request=self.cpu_us_per_request,
                errors=self.errors,
            )
        return data


def run_scenario(
    scenario: Scenario,
    servers: list[Server],
    pythons: dict[str, pathlib.Path],
    options: argparse.Namespace,
    work: pathlib.Path,
) -> dict[str, Measurement]:
    """Start every server, check it, warm it up, then measure in interleaved rounds."""
    print(f"\n== {scenario.title}", flush=True)
    script = write_wrk_script(scenario, work)
    results = {server.name: Measurement() for server in servers}
    running: dict[str, RunningServer] = {}
    try:
        for server in servers:
            instance = RunningServer(server, pythons[server.venv], work)
            running[server.name] = instance
        for name, instance in running.items():
            try:
                instance.wait_until_listening()
                check_response(instance.port, scenario)
                if options.warmup:
                    run_wrk(
                        f"http://127.0.0.1:{instance.port}{scenario.path}",
                        scenario,
                        script,
                        options.warmup,
                        options.connections,
                    )
            except (
                RuntimeError,
                OSError,
                ValueError,
                http.client.HTTPException,
                subprocess.TimeoutExpired,
            ) as error:
                results[name].failure = f"{type(error).__name__}: {error}"
                print(f"   {name}: FAILED before measuring: {results[name].failure}", flush=True)
        live = [name for name in running if results[name].failure is None]
        for round_index in range(options.rounds):
            shift = round_index % len(live) if live else 0
            for name in live[shift:] + live[:shift]:
                if results[name].failure:
                    continue
                instance = running[name]
                url = f"http://127.0.0.1:{instance.port}{scenario.path}"
                try:
                    before = instance.cpu_seconds()
                    totals = run_wrk(url, scenario, script, options.duration, options.connections)
                    totals["cpu_seconds"] = instance.cpu_seconds() - before
                    if instance.process.poll() is not None:
                        raise RuntimeError(
                            f"server exited with status {instance.process.returncode}"
                        )
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                    results[
                        name
                    ].failure = (
                        f"{type(error).__name__}: {error} | server log: {instance.log_tail()}"
                    )
                    print(f"   {name}: FAILED: {results[name].failure}", flush=True)
                    continue
                results[name].rounds.append(totals)
                rate = totals["requests"] / (totals["duration_us"] / 1e6)
                print(
                    f"   round {round_index + 1}/{options.rounds}  {name:<17} {rate:>10.0f} req/s"
                    f"  p99 {totals['p99_us'] / 1000:7.2f} ms"
                    f"  cpu {totals['cpu_seconds']:.2f} s",
                    flush=True,
                )
        for name, instance in running.items():
            if instance.process.poll() is None:
                results[name].peak_rss_mib = instance.peak_rss_mib()
    finally:
        for instance in running.values():
            instance.stop()
    return results


# --------------------------------------------------------------------------- targets


@dataclasses.dataclass(frozen=True)
class Target:
    """A goal of issue 2/3: ``server`` does ``factor`` times ``reference``'s req/s."""

    server: str
    scenario: str
    reference: str
    factor: float


TARGETS = [
    Target("cyclone_callback", "hello", "raw_twisted", 0.5),
    Target("cyclone_callback", "big", "tornado", 2.0),
]
for _handler_server in ("cyclone_web", "cyclone_router"):
    TARGETS += [
        Target(_handler_server, "hello", "cyclone13", 1.3),
        Target(_handler_server, "hello", "tornado", 2.5),
        Target(_handler_server, "json", "tornado", 2.0),
        Target(_handler_server, "form", "tornado", 2.0),
        Target(_handler_server, "big", "tornado", 2.0),
    ]


def _measured(results: dict, scenario: str, server: str) -> Measurement | None:
    measurement = results.get(scenario, {}).get(server)
    if measurement is None or not measurement.rounds or measurement.failure:
        return None
    return measurement


def _rate(results: dict, scenario: str, server: str) -> float | None:
    measurement = _measured(results, scenario, server)
    return None if measurement is None else measurement.requests_per_second


def cpu_ratio(results: dict, target: Target) -> float | None:
    """How many times less CPU per request the server used than the reference."""
    mine = _measured(results, target.scenario, target.server)
    theirs = _measured(results, target.scenario, target.reference)
    if mine is None or theirs is None or not mine.cpu_us_per_request:
        return None
    return theirs.cpu_us_per_request / mine.cpu_us_per_request


def evaluate_targets(
    results: dict, servers: list[Server]
) -> list[tuple[Target, float | None, str]]:
    """Each target with the measured ratio and PASS, MISS or N/A (and why)."""
    names = {server.name for server in servers}
    evaluated = []
    for target in TARGETS:
        if (
            target.server == "cyclone_router"
            and "cyclone_web" in names
            and _rate(results, target.scenario, "cyclone_web")
        ):
            continue  # the Router only stands in for the handler level until cyclone.web is measured
        if target.server not in names and target.server == "cyclone_router":
            continue
        mine = _rate(results, target.scenario, target.server)
        theirs = _rate(results, target.scenario, target.reference)
        if mine is None or theirs is None:
            missing = target.server if mine is None else target.reference
            evaluated.append((target, None, f"N/A ({missing} not measured)"))
            continue
        ratio = mine / theirs
        verdict = "PASS" if ratio >= target.factor else "MISS"
        for name in (target.server, target.reference):
            measured = _measured(results, target.scenario, name)
            if measured and sum(r["status_errors"] + r["timeouts"] for r in measured.rounds):
                verdict += f" ({name} had error answers or timeouts: see its table)"
        evaluated.append((target, ratio, verdict))
    return evaluated


# --------------------------------------------------------------------------- report


def _format_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def scenario_table(results: dict[str, Measurement], servers: list[Server]) -> list[str]:
    def rate(name: str) -> float | None:
        measurement = results.get(name)
        if measurement is None or not measurement.rounds or measurement.failure:
            return None
        return measurement.requests_per_second

    references = [rate("tornado"), rate("cyclone13"), rate("raw_twisted")]
    lines = [
        "| server | req/s | × Tornado | × cyclone 1.3 | × raw Twisted | p99 ms | CPU µs/req | peak RSS MiB | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for server in servers:
        measurement = results[server.name]
        if measurement.failure or not measurement.rounds:
            reason = (measurement.failure or "no rounds").replace("|", "/")[:160]
            lines.append(f"| {server.label} | failed: {reason} | | | | | | | |")
            continue
        mine = measurement.requests_per_second
        ratios = [_format_ratio(mine / ref if ref else None) for ref in references]
        spread = f" ±{measurement.spread / 2:.0%}" if len(measurement.rounds) > 1 else ""
        lines.append(
            f"| {server.label} | {mine:,.0f}{spread} | {' | '.join(ratios)} | {measurement.p99_ms:.2f} | "
            f"{measurement.cpu_us_per_request:.1f} | {measurement.peak_rss_mib:.1f} | {measurement.errors} |"
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
    """Call run() of bench/template_bench.py and bench/ws_*.py, each in its own process."""
    files = [BENCH / "template_bench.py", *sorted(BENCH.glob("ws_*.py"))]
    found: list[tuple[str, object, str | None]] = []
    if not any(path.exists() for path in files):
        return found
    try:
        python = str(ensure_venv("extras", options.python))
    except subprocess.CalledProcessError as error:
        python = options.python
        print(f"[setup] could not build bench/.venvs/extras ({error}); using {python}", flush=True)
    for path in files:
        if not path.exists():
            continue
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
            continue
        sys.stdout.write(completed.stdout)
        if completed.returncode != 0 or not output.exists():
            tail = " | ".join(completed.stderr.strip().splitlines()[-4:])
            found.append((path.name, None, f"failed with status {completed.returncode}: {tail}"))
            print(f"   failed: {tail}", flush=True)
            continue
        found.append((path.name, json.loads(output.read_text()), None))
    return found


def build_report(
    options: argparse.Namespace,
    results: dict[str, dict[str, Measurement]],
    servers: list[Server],
    skipped: dict[str, str],
    versions: dict[str, str],
    extras: list[tuple[str, object, str | None]],
    started: datetime.datetime,
    set_name: str,
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
    lines = [
        f"# HTTP benchmark, {started:%Y-%m-%d %H:%M} UTC ({set_name})",
        "",
        f"- Machine: {os.cpu_count()} CPUs ({cpu_model}), Linux {platform.release()}; "
        f"server pinned to CPU {SERVER_CPU}, wrk to CPU {WRK_CPU}, both at nice {options.nice}; "
        "loopback.",
        f"- wrk: 1 thread, {options.connections} connections, {options.rounds} round(s) × {options.duration} s "
        f"per server and scenario after a {options.warmup} s warm-up; rounds alternate between servers.",
        f"- Repository commit: {commit.stdout.strip() or '?'}.",
        "- req/s and p99 are medians over the rounds; CPU µs/req is the server's user+system time over "
        "all measured requests; peak RSS is the server's VmHWM at the end of the scenario.",
    ]
    if options.note:
        lines.append(f"- Note: {options.note}")
    lines += ["", "Versions:", ""]
    lines += [f"- {venv}: {text}" for venv, text in versions.items()]
    if skipped:
        lines += ["", "Not measured:", ""]
        lines += [f"- {name}: {reason}" for name, reason in skipped.items()]
    for scenario_name, scenario_results in results.items():
        lines += ["", f"## {SCENARIOS_BY_NAME[scenario_name].title}", ""]
        lines += scenario_table(scenario_results, servers)
    lines += [
        "",
        "## Targets (issue 2/3)",
        "",
        "Judged on req/s. *By CPU* is the reference's CPU µs/req divided by the server's:",
        "the same comparison as if each had had a whole core, a cross-check on a busy machine.",
        "",
        "| target | req/s ratio | by CPU | result |",
        "|---|---:|---:|---|",
    ]
    for target, ratio, verdict in evaluate_targets(results, servers):
        server = SERVERS_BY_NAME[target.server].label
        reference = SERVERS_BY_NAME[target.reference].label
        text = f"{server} {target.scenario} ≥ {target.factor:g}× {reference}"
        by_cpu = _format_ratio(cpu_ratio(results, target))
        lines.append(f"| {text} | {_format_ratio(ratio)} | {by_cpu} | {verdict} |")
    for filename, result, error in extras:
        lines += ["", f"## {filename}", ""]
        lines += [f"Not measured: {error}"] if error else _render_extra(result)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 round of 1 s, 1 s warm-up"
    )
    parser.add_argument(
        "--duration", type=int, default=5, help="seconds per measured wrk run (default 5)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="measured rounds per server and scenario (default 3)"
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="seconds of unmeasured wrk load first (default 2)"
    )
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument(
        "--servers", help="comma-separated subset of: " + ", ".join(SERVERS_BY_NAME)
    )
    parser.add_argument(
        "--scenarios", help="comma-separated subset of: " + ", ".join(SCENARIOS_BY_NAME)
    )
    parser.add_argument(
        "--no-extras", action="store_true", help="skip template_bench.py and ws_*.py"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter the venvs are built from"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=-10 if os.geteuid() == 0 else 0,
        help="scheduling priority of servers and wrk (default -10 as root, so other work on "
        "the machine disturbs the run less; 0 turns it off)",
    )
    parser.add_argument(
        "--note", help="a line to add to the report (e.g. what else loaded the machine)"
    )
    parser.add_argument(
        "--output", type=pathlib.Path, default=RESULTS, help="directory for the report"
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.duration, options.rounds, options.warmup = 1, 1, 1
    if options.duration < 1 or options.rounds < 1 or options.warmup < 0:
        parser.error("--duration and --rounds must be at least 1, --warmup at least 0")
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
            "this benchmark pins the server and wrk to two different CPUs; only one is present",
            file=sys.stderr,
        )
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(sys.argv[1:] if argv is None else argv)
    check_tools()
    if options.nice:
        NICE[:] = ["nice", "-n", str(options.nice)]
    started = datetime.datetime.now(datetime.timezone.utc)
    servers = [SERVERS_BY_NAME[name] for name in options.servers]
    skipped: dict[str, str] = {}
    pythons: dict[str, pathlib.Path] = {}
    versions: dict[str, str] = {}
    for venv in dict.fromkeys(server.venv for server in servers):
        try:
            pythons[venv] = ensure_venv(venv, options.python)
            versions[venv] = package_versions(pythons[venv])
        except subprocess.CalledProcessError as error:
            for server in servers:
                if server.venv == venv:
                    skipped[server.name] = f"could not build bench/.venvs/{venv}: {error}"
    for server in servers:
        if server.name in skipped:
            continue
        problem = probe(pythons[server.venv], server.probe)
        if problem:
            skipped[server.name] = (
                f"`{server.probe}` does not import in bench/.venvs/{server.venv} ({problem})"
            )
    for name, reason in skipped.items():
        print(f"[skip] {name}: {reason}", flush=True)
    servers = [server for server in servers if server.name not in skipped]
    if not servers:
        print("no server can run", file=sys.stderr)
        return 1

    results: dict[str, dict[str, Measurement]] = {}
    with tempfile.TemporaryDirectory(prefix="cyclone-bench-") as temporary:
        work = pathlib.Path(temporary)
        for scenario_name in options.scenarios:
            results[scenario_name] = run_scenario(
                SCENARIOS_BY_NAME[scenario_name], servers, pythons, options, work
            )
        extras = [] if options.no_extras else run_extras(options, work)

    if options.quick:
        set_name = "quick"
    elif options.scenarios == list(SCENARIOS_BY_NAME) and options.servers == list(SERVERS_BY_NAME):
        set_name = "http"
    else:
        set_name = "-".join(options.scenarios)
    report = build_report(options, results, servers, skipped, versions, extras, started, set_name)
    print("\n" + report)
    options.output.mkdir(parents=True, exist_ok=True)
    path = options.output / f"{started:%Y-%m-%d}-{set_name}.md"
    path.write_text(report)
    raw = {
        scenario: {name: measurement.as_dict() for name, measurement in measured.items()}
        for scenario, measured in results.items()
    }
    path.with_suffix(".json").write_text(
        json.dumps({"options": vars(options), "results": raw}, indent=1, default=str)
    )
    written = [path]
    if not options.quick:
        latest = options.output / "latest.md"
        latest.write_text(report)
        written.append(latest)
    print(
        "written: "
        + ", ".join(
            str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in written
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
