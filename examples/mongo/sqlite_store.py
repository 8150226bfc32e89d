"""The notes on cyclone.sqlite: the same NoteStore interface as mongo_store, on a SQLite file."""

from __future__ import annotations

from typing import Any

import cyclone.sqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
)"""

# Ids are text in the API, whatever the database uses.
COLUMNS = "CAST(id AS TEXT) AS id, text, created"


class SQLiteNoteStore:
    def __init__(self, db: cyclone.sqlite.AsyncSQLite) -> None:
        self.db = db

    @classmethod
    async def open(cls, path: str) -> SQLiteNoteStore:
        db = cyclone.sqlite.AsyncSQLite(path, row_factory="dict")
        await db.runOperation(SCHEMA)
        return cls(db)

    async def add(self, text: str) -> dict[str, Any]:
        def insert(cursor):  # on the database thread, in one transaction
            cursor.execute("INSERT INTO notes (text) VALUES (?)", (text,))
            cursor.execute(f"SELECT {COLUMNS} FROM notes WHERE id = ?", (cursor.lastrowid,))
            return cursor.fetchone()

        return await self.db.runInteraction(insert)

    async def list(self) -> list[dict[str, Any]]:
        return await self.db.runQuery(f"SELECT {COLUMNS} FROM notes ORDER BY id")

    async def delete(self, note_id: str) -> bool:
        if not note_id.isdecimal():
            return False

        def remove(cursor):
            cursor.execute("DELETE FROM notes WHERE id = ?", (int(note_id),))
            return cursor.rowcount == 1

        return await self.db.runInteraction(remove)
