#!/usr/bin/env python
"""Notes over HTTP, stored in MongoDB (txmongo) or SQLite behind one small interface.

python notes.py --port 8888 --store sqlite --db /tmp/notes.db           # or NOTES_DB=...
python notes.py --port 8888 --store mongo --mongo mongodb://127.0.0.1:27017
curl -d "text=hello" http://127.0.0.1:8888/notes        # add    -> 201 {"id": ..., ...}
curl http://127.0.0.1:8888/notes                        # list   -> {"notes": [...]}
curl -X DELETE http://127.0.0.1:8888/notes/ID           # delete -> 204, or 404
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Protocol, runtime_checkable

from twisted.internet import defer, reactor
from twisted.logger import globalLogBeginner, textFileLogObserver

import cyclone.web

#: A note as the API shows it: {"id": str, "text": str, "created": "2024-01-31T12:00:00Z"}.
Note = dict[str, Any]


@runtime_checkable
class NoteStore(Protocol):
    """What the handlers need from a database; mongo_store and sqlite_store implement it."""

    async def add(self, text: str) -> Note: ...

    async def list(self) -> list[Note]: ...

    async def delete(self, note_id: str) -> bool:
        """False if there is no such note (including ids this store could never have made)."""


class NotesHandler(cyclone.web.RequestHandler):
    def initialize(self, store: NoteStore) -> None:
        self.store = store

    async def get(self) -> None:
        self.write({"notes": await self.store.list()})

    async def post(self) -> None:
        text = self.get_argument("text").strip()
        if not text:
            raise cyclone.web.HTTPError(400, reason="empty note")
        self.set_status(201)
        self.write(await self.store.add(text))


class NoteHandler(cyclone.web.RequestHandler):
    def initialize(self, store: NoteStore) -> None:
        self.store = store

    async def delete(self, note_id: str) -> None:
        if not await self.store.delete(note_id):
            raise cyclone.web.HTTPError(404, reason=f"no note {note_id!r}")
        self.set_status(204)


def make_app(store: NoteStore) -> cyclone.web.Application:
    return cyclone.web.Application(
        [
            (r"/notes", NotesHandler, {"store": store}),
            (r"/notes/([^/]+)", NoteHandler, {"store": store}),
        ]
    )


async def open_store(args: argparse.Namespace) -> NoteStore:
    if args.store == "mongo":
        from mongo_store import MongoNoteStore

        return MongoNoteStore.connect(args.mongo)
    from sqlite_store import SQLiteNoteStore

    return await SQLiteNoteStore.open(args.db)


async def start(args: argparse.Namespace) -> None:
    store = await open_store(args)
    port = reactor.listenTCP(args.port, make_app(store), interface=args.interface).getHost().port
    print(f"notes in {args.store}; listening on http://{args.interface}:{port}/")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888, help="0 picks a free port")
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--store", choices=["sqlite", "mongo"], default="sqlite")
    parser.add_argument("--db", default=os.environ.get("NOTES_DB", "notes.db"), help="SQLite file")
    parser.add_argument("--mongo", default="mongodb://127.0.0.1:27017", help="MongoDB URL")
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
