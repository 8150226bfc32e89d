"""Autoreload: real servers in subprocesses, real edits to the files they imported."""

from __future__ import annotations

import http.client
import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from deploy_helpers import PROCESS_TIMEOUT, ServerProcess, free_port, twistd

from cyclone import autoreload

#: The server script: /version answers with handlers.VERSION and the process id.
SERVER = textwrap.dedent(
    """
    import asyncio
    import os
    import sys

    import handlers
    from cyclone.routing import Router

    def make_app(**settings):
        return Router([(r"/version", handlers.Version)], **settings)

    if __name__ == "__main__":
        mode, port = sys.argv[1], int(sys.argv[2])
        if mode == "reactor-run":
            from twisted.internet import reactor

            make_app(debug=True).listen(port, "127.0.0.1")
            print("serving", flush=True)
            reactor.run()
        else:
            async def main():
                make_app(autoreload=True).listen(port, "127.0.0.1")
                print("serving", flush=True)
                await asyncio.Event().wait()

            asyncio.run(main())
    """
)

HANDLERS = textwrap.dedent(
    """
    import os

    from cyclone.handler import RequestHandler

    VERSION = {version}


    class Version(RequestHandler):
        def get(self):
            self.write({{"version": VERSION, "pid": os.getpid()}})
    """
)


def write_handlers(directory: Path, text: str) -> None:
    path = directory / "handlers.py"
    previous = path.stat().st_mtime if path.exists() else 0.0
    path.write_text(text)
    # Filesystems with coarse timestamps could keep the same mtime: make it move.
    modified = max(time.time(), previous + 1)
    os.utime(path, (modified, modified))


