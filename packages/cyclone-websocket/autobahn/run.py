"""Run the Autobahn|Testsuite fuzzingclient against echo_server.py and summarise the report.

    python run.py --wstest PATH/TO/wstest [--full] [--results RESULTS.md]

``nox -s autobahn`` builds the Python 2.7 virtualenv holding ``wstest`` and calls this.
Exits 1 if any case's behaviour (or closing behaviour) is FAILED (or UNIMPLEMENTED);
OK, NON-STRICT and INFORMATIONAL pass.

Cases 1-10 all run. Sections 12 and 13 (permessage-deflate) send 1000 messages per case
through Autobahn's pure-Python-2 deflate, which takes tens of minutes for the big
payloads, so by default only payloads up to 8 KiB run there (sub-cases 1-6 unfragmented,
11 fragmented in 256-byte frames); ``--full`` runs all of 12 and 13.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}
BASE_CASES = ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*"]
QUICK_COMPRESSION = ["12.*.[1-6]$", "12.*.11$", "13.*.[1-6]$", "13.*.11$"]
FULL_COMPRESSION = ["12.*", "13.*"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"echo server exited with status {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"echo server did not listen on port {port} within {timeout} s")


def summarise(index: dict, seconds: float, full: bool) -> tuple[str, int]:
    """Markdown counts per section and behaviour; the number of failed cases."""
    results = index["cyclone"]
    by_section: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    failed = []
    durations: collections.Counter[str] = collections.Counter()
    for case, result in results.items():
        section = case.split(".")[0]
        behaviour = result["behavior"]
        closing = result["behaviorClose"]
        by_section[section][behaviour] += 1
        by_section[section][f"close {closing}"] += 1
        durations[section] += result.get("duration", 0)
        if behaviour not in PASSING or closing not in PASSING:
            failed.append(f"{case}: {behaviour} / close {closing}")
    columns = ["OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "UNIMPLEMENTED"]
    lines = [
        "| section | cases | " + " | ".join(columns) + " | closing OK | case time (s) |",
        "|---|---:|" + "---:|" * (len(columns) + 2),
    ]
    for section in sorted(by_section, key=int):
        counts = by_section[section]
        total = sum(counts[c] for c in counts if not c.startswith("close "))
        close_ok = sum(counts[f"close {c}"] for c in PASSING)
        lines.append(
            f"| {section} | {total} | "
            + " | ".join(str(counts[c]) for c in columns)
            + f" | {close_ok} | {durations[section] / 1000:.1f} |"
        )
    scope = "all of 12 and 13" if full else "12/13 payloads up to 8 KiB (sub-cases 1-6, 11)"
    header = [
        "# Autobahn|Testsuite: cyclone.websocket",
        "",
        f"`nox -s autobahn{' -- --full' if full else ''}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: the fuzzingclient of "
        "autobahntestsuite (CPython 2.7) against `echo_server.py` (cyclone.routing.Router + "
        "WebSocketHandler, permessage-deflate enabled), loopback.",
        "",
        f"{len(results)} cases ({scope}), wall time {seconds:.0f} s, {len(failed)} failed.",
        "A case passes when its behaviour and its closing behaviour are OK, NON-STRICT or "
        "INFORMATIONAL. Case time is the sum of Autobahn's per-case durations.",
        "",
    ]
    if failed:
        lines += ["", "Failed:", *[f"- {line}" for line in sorted(failed)]]
    return "\n".join(header + lines) + "\n", len(failed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wstest", required=True, help="the wstest script of autobahntestsuite")
    parser.add_argument("--full", action="store_true", help="run all of sections 12 and 13")
    parser.add_argument("--results", help="write the markdown summary to this file")
    parser.add_argument("--python", default=sys.executable, help="Python that runs the server")
    options = parser.parse_args()

    port = free_port()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="autobahn-"))
    spec = {
        "outdir": str(workdir / "reports"),
        "servers": [{"agent": "cyclone", "url": f"ws://127.0.0.1:{port}"}],
        "cases": BASE_CASES + (FULL_COMPRESSION if options.full else QUICK_COMPRESSION),
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }
    (workdir / "fuzzingclient.json").write_text(json.dumps(spec, indent=2))
    server_log = open(workdir / "server.log", "w")
    server = subprocess.Popen(
        [options.python, str(HERE / "echo_server.py"), str(port)],
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    started = time.monotonic()
    try:
        wait_listening(port, server)
        subprocess.run(
            [options.wstest, "-m", "fuzzingclient", "-s", "fuzzingclient.json"],
            cwd=workdir,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        server_log.close()
    seconds = time.monotonic() - started
    index = json.loads((workdir / "reports" / "index.json").read_text())
    summary, failed = summarise(index, seconds, options.full)
    print(summary)
    print(f"full report: {workdir / 'reports' / 'index.html'}", file=sys.stderr)
    if options.results:
        results = pathlib.Path(options.results)
        # Keep the hand-written "## Notes" (explanations of non-OK cases) across runs.
        previous = results.read_text() if results.exists() else ""
        notes = previous[previous.find("\n## Notes") :] if "\n## Notes" in previous else ""
        results.write_text(summary + notes)
    return 1 if failed else 0


if __name__ == "__main__":
    os.chdir(HERE)
    sys.exit(main())
