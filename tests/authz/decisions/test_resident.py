"""A worker's copy of the whole membership table (authz/decisions/resident.py):
it answers members without a read, and is never staler than the LRU would be:
a change committed while it loads is replayed onto it, a change after it is
applied to it, a load overtaken by a wider change is thrown away, and a table
that does not fit the budget is not held at all.

Loads run where the test says (SPAWN keeps them until called), so each
interleaving is played in order; one test lets a real thread load."""

from __future__ import annotations

import logging
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from authz.decisions.member_cache import Absent, MemberCache
from authz.decisions.resident import ResidentTable
from models import directory
from models.directory import MemberRecord, shared_record
from models.errors import StoreUnavailable
from models.schema import Membership, MembershipLevel, Person, Site
from models.snapshot import database_rows
from tests.integration.server import wait_until
from tests.workers import Worker

CAROL = ("carol@acme.example", "1001")
BOB = ("bob@acme.example", "1001")


class Members:
    """A member cache with a copy, its database reads counted, its loads held."""

    def __init__(self, budget: int = 1 << 20, open_reader: Callable | None = None):
        self.reads: list[tuple[str, str]] = []
        self.loads: list[Callable[[], None]] = []
        find = directory.member_finder(database_rows)
        options = {"open_reader": open_reader} if open_reader else {}
        self.resident = ResidentTable(budget, spawn=self.loads.append, **options)
        self.cache = MemberCache(lambda *key: self.reads.append(key) or find(*key), budget, resident=self.resident)

    def load(self) -> None:
        self.loads.pop(0)()

    def changes_since(self, seq: int) -> None:
        """Deliver what committed after SEQ, as the change feed does."""
        self.cache.on_changes(directory.changes_since(seq, 100))


def set_carols_purchase_level(level: str) -> None:
    """One membership changed, as the account workflows change it: the change names it."""
    membership = (
        Membership.select()
        .join(Person)
        .switch(Membership)
        .join(Site)
        .where(Person.login_key == CAROL[0], Site.number == CAROL[1])
        .get()
    )
    with directory.db.atomic():
        MembershipLevel.delete().where(
            MembershipLevel.membership == membership, MembershipLevel.application == "purchase_download"
        ).execute()
        MembershipLevel.create(membership=membership, application="purchase_download", level=level)
        directory.record_change("membership", CAROL[1], CAROL[0])


def test_the_copy_answers_members_without_a_read_and_absences_from_the_database(demo):
    members = Members()
    members.cache.on_changes(None)  # the feed starts: a load begins
    members.load()
    assert isinstance(members.cache.get(*CAROL), MemberRecord)
    assert isinstance(members.cache.get(*BOB), MemberRecord)
    assert members.reads == []
    assert isinstance(members.cache.get("newcomer@example.test", "1001"), Absent)
    assert members.reads == [("newcomer@example.test", "1001")]
    assert members.resident.bytes > 0
    assert REGISTRY.get_sample_value("authz_member_table_memberships") == len(members.resident.table) > 0


def test_a_change_committed_while_the_copy_loads_is_replayed_onto_it(demo):
    members = Members()
    seq = directory.latest_change_seq()
    members.cache.on_changes(None)
    members.load()  # read before the change: Carol as she was
    set_carols_purchase_level("media")
    members.changes_since(seq)  # delivered before the copy is used
    assert members.cache.get(*CAROL).levels["purchase_download"] == "media"
    assert members.reads == [CAROL]  # from the database, not from the copy
    assert isinstance(members.cache.get(*BOB), MemberRecord) and members.reads == [CAROL]


def test_a_change_after_the_copy_is_in_use_is_applied_to_it(demo):
    members = Members()
    members.cache.on_changes(None)
    members.load()
    before = members.cache.get(*CAROL)
    seq = directory.latest_change_seq()
    set_carols_purchase_level("media")
    members.changes_since(seq)
    assert members.cache.get(*CAROL).levels["purchase_download"] == "media" != before.levels.get("purchase_download")


def test_an_identity_change_drops_every_membership_of_that_person_from_the_copy(demo):
    members = Members()
    members.cache.on_changes(None)
    members.load()
    members.cache.get(*BOB)
    held = len(members.resident.table)
    with directory.db.atomic():
        directory.record_change("identity", login_key=CAROL[0])
    members.cache.on_changes(directory.changes_since(0, 1000)[-1:])
    assert not any(key.startswith(CAROL[0] + "\x00") for key in members.resident.table)
    assert len(members.resident.table) < held
    members.cache.get(*BOB)
    assert members.reads == []  # others stay held


