"""A typed user application on cyclone-sqlite, checked by ``mypy --strict`` (nox -s typing).

Each ``# type: ignore[...]`` marks a deliberate mistake: mypy must see cyclone's
types to flag it, and --strict reports an ignore that flags nothing, so the
check fails if cyclone's types stop reaching users.
"""

from __future__ import annotations

from typing import Any

import cyclone.sqlite


def notes() -> list[Any]:
    db = cyclone.sqlite.InlineSQLite(":memory:", row_factory="dict")
    db.runOperation("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    db.runOperation("INSERT INTO notes (body) VALUES (?)", ("hello",))
    db.runQuery(b"SELECT * FROM notes")  # type: ignore[arg-type]
    return db.runQuery("SELECT * FROM notes WHERE id > ?", (0,))


async def notes_in_a_thread() -> list[Any]:
    db = cyclone.sqlite.AsyncSQLite(":memory:")
    rows = await db.runQuery("SELECT 1")
    await db.close()
    return rows
