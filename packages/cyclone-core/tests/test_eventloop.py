"""Serving on a running asyncio loop: Tornado's ``asyncio.run`` + ``listen``, and what else starts one."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from asyncio_helpers import ASYNCIO_APP, get_json, upstream_echo_server
from deploy_helpers import ServerProcess


@pytest.fixture
def upstream():
    with upstream_echo_server() as port:
        yield port


@pytest.fixture
def run_app(tmp_path: Path, upstream: int):
    (tmp_path / "aioapp.py").write_text(ASYNCIO_APP)
    started: list[ServerProcess] = []

    def run(mode: str) -> ServerProcess:
        process = ServerProcess(
            [sys.executable, "aioapp.py", mode], tmp_path, env={"UPSTREAM_PORT": str(upstream)}
        )
        started.append(process)
        return process

    yield run
    for process in started:
        process.kill()


@pytest.mark.parametrize("mode", ["asyncio-run", "install-then-asyncio-run", "reactor-run"])
def test_a_handler_awaits_asyncio_and_deferreds_in_one_function(run_app, mode: str) -> None:
    server = run_app(mode)
    address = server.wait_serving()
    status, body = get_json(address, "/mixed")
    assert status == 200, server.output
    assert body == {
        "prepared": "prepared",
        "echoed": "ping",
        "deferred": "from a Deferred",
        "task": True,
        "slept": True,
        "reactor": "AsyncioSelectorReactor",
    }


def test_tornados_entry_point_stops_on_ctrl_c_after_twisted_shut_down(run_app) -> None:
    server = run_app("asyncio-run")
    address = server.wait_serving()
    assert get_json(address, "/mixed")[0] == 200
    server.signal(signal.SIGINT)
    assert server.wait_exit() == 0
    assert "stopped by Ctrl-C" in server.output
    assert "Traceback" not in server.output


def test_asyncio_run_after_the_default_reactor_was_imported_says_how_to_fix_it(run_app) -> None:
    server = run_app("default-then-asyncio-run")
    assert server.wait_exit() == 1
    assert "cyclone.eventloop.ReactorMismatch" in server.output
    assert "EPollReactor is installed" in server.output or "Reactor is installed" in server.output
    assert "asyncioreactor.install()" in server.output


def test_listen_in_a_plain_reactor_run_program_serves_on_the_default_reactor(run_app) -> None:
    server = run_app("default-reactor")
    address = server.wait_serving()
    status, body = get_json(address, "/fail?kind=deferred")
    assert status == 500
    assert body["error"] == "ZeroDivisionError: division by zero"


def test_awaiting_asyncio_on_the_default_reactor_fails_with_one_clear_error(run_app) -> None:
    server = run_app("default-reactor")
    address = server.wait_serving()
    status, body = get_json(address, "/mixed")
    assert status == 500
    assert body["error"].startswith("AsyncioReactorRequired: prepare() at ")
    assert "aioapp.py" in body["error"]
    assert "Twisted's asyncio reactor, but the reactor is EPollReactor" in body["error"]
    assert "asyncio.run()" in body["error"] and "twistd -r asyncio" in body["error"]
