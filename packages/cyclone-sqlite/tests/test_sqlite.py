import sqlite3
import threading

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

import cyclone.sqlite
from cyclone.sqlite import AsyncSQLite, InlineSQLite, SQLiteError


@pytest.fixture
def inline():
    db = InlineSQLite()
    db.runOperation("CREATE TABLE users (name TEXT UNIQUE, age INTEGER)")
    yield db
    db.close()


@pytest.fixture
def dbfile(tmp_path):
    return str(tmp_path / "test.db")


# --- InlineSQLite -------------------------------------------------------------------------


def test_old_cyclone_call_style_passes_parameters_as_one_sequence(inline):
    inline.runOperation("INSERT INTO users VALUES (?, ?)", ("ana", 31))
    inline.runOperationMany("INSERT INTO users VALUES (?, ?)", [("bob", 20), ("cy", 40)])
    assert inline.runQuery("SELECT name FROM users WHERE age > ? ORDER BY name", (30,)) == [
        ("ana",),
        ("cy",),
    ]


def test_named_parameters_can_be_passed_as_keywords(inline):
    inline.runOperation("INSERT INTO users VALUES (:name, :age)", name="ana", age=31)
    assert inline.runQuery("SELECT age FROM users WHERE name = :name", name="ana") == [(31,)]


def test_parameters_given_both_ways_are_refused(inline):
    with pytest.raises(TypeError, match="not both"):
        inline.runQuery("SELECT ?", (1,), x=2)
    with pytest.raises(TypeError, match="one sequence"):
        inline.runQuery("SELECT ?, ?", 1, 2)


def test_rows_are_tuples_by_default_and_dicts_on_request():
    with InlineSQLite(row_factory="dict") as db:
        assert db.runQuery("SELECT 1 AS one, 'x' AS letter") == [{"one": 1, "letter": "x"}]
    with InlineSQLite(row_factory="row") as db:
        (row,) = db.runQuery("SELECT 1 AS one")
        assert isinstance(row, sqlite3.Row) and row["one"] == 1
    with InlineSQLite(row_factory=lambda cursor, row: row[0] * 2) as db:
        assert db.runQuery("SELECT 21") == [42]
    with InlineSQLite() as db:
        assert db.runQuery("SELECT 1, 2") == [(1, 2)]


def test_unknown_row_factory_is_refused_with_its_value():
    with pytest.raises(ValueError, match="'dicts'"):
        InlineSQLite(row_factory="dicts")


def test_cursor_factory_is_used_for_queries():
    class CountingCursor(sqlite3.Cursor):
        created = 0

        def __init__(self, *args):
            super().__init__(*args)
            CountingCursor.created += 1

    with InlineSQLite(cursorFactory=CountingCursor) as db:
        db.runQuery("SELECT 1")
    assert CountingCursor.created >= 1


def test_without_autocommit_operations_wait_for_commit_or_rollback(dbfile):
    writer = InlineSQLite(dbfile, autoCommit=False)
    reader = InlineSQLite(dbfile)
    try:
        writer.runOperation("CREATE TABLE t (x INTEGER)")
        writer.commit()
        writer.runOperation("INSERT INTO t VALUES (1)")
        assert reader.runQuery("SELECT count(*) FROM t") == [(0,)]
        writer.rollback()
        writer.runOperation("INSERT INTO t VALUES (2)")
        writer.commit()
        assert reader.runQuery("SELECT x FROM t") == [(2,)]
    finally:
        writer.close()
        reader.close()


def test_interaction_commits_and_returns_its_result(inline):
    def add_two(cursor, first, second):
        cursor.execute("INSERT INTO users VALUES (?, 1)", (first,))
        cursor.execute("INSERT INTO users VALUES (?, 2)", (second,))
        return cursor.lastrowid

    assert inline.runInteraction(add_two, "ana", second="bob") == 2
    inline.rollback()
    assert inline.runQuery("SELECT count(*) FROM users") == [(2,)]


