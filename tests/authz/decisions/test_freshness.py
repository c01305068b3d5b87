"""Caches follow the change log: a change committed anywhere stops being
served by every worker after one poll, or at once for a caller who names
the change seq it needs. Two Worker objects stand for two workers."""

from dataclasses import replace

import pytest

from models import directory
from tests.conftest import BACKENDS
from tests.integration.server import wait_until
from tests.workers import Worker

CHECK = {"user": "carol@acme.example", "site": "1001", "action": "request_media"}


def set_carol_purchase_level(make, level):
    make.member("1001", "carol@acme.example", role="user", purchase_download=level, reporting="view")


def test_a_change_through_one_worker_is_seen_by_another_that_asks_for_it(settings, demo, make):
    worker_a, worker_b = Worker(settings), Worker(settings)
    assert worker_b.check(CHECK)["allowed"] is False  # cached in b
    set_carol_purchase_level(make, "media")  # committed by someone else
    seq = directory.latest_change_seq()
    assert worker_b.check(CHECK)["allowed"] is False  # b has not polled yet: the interval is a minute
    fresh = worker_b.check({**CHECK, "min_change_seq": seq})
    assert fresh["allowed"] is True and fresh["change_seq"] >= seq
    assert worker_a.check(CHECK)["allowed"] is True  # a had nothing cached


def test_the_poll_interval_bounds_staleness(settings, demo, make):
    now = [0.0]
    worker = Worker(settings)
    worker.feed._clock = lambda: now[0]
    worker.feed._next_poll = 0.0
    assert worker.check(CHECK)["allowed"] is False
    set_carol_purchase_level(make, "full")
    now[0] += settings.change_poll_ms / 1000  # one interval later, the next request polls
    assert worker.check(CHECK)["allowed"] is True


def test_a_change_drops_only_the_entries_it_names(settings, demo):
    worker = Worker(replace(settings, member_table=False))  # the LRU's own reads, counted
    fetched = []
    real_find = worker.members._find
    worker.members._find = lambda *key: fetched.append(key) or real_find(*key)
    worker.check(CHECK)
    worker.check({**CHECK, "user": "bob@acme.example"})
    with directory.db.atomic():
        directory.record_change("membership", "1001", "carol@acme.example")
    worker.feed.refresh(at_least=directory.latest_change_seq())
    worker.check(CHECK)
    worker.check({**CHECK, "user": "bob@acme.example"})
    assert fetched == [("carol@acme.example", "1001"), ("bob@acme.example", "1001"), ("carol@acme.example", "1001")]


def test_absences_are_cached_and_invalidated_too(settings, demo, make):
    worker = Worker(settings)
    newcomer = {"user": "newcomer@example.test", "site": "1001", "action": "view_reports"}
    assert worker.check(newcomer)["reason"]["code"] == "unknown_user"
    make.member("1001", "newcomer@example.test", reporting="view")
    assert worker.check({**newcomer, "min_change_seq": directory.latest_change_seq()})["allowed"] is True


def test_the_cache_is_bounded(settings, demo):
    from dataclasses import replace

    worker = Worker(replace(settings, cache_size=2, member_table=False))
    for user in ("alice@acme.example", "bob@acme.example", "carol@acme.example", "dana.diaz"):
        worker.check({**CHECK, "user": user})
    assert len(worker.members) == 2


class Announced:
    """A change channel as the feed sees it: `heard` raised by hand."""

    heard = 0

    def start(self) -> None:
        pass


def test_an_announced_change_is_read_before_the_interval_is_up(settings, demo, make):
    worker = Worker(settings)  # the interval is a minute
    channel = worker.feed.signal = Announced()
    fetched = []
    real_since = worker.feed._source.since
    worker.feed._source.since = lambda *args: fetched.append(args) or real_since(*args)
    assert worker.check(CHECK)["allowed"] is False
    set_carol_purchase_level(make, "media")
    assert worker.check(CHECK)["allowed"] is False  # nothing announced yet: served from the cache
    channel.heard = directory.latest_change_seq()
    assert worker.check(CHECK)["allowed"] is True
    assert worker.check(CHECK)["allowed"] is True
    assert len(fetched) == 1  # one read of the log per announcement, not one per request


ON_POSTGRES = pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgres"], indirect=True)


@pytest.fixture
def listening(settings):
    """A worker on PostgreSQL with its change listener on; the poll interval a minute."""
    worker = Worker(replace(settings, change_notify=True))
    yield worker
    worker.service._runtime.close()


@ON_POSTGRES
def test_a_change_committed_elsewhere_is_served_once_heard_without_a_token(listening, demo, make):
    assert listening.check(CHECK)["allowed"] is False  # cached; the listener starts with the first read
    listener = listening.feed.signal
    wait_until(lambda: listener.listening, "the listener to listen")
    set_carol_purchase_level(make, "media")
    seq = directory.latest_change_seq()
    wait_until(lambda: listener.heard >= seq, "the change to be heard")
    answer = listening.check(CHECK)
    assert answer["allowed"] is True and answer["change_seq"] == seq


@ON_POSTGRES
def test_with_the_channel_cut_the_poll_still_catches_up_and_the_listener_returns(listening, demo, make):
    now = [0.0]
    listening.feed._clock = lambda: now[0]
    assert listening.check(CHECK)["allowed"] is False
    listener = listening.feed.signal
    wait_until(lambda: listener.listening, "the listener to listen")
    first = listener.backend_pid
    directory.db.execute_sql("SELECT pg_terminate_backend(%s)", (first,))
    set_carol_purchase_level(make, "media")
    seq = directory.latest_change_seq()
    now[0] += listening.feed._interval  # one interval later the poll reads the log, heard or not
    answer = listening.check(CHECK)
    assert answer["allowed"] is True and answer["change_seq"] == seq
    wait_until(lambda: listener.listening and listener.backend_pid != first, "the listener to reconnect")
    set_carol_purchase_level(make, "downloads")
    later = directory.latest_change_seq()
    wait_until(lambda: listener.heard >= later, "a change after the cut to be heard")
    assert listening.check(CHECK)["allowed"] is False  # the clock has not moved: heard, not polled