def version(port: int) -> dict | None:
    """The /version answer, or None while nothing answers (the process restarting)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/version")
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            return {"status": response.status, "body": body.decode()}
        return json.loads(body)
    except OSError:
        return None
    finally:
        connection.close()


def wait_for_version(port: int, expected: int) -> dict:
    deadline = time.monotonic() + PROCESS_TIMEOUT
    answer = None
    while time.monotonic() < deadline:
        answer = version(port)
        if answer is not None and answer.get("version") == expected:
            return answer
        time.sleep(0.1)
    raise AssertionError(f"version {expected} never served; last answer {answer}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "server.py").write_text(SERVER)
    write_handlers(tmp_path, HANDLERS.format(version=1))
    return tmp_path


@pytest.fixture
def processes():
    started: list[ServerProcess] = []

    def start(argv: list[str], cwd: Path) -> ServerProcess:
        process = ServerProcess(argv, cwd)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def edit_break_and_fix(project: Path, server: ServerProcess, port: int) -> list[int]:
    """Edit → reload, a syntax error → logged and the old code kept, the fix → reload."""
    first = wait_for_version(port, 1)
    write_handlers(project, HANDLERS.format(version=2))
    second = wait_for_version(port, 2)
    write_handlers(project, HANDLERS.format(version=3).replace("def get(self):", "def get(self)"))
    server.wait_for(r"handlers\.py does not compile.*SyntaxError")
    time.sleep(3 * autoreload.DEFAULT_CHECK_TIME)
    assert version(port) == second  # still serving the last good code
    write_handlers(project, HANDLERS.format(version=4))
    fourth = wait_for_version(port, 4)
    return [first["pid"], second["pid"], fourth["pid"]]


@pytest.mark.parametrize("mode", ["reactor-run", "asyncio-run"])
def test_a_script_re_executes_itself_on_an_edit_and_survives_a_syntax_error(
    project: Path, processes, mode: str
) -> None:
    port = free_port()
    server = processes([sys.executable, "server.py", mode, str(port)], project)
    server.wait_for("serving")
    pids = edit_break_and_fix(project, server, port)
    assert len(set(pids)) == 1  # os.execv keeps the process id
    server.wait_for(r"handlers\.py changed; restarting")


def test_twistd_reload_restarts_its_worker_and_shows_a_load_failure_until_fixed(
    project: Path, processes
) -> None:
    port = free_port()
    server = processes(
        twistd(
            "-n",
            "cyclone",
            "--app=server:make_app",
            f"--port={port}",
            "--interface=127.0.0.1",
            "--reload",
        ),
        project,
    )
    server.wait_serving()
    pids = edit_break_and_fix(project, server, port)
    assert len(set(pids)) == 3  # a new worker each time
    # An error at import (not a syntax error) is served as a 500 until the next edit.
    write_handlers(project, HANDLERS.format(version="undefined_name"))
    deadline = time.monotonic() + PROCESS_TIMEOUT
    answer = None
    while time.monotonic() < deadline:
        answer = version(port)
        if answer is not None and answer.get("status") == 500:
            break
        time.sleep(0.1)
    assert answer is not None and answer.get("status") == 500, answer
    assert "NameError: name 'undefined_name' is not defined" in answer["body"]
    write_handlers(project, HANDLERS.format(version=5))
    wait_for_version(port, 5)


def test_twistd_without_reload_does_not_restart_on_debug(project: Path, processes) -> None:
    port = free_port()
    server = processes(
        twistd(
            "-n",
            "cyclone",
            "--app=server:make_app",
            f"--port={port}",
            "--interface=127.0.0.1",
            "--appopts=debug=true",
        ),
        project,
    )
    server.wait_serving()
    wait_for_version(port, 1)
    assert "autoreload is off: twistd restarts the application only with --reload" in (
        server.output
    )
    write_handlers(project, HANDLERS.format(version=2))
    time.sleep(4 * autoreload.DEFAULT_CHECK_TIME)
    assert version(port)["version"] == 1


# -- pieces --------------------------------------------------------------------------------


def test_a_file_that_does_not_compile_is_described_with_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\ndef f(:\n    pass\n")
    error = autoreload._compile_error(str(broken))
    assert error is not None and error.startswith("SyntaxError:")
    assert f"({broken}, line 2)" in error
    fine = tmp_path / "fine.py"
    fine.write_text("x = 1\n")
    assert autoreload._compile_error(str(fine)) is None
    assert autoreload._compile_error(str(tmp_path / "settings.json")) is None


def test_the_command_line_keeps_python_dash_m(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name="myapp.__main__")  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(sys, "argv", ["/srv/myapp/__main__.py", "--port=8888"])
    monkeypatch.setattr(sys, "warnoptions", ["error"])
    assert autoreload._command_line() == ["-Werror", "-m", "myapp", "--port=8888"]
    main.__spec__ = None  # type: ignore[assignment]
    assert autoreload._command_line() == ["-Werror", "/srv/myapp/__main__.py", "--port=8888"]


def test_the_watcher_reports_a_change_only_once_every_changed_file_compiles(
    tmp_path: Path,
) -> None:
    good = tmp_path / "settings.py"
    good.write_text("A = 1\n")
    other = tmp_path / "other.txt"
    other.write_text("one")
    changes: list[list[str]] = []
    watcher = autoreload._Watcher(changes.append, extra=[str(good), str(other)])

    def touch(path: Path, text: str) -> None:
        path.write_text(text)
        later = path.stat().st_mtime + 2
        os.utime(path, (later, later))

    touch(good, "A = (\n")
    touch(other, "two")
    watcher.check()
    assert changes == [] and str(good) in watcher.broken
    touch(good, "A = 2\n")
    watcher.check()
    assert changes == [sorted([str(good), str(other)])]
    watcher.check()
    assert len(changes) == 1


def test_twistd_workers_without_reload_do_not_restart_on_debug(project: Path, processes) -> None:
    port = free_port()
    server = processes(
        twistd(
            "-n",
            "cyclone",
            "--app=server:make_app",
            f"--port={port}",
            "--interface=127.0.0.1",
            "--appopts=debug=true",
            "--workers=2",
        ),
        project,
    )
    server.wait_serving()
    for _ in range(2):  # both workers imported version 1 before the edit
        server.wait_for(r"worker \d+ serving")
    wait_for_version(port, 1)
    assert "autoreload is off: twistd restarts the application only with --reload" in (
        server.output
    )
    write_handlers(project, HANDLERS.format(version=2))
    time.sleep(4 * autoreload.DEFAULT_CHECK_TIME)
    assert {version(port)["version"] for _ in range(4)} == {1}
    assert "changed; restarting" not in server.output
