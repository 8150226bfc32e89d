#!/usr/bin/env python
"""A to-do list on cyclone.sqlite: list, add and delete items, kept in a SQLite file.

    python todo.py --port 8888 --db /tmp/todo.db      # or TODO_DB=/tmp/todo.db
    curl -d "text=buy milk" http://127.0.0.1:8888/todos      # add  -> 201 {"id": 1, ...}
    curl http://127.0.0.1:8888/todos                         # list -> {"todos": [...]}
    curl -X DELETE http://127.0.0.1:8888/todos/1             # delete -> 204 (404 if unknown)

Open http://127.0.0.1:8888/ for the same thing as an HTML page with forms.
"""

from __future__ import annotations

import argparse
import os
import sys

from twisted.internet import defer, reactor
from twisted.logger import globalLogBeginner, textFileLogObserver

import cyclone.sqlite
import cyclone.web
from cyclone.escape import xhtml_escape

SCHEMA = """
CREATE TABLE IF NOT EXISTS todos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)"""


class TodoStore:
    """The SQL of the app, all of it parameterized: values never go into the SQL text."""

    def __init__(self, db: cyclone.sqlite.AsyncSQLite) -> None:
        self.db = db

    def all(self) -> defer.Deferred[list[dict]]:
        return self.db.runQuery("SELECT id, text, created FROM todos ORDER BY id")

    def add(self, text: str) -> defer.Deferred[dict]:
        def insert(cursor):  # runs in one transaction on the database thread
            cursor.execute("INSERT INTO todos (text) VALUES (?)", (text,))
            cursor.execute("SELECT id, text, created FROM todos WHERE id = ?", (cursor.lastrowid,))
            return cursor.fetchone()

        return self.db.runInteraction(insert)

    def delete(self, todo_id: int) -> defer.Deferred[bool]:
        def remove(cursor):
            cursor.execute("DELETE FROM todos WHERE id = ?", (todo_id,))
            return cursor.rowcount == 1

        return self.db.runInteraction(remove)


class TodosHandler(cyclone.web.RequestHandler):
    def initialize(self, store: TodoStore) -> None:
        self.store = store

    async def get(self) -> None:
        self.write({"todos": await self.store.all()})

    async def post(self) -> None:
        text = self.get_argument("text").strip()
        if not text:
            raise cyclone.web.HTTPError(400, reason="empty to-do")
        todo = await self.store.add(text)
        self.set_status(201)
        self.write(todo)


class TodoHandler(cyclone.web.RequestHandler):
    def initialize(self, store: TodoStore) -> None:
        self.store = store

    async def delete(self, todo_id: str) -> None:
        if not await self.store.delete(int(todo_id)):
            raise cyclone.web.HTTPError(404, reason=f"no to-do {todo_id}")
        self.set_status(204)


class PageHandler(cyclone.web.RequestHandler):
    """The list as HTML; its forms POST here (browsers cannot send DELETE from a form)."""

    def initialize(self, store: TodoStore) -> None:
        self.store = store

    async def get(self) -> None:
        items = "".join(
            f'<li>{xhtml_escape(todo["text"])} <form method="post" style="display:inline">'
            f'<button name="delete" value="{todo["id"]}">done</button></form></li>'
            for todo in await self.store.all()
        )
        self.write(
            "<!doctype html><title>to-do</title><h1>To do</h1>"
            f"<ul>{items}</ul>"
            '<form method="post"><input name="text" autofocus> <button>add</button></form>'
        )

    async def post(self) -> None:
        if self.get_argument("delete", None):
            await self.store.delete(int(self.get_argument("delete")))
        elif self.get_argument("text", "").strip():
            await self.store.add(self.get_argument("text").strip())
        self.redirect("/")


async def make_app(path: str) -> cyclone.web.Application:
    db = cyclone.sqlite.AsyncSQLite(path, row_factory="dict")  # WAL mode for files
    await db.runOperation(SCHEMA)
    store = TodoStore(db)
    return cyclone.web.Application(
        [
            (r"/", PageHandler, {"store": store}),
            (r"/todos", TodosHandler, {"store": store}),
            (r"/todos/(\d+)", TodoHandler, {"store": store}),
        ]
    )


async def start(args: argparse.Namespace) -> None:
    app = await make_app(args.db)
    listening = reactor.listenTCP(args.port, app, interface=args.interface)
    print(f"to-do list in {args.db} on http://{args.interface}:{listening.getHost().port}/")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888, help="0 picks a free port")
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--db", default=os.environ.get("TODO_DB", "todo.db"), help="SQLite file")
    args = parser.parse_args(argv)
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stderr)], redirectStandardIO=False)

    failures = []

    def failed(failure):
        failures.append(failure)
        print(f"could not start: {failure.value}", file=sys.stderr)
        reactor.stop()

    reactor.callWhenRunning(lambda: defer.ensureDeferred(start(args)).addErrback(failed))
    reactor.run()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
