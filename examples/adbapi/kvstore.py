#!/usr/bin/env python
"""A key/value store over HTTP on PostgreSQL, through twisted.enterprise.adbapi and psycopg2.

python kvstore.py --port 8888 --dsn postgresql://postgres@127.0.0.1:5432/test
curl -X PUT -d "hello world" http://127.0.0.1:8888/keys/greeting   # store -> 204
curl http://127.0.0.1:8888/keys/greeting                           # read  -> hello world
curl http://127.0.0.1:8888/keys                                    # list  -> {"keys": [...]}
curl -X DELETE http://127.0.0.1:8888/keys/greeting                 # 204, or 404
"""

from __future__ import annotations

import argparse
import os
import sys

from psycopg2 import sql
from twisted.enterprise import adbapi
from twisted.internet import defer, reactor
from twisted.logger import globalLogBeginner, textFileLogObserver

import cyclone.web


class KeyValueStore:
    """All the SQL. Values are passed as parameters (``%s``); the table name, which cannot
    be a parameter, is quoted by psycopg2's ``sql.Identifier``."""

    def __init__(self, pool: adbapi.ConnectionPool, table: str) -> None:
        self.pool = pool
        self.table = sql.Identifier(table)

    def _sql(self, statement: str) -> sql.Composed:
        return sql.SQL(statement).format(table=self.table)

    def create_table(self) -> defer.Deferred[None]:
        return self.pool.runOperation(
            self._sql(
                "CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
        )

    async def keys(self) -> list[str]:
        rows = await self.pool.runQuery(self._sql("SELECT key FROM {table} ORDER BY key"))
        return [key for (key,) in rows]

    async def get(self, key: str) -> str | None:
        rows = await self.pool.runQuery(
            self._sql("SELECT value FROM {table} WHERE key = %s"), (key,)
        )
        return rows[0][0] if rows else None

    def put(self, key: str, value: str) -> defer.Deferred[None]:
        return self.pool.runOperation(
            self._sql(
                "INSERT INTO {table} (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            (key, value),
        )

    def delete(self, key: str) -> defer.Deferred[bool]:
        def remove(cursor) -> bool:  # runs in a pool thread, in one transaction
            cursor.execute(self._sql("DELETE FROM {table} WHERE key = %s"), (key,))
            return cursor.rowcount == 1

        return self.pool.runInteraction(remove)


class KeysHandler(cyclone.web.RequestHandler):
    def initialize(self, store: KeyValueStore) -> None:
        self.store = store

    async def get(self) -> None:
        self.write({"keys": await self.store.keys()})


class KeyHandler(cyclone.web.RequestHandler):
    def initialize(self, store: KeyValueStore) -> None:
        self.store = store

    async def get(self, key: str) -> None:
        value = await self.store.get(key)
        if value is None:
            raise cyclone.web.HTTPError(404, reason=f"no key {key!r}")
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.write(value)

    async def put(self, key: str) -> None:
        try:
            value = self.request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise cyclone.web.HTTPError(400, reason="the value must be UTF-8 text")
        await self.store.put(key, value)
        self.set_status(204)

    async def delete(self, key: str) -> None:
        if not await self.store.delete(key):
            raise cyclone.web.HTTPError(404, reason=f"no key {key!r}")
        self.set_status(204)


async def start(args: argparse.Namespace) -> None:
    # Each pool thread calls psycopg2.connect(args.dsn); cp_reconnect replaces dead connections.
    pool = adbapi.ConnectionPool("psycopg2", args.dsn, cp_min=1, cp_max=4, cp_reconnect=True)
    store = KeyValueStore(pool, args.table)
    await store.create_table()
    app = cyclone.web.Application(
        [(r"/keys", KeysHandler, {"store": store}), (r"/keys/(.+)", KeyHandler, {"store": store})]
    )
    port = reactor.listenTCP(args.port, app, interface=args.interface).getHost().port
    print(f"table {args.table} in {args.dsn}; listening on http://{args.interface}:{port}/")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8888, help="0 picks a free port")
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument(
        "--dsn",
        default=os.environ.get("POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a libpq connection string or URL (default: $POSTGRES_DSN)",
    )
    parser.add_argument("--table", default="kv")
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
