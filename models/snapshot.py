"""The check path's reads on SQLite: one read transaction held across requests.

In WAL mode a statement outside a transaction takes and drops SQLite's read
lock each time: two fcntl calls and a stat per lookup (strace), and with
SQLite's own locking code 40% of an uncached lookup's time at 1M memberships
(py-spy: 17% of a worker's time before, 10.5% after). A worker instead keeps one read transaction
(a snapshot) open on a connection of its own, and ends it:

- whenever the change feed reads the change log (`renew`, called by the
  feed's source): what the worker reads after a poll is then at least as new
  as the changes that poll applied to the caches, so no entry is refilled from
  data older than its invalidation, and no snapshot is read from longer than
  one poll interval after it began;
- after `idle` seconds without a read (a daemon thread), so an idle worker does
  not hold back WAL checkpoints.

Writers never use this connection (it is `query_only`); admin paths read
through peewee's connection, inside their own transactions. On PostgreSQL, or
an in-memory SQLite database, reads go to peewee's connection as before."""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Callable

from peewee import SqliteDatabase

from models.db import LOCK_TIMEOUT_MS, SQLITE_PRAGMAS, db
from models.errors import DRIVER_ERRORS, classify

SqlForParam = Callable[[str], str]  # the SQL, given the driver's parameter mark
IDLE_SECONDS = 1.0


def database_rows(sql_for_param: SqlForParam, params: tuple) -> list[tuple]:
    """Rows from peewee's connection: a transaction of its own, or the caller's."""
    database = db.obj
    try:
        cursor = database.connection().cursor()
        try:
            cursor.execute(sql_for_param(database.param), params)
            return cursor.fetchall()
        finally:
            cursor.close()
    except DRIVER_ERRORS as error:
        raise classify(error) from error


class ReadSnapshot:
    def __init__(
        self,
        idle: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        lock_timeout_ms: int = LOCK_TIMEOUT_MS,
    ):
        self._idle = idle
        self._lock_timeout_ms = lock_timeout_ms  # as peewee's connection (models.db.open_database)
        self._clock = clock
        self._lock = threading.Lock()  # the reader and the idle thread share the connection
        self._connection: sqlite3.Connection | None = None
        self._path: str | None = None  # decided at the first read: the database may open later
        self._decided = False
        self._in_snapshot = False
        self._last_read = 0.0
        self._janitor: threading.Thread | None = None

    def rows(self, sql_for_param: SqlForParam, params: tuple) -> list[tuple]:
        if not self._decided:
            self._decide()
        if self._path is None:
            return database_rows(sql_for_param, params)
        with self._lock:
            try:
                connection = self._connection or self._connect()
                if not self._in_snapshot:
                    connection.execute("BEGIN")  # deferred: the snapshot starts at the first read
                    self._in_snapshot = True
                self._last_read = self._clock()
                return connection.execute(sql_for_param("?"), params).fetchall()
            except sqlite3.Error as error:
                self._drop()  # start afresh next time; the caller answers 503
                raise classify(error) from error

    def renew(self) -> None:
        """End the snapshot: the next read sees the database as it is then."""
        with self._lock:
            self._end()

    @property
    def holding(self) -> bool:
        """Whether a read transaction is open."""
        return self._in_snapshot

    def end_if_idle(self) -> None:
        with self._lock:
            if self._in_snapshot and self._clock() - self._last_read >= self._idle:
                self._end()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _decide(self) -> None:
        database = db.obj
        if isinstance(database, SqliteDatabase) and database.database not in ("", ":memory:"):
            self._path = database.database
        self._decided = True

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: the module opens no transactions; this class does.
        assert self._path is not None  # only a file database gets a snapshot (_decide)
        connection = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=self._lock_timeout_ms / 1000
        )
        connection.execute(f"PRAGMA busy_timeout = {self._lock_timeout_ms}")
        connection.execute(f"PRAGMA cache_size = {SQLITE_PRAGMAS['cache_size']}")
        connection.execute("PRAGMA query_only = 1")
        self._connection = connection
        if self._janitor is None:
            self._janitor = threading.Thread(
                target=_end_when_idle, args=(weakref.ref(self), self._idle), name="read-snapshot-idle", daemon=True
            )
            self._janitor.start()
        return connection

    def _end(self) -> None:
        if self._in_snapshot and self._connection is not None:
            self._in_snapshot = False
            self._connection.execute("COMMIT")  # nothing was written: this only lets go of the snapshot

    def _drop(self) -> None:
        self._in_snapshot = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _end_when_idle(snapshot_ref: weakref.ref[ReadSnapshot], idle: float) -> None:
    """Checks twice per idle period; stops once its snapshot is gone."""
    while True:
        time.sleep(idle / 2)
        snapshot = snapshot_ref()
        if snapshot is None:
            return
        snapshot.end_if_idle()
        del snapshot
