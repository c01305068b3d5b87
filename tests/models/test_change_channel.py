"""The change channel (PostgreSQL LISTEN/NOTIFY): a committed change is heard,
a rolled-back one never; a listener whose session is terminated connects again
by itself and catches up from the log; a forked child listens on a session of
its own and leaves its parent's alone."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import pytest

from models.change_channel import APPLICATION_NAME, ChangeListener, connector
from models.db import db, write_transaction
from models.directory import record_change
from tests.integration.server import wait_until


class Boom(Exception):
    pass


@pytest.fixture
def listener(postgres_database):
    listening = ChangeListener(connector(postgres_database), wake_s=0.05)
    listening.start()
    wait_until(lambda: listening.listening, "the listener to listen")
    yield listening
    listening.close()


def committed_change() -> int:
    with write_transaction():
        return record_change("site", "1001")


@contextmanager
def session() -> Iterator[Any]:
    """A session of its own on the test database, in autocommit."""
    conn = psycopg2.connect(dbname=db.obj.database, **db.obj.connect_params)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def announced(conn: Any) -> list[int]:
    """The payloads CONN has received since last asked."""
    conn.poll()
    payloads = [int(n.payload) for n in conn.notifies]
    conn.notifies.clear()
    return payloads


def terminate(backend_pid: int) -> None:
    """pg_terminate_backend from a session of its own (what a failover or an operator does)."""
    with session() as admin, admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))
        assert cursor.fetchone() == (True,)


def test_a_committed_change_is_heard_with_its_seq(listener):
    seq = committed_change()
    wait_until(lambda: listener.heard >= seq, "the change to be heard")
    assert listener.heard == seq


def test_a_change_is_announced_at_commit_and_a_rolled_back_one_never(postgres_database):
    with session() as raw:
        raw.cursor().execute("LISTEN authz_changes")
        with pytest.raises(Boom), write_transaction():
            rolled_back = record_change("site", "1001")
            raise Boom()
        with write_transaction():
            seq = record_change("site", "1001")
            assert announced(raw) == []  # not before the commit
        assert rolled_back < seq
        assert wait_until(lambda: announced(raw), "the committed change's announcement") == [seq]


def test_a_notification_that_names_no_seq_is_ignored(listener):
    db.execute_sql("NOTIFY authz_changes, 'hello'")
    seq = committed_change()
    wait_until(lambda: listener.heard >= seq, "the change after the stray notification")
    assert listener.sessions == 1 and listener.listening  # the session was not dropped for it


def test_a_terminated_session_reconnects_and_catches_up_from_the_log(listener):
    first = listener.backend_pid
    assert first is not None
    terminate(first)
    wait_until(lambda: not listener.listening or listener.sessions > 1, "the listener to notice")
    # Committed while the listener may be away: either heard, or found in the log on reconnecting.
    missed = committed_change()
    wait_until(lambda: listener.listening and listener.sessions == 2, "the listener to reconnect")
    assert listener.backend_pid != first
    wait_until(lambda: listener.heard >= missed, "the missed change to be caught up")
    later = committed_change()
    wait_until(lambda: listener.heard >= later, "a change after the reconnection to be heard")


def test_the_sessions_are_named_for_operators(listener):
    [(name,)] = db.execute_sql(
        "SELECT application_name FROM pg_stat_activity WHERE pid = %s", (listener.backend_pid,)
    ).fetchall()
    assert name == APPLICATION_NAME


def test_a_forked_child_listens_on_its_own_session_and_leaves_the_parents(listener, postgres_database):
    parent_session = listener.backend_pid
    db.execute_sql("SELECT 1")  # peewee's connection is open across the fork too
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of fork() with threads: forking with them is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: report, then leave without running any teardown
        code = 1
        try:
            wait_until(lambda: listener.listening, "the child's listener", deadline_s=10)
            seq = committed_change()  # through a connection of its own, not the parent's
            wait_until(lambda: listener.heard >= seq, "the child to hear", deadline_s=10)
            os.write(write, f"{listener.backend_pid} {seq}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    child_session, seq = (int(part) for part in os.read(read, 100).split())
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_session != parent_session
    wait_until(lambda: listener.heard >= seq, "the parent to hear the child's change")
    assert listener.backend_pid == parent_session and listener.sessions == 1  # never disturbed
    assert db.execute_sql("SELECT 1").fetchone() == (1,)  # peewee's session survived the child