def test_interaction_that_raises_is_rolled_back_entirely(inline):
    class Oops(Exception):
        pass

    def half_done(cursor):
        cursor.execute("INSERT INTO users VALUES ('ana', 1)")
        cursor.execute("CREATE TABLE extra (x)")
        raise Oops()

    with pytest.raises(Oops):
        inline.runInteraction(half_done)
    assert inline.runQuery("SELECT count(*) FROM users") == [(0,)]
    assert inline.runQuery("SELECT name FROM sqlite_master WHERE name = 'extra'") == []


def test_interaction_sqlite_error_is_wrapped_and_rolled_back(inline):
    def duplicate(cursor):
        cursor.execute("INSERT INTO users VALUES ('ana', 1)")
        cursor.execute("INSERT INTO users VALUES ('ana', 2)")

    with pytest.raises(cyclone.sqlite.IntegrityError) as caught:
        inline.runInteraction(duplicate)
    assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)
    assert inline.runQuery("SELECT count(*) FROM users") == [(0,)]


def test_interaction_inside_open_transaction_only_undoes_its_own_work(dbfile):
    db = InlineSQLite(dbfile, autoCommit=False)
    try:
        db.runOperation("CREATE TABLE t (x INTEGER)")
        db.runOperation("INSERT INTO t VALUES (1)")

        def fails(cursor):
            cursor.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("nope")

        with pytest.raises(RuntimeError):
            db.runInteraction(fails)
        db.runInteraction(lambda cursor: cursor.execute("INSERT INTO t VALUES (3)"))
        db.commit()
        assert db.runQuery("SELECT x FROM t ORDER BY x") == [(1,), (3,)]
    finally:
        db.close()


def test_errors_carry_the_sql_and_the_original_exception(inline):
    with pytest.raises(SQLiteError) as caught:
        inline.runQuery("SELECT nope FROM users WHERE age = ?", (1,))
    error = caught.value
    assert error.sql == "SELECT nope FROM users WHERE age = ?"
    assert "SELECT nope FROM users" in str(error) and "no such column" in str(error)
    assert isinstance(error.__cause__, sqlite3.OperationalError)
    assert isinstance(error, cyclone.sqlite.OperationalError)
    assert isinstance(error, sqlite3.OperationalError)


def test_constraint_violation_is_still_a_sqlite3_integrity_error(inline):
    inline.runOperation("INSERT INTO users VALUES (?, ?)", ("ana", 1))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE") as caught:
        inline.runOperation("INSERT INTO users VALUES (?, ?)", ("ana", 2))
    assert caught.value.sql == "INSERT INTO users VALUES (?, ?)"


def test_failed_autocommit_write_releases_the_write_lock(dbfile):
    writer = InlineSQLite(dbfile)
    other = InlineSQLite(dbfile, busy_timeout=0)
    try:
        writer.runOperation("CREATE TABLE t (x PRIMARY KEY)")
        writer.runOperation("INSERT INTO t VALUES (1)")
        with pytest.raises(cyclone.sqlite.IntegrityError):
            writer.runOperation("INSERT INTO t VALUES (2), (1)")
        with pytest.raises(cyclone.sqlite.IntegrityError):
            writer.runOperationMany("INSERT INTO t VALUES (?)", [(3,), (1,)])
        other.runOperation("INSERT INTO t VALUES (4)")
        assert writer.runQuery("SELECT x FROM t ORDER BY x") == [(1,), (4,)]
    finally:
        writer.close()
        other.close()


def test_wrong_parameter_count_is_a_programming_error_naming_the_sql(inline):
    with pytest.raises(cyclone.sqlite.ProgrammingError, match="INSERT INTO users"):
        inline.runOperation("INSERT INTO users VALUES (?, ?)", ("ana",))


def test_file_database_in_wal_mode_when_asked(dbfile):
    with InlineSQLite(dbfile, wal=True) as db:
        assert db.runQuery("PRAGMA journal_mode") == [("wal",)]
    with InlineSQLite(dbfile + ".2") as db:
        assert db.runQuery("PRAGMA journal_mode") == [("delete",)]


