"""write_transaction()'s after_commit(): what waits for a commit runs once it has
happened, and never for what was rolled back. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from models.db import after_commit, db, write_transaction
from models.schema import Site


class Boom(Exception):
    pass


def test_callbacks_run_once_the_outermost_transaction_commits(database):
    ran = []
    with write_transaction():
        Site.create(number="S1", name="One")
        after_commit(lambda: ran.append(Site.select().where(Site.number == "S1").exists()))
        with write_transaction():  # a savepoint: its callbacks wait for the outer commit
            after_commit(lambda: ran.append("inner"))
        assert ran == []
    assert ran == [True, "inner"] and not db.in_transaction()


def test_callbacks_of_what_rolls_back_never_run(database):
    ran = []
    with pytest.raises(Boom), write_transaction():
        after_commit(lambda: ran.append("outer"))
        raise Boom()
    with write_transaction():
        with pytest.raises(Boom), write_transaction():
            after_commit(lambda: ran.append("savepoint"))
            raise Boom()
        after_commit(lambda: ran.append("kept"))
    assert ran == ["kept"]


def test_nothing_may_wait_outside_a_write_transaction_or_inside_another_kind(database):
    with pytest.raises(RuntimeError, match="write_transaction"):
        after_commit(lambda: None)
    with db.atomic(), write_transaction(), pytest.raises(RuntimeError, match="commits by itself"):
        after_commit(lambda: None)
    ran = []
    with write_transaction():  # the thread's bookkeeping is clean again
        after_commit(lambda: ran.append(1))
    assert ran == [1]
