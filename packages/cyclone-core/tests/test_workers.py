"""The worker pool, run for real: twistd -n cyclone --workers=N in a subprocess."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import ssl
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from deploy_helpers import PROCESS_TIMEOUT, TEST_APP, ServerProcess, make_certificates, twistd

WORKER_SERVING = r"worker (\d+) serving"


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "testapp.py").write_text(TEST_APP)
    return tmp_path


@pytest.fixture
def pool(app_dir: Path):
    started: list[ServerProcess] = []

    def start(
        *extra: str, workers: int = 2, twistd_options: tuple[str, ...] = ()
    ) -> tuple[ServerProcess, object, set[int]]:
        if not any(option.startswith("--ssl-port") for option in extra):
            extra = ("--port=0", *extra)
        server = ServerProcess(
            twistd(
                "-n",
                *twistd_options,
                "cyclone",
                "--app=testapp.Application",
                f"--workers={workers}",
                "--shutdown-timeout=20",
                *extra,
            ),
            app_dir,
        )
        started.append(server)
        address = server.wait_serving()
        pids = {int(server.wait_for(WORKER_SERVING).group(1)) for _ in range(workers)}
        return server, address, pids

    yield start
    for server in started:
        server.kill()


def get_pid(address, block: float = 0.0) -> int:
    connection = http.client.HTTPConnection(address.host, address.port, timeout=PROCESS_TIMEOUT)
    try:
        connection.request("GET", f"/pid?block={block}")
        response = connection.getresponse()
        assert response.status == 200
        return json.loads(response.read())["pid"]
    finally:
        connection.close()


def pids_answering(address, expected: set[int], most: int = 30) -> set[int]:
    """Pids seen from staggered requests that each keep their worker busy a moment.

    A worker blocked in one request does not accept, so the next connection
    (started while it is busy) goes to another worker. Stops as soon as every
    expected pid answered, after ``most`` requests at the latest.
    """
    seen: set[int] = set()
    with ThreadPoolExecutor(4) as executor:
        futures = []
        for _ in range(most):
            futures.append(executor.submit(get_pid, address, 0.3))
            time.sleep(0.1)
            seen.update(f.result() for f in futures if f.done())
            if seen >= expected:
                break
        seen.update(f.result() for f in futures)
    return seen


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def wait_gone(pid: int) -> None:
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while is_running(pid):
        assert time.monotonic() < deadline, f"process {pid} is still running"
        time.sleep(0.05)


def test_load_spreads_over_the_workers(pool) -> None:
    server, address, pids = pool()
    assert len(pids) == 2
    assert pids_answering(address, pids) == pids


def test_a_killed_worker_is_replaced_by_a_new_one(pool) -> None:
    server, address, pids = pool()
    victim, survivor = sorted(pids)
    os.kill(victim, signal.SIGKILL)
    server.wait_for(rf"worker {victim} died")
    replacement = int(server.wait_for(WORKER_SERVING).group(1))
    assert replacement not in pids
    assert pids_answering(address, {survivor, replacement}) == {survivor, replacement}


def test_sigterm_lets_a_request_in_flight_in_a_worker_finish(pool, app_dir: Path) -> None:
    server, address, pids = pool()
    release = app_dir / "release"
    with socket.create_connection((address.host, address.port), PROCESS_TIMEOUT) as sock:
        sock.sendall(f"GET /slow?release={release} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received = b""
        while b"started" not in received:
            received += sock.recv(65536)
        server.signal(signal.SIGTERM)
        server.wait_for("stopping 2 workers")
        # Both workers got SIGTERM and stopped listening; one is still answering us.
        server.wait_for(r"worker \d+ stopped")
        release.touch()
        while chunk := sock.recv(65536):
            received += chunk
    assert received.endswith(b"9\r\nfinished\n\r\n0\r\n\r\n")
    assert server.wait_exit() in (0, -signal.SIGTERM)
    assert "Server Shut Down." in server.output
    for pid in pids:
        wait_gone(pid)


def test_workers_stop_when_the_parent_is_killed(pool) -> None:
    server, address, pids = pool()
    server.process.send_signal(signal.SIGKILL)
    server.wait_exit()
    for pid in pids:
        wait_gone(pid)


def test_workers_serve_tls_on_the_shared_socket(pool, app_dir: Path) -> None:
    certs = make_certificates(app_dir, ["alpha.test"])
    server, address, pids = pool(
        "--ssl-port=0",
        f"--ssl-cert={certs['alpha.test.crt']}",
        f"--ssl-key={certs['alpha.test.key']}",
    )
    assert address.scheme == "https"
    context = ssl.create_default_context(cafile=str(certs["ca"]))
    connection = http.client.HTTPSConnection(
        address.host, address.port, timeout=PROCESS_TIMEOUT, context=context
    )
    context.check_hostname = False
    connection.request("GET", "/pid")
    assert json.loads(connection.getresponse().read())["pid"] in pids
    connection.close()


def test_workers_run_the_reactor_twistd_was_told_to_use(pool) -> None:
    server, address, pids = pool(twistd_options=("--reactor=poll",))
    assert get_pid(address) in pids
    assert sum("serving testapp.Application (PollReactor)" in line for line in server.lines) == 2


def test_a_worker_that_cannot_start_is_retried_with_growing_delays(app_dir: Path) -> None:
    server = ServerProcess(
        twistd("-n", "cyclone", "--app=testapp:broken", "--port=0", "--workers=2"), app_dir
    )
    try:
        server.wait_serving()
        server.wait_for(r"worker \d+: RuntimeError: this application cannot start")
        delays = []
        while len(delays) < 3:
            match = server.wait_for(
                r"worker \d+ died \(exit 1, signal None\); restarting in (\S+)s"
            )
            delays.append(float(match.group(1)))
        assert delays[0] > 0
        assert max(delays) > min(delays)
        server.signal(signal.SIGTERM)
        assert server.wait_exit() in (0, -signal.SIGTERM)
        assert "Server Shut Down." in server.output
    finally:
        server.kill()


def test_workers_on_the_asyncio_reactor_run_asyncio_handlers(tmp_path: Path) -> None:
    from asyncio_helpers import ASYNCIO_APP, get_json, upstream_echo_server

    (tmp_path / "aioapp.py").write_text(ASYNCIO_APP)
    with upstream_echo_server() as upstream:
        server = ServerProcess(
            twistd(
                "-n",
                "-r",
                "asyncio",
                "cyclone",
                "--app=aioapp:make_app",
                "--port=0",
                "--workers=2",
            ),
            tmp_path,
            env={"UPSTREAM_PORT": str(upstream)},
        )
        try:
            address = server.wait_serving()
            for _ in range(2):
                server.wait_for(WORKER_SERVING + r" aioapp:make_app \(AsyncioSelectorReactor\)")
            for _ in range(4):
                status, body = get_json(address, "/mixed")
                assert status == 200, server.output
                assert body["echoed"] == "ping" and body["task"] is True
        finally:
            server.kill()
