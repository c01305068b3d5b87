"""member_lookup read whole, for a worker that holds every membership in memory
(authz/decisions/resident.py). The read runs on a connection of its own, in
a background thread, so it never shares peewee's connection with the serving
thread; rows come in pages, so neither driver holds the whole table at once.

One statement reads the table: one snapshot, and on PostgreSQL a server-side
cursor, so the client holds one page at a time."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from models.change_channel import connector
from models.db import db, is_postgres
from models.errors import DRIVER_ERRORS, classify

Row = tuple[str, str, str, str]  # login_key, site_number, role, levels
PAGE = 5_000
APPLICATION_NAME = "authz member table"  # its session in pg_stat_activity, while it reads

# Counted no further than LIMIT rows: a table that cannot fit is not read to the end.
_SIZE = (
    "SELECT count(*), coalesce(sum(length(login_key) + length(site_number)), 0) "
    "FROM (SELECT login_key, site_number FROM member_lookup LIMIT {limit}) AS counted"
)
_ALL = "SELECT login_key, site_number, role, levels FROM member_lookup"


def readable() -> bool:
    """Whether another connection sees peewee's data: not an in-memory SQLite
    database (each connection to one has its own)."""
    return is_postgres() or db.obj.database not in ("", ":memory:")


class TableReader:
    """One connection to the database peewee uses: `size`, then `pages`."""

    def __init__(self) -> None:
        try:
            self._connection: Any = _connect()
        except DRIVER_ERRORS as error:
            raise classify(error) from error

    def size(self, limit: int) -> tuple[int, int]:
        """(rows, characters in their keys) of the first LIMIT rows: what a copy of
        the keys will cost, or, at LIMIT rows, that it costs too much."""
        try:
            with closing(self._connection.cursor()) as cursor:
                cursor.execute(_SIZE.format(limit=int(limit)))
                rows, characters = cursor.fetchone()
        except DRIVER_ERRORS as error:
            raise classify(error) from error
        return int(rows), int(characters)

    def pages(self, page: int = PAGE) -> Iterator[list[Row]]:
        try:
            # A named cursor lives on the server (PostgreSQL); SQLite steps through as asked.
            cursor = self._connection.cursor("authz_member_table") if is_postgres() else self._connection.cursor()
            with closing(cursor):
                if is_postgres():
                    cursor.itersize = page
                cursor.execute(_ALL)
                while rows := cursor.fetchmany(page):
                    yield rows
        except DRIVER_ERRORS as error:
            raise classify(error) from error

    def close(self) -> None:
        self._connection.close()


def _connect() -> Any:
    if is_postgres():
        connection = connector(db.obj, APPLICATION_NAME)()
        connection.set_session(readonly=True)  # a transaction: the named cursor needs one
        return connection
    uri = Path(db.obj.database).resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)
