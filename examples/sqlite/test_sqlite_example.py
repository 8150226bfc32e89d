"""Run todo.py as a user would, over HTTP on loopback, and restart it on the same file."""

from __future__ import annotations

import json
import pathlib
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

HERE = pathlib.Path(__file__).parent
#: Seconds to wait for the server to listen, or for a response.
TIMEOUT = 30.0


class Server:
    """todo.py in a subprocess; ``url`` is set once it printed where it listens."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(HERE / "todo.py"), "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.output: list[str] = []
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()
        while True:
            line = lines.get(timeout=TIMEOUT)
            assert line is not None, "todo.py exited:\n" + "".join(self.output)
            if match := re.search(r"(http://[\d.]+:\d+)/", line):
                self.url = match.group(1)
                return

    def _read(self, lines: queue.Queue[str | None]) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(TIMEOUT)


@pytest.fixture
def start():
    servers: list[Server] = []

    def start(*args: str) -> Server:
        servers.append(Server(*args))
        return servers[-1]

    yield start
    for server in servers:
        if server.process.poll() is None:
            server.stop()


def call(method: str, url: str, form: dict | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def todos(url: str) -> list[str]:
    status, body = call("GET", url + "/todos")
    assert status == 200
    return [todo["text"] for todo in json.loads(body)["todos"]]


def test_items_are_added_listed_and_deleted(start, tmp_path):
    url = start("--db", str(tmp_path / "todo.db")).url
    status, body = call("POST", url + "/todos", {"text": "buy milk"})
    assert status == 201
    milk = json.loads(body)
    assert milk["text"] == "buy milk" and isinstance(milk["id"], int)
    call("POST", url + "/todos", {"text": "write tests"})
    assert todos(url) == ["buy milk", "write tests"]

    assert call("DELETE", f"{url}/todos/{milk['id']}")[0] == 204
    assert todos(url) == ["write tests"]
    assert call("DELETE", f"{url}/todos/{milk['id']}")[0] == 404


def test_empty_or_missing_text_is_refused(start, tmp_path):
    url = start("--db", str(tmp_path / "todo.db")).url
    assert call("POST", url + "/todos", {"text": "  "})[0] == 400
    assert call("POST", url + "/todos", {})[0] == 400
    assert todos(url) == []


def test_text_is_stored_as_given_not_as_sql(start, tmp_path):
    url = start("--db", str(tmp_path / "todo.db")).url
    sneaky = "x'); DROP TABLE todos; --"
    assert call("POST", url + "/todos", {"text": sneaky})[0] == 201
    assert todos(url) == [sneaky]


def test_page_escapes_items_and_its_forms_add_and_delete(start, tmp_path):
    url = start("--db", str(tmp_path / "todo.db")).url
    assert call("POST", url + "/", {"text": "<b>bold</b>"})[0] == 200  # after the redirect
    status, page = call("GET", url + "/")
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold" not in page
    todo_id = re.search(r'name="delete" value="(\d+)"', page).group(1)
    call("POST", url + "/", {"delete": todo_id})
    assert todos(url) == []


def test_items_survive_a_restart_of_the_server(start, tmp_path):
    db = tmp_path / "data" / "todo.db"
    db.parent.mkdir()
    first = start("--db", str(db))
    call("POST", first.url + "/todos", {"text": "still here"})
    first.stop()

    second = start("--db", str(db))
    assert todos(second.url) == ["still here"]
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_database_path_can_come_from_the_environment(tmp_path, monkeypatch, start):
    monkeypatch.setenv("TODO_DB", str(tmp_path / "env.db"))
    url = start().url
    call("POST", url + "/todos", {"text": "from env"})
    with sqlite3.connect(tmp_path / "env.db") as connection:
        assert connection.execute("SELECT text FROM todos").fetchall() == [("from env",)]
