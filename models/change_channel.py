"""Committed changes pushed to every worker of every replica: PostgreSQL's
LISTEN/NOTIFY.

Each change-log row is announced on CHANNEL in the transaction that writes it
(`announce`, called by directory.record_change), with its seq as the payload:
PostgreSQL delivers a notification only once its transaction commits, and in
commit order (change-log writers commit in seq order, under an advisory lock).

A worker's ChangeListener keeps a connection of its own in LISTEN mode, served
by one daemon thread that does nothing but wait on the socket and raise `heard`,
the highest seq announced; the request path only compares that number with the
seq its caches reflect (authz/decisions/freshness.py), so hearing costs it no
system call. The thread owns every reconnection: when the connection drops
(pg_terminate_backend, a restart, a failover) it connects again, backing off,
and then reads the change log's latest seq, so whatever was announced while it
was away is caught up at once. Meanwhile the change-log poll every
AUTHZ_CHANGE_POLL_MS is the safety net: the channel only makes a worker poll
sooner, never later.

Fork: a listener is started by the first read of the change feed, in the worker
that serves (gunicorn loads the app after forking). A listener started before a
fork is started again in the child, with a connection of its own; the inherited
one is kept open and never used, as libpq requires (closing it would end the
parent's session)."""

from __future__ import annotations

import logging
import os
import select
import threading
import weakref
from collections.abc import Callable
from typing import Any

import psycopg2
from peewee import PostgresqlDatabase

from models.db import db, keep_inherited

log = logging.getLogger("authz.changes")

CHANNEL = "authz_changes"
APPLICATION_NAME = "authz change listener"  # how an operator finds these sessions in pg_stat_activity
RETRY_MIN_S = 0.05  # first wait before connecting again; doubles up to RETRY_MAX_S
RETRY_MAX_S = 2.0
WAKE_S = 0.5  # the thread looks whether it should stop at least this often
# A connection that dies without a word (a cable, a firewall) is noticed by TCP
# keepalives within about 10 s; until then the poll keeps caches within bounds.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}

Connect = Callable[[], Any]  # a new psycopg2 connection


def announce(seq: int) -> None:
    """Inside the caller's transaction: tell every listener, at commit, that
    change SEQ is there."""
    db.execute_sql("SELECT pg_notify(%s, %s)", (CHANNEL, str(seq)))


def connector(database: PostgresqlDatabase, name: str = APPLICATION_NAME) -> Connect:
    """Connections like peewee's (same database, credentials and timeouts), named
    NAME in pg_stat_activity."""
    params = dict(database.connect_params)
    if database.database.startswith("postgresql://"):
        params.setdefault("dsn", database.database)
    else:
        params.setdefault("dbname", database.database)
    params.update(KEEPALIVES, application_name=name)
    return lambda: psycopg2.connect(**params)


class ChangeListener:
    """`heard`: the highest change seq announced since the listener started (or
    found in the log on each (re)connection). Read by the request path; written
    only by the listener's thread."""

    def __init__(self, connect: Connect, wake_s: float = WAKE_S):
        self._connect = connect
        self._wake_s = wake_s
        self.heard = 0
        self.listening = False  # LISTEN is in force on a live connection
        self.sessions = 0  # connections on which LISTEN took, this process
        self.backend_pid: int | None = None  # the server process of the current session
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self._pid = 0
        _LISTENERS.add(self)

    def start(self) -> None:
        """Listen from now on (in this process); starting twice is harmless."""
        if self._thread is not None and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=_listen, args=(weakref.ref(self), self._connect, self._stop, self._wake_s), daemon=True
        )
        self._thread.name = "change-listener"
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop listening and close the connection."""
        self._stop.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout)
        self._thread = None

    # -- called from the listener's thread --------------------------------

    def _hear(self, seq: int) -> None:
        if seq > self.heard:
            self.heard = seq  # one reference assignment: readers see the old or the new number

    def _session(self, conn: Any, latest: int) -> None:
        self._conn, self.backend_pid = conn, conn.get_backend_pid()
        self.sessions += 1
        self.listening = True
        self._hear(latest)

    def _lost(self) -> None:
        self.listening = False
        self._conn = None

    def _after_fork(self) -> None:
        running = self._thread is not None
        keep_inherited(self._conn)  # the parent's session: never closed here
        self._conn, self._thread, self.listening, self.backend_pid = None, None, False, None
        if running:
            self.start()


def _listen(ref: weakref.ref[ChangeListener], connect: Connect, stop: threading.Event, wake_s: float) -> None:
    """The listener's thread: connect, LISTEN, wait; on any failure, again. Ends
    when stopped, or when its listener is gone."""
    delay = RETRY_MIN_S
    while not stop.is_set() and ref() is not None:
        try:
            conn = connect()
        except psycopg2.Error as error:
            log.warning("change listener: cannot connect (%s); again in %.2f s", str(error).strip(), delay)
            stop.wait(delay)
            delay = min(delay * 2, RETRY_MAX_S)
            continue
        try:
            _serve(ref, conn, stop, wake_s)
            delay = RETRY_MIN_S
        except (psycopg2.Error, OSError) as error:
            log.warning("change listener: connection lost (%s); the change-log poll covers the gap", error)
            delay = RETRY_MIN_S  # it was up: try again soon
        finally:
            listener = ref()
            if listener is not None:
                listener._lost()
            del listener
            conn.close()
        stop.wait(delay)


def _serve(ref: weakref.ref[ChangeListener], conn: Any, stop: threading.Event, wake_s: float) -> None:
    """LISTEN on CONN, catch up with the log, then raise `heard` on each
    notification until stopped (returns) or the connection fails (raises)."""
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"LISTEN {CHANNEL}")
        # After LISTEN: a change committed from here on is heard, one committed
        # before (while disconnected) is in the log.
        cursor.execute("SELECT coalesce(max(seq), 0) FROM change_log")
        (latest,) = cursor.fetchone()
    listener = ref()
    if listener is None:
        return
    listener._session(conn, latest)
    del listener
    while not stop.is_set():
        select.select([conn], [], [], wake_s)
        conn.poll()  # raises once the server has closed the session
        listener = ref()
        if listener is None:
            return
        if conn.notifies:
            seqs = [int(n.payload) for n in conn.notifies if n.payload.isdigit()]  # anyone may NOTIFY
            conn.notifies.clear()
            if seqs:
                listener._hear(max(seqs))
        del listener


_LISTENERS: weakref.WeakSet[ChangeListener] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for listener in list(_LISTENERS):
        listener._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
