"""The check path's read snapshot on SQLite (models/snapshot.py): it holds one
read transaction across reads, lets go when the change feed polls and when the
worker is idle, and never serves a member older than the poll that cleared it."""

import sqlite3
from dataclasses import replace

import pytest

from models import directory
from models.db import db
from models.errors import StoreUnavailable
from models.identifiers import login_key
from models.snapshot import ReadSnapshot
from tests.integration.server import wait_until
from tests.workers import Worker


@pytest.fixture
def database_url(tmp_path):
    """SQLite only: PostgreSQL has no snapshot (its test is at the end)."""
    return f"sqlite:///{tmp_path}/authz.db"


def reporting_level(snapshot, login, site):
    return directory.fetch_member(login_key(login), site, rows=snapshot.rows).levels.get("reporting")


def test_reads_share_one_snapshot_until_it_is_renewed(make):
    site = make.site()
    login = make.member(site)
    snapshot = ReadSnapshot()
    assert reporting_level(snapshot, login, site) is None
    assert snapshot.holding
    make.member(site, login, reporting="view")  # committed on another connection
    assert reporting_level(snapshot, login, site) is None  # the snapshot still holds
    snapshot.renew()
    assert not snapshot.holding
    assert reporting_level(snapshot, login, site) == "view"


def test_a_member_read_after_a_poll_is_as_new_as_the_poll(settings, make):
    """The snapshot was opened before the change; the poll that clears the member
    must also end it, or the stale row would be cached until the next change."""
    site = make.site()
    login, other = make.member(site), make.member(site)
    worker = Worker(replace(settings, member_table=False))  # every member read through the snapshot
    check = {"user": login, "site": site, "action": "view_reports"}
    assert worker.check({**check, "user": other})["allowed"] is False  # opens the snapshot
    assert worker.snapshot.holding
    make.member(site, login, reporting="view")
    answer = worker.check({**check, "min_change_seq": directory.latest_change_seq()})
    assert answer["allowed"] is True


def test_an_idle_snapshot_is_ended(make):
    site = make.site()
    login = make.member(site)
    now = [100.0]
    snapshot = ReadSnapshot(idle=1.0, clock=lambda: now[0])
    directory.fetch_member(login_key(login), site, rows=snapshot.rows)
    now[0] += 0.5
    snapshot.end_if_idle()
    assert snapshot.holding  # read half a second ago
    now[0] += 0.5
    snapshot.end_if_idle()
    assert not snapshot.holding


def test_the_idle_thread_ends_it_and_checkpoints_can_then_finish(make):
    """Why idle snapshots are ended: a reader's snapshot stops checkpoints short
    of the frames written after it, so the WAL would only grow."""
    site = make.site()
    login = make.member(site)
    snapshot = ReadSnapshot(idle=0.1)
    directory.fetch_member(login_key(login), site, rows=snapshot.rows)
    for _ in range(3):
        make.member(site)  # frames the snapshot cannot see
    _busy, log_frames, done = db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if snapshot.holding:  # (the thread may already have let go on a slow machine)
        assert done < log_frames
    wait_until(lambda: not snapshot.holding, "the idle snapshot to end", deadline_s=5)
    _busy, log_frames, done = db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert done == log_frames


def test_its_connection_refuses_writes(make):
    snapshot = ReadSnapshot()
    with pytest.raises(StoreUnavailable, match="readonly"):
        snapshot.rows(lambda param: "DELETE FROM member_lookup", ())


def test_after_a_driver_error_the_next_read_starts_afresh(make):
    site = make.site()
    login = make.member(site, reporting="view")
    snapshot = ReadSnapshot()
    with pytest.raises(StoreUnavailable) as failed:
        snapshot.rows(lambda param: "SELECT * FROM no_such_table", ())
    assert isinstance(failed.value.__cause__, sqlite3.OperationalError)
    assert not snapshot.holding
    assert reporting_level(snapshot, login, site) == "view"


def test_postgres_reads_go_to_the_shared_connection(postgres_database, policy_table):
    from tests.factories import Factory

    make = Factory(policy_table)
    site = make.site()
    login = make.member(site)
    snapshot = ReadSnapshot()
    assert reporting_level(snapshot, login, site) is None
    assert not snapshot.holding
    make.member(site, login, reporting="view")
    assert reporting_level(snapshot, login, site) == "view"  # no snapshot: always current
