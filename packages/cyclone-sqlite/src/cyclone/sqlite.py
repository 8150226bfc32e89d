"""SQLite for cyclone: an inline connection and a threaded one that returns Deferreds.

    from twisted.internet import defer, task
    import cyclone.sqlite

    async def main(reactor):
        db = cyclone.sqlite.AsyncSQLite(":memory:", row_factory="dict")
        await db.runOperation("CREATE TABLE users (name TEXT, age INTEGER)")
        await db.runOperation("INSERT INTO users VALUES (?, ?)", ("ana", 31))
        print(await db.runQuery("SELECT * FROM users WHERE age > ?", (30,)))
        await db.close()

    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))

Both classes follow ``twisted.enterprise.adbapi``'s method names (``runQuery``,
``runOperation``, ``runInteraction``). `InlineSQLite` runs each call right away in
the calling thread, which is fine for small local databases and scripts.
`AsyncSQLite` owns one dedicated thread, opens the connection there and runs every
call on it in submission order, so the reactor never waits for the disk.

Parameters are always passed separately from the SQL, never formatted into it:
``runQuery("SELECT * FROM t WHERE id = ?", (1,))`` or, with named parameters,
``runQuery("SELECT * FROM t WHERE id = :id", id=1)``.

Errors from sqlite3 are raised as `SQLiteError` (or its subclass matching the
sqlite3 class, e.g. `IntegrityError`, which is also a ``sqlite3.IntegrityError``)
whose message and ``.sql`` carry the statement; the original error is ``__cause__``.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, fail
from twisted.logger import Logger
from twisted.python.failure import Failure

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

__all__ = [
    "AsyncSQLite",
    "DataError",
    "DatabaseError",
    "InlineSQLite",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "SQLiteError",
    "ThreadedSQLite",
    "dict_factory",
]

_log = Logger()
_T = TypeVar("_T")

# Seconds between attempts to switch a file shared with other connections to WAL.
_WAL_RETRY_INTERVAL = 0.01

RowFactory = Callable[[sqlite3.Cursor, tuple], Any]


class SQLiteError(sqlite3.Error):
    """A sqlite3 error, with the SQL statement that caused it.

    ``.sql`` is the statement (parameters are left out on purpose: they may hold
    secrets); ``__cause__`` is the original sqlite3 exception. Subclasses mirror the
    DB-API classes, so ``except sqlite3.IntegrityError`` still catches them.
    """

    def __init__(self, message: str, sql: str | None = None) -> None:
        super().__init__(message)
        self.sql = sql


class InterfaceError(SQLiteError, sqlite3.InterfaceError):
    """Misuse of the sqlite3 interface (wraps ``sqlite3.InterfaceError``)."""


class DatabaseError(SQLiteError, sqlite3.DatabaseError):
    """A database error (wraps ``sqlite3.DatabaseError``)."""


class DataError(DatabaseError, sqlite3.DataError):
    """A value out of range or too long (wraps ``sqlite3.DataError``)."""


class OperationalError(DatabaseError, sqlite3.OperationalError):
    """Syntax errors, missing tables, a locked database (wraps ``sqlite3.OperationalError``)."""


class IntegrityError(DatabaseError, sqlite3.IntegrityError):
    """A constraint failed, e.g. UNIQUE or FOREIGN KEY (wraps ``sqlite3.IntegrityError``)."""


class InternalError(DatabaseError, sqlite3.InternalError):
    """SQLite's internal error (wraps ``sqlite3.InternalError``)."""


class ProgrammingError(DatabaseError, sqlite3.ProgrammingError):
    """Wrong number of parameters, closed database, ... (wraps ``sqlite3.ProgrammingError``)."""


class NotSupportedError(DatabaseError, sqlite3.NotSupportedError):
    """An unsupported feature (wraps ``sqlite3.NotSupportedError``)."""


# Most specific first: the first sqlite3 class the error is an instance of wins.
_WRAPPERS: tuple[tuple[type[sqlite3.Error], type[SQLiteError]], ...] = (
    (sqlite3.DataError, DataError),
    (sqlite3.OperationalError, OperationalError),
    (sqlite3.IntegrityError, IntegrityError),
    (sqlite3.InternalError, InternalError),
    (sqlite3.ProgrammingError, ProgrammingError),
    (sqlite3.NotSupportedError, NotSupportedError),
    (sqlite3.DatabaseError, DatabaseError),
    (sqlite3.InterfaceError, InterfaceError),
)