def test_a_load_overtaken_by_a_wider_change_is_thrown_away(demo):
    members = Members()
    members.cache.on_changes(None)
    members.load()  # finished, not yet in use
    members.cache.on_changes(None)  # an import, say: everything may have changed
    set_carols_purchase_level("media")
    assert members.cache.get(*CAROL).levels["purchase_download"] == "media"
    assert members.reads == [CAROL]  # the overtaken copy was not used
    members.load()
    members.cache.get(*BOB)
    assert members.reads == [CAROL]  # the newer copy is


def test_a_table_larger_than_the_budget_is_not_held_and_nothing_piles_up(demo, caplog):
    members = Members(budget=1_000)
    members.cache.on_changes(None)
    with caplog.at_level(logging.INFO, logger="authz.members"):
        members.load()
    members.cache.get(*CAROL)
    assert members.reads == [CAROL] and members.resident.table == {}
    assert "member table not held" in caplog.text
    for _ in range(3):  # no load runs: drops are not noted for one
        members.cache.on_changes([directory.Change(1, "membership", CAROL[1], CAROL[0])])
    assert members.resident._pending is None


def test_a_table_that_cannot_fit_is_counted_no_further_than_the_budget_allows(demo, caplog):
    members = Members(budget=300)  # room for 2 rows at most: 3 are counted, not 7
    members.cache.on_changes(None)
    with caplog.at_level(logging.INFO, logger="authz.members"):
        members.load()
    assert "member table not held: over 3 memberships" in caplog.text


def test_a_load_that_fails_leaves_the_lru_serving(demo, caplog):
    def unreachable():
        raise StoreUnavailable("the database is unreachable")

    members = Members(open_reader=unreachable)
    members.cache.on_changes(None)
    with caplog.at_level(logging.WARNING, logger="authz.members"):
        members.load()
    assert isinstance(members.cache.get(*CAROL), MemberRecord) and members.reads == [CAROL]
    assert "member table not loaded" in caplog.text
    assert members.resident._pending is None


def test_a_worker_loads_its_copy_in_a_thread_and_a_revoke_is_honoured(settings, demo):
    worker = Worker(replace(settings, cache_size=None))
    check = {"user": CAROL[0], "site": CAROL[1], "action": "request_media"}
    assert worker.check(check)["allowed"] is False
    resident = worker.members.resident
    wait_until(lambda: resident.get(*CAROL) is not None, "the copy to be loaded")
    set_carols_purchase_level("media")
    assert worker.check({**check, "min_change_seq": directory.latest_change_seq()})["allowed"] is True
    set_carols_purchase_level("none")
    assert worker.check({**check, "min_change_seq": directory.latest_change_seq()})["allowed"] is False


class Rows:
    """A table of N members with the bench's key lengths, as a reader gives it."""

    def __init__(self, n: int):
        self.rows = [(f"person{i:07d}@org{i % 5000}.example", str(1_000_000 + i // 10), "user", "") for i in range(n)]

    def size(self, limit: int) -> tuple[int, int]:
        counted = self.rows[:limit]
        return len(counted), sum(len(login) + len(site) for login, site, _, _ in counted)

    def pages(self):
        for start in range(0, len(self.rows), 5000):
            yield self.rows[start : start + 5000]

    def close(self) -> None:
        pass


@pytest.mark.parametrize("n", [1_000, 50_000])
def test_the_copy_counts_what_tracemalloc_sees(n):
    rows = Rows(n)
    shared_record("user", "")  # shared records count nothing
    resident = ResidentTable(1 << 30, open_reader=lambda: rows, spawn=lambda load: load())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        resident.reload()
        resident.get("nobody", "0")  # adopts
        taken = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(resident.table) == n
    assert abs(resident.bytes - taken) <= 0.15 * taken, (resident.bytes, taken)
    per_member = resident.bytes / n
    assert per_member < 200, per_member  # well under the LRU's 290
    estimate = n * (sys.getsizeof("") + 1 + 42) + rows.size(n)[1]
    assert abs(estimate - resident.bytes) <= 0.25 * resident.bytes, (estimate, resident.bytes)


def test_a_load_that_cannot_start_leaves_the_lru_serving(demo, caplog):
    def no_thread(load):
        raise RuntimeError("can't start new thread")

    resident = ResidentTable(1 << 20, spawn=no_thread)
    cache = MemberCache(directory.member_finder(database_rows), 1 << 20, resident=resident)
    with caplog.at_level(logging.WARNING, logger="authz.members"):
        cache.on_changes(None)
    assert isinstance(cache.get(*CAROL), MemberRecord) and resident.table == {}
    assert "member table not loaded" in caplog.text and resident._pending is None
