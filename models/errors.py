"""What the storage layer tells the rest when the database fails, whatever the
driver: the database cannot serve now (StoreUnavailable: try again later), or
it refused a write that conflicts with its constraints (StoreConflict).

Driver and ORM exceptions are classified here and nowhere else: the write and
read transactions of models.db, the check path's raw reads and the service
layer's operations all pass what they catch through `classified()`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import peewee
import psycopg2


class StorageError(Exception):
    """The database could not do what was asked."""


class StoreUnavailable(StorageError):
    """Unreachable, locked, timed out, or failing: nothing was read or changed."""


class StoreConflict(StorageError):
    """A constraint refused the write (a unique key, a foreign key, a check)."""


# Everything the drivers and peewee raise for a database failure.
DRIVER_ERRORS: tuple[type[BaseException], ...] = (peewee.PeeweeException, sqlite3.Error, psycopg2.Error)
_CONFLICTS = (peewee.IntegrityError, sqlite3.IntegrityError, psycopg2.IntegrityError)


def classify(error: BaseException) -> StorageError:
    """ERROR (one of DRIVER_ERRORS) as the storage layer's own error. An unavailable
    database also drops the connection, so the next use reconnects."""
    if isinstance(error, StorageError):
        return error
    if isinstance(error, _CONFLICTS):
        return StoreConflict(f"the database refused the change: {_first_line(error)}")
    _drop_connection()
    return StoreUnavailable(f"the database is unavailable: {_first_line(error)}")


@contextmanager
def classified() -> Iterator[None]:
    """Re-raise any driver error inside the block as StoreUnavailable or StoreConflict."""
    try:
        yield
    except DRIVER_ERRORS as error:
        raise classify(error) from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def _drop_connection() -> None:
    from models.db import db  # models.db imports this module

    try:
        if db.obj is not None and not db.is_closed():
            db.close()
    except DRIVER_ERRORS:
        pass  # closing a broken connection may fail too; the next connect starts afresh
