"""Profile one benchmark server under one scenario's wrk load, to find where its time goes.

    python bench/profile.py cyclone_web hello               # 5 s of load, top 30 by own time
    python bench/profile.py cyclone_callback big --seconds 10 --sort cumulative --top 50

The server runs under cProfile in its bench/.venvs venv (built as bench/run.py
builds it), pinned to CPU 0 with wrk on CPU 1. cProfile slows the server several
times over, so read the split of the time, not the req/s. The raw profile is
kept in a temporary file whose path is printed, for snakeviz or ``pstats``.
"""

from __future__ import annotations

import argparse
import contextlib
import pathlib
import pstats
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import run as harness  # bench/run.py

_PROFILED = """
import cProfile, os, runpy, sys
script, port, output = sys.argv[1:4]
sys.argv = [script, port]
sys.path.insert(0, os.path.dirname(script))
profiler = cProfile.Profile()
profiler.enable()
try:
    runpy.run_path(script, run_name="__main__")
except KeyboardInterrupt:
    pass
finally:
    profiler.disable()
    profiler.dump_stats(output)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "server",
        choices=[server.name for server in harness.SERVERS if server.protocol == "http"],
    )
    parser.add_argument(
        "scenario",
        choices=[scenario.name for scenario in harness.SCENARIOS if scenario.kind == "wrk"],
    )
    parser.add_argument("--seconds", type=int, default=5, help="seconds of wrk load (default 5)")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--sort", default="tottime", help="pstats sort key (default tottime)")
    parser.add_argument("--top", type=int, default=30, help="rows to print (default 30)")
    options = parser.parse_args(argv)
    harness.check_tools()
    server = harness.SERVERS_BY_NAME[options.server]
    scenario = harness.SCENARIOS_BY_NAME[options.scenario]
    python = harness.ensure_venv(server.venv, sys.executable)
    problem = harness.probe(python, server.probe, server.requirement)
    if problem:
        print(f"{server.name} cannot run: {problem}", file=sys.stderr)
        return 1
    work = pathlib.Path(tempfile.mkdtemp(prefix="cyclone-profile-"))
    output = work / f"{server.name}-{scenario.name}.prof"
    instance = harness.RunningServer(
        server, python, work, python_arguments=("-c", _PROFILED), extra_arguments=(str(output),)
    )
    try:
        instance.wait_until_listening()
        harness.check_response(instance.port, scenario)
        script = harness.write_wrk_script(scenario, work)
        url = f"http://127.0.0.1:{instance.port}{scenario.path}"
        totals = harness.run_wrk(url, scenario, script, options.seconds, options.connections)
        print(f"{totals['requests']} requests in {options.seconds} s under the profiler")
    finally:
        # SIGINT stops both Twisted's reactor and Tornado's loop, so the profile is written.
        instance.process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            instance.process.wait(timeout=30)
        instance.stop()
    if not output.exists():
        print(f"no profile written; server log: {instance.log_tail(20)}")
        return 1
    stats = pstats.Stats(str(output))
    stats.sort_stats(options.sort).print_stats(options.top)
    print(f"profile: {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