def test_busy_timeout_sets_how_long_to_wait_for_a_lock(dbfile):
    holder = InlineSQLite(dbfile, autoCommit=False)
    waiter = InlineSQLite(dbfile, busy_timeout=0)
    try:
        holder.runOperation("CREATE TABLE t (x INTEGER)")
        holder.commit()
        holder.runOperation("INSERT INTO t VALUES (1)")
        with pytest.raises(cyclone.sqlite.OperationalError, match="locked") as caught:
            waiter.runOperation("INSERT INTO t VALUES (2)")
        assert caught.value.sql == "INSERT INTO t VALUES (2)"
        holder.commit()
        waiter.runOperation("INSERT INTO t VALUES (2)")
    finally:
        holder.close()
        waiter.close()


def test_unopenable_database_names_the_file(tmp_path):
    missing = str(tmp_path / "no" / "such" / "dir.db")
    with pytest.raises(cyclone.sqlite.OperationalError, match="dir.db"):
        InlineSQLite(missing)


# --- AsyncSQLite --------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_async_api_mirrors_inline_api_with_deferreds():
    db = AsyncSQLite(row_factory="dict")
    try:
        await db.runOperation("CREATE TABLE t (x INTEGER, y TEXT)")
        await db.runOperation("INSERT INTO t VALUES (?, ?)", (1, "a"))
        await db.runOperationMany("INSERT INTO t VALUES (?, ?)", [(2, "b"), (3, "c")])
        rows = await db.runQuery("SELECT * FROM t WHERE x >= :low ORDER BY x", low=2)
        assert rows == [{"x": 2, "y": "b"}, {"x": 3, "y": "c"}]
    finally:
        await db.close()


@pytest_twisted.ensureDeferred
async def test_every_call_runs_on_one_dedicated_thread():
    db = AsyncSQLite()
    try:
        idents = await defer.gatherResults(
            [db.runInteraction(lambda cursor: threading.get_ident()) for _ in range(20)]
        )
        assert set(idents) == {db.thread.ident}
        assert db.thread.ident != threading.get_ident()
    finally:
        await db.close()
    db.thread.join(5)
    assert not db.thread.is_alive()


@pytest_twisted.ensureDeferred
async def test_many_concurrent_calls_from_the_reactor_all_land_in_order(dbfile):
    db = AsyncSQLite(dbfile)
    try:
        await db.runOperation("CREATE TABLE t (n INTEGER)")
        writes = [db.runOperation("INSERT INTO t VALUES (?)", (n,)) for n in range(200)]
        await defer.gatherResults(writes)
        rows = await db.runQuery("SELECT n FROM t ORDER BY rowid")
        assert [n for (n,) in rows] == list(range(200))
    finally:
        await db.close()


@pytest_twisted.ensureDeferred
async def test_reactor_keeps_running_while_the_database_thread_is_busy():
    db = AsyncSQLite()
    release = threading.Event()
    try:
        busy = db.runInteraction(lambda cursor: release.wait(30))
        # The reactor turns while the database thread is blocked.
        await task.deferLater(reactor, 0, lambda: None)
        assert not busy.called
        release.set()
        assert await busy is True
    finally:
        release.set()
        await db.close()


@pytest_twisted.ensureDeferred
async def test_async_interaction_failure_rolls_back_and_errbacks():
    db = AsyncSQLite()
    try:
        await db.runOperation("CREATE TABLE t (x INTEGER PRIMARY KEY)")

        def conflicting(cursor):
            cursor.execute("INSERT INTO t VALUES (1)")
            cursor.execute("INSERT INTO t VALUES (1)")

        with pytest.raises(cyclone.sqlite.IntegrityError):
            await db.runInteraction(conflicting)
        assert await db.runQuery("SELECT count(*) FROM t") == [(0,)]
    finally:
        await db.close()


@pytest_twisted.ensureDeferred
async def test_async_errors_carry_the_sql():
    db = AsyncSQLite()
    try:
        with pytest.raises(SQLiteError, match="SELEC 1") as caught:
            await db.runQuery("SELEC 1")
        assert caught.value.sql == "SELEC 1"
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    finally:
        await db.close()


