"""The notes in MongoDB through txmongo: the same NoteStore interface as sqlite_store.

Not tested against a MongoDB server here (none can be installed where this repository's
tests run): the functions that build documents, queries and the API's view of a note are
unit-tested, the rest is a thin layer of txmongo calls.
"""

from __future__ import annotations

import datetime
from typing import Any

import txmongo.filter
from bson import ObjectId
from bson.errors import InvalidId
from txmongo.collection import Collection
from txmongo.connection import ConnectionPool

#: Oldest first: ObjectIds start with their creation time.
OLDEST_FIRST = txmongo.filter.sort(txmongo.filter.ASCENDING("_id"))

#: Seconds before an operation fails (with txmongo.errors.TimeExceeded) if MongoDB is away.
TIMEOUT = 5.0


def note_document(text: str, now: datetime.datetime) -> dict[str, Any]:
    """The document to insert; MongoDB adds its ``_id``."""
    return {"text": text, "created": now}


def note_from_document(document: dict[str, Any]) -> dict[str, Any]:
    """The API's view of a stored document: the ObjectId as text, the time in UTC."""
    return {
        "id": str(document["_id"]),
        "text": document["text"],
        "created": document["created"].strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def id_filter(note_id: str) -> dict[str, ObjectId] | None:
    """The query for one note, or None when *note_id* cannot be an ObjectId."""
    try:
        return {"_id": ObjectId(note_id)}
    except (InvalidId, TypeError):
        return None


class MongoNoteStore:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    @classmethod
    def connect(cls, url: str, database: str = "cyclone_notes") -> MongoNoteStore:
        """Connects in the background (and reconnects); operations wait up to TIMEOUT for it."""
        return cls(ConnectionPool(url)[database]["notes"])

    async def add(self, text: str) -> dict[str, Any]:
        document = note_document(text, datetime.datetime.now(datetime.timezone.utc))
        result = await self.collection.insert_one(document, timeout=TIMEOUT)
        return note_from_document({**document, "_id": result.inserted_id})

    async def list(self) -> list[dict[str, Any]]:
        documents = await self.collection.find(sort=OLDEST_FIRST, timeout=TIMEOUT)
        return [note_from_document(document) for document in documents]

    async def delete(self, note_id: str) -> bool:
        query = id_filter(note_id)
        if query is None:
            return False
        result = await self.collection.delete_one(query, timeout=TIMEOUT)
        return result.deleted_count == 1
