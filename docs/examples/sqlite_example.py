"""SQLite inline (blocking, for start-up and scripts) and in a dedicated thread."""

from twisted.internet import defer, task

import cyclone.sqlite


async def main(reactor):
    inline = cyclone.sqlite.InlineSQLite(":memory:", row_factory="dict")
    inline.runOperation("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    inline.runOperationMany("INSERT INTO notes (body) VALUES (?)", [("tea",), ("coffee",)])
    print(inline.runQuery("SELECT * FROM notes WHERE id > ?", (1,)))
    inline.close()

    threaded = cyclone.sqlite.AsyncSQLite(":memory:")
    await threaded.runOperation("CREATE TABLE counts (n INTEGER)")
    await threaded.runOperation("INSERT INTO counts VALUES (:n)", n=41)
    print(await threaded.runQuery("SELECT n + 1 FROM counts"))
    await threaded.close()


task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
