"""Real database faults for the tests, made the way they happen in production:
PostgreSQL backends terminated by the server, a database that refuses
connections, the write lock held by another process (SQLite's, or every table
of a PostgreSQL schema), a server that accepts a connection and never answers,
a SQLite file that cannot be opened."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg2

from models.db import db

# Another process that takes SQLite's write lock (BEGIN IMMEDIATE) and keeps it
# until its stdin is closed.
_HOLD_WRITE_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""


@contextmanager
def sqlite_write_lock(path: str | Path) -> Iterator[None]:
    """SQLite's write lock on PATH, held by another process for the block."""
    with subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITE_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        try:
            assert holder.stdout.readline().strip() == "locked", "the lock holder did not start"
            yield
        finally:
            holder.stdin.close()  # it rolls back and exits
            holder.wait(timeout=10)


def sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


class Backends:
    """Terminates the backends serving one PostgreSQL database, as an operator's
    pg_terminate_backend (or a failover) does, from a connection of its own."""

    def __init__(self, url: str):
        self._conn = psycopg2.connect(url)
        self._conn.autocommit = True

    def terminate(self, spare: tuple[int, ...] = ()) -> int:
        """Every client backend of this database but ours and SPARE's; how many."""
        with self._conn.cursor() as cur:
            cur.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend' AND NOT (pid = ANY(%s))",
                (list(spare),),
            )
            return cur.fetchone()[0]

    def close(self) -> None:
        self._conn.close()


def terminate_backends(url: str, spare: tuple[int, ...] = ()) -> int:
    backends = Backends(url)
    try:
        return backends.terminate(spare)
    finally:
        backends.close()


@contextmanager
def postgres_refusing(url: str) -> Iterator[None]:
    """The database at URL down for the block: every backend terminated and new
    connections refused ("not currently accepting connections"), then allowed again."""
    base, name = url.rsplit("/", 1)
    with closing(psycopg2.connect(base + "/postgres")) as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        try:
            yield
        finally:
            with admin.cursor() as cur:
                cur.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


@contextmanager
def postgres_writes_locked(url: str) -> Iterator[None]:
    """PostgreSQL's nearest to SQLite's write lock, for the block: another session
    holds every table of the schema IN EXCLUSIVE MODE, which lets plain reads
    through and makes every write (and SELECT ... FOR UPDATE) wait."""
    with closing(psycopg2.connect(url)) as other, other.cursor() as cur:
        cur.execute("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()")
        tables = ", ".join(name for (name,) in cur.fetchall())
        cur.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")  # held until the rollback
        try:
            yield
        finally:
            other.rollback()


@contextmanager
def sqlite_unopenable(path: Path, *snapshots) -> Iterator[None]:
    """The SQLite database at PATH cannot be opened for the block ("unable to open
    database file"): peewee's connection and SNAPSHOTS' are closed, as a worker's
    would be after a failure, and a directory stands where the file was."""
    db.close()
    for snapshot in snapshots:
        snapshot.close()
    aside = path.parent / "aside"
    aside.mkdir()
    moved = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    for p in moved:
        shutil.move(p, aside / p.name)
    path.mkdir()
    try:
        yield
    finally:
        path.rmdir()
        for p in moved:
            shutil.move(aside / p.name, p)
        aside.rmdir()


@contextmanager
def silent_server() -> Iterator[int]:
    """A port on loopback that accepts connections (the kernel completes them)
    and never answers: a hung database server, for connect timeouts."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]
