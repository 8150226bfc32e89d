"""The notes app over HTTP through its SQLite store, and mongo_store's pure parts.

No MongoDB server is available where these tests run, and none is faked: the app's
behaviour is tested through sqlite_store (the same NoteStore interface), and for
mongo_store the functions that build documents and queries are checked with the real
bson and txmongo libraries.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import pathlib
import queue
import re
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


def load(name: str):
    """Import a module of this example by file (the tests run with --import-mode=importlib)."""
    spec = importlib.util.spec_from_file_location(f"mongo_example_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Server:
    """notes.py in a subprocess; ``url`` is set once it printed where it listens."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(HERE / "notes.py"), "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.output: list[str] = []
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(lines,), daemon=True).start()
        while True:
            line = lines.get(timeout=TIMEOUT)
            assert line is not None, "notes.py exited:\n" + "".join(self.output)
            if match := re.search(r"(http://[\d.]+:\d+)/", line):
                self.url = match.group(1)
                return

    def _read(self, lines: queue.Queue[str | None]) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            lines.put(line)
        lines.put(None)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(TIMEOUT)


@pytest.fixture
def url(tmp_path):
    server = Server("--store", "sqlite", "--db", str(tmp_path / "notes.db"))
    yield server.url
    server.stop()


def call(method: str, url: str, form: dict | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def notes(url: str) -> list[str]:
    status, body = call("GET", url + "/notes")
    assert status == 200
    return [note["text"] for note in json.loads(body)["notes"]]


def test_notes_are_added_listed_and_deleted(url):
    status, body = call("POST", url + "/notes", {"text": "first"})
    assert status == 201
    first = json.loads(body)
    assert first["text"] == "first" and isinstance(first["id"], str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["created"])
    call("POST", url + "/notes", {"text": "second"})
    assert notes(url) == ["first", "second"]

    assert call("DELETE", f"{url}/notes/{first['id']}")[0] == 204
    assert notes(url) == ["second"]
    assert call("DELETE", f"{url}/notes/{first['id']}")[0] == 404


def test_ids_the_store_could_not_have_made_are_404(url):
    assert call("DELETE", url + "/notes/not-an-id")[0] == 404
    assert call("DELETE", url + "/notes/64b7f0c2a1b2c3d4e5f60718")[0] == 404


def test_empty_notes_are_refused(url):
    assert call("POST", url + "/notes", {"text": " "})[0] == 400
    assert notes(url) == []


def test_both_stores_implement_the_note_store_interface():
    note_store = load("notes").NoteStore
    assert isinstance(load("sqlite_store").SQLiteNoteStore(db=None), note_store)
    assert isinstance(load("mongo_store").MongoNoteStore(collection=None), note_store)


def test_mongo_document_is_valid_bson_and_reads_back_as_the_api_note():
    import bson

    mongo_store = load("mongo_store")
    created = datetime.datetime(2024, 1, 31, 12, 0, 5, 123000, tzinfo=datetime.timezone.utc)
    document = mongo_store.note_document("hello", created)
    assert document == {"text": "hello", "created": created}

    stored = bson.decode(
        bson.encode({**document, "_id": bson.ObjectId("64b7f0c2a1b2c3d4e5f60718")})
    )
    assert mongo_store.note_from_document(stored) == {
        "id": "64b7f0c2a1b2c3d4e5f60718",
        "text": "hello",
        "created": "2024-01-31T12:00:05Z",
    }


def test_mongo_id_filter_takes_object_ids_only():
    from bson import ObjectId

    id_filter = load("mongo_store").id_filter
    assert id_filter("64b7f0c2a1b2c3d4e5f60718") == {"_id": ObjectId("64b7f0c2a1b2c3d4e5f60718")}
    assert id_filter("1") is None
    assert id_filter("not-an-id") is None


def test_mongo_notes_are_listed_oldest_first():
    # txmongo sends dict(sort["orderby"]) as the find command's "sort".
    assert dict(load("mongo_store").OLDEST_FIRST["orderby"]) == {"_id": 1}