def _wrap_error(error: sqlite3.Error, sql: str | None, dbname: str | None = None) -> SQLiteError:
    """Build the `SQLiteError` subclass matching *error*, with *sql* in its message."""
    if isinstance(error, SQLiteError):
        return error
    wrapper: type[SQLiteError] = SQLiteError
    for original, candidate in _WRAPPERS:
        if isinstance(error, original):
            wrapper = candidate
            break
    message = str(error)
    if sql is not None:
        message += f" (SQL: {sql!r})"
    if dbname is not None:
        message += f" (database: {dbname!r})"
    wrapped = wrapper(message, sql)
    for attribute in ("sqlite_errorcode", "sqlite_errorname"):
        if hasattr(error, attribute):
            setattr(wrapped, attribute, getattr(error, attribute))
    return wrapped


def dict_factory(cursor: sqlite3.Cursor, row: tuple) -> dict[str, Any]:
    """Row factory returning each row as a ``{column: value}`` dict."""
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def _resolve_row_factory(row_factory: str | RowFactory | None) -> RowFactory | None:
    if row_factory is None or row_factory == "tuple":
        return None
    if row_factory == "dict":
        return dict_factory
    if row_factory == "row":
        return sqlite3.Row
    if callable(row_factory):
        return row_factory
    raise ValueError(
        f"row_factory must be None, 'tuple', 'dict', 'row' or a callable, not {row_factory!r}"
    )


def _parameters(args: tuple, kwargs: dict) -> Sequence[Any] | Mapping[str, Any]:
    """Turn ``(params,)`` or ``name=value`` keywords into what ``execute`` takes."""
    if len(args) > 1:
        raise TypeError(
            "pass the query parameters as one sequence or mapping, "
            f"e.g. (1, 'a'), not {len(args)} separate arguments"
        )
    if args and kwargs:
        raise TypeError("pass the query parameters positionally or as keywords, not both")
    if args:
        return args[0]
    return kwargs


def _is_file_database(dbname: str) -> bool:
    return dbname not in ("", ":memory:") and "mode=memory" not in dbname