@pytest_twisted.ensureDeferred
async def test_async_file_database_uses_wal_and_readers_see_committed_data_only(dbfile):
    writer = AsyncSQLite(dbfile, autoCommit=False)
    reader = AsyncSQLite(dbfile)
    try:
        await reader.runQuery("SELECT 1")
        assert await writer.runQuery("PRAGMA journal_mode") == [("wal",)]
        await writer.runOperation("CREATE TABLE t (x INTEGER)")
        await writer.commit()
        await writer.runOperation("INSERT INTO t VALUES (1)")
        assert await reader.runQuery("SELECT count(*) FROM t") == [(0,)]
        await writer.commit()
        assert await reader.runQuery("SELECT count(*) FROM t") == [(1,)]
    finally:
        await writer.close()
        await reader.close()


@pytest_twisted.ensureDeferred
async def test_async_writer_waits_for_lock_within_busy_timeout(dbfile):
    holder = AsyncSQLite(dbfile, autoCommit=False)
    await holder.runOperation("CREATE TABLE t (x INTEGER)")
    await holder.commit()
    impatient = AsyncSQLite(dbfile, busy_timeout=0)
    patient = AsyncSQLite(dbfile, busy_timeout=30)
    try:
        await impatient.runQuery("SELECT 1")
        await patient.runQuery("SELECT 1")
        await holder.runOperation("INSERT INTO t VALUES (1)")
        with pytest.raises(cyclone.sqlite.OperationalError, match="locked"):
            await impatient.runOperation("INSERT INTO t VALUES (2)")
        waiting = patient.runOperation("INSERT INTO t VALUES (3)")
        await holder.commit()
        await waiting
        assert await holder.runQuery("SELECT x FROM t ORDER BY x") == [(1,), (3,)]
    finally:
        for db in (holder, impatient, patient):
            await db.close()


@pytest_twisted.ensureDeferred
async def test_close_finishes_pending_calls_then_refuses_new_ones():
    db = AsyncSQLite()
    created = db.runOperation("CREATE TABLE t (x)")
    closed = db.close()
    again = db.close()
    await created
    await closed
    await again
    with pytest.raises(cyclone.sqlite.ProgrammingError, match="closed"):
        await db.runQuery("SELECT 1")


@pytest_twisted.ensureDeferred
async def test_close_is_registered_as_a_reactor_shutdown_trigger():
    class RecordingReactor:
        def __init__(self):
            self.triggers = {}

        def callFromThread(self, function, *args):
            reactor.callFromThread(function, *args)

        def addSystemEventTrigger(self, phase, event, callable_):
            self.triggers[id(callable_)] = (phase, event, callable_)
            return id(callable_)

        def removeSystemEventTrigger(self, trigger_id):
            del self.triggers[trigger_id]

    fake = RecordingReactor()
    db = AsyncSQLite(reactor=fake)
    ((phase, event, trigger),) = fake.triggers.values()
    assert (phase, event) == ("before", "shutdown")
    result = trigger()
    assert isinstance(result, defer.Deferred)
    await result
    assert fake.triggers == {}
    with pytest.raises(cyclone.sqlite.ProgrammingError):
        await db.runOperation("SELECT 1")


@pytest_twisted.ensureDeferred
async def test_database_that_cannot_open_fails_every_call_with_the_reason(tmp_path):
    db = AsyncSQLite(str(tmp_path / "missing" / "x.db"))
    try:
        with pytest.raises(cyclone.sqlite.ProgrammingError, match="could not be opened") as caught:
            await db.runQuery("SELECT 1")
        assert isinstance(caught.value.__cause__, cyclone.sqlite.OperationalError)
    finally:
        await db.close()


def test_threaded_sqlite_is_another_name_for_async_sqlite():
    assert cyclone.sqlite.ThreadedSQLite is AsyncSQLite


@pytest_twisted.ensureDeferred
async def test_connections_opened_together_on_a_new_file_all_get_wal(dbfile):
    dbs = [AsyncSQLite(dbfile) for _ in range(4)]
    try:
        modes = await defer.gatherResults([db.runQuery("PRAGMA journal_mode") for db in dbs])
        assert modes == [[("wal",)]] * 4
    finally:
        for db in dbs:
            await db.close()
