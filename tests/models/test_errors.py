"""What the storage layer makes of real database failures (models/errors.py,
models/db.py): each is StoreUnavailable, the broken connection is dropped
whether the failure came inside a transaction or not, and the next use
reconnects by itself. Lock waits and connection attempts are bounded."""

from __future__ import annotations

import time
from contextlib import closing

import psycopg2
import pytest

from models.db import PG_CONNECT_TIMEOUT_S, db, open_database, read_transaction, write_transaction
from models.directory import latest_change_seq
from models.errors import StoreUnavailable, classified
from models.snapshot import database_rows
from tests.faults import postgres_refusing, silent_server, sqlite_path, sqlite_write_lock, terminate_backends

MARGIN_S = 1.0  # scheduling slack on a loaded machine; the bounds themselves are the promise


def backend_pid() -> int:
    return db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def test_a_terminated_connection_is_dropped_and_the_next_use_reconnects(postgres_database, postgres_server_url):
    before = backend_pid()
    assert terminate_backends(postgres_server_url) >= 1
    with pytest.raises(StoreUnavailable), classified():
        db.execute_sql("SELECT 1")  # peewee's OperationalError: the server closed the connection
    assert db.is_closed()
    assert backend_pid() != before  # a new connection, without anyone's help


def test_a_connection_terminated_inside_a_transaction_leaves_no_transaction_behind(
    postgres_database, postgres_server_url
):
    """The statement fails, then the rollback fails too (InterfaceError: connection
    already closed); peewee still unwinds its transaction stack, and the
    connection is dropped, so the worker is not stuck in a dead transaction."""
    with pytest.raises(StoreUnavailable) as raised, write_transaction():
        latest_change_seq()
        terminate_backends(postgres_server_url)
        latest_change_seq()
    assert "connection" in str(raised.value)
    assert not db.in_transaction() and db.is_closed()
    with write_transaction():
        assert latest_change_seq() == 0


def test_a_connection_terminated_before_commit(postgres_database, postgres_server_url):
    with pytest.raises(StoreUnavailable), write_transaction():
        latest_change_seq()
        terminate_backends(postgres_server_url)
    assert not db.in_transaction() and db.is_closed()
    with read_transaction():
        assert latest_change_seq() == 0


def test_the_raw_check_path_classifies_psycopg2_errors(postgres_database, postgres_server_url):
    """The check path reads on the driver's cursor, below peewee's wrapping."""
    assert database_rows(lambda p: f"SELECT {p}", (1,)) == [(1,)]
    terminate_backends(postgres_server_url)
    with pytest.raises(StoreUnavailable) as raised:
        database_rows(lambda p: f"SELECT {p}", (1,))
    assert isinstance(raised.value.__cause__, psycopg2.Error)
    assert database_rows(lambda p: f"SELECT {p}", (2,)) == [(2,)]


def test_a_refused_connection_is_unavailable_until_the_database_returns(postgres_database, postgres_server_url):
    with postgres_refusing(postgres_server_url):
        for _ in range(2):  # the terminated connection, then a refused connect
            with pytest.raises(StoreUnavailable), classified():
                latest_change_seq()
        assert "not currently accepting connections" in _unavailable_message()
    assert latest_change_seq() == 0


def _unavailable_message() -> str:
    try:
        with classified():
            latest_change_seq()
    except StoreUnavailable as exc:
        return str(exc)
    raise AssertionError("the database answered")


def test_a_server_that_never_answers_is_given_up_on(postgres_database):
    """connect_timeout: a hung server (or an address that drops packets) costs at
    most that long, by default PG_CONNECT_TIMEOUT_S, here the URL's 2 s."""
    assert db.obj.connect_params["connect_timeout"] == PG_CONNECT_TIMEOUT_S
    with silent_server() as port:
        open_database(f"postgresql://postgres@127.0.0.1:{port}/nothing?connect_timeout=2")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="timeout"), classified():
            latest_change_seq()
        assert time.monotonic() - started < 2 + MARGIN_S


def test_a_row_lock_held_elsewhere_is_waited_for_at_most_the_lock_timeout(postgres_database, postgres_server_url):
    open_database(postgres_server_url, lock_timeout_ms=300)
    db.execute_sql("CREATE TABLE lock_probe (id integer PRIMARY KEY)")
    db.execute_sql("INSERT INTO lock_probe VALUES (1)")
    with closing(psycopg2.connect(postgres_server_url)) as other, other.cursor() as cur:
        cur.execute("SELECT id FROM lock_probe WHERE id = 1 FOR UPDATE")  # its transaction stays open
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="lock timeout"), write_transaction():
            db.execute_sql("SELECT id FROM lock_probe WHERE id = 1 FOR UPDATE")
        assert 0.3 <= time.monotonic() - started < 0.3 + MARGIN_S
        other.rollback()
    with write_transaction():
        assert db.execute_sql("SELECT id FROM lock_probe WHERE id = 1 FOR UPDATE").fetchone() == (1,)


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path}/authz.db"
    open_database(url)
    db.execute_sql("CREATE TABLE t (id integer)")
    yield url
    db.close()


def test_sqlites_write_lock_held_by_another_process_is_waited_for_at_most_the_lock_timeout(sqlite_url):
    open_database(sqlite_url, lock_timeout_ms=400)
    with sqlite_write_lock(sqlite_path(sqlite_url)):
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="database is locked"), write_transaction():
            db.execute_sql("INSERT INTO t VALUES (1)")
        assert 0.4 <= time.monotonic() - started < 0.4 + MARGIN_S
        with read_transaction():  # WAL: readers do not need the write lock
            assert db.execute_sql("SELECT count(*) FROM t").fetchone() == (0,)
    with write_transaction():
        db.execute_sql("INSERT INTO t VALUES (1)")
    assert db.execute_sql("SELECT count(*) FROM t").fetchone() == (1,)


def test_the_lock_timeout_is_sqlites_busy_timeout(sqlite_url):
    open_database(sqlite_url, lock_timeout_ms=1234)
    assert db.execute_sql("PRAGMA busy_timeout").fetchone() == (1234,)
    open_database(sqlite_url)
    assert db.execute_sql("PRAGMA busy_timeout").fetchone() == (2000,)