class InlineSQLite:
    """A synchronous SQLite connection with an adbapi-like API.

    ``autoCommit`` commits after every `runOperation`/`runOperationMany`; turn it off
    to group operations and call `commit` or `rollback` yourself. ``row_factory`` is
    ``None`` (tuples), ``"dict"``, ``"row"`` (``sqlite3.Row``) or a callable
    ``(cursor, row) -> object``. ``cursorFactory`` is passed to
    ``connection.cursor()``. ``wal`` switches a file database to write-ahead
    logging (readers don't block the writer); ``busy_timeout`` is how many seconds
    to wait for another connection's lock before failing with "database is locked".
    """

    def __init__(
        self,
        dbname: str = ":memory:",
        autoCommit: bool = True,
        cursorFactory: type[sqlite3.Cursor] | None = None,
        *,
        row_factory: str | RowFactory | None = None,
        wal: bool = False,
        busy_timeout: float = 5.0,
        **connect_kwargs: Any,
    ) -> None:
        self.dbname = dbname
        self.autoCommit = autoCommit
        self.cursorFactory = cursorFactory
        factory = _resolve_row_factory(row_factory)
        try:
            self.conn = sqlite3.connect(dbname, timeout=busy_timeout, **connect_kwargs)
        except sqlite3.Error as error:
            raise _wrap_error(error, None, dbname) from error
        if wal and _is_file_database(dbname):
            mode = self._switch_to_wal(busy_timeout)
            if mode != "wal":
                _log.warn(
                    "SQLite database {dbname!r} refused WAL mode (journal_mode={mode})",
                    dbname=dbname,
                    mode=mode,
                )
        self.conn.row_factory = factory

    def _switch_to_wal(self, busy_timeout: float) -> str:
        """Set WAL journaling, retrying while other connections hold the file.

        WAL is a property of the file, so once set later connections only read it.
        Switching needs the file to itself, and SQLite reports that as "database is
        locked" without calling the busy handler, hence the retry loop, bounded by
        the same *busy_timeout*.
        """
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                (mode,) = self.conn.execute("PRAGMA journal_mode").fetchone()
                if str(mode).lower() != "wal":
                    (mode,) = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()
                return str(mode).lower()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise _wrap_error(error, "PRAGMA journal_mode=WAL", self.dbname) from error
                time.sleep(_WAL_RETRY_INTERVAL)

    def _cursor(self) -> sqlite3.Cursor:
        if self.cursorFactory is None:
            return self.conn.cursor()
        return self.conn.cursor(self.cursorFactory)

    def _execute(self, sql: str, parameters: Any, many: bool = False) -> sqlite3.Cursor:
        try:
            cursor = self._cursor()
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            return cursor
        except sqlite3.Error as error:
            raise _wrap_error(error, sql) from error

    def runQuery(self, query: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Run a SELECT (or anything returning rows) and return all rows as a list."""
        cursor = self._execute(query, _parameters(args, kwargs))
        try:
            return cursor.fetchall()
        except sqlite3.Error as error:
            raise _wrap_error(error, query) from error
        finally:
            cursor.close()

    def runOperation(self, command: str, *args: Any, **kwargs: Any) -> None:
        """Run one statement that returns no rows; commits when ``autoCommit`` is on."""
        self._operate(command, _parameters(args, kwargs), many=False)

    def runOperationMany(self, command: str, parameters: Iterable[Any]) -> None:
        """Run *command* once per parameter set (``executemany``); commits when ``autoCommit``."""
        self._operate(command, parameters, many=True)

    def _operate(self, command: str, parameters: Any, many: bool) -> None:
        """Execute a write; with ``autoCommit``, commit it or undo the transaction it opened.

        sqlite3 opens a transaction before a write. If the write fails, that
        transaction would stay open holding the file's write lock, and every other
        connection would get "database is locked" until our next commit.
        """
        opened_here = self.autoCommit and not self.conn.in_transaction
        try:
            self._execute(command, parameters, many=many).close()
        except SQLiteError:
            if opened_here and self.conn.in_transaction:
                self._undo(nested=False)
            raise
        if self.autoCommit:
            self.commit()

    def runInteraction(self, interaction: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Call ``interaction(cursor, *args, **kwargs)`` inside one transaction.

        Committed when it returns, rolled back when it raises (the exception is
        re-raised, sqlite3 errors as `SQLiteError`). If a transaction is already
        open (``autoCommit=False`` with pending writes), the interaction runs in a
        SAVEPOINT instead: its own work is undone on error and the outer transaction
        is left for you to commit.
        """
        nested = self.conn.in_transaction
        begin = "SAVEPOINT cyclone_interaction" if nested else "BEGIN"
        self._execute(begin, ()).close()
        cursor = self._cursor()
        try:
            result = interaction(cursor, *args, **kwargs)
        except BaseException as error:
            cursor.close()
            self._undo(nested)
            if isinstance(error, sqlite3.Error):
                raise _wrap_error(error, None) from error
            raise
        cursor.close()
        try:
            if nested:
                self._execute("RELEASE SAVEPOINT cyclone_interaction", ()).close()
            else:
                self.conn.commit()
        except sqlite3.Error as error:
            self._undo(nested)
            raise _wrap_error(error, "COMMIT") from error
        return result

    def _undo(self, nested: bool) -> None:
        try:
            if nested:
                self.conn.execute("ROLLBACK TO SAVEPOINT cyclone_interaction")
                self.conn.execute("RELEASE SAVEPOINT cyclone_interaction")
            else:
                self.conn.rollback()
        except sqlite3.Error:
            _log.failure("SQLite rollback failed on {dbname!r}", dbname=self.dbname)

    def commit(self) -> None:
        """Commit the current transaction."""
        try:
            self.conn.commit()
        except sqlite3.Error as error:
            raise _wrap_error(error, "COMMIT") from error

    def rollback(self) -> None:
        """Roll back the current transaction."""
        try:
            self.conn.rollback()
        except sqlite3.Error as error:
            raise _wrap_error(error, "ROLLBACK") from error

    def close(self) -> None:
        """Close the connection; uncommitted changes are discarded."""
        self.conn.close()

    def __enter__(self) -> InlineSQLite:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _DedicatedThread:
    """One worker thread running submitted calls in order, answering through the reactor."""

    def __init__(self, reactor: Any, name: str) -> None:
        self._reactor = reactor
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._work, name=name, daemon=True)
        self.thread.start()

    def submit(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred[Any]:
        result: Deferred[Any] = Deferred()
        self._jobs.put((result, function, args, kwargs))
        return result

    def stop(self) -> None:
        """Let the thread finish the calls already submitted, then exit."""
        self._jobs.put(None)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            result, function, args, kwargs = job
            try:
                value = function(*args, **kwargs)
            except BaseException:
                self._reactor.callFromThread(result.errback, Failure())
            else:
                self._reactor.callFromThread(result.callback, value)


class AsyncSQLite:
    """SQLite on a dedicated thread: the `InlineSQLite` API, returning Deferreds.

    The connection is opened on the thread and every call runs there, one at a
    time and in the order submitted (sqlite3 connections belong to the thread that
    opened them). Interactions passed to `runInteraction` run on that thread too,
    so they must not touch the reactor. File databases use WAL mode by default so
    that readers in other connections don't block on the writer.

    `close` returns a Deferred; the database is also closed when the reactor shuts
    down, after the calls already submitted have finished.
    """

    def __init__(
        self,
        dbname: str = ":memory:",
        autoCommit: bool = True,
        cursorFactory: type[sqlite3.Cursor] | None = None,
        *,
        row_factory: str | RowFactory | None = None,
        wal: bool = True,
        busy_timeout: float = 5.0,
        reactor: Any = None,
        **connect_kwargs: Any,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        self.dbname = dbname
        self._closed = False
        self._closing: Deferred[None] | None = None
        self._inline: InlineSQLite | None = None
        self._open_error: BaseException | None = None
        self._thread = _DedicatedThread(reactor, name=f"cyclone.sqlite {dbname}")
        self._opened = self._thread.submit(
            self._open,
            dbname,
            autoCommit,
            cursorFactory,
            row_factory=row_factory,
            wal=wal,
            busy_timeout=busy_timeout,
            **connect_kwargs,
        )
        self._opened.addErrback(self._log_open_failure)
        self._shutdown_trigger = reactor.addSystemEventTrigger("before", "shutdown", self.close)

    def _open(self, *args: Any, **kwargs: Any) -> None:
        try:
            self._inline = InlineSQLite(*args, **kwargs)
        except BaseException as error:
            self._open_error = error
            raise

    def _log_open_failure(self, failure: Failure) -> None:
        """Log why opening failed; every later call fails with it as the cause."""
        _log.failure("Could not open SQLite database {dbname!r}", failure, dbname=self.dbname)

    def _submit(self, method: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        if self._closed:
            sql = args[0] if args and isinstance(args[0], str) else None
            return fail(ProgrammingError(f"AsyncSQLite({self.dbname!r}) is closed", sql))
        return self._thread.submit(self._call_inline, method, args, kwargs)

    def _call_inline(self, method: str, args: tuple, kwargs: dict) -> Any:
        if self._inline is None:
            raise ProgrammingError(
                f"SQLite database {self.dbname!r} could not be opened: {self._open_error}"
            ) from self._open_error
        return getattr(self._inline, method)(*args, **kwargs)

    @property
    def thread(self) -> threading.Thread:
        """The thread every call runs on."""
        return self._thread.thread

    def runQuery(self, query: str, *args: Any, **kwargs: Any) -> Deferred[list[Any]]:
        """Run a query on the database thread; fires with the list of rows."""
        return self._submit("runQuery", query, *args, **kwargs)

    def runOperation(self, command: str, *args: Any, **kwargs: Any) -> Deferred[None]:
        """Run one statement on the database thread; commits when ``autoCommit``."""
        return self._submit("runOperation", command, *args, **kwargs)

    def runOperationMany(self, command: str, parameters: Iterable[Any]) -> Deferred[None]:
        """``executemany`` on the database thread; *parameters* is consumed there."""
        return self._submit("runOperationMany", command, parameters)

    def runInteraction(
        self, interaction: Callable[..., _T], *args: Any, **kwargs: Any
    ) -> Deferred[_T]:
        """Run ``interaction(cursor, *args, **kwargs)`` in one transaction on the thread.

        Fires with its return value once committed; errbacks with its exception
        after the rollback.
        """
        return self._submit("runInteraction", interaction, *args, **kwargs)

    def commit(self) -> Deferred[None]:
        """Commit the current transaction."""
        return self._submit("commit")

    def rollback(self) -> Deferred[None]:
        """Roll back the current transaction."""
        return self._submit("rollback")

    def close(self) -> Deferred[None]:
        """Close the connection after the calls already submitted; stops the thread.

        Calling it again returns a Deferred for the same close.
        """
        if self._closing is not None:
            waiter: Deferred[None] = Deferred()

            def relay(result: Any) -> Any:
                if isinstance(result, Failure):
                    waiter.errback(result)
                else:
                    waiter.callback(None)
                return result

            self._closing.addBoth(relay)
            return waiter
        self._closed = True
        if self._shutdown_trigger is not None:
            self._reactor.removeSystemEventTrigger(self._shutdown_trigger)
            self._shutdown_trigger = None
        self._closing = self._thread.submit(self._close_inline)
        self._thread.stop()
        return self._closing

    def _close_inline(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None


ThreadedSQLite = AsyncSQLite
"""Another name for `AsyncSQLite`."""
