"""The one database handle. Chosen at start-up, never at import time."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from peewee import Database, DatabaseProxy, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect, parse

from models.errors import classified

db = DatabaseProxy()

# How long a statement waits for a lock another connection holds before the
# database gives up (AUTHZ_DB_LOCK_TIMEOUT_MS): a request held up by a long
# writer (an import, another process) answers 503 then, not after a client or
# gunicorn has given up on it.
LOCK_TIMEOUT_MS = 2000
# How long connecting to PostgreSQL may take (libpq's connect_timeout, in
# seconds; a `connect_timeout` in the URL wins): a server that accepts but never
# answers, or an address that drops packets, answers 503 then.
PG_CONNECT_TIMEOUT_S = 5

SQLITE_PRAGMAS = {
    "journal_mode": "wal",  # readers never block the writer
    "foreign_keys": 1,
    "busy_timeout": LOCK_TIMEOUT_MS,  # ms a writer waits for the write lock; open_database sets it
    "synchronous": "normal",  # safe with WAL; fsync at checkpoints
    # 8 MiB of pages per connection (default 2): at 1M memberships an uncached
    # check then reads 1.2 pages from the OS instead of 1.7 (16 MiB: 0.9). Memory
    # grows to it only as a large database is read.
    "cache_size": -8_000,
}


def open_database(url: str, lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> Database:
    """Bind the models to the database at URL (sqlite:///path or postgresql://...).
    A statement waits at most LOCK_TIMEOUT_MS for a lock another connection holds,
    then fails (StoreUnavailable once classified)."""
    options: dict = {}
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        options["pragmas"] = {**SQLITE_PRAGMAS, "busy_timeout": lock_timeout_ms}
        options["timeout"] = lock_timeout_ms / 1000  # the driver's own busy wait, before the pragmas apply
    elif url.startswith("postgres"):
        options.update(_postgres_timeouts(parse(url), lock_timeout_ms))
    database = connect(url, **options)
    db.initialize(database)
    return database


def _postgres_timeouts(given: dict, lock_timeout_ms: int) -> dict:
    """libpq connection parameters bounding the waits (URL parameters kept)."""
    lock = f"-c lock_timeout={lock_timeout_ms}"
    return {
        "connect_timeout": given.get("connect_timeout", PG_CONNECT_TIMEOUT_S),
        "options": f"{given['options']} {lock}" if given.get("options") else lock,
    }


def is_postgres(database: Database | DatabaseProxy = db) -> bool:
    target = database.obj if isinstance(database, DatabaseProxy) else database
    return isinstance(target, PostgresqlDatabase)


def is_sqlite(database: Database | DatabaseProxy = db) -> bool:
    target = database.obj if isinstance(database, DatabaseProxy) else database
    return isinstance(target, SqliteDatabase)


# Per thread, as peewee's connections are: for each write_transaction() open now,
# innermost last, the callbacks waiting for its commit (None: nothing may wait).
_after_commit = threading.local()


@contextmanager
def write_transaction() -> Iterator[None]:
    """A transaction that takes the write lock up front: on SQLite, BEGIN IMMEDIATE,
    so that a count-then-insert cannot interleave with another writer. Inside an
    open transaction, a savepoint of it. Driver errors leave as models.errors'.
    Runs the callbacks given to after_commit() once the outermost one commits."""
    levels = _pending_levels()
    # Within a transaction opened otherwise (db.atomic()), whose commit is not seen
    # here, nothing may wait for a commit.
    foreign = levels[-1] is None if levels else db.in_transaction()
    levels.append(None if foreign else [])
    try:
        with classified():
            if is_sqlite() and not db.obj.in_transaction():
                with db.obj.atomic("IMMEDIATE"):
                    yield
            else:
                with db.atomic():
                    yield
    except BaseException:
        levels.pop()  # rolled back: what it registered never happened
        raise
    callbacks = levels.pop()
    if not callbacks:
        return
    if levels:
        outer = levels[-1]  # never None here: this level would have been None too
        if outer is not None:
            outer.extend(callbacks)  # a savepoint: they wait for the outer commit
        return
    for callback in callbacks:
        callback()


def after_commit(callback: Callable[[], None]) -> None:
    """Call CALLBACK after the outermost open write_transaction() commits; never if
    it rolls back (nor if the savepoint it was registered in does). Outside a
    write_transaction(), or inside one opened within another kind of transaction,
    it raises RuntimeError. CALLBACK must not raise."""
    levels = _pending_levels()
    if not levels or levels[-1] is None:
        raise RuntimeError("after_commit() needs a write_transaction() that commits by itself")
    levels[-1].append(callback)


def _pending_levels() -> list[list[Callable[[], None]] | None]:
    levels = getattr(_after_commit, "levels", None)
    if levels is None:
        levels = _after_commit.levels = []
    return levels


@contextmanager
def read_transaction() -> Iterator[None]:
    """A transaction for reads that belong together; driver errors leave as
    models.errors'."""
    with classified(), db.atomic():
        yield


# Connections inherited through a fork: kept, never used and never closed in the
# child. A driver's close (psycopg2's Terminate message) or its destructor would
# end the session the parent still uses, over the socket both processes share.
_INHERITED: list[object] = []


def keep_inherited(connection: object | None) -> None:
    """Hold CONNECTION (inherited through a fork) for the rest of this process."""
    if connection is not None:
        _INHERITED.append(connection)


def _after_fork_in_child() -> None:
    """A process forked with the database open (gunicorn's preload_app, a
    multiprocessing fork) connects afresh on its first statement."""
    database = db.obj
    state = getattr(database, "_state", None)
    if state is None:
        return
    keep_inherited(state.conn)
    state.reset()


os.register_at_fork(after_in_child=_after_fork_in_child)
