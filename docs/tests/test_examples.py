"""Every example program the documentation includes runs, and prints what the page shows."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = DOCS / "examples"
RUNNER = pathlib.Path(__file__).resolve().parent / "run_example.py"
TWISTD = str(pathlib.Path(sys.executable).parent / "twistd")
TIMEOUT = 60


def run(arguments: list[str], cwd: pathlib.Path = EXAMPLES) -> str:
    result = subprocess.run(
        [sys.executable, *arguments], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def expected(name: str) -> str:
    return (EXAMPLES / name).read_text()


@pytest.mark.parametrize("example", ["core", "web", "websocket", "rpc", "sqlite"])
def test_the_example_prints_what_the_guide_shows(example):
    assert run([f"{example}_example.py"]) == expected(f"{example}_example.out")


@pytest.mark.parametrize(
    "runner,summary",
    [
        (["-m", "twisted.trial"], "PASSED (successes=3)"),
        (["-m", "pytest", "-q", "-p", "no:cacheprovider"], "3 passed"),
    ],
)
def test_the_tornado_style_testing_example_passes_under_trial_and_pytest(
    tmp_path, runner, summary
):
    shutil.copy(EXAMPLES / "test_hello_tornado_style.py", tmp_path)
    argument = "test_hello_tornado_style" if "trial" in runner[1] else "."
    assert summary in run([*runner, argument], cwd=tmp_path)


def test_the_skel_example_lists_the_generated_project(tmp_path):
    assert run([str(EXAMPLES / "skel_example.py"), str(tmp_path)]) == expected("skel_example.out")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_mail_example_sends_to_an_smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    port = free_port()
    received = []

    class Recorder(Sink):
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    controller = Controller(Recorder(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        output = run(["mail_example.py", "127.0.0.1", str(port)])
    finally:
        controller.stop()
    assert output == "accepted: ['bob@example.com']\n"
    assert received[0].rcpt_tos == ["bob@example.com"]
    assert b"report.csv" in received[0].content


@pytest.fixture
def redis_url(tmp_path):
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is missing; .ci/run installs it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_redis_example_counts_visits(redis_url):
    assert run(["redis_example.py", redis_url]) == expected("redis_example.out")


def serve(arguments: list[str], cwd: pathlib.Path = EXAMPLES) -> tuple[subprocess.Popen, int]:
    """Start an example server through the runner; returns it and the port it listens on."""
    process = subprocess.Popen(
        [sys.executable, str(RUNNER), *arguments],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(EXAMPLES)},
    )
    assert process.stdout is not None
    watchdog = threading.Timer(TIMEOUT, process.kill)
    watchdog.start()
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("LISTENING 8888 "):
                return process, int(line.split()[2])
    finally:
        watchdog.cancel()
    process.wait(timeout=TIMEOUT)
    pytest.fail("the example did not listen on 8888:\n" + "".join(lines))


def get(port: int, path: str = "/") -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return str(response.read().decode())


@pytest.mark.parametrize(
    "arguments",
    [
        ["script", "hello_reactor.py"],
        ["twistd", "-n", "--pidfile=", "-y", "hello.tac"],
        ["asyncio", "hello_asyncio.py"],
    ],
    ids=["reactor.run", "twistd -ny hello.tac", "asyncio.run"],
)
def test_hello_world_answers(arguments):
    process, port = serve(arguments)
    try:
        assert get(port) == "Hello, world"
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)


def test_hello_world_runs_under_the_twistd_cyclone_plugin(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [
            TWISTD,
            "-n",
            "--pidfile=",
            "cyclone",
            "--app=hello_plugin.Application",
            f"--port={port}",
            "--interface=127.0.0.1",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(EXAMPLES)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                assert get(port) == "Hello, world"
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("twistd cyclone did not serve hello_plugin.Application")
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)


def readme_programs() -> list[str]:
    """The Python programs the repository's README shows, in order."""
    text = (DOCS.parent / "README.md").read_text()
    return re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)


def test_the_readme_shows_both_start_up_forms():
    programs = readme_programs()
    assert any("reactor.run()" in program for program in programs)
    assert any("asyncio.run(" in program for program in programs)


@pytest.mark.parametrize("index", range(len(readme_programs())))
def test_each_readme_program_serves_hello_world(index, tmp_path):
    program = readme_programs()[index]
    script = tmp_path / f"readme_{index}.py"
    script.write_text(program)
    mode = "asyncio" if "asyncio.run(" in program else "script"
    process, port = serve([mode, str(script)], cwd=tmp_path)
    try:
        assert get(port) == "Hello, world"
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)
