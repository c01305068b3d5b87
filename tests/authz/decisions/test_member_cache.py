"""The worker's member cache drops exactly what a change names: one membership,
every entry of one person (an identity change), or everything; and it keeps to
its memory budget, counted as tracemalloc counts it."""

from __future__ import annotations

import tracemalloc

from authz.decisions.member_cache import Absent, MemberCache, entry_cost
from models.directory import Change, MemberRecord

RECORD = MemberRecord("user", {})


def _cache(reads: list, max_bytes: int = 1 << 20):
    def find(login: str, site: str):
        reads.append((login, site))
        return RECORD if site != "none" else "no_membership"

    return MemberCache(find, max_bytes, max_entries=100)


def _key(i: int) -> tuple[str, str]:
    """As a request makes it: new string objects, bench-like lengths."""
    return f"person{i:07d}@org{i % 5000}.example", str(1_000_000 + i // 10)


def test_the_cache_keeps_to_its_budget_dropping_the_least_recently_used():
    budget = 100 * entry_cost(_key(0))
    cache = MemberCache(lambda login, site: RECORD, budget)
    for i in range(1000):
        cache.get(*_key(i))
        assert cache.bytes <= budget
    assert 95 <= len(cache) <= 100
    assert cache.bytes == sum(entry_cost(key) for key in cache._entries)
    cache.on_changes([Change(1, "membership", _key(999)[1], _key(999)[0])])
    assert cache.bytes == sum(entry_cost(key) for key in cache._entries)
    cache.on_changes(None)
    assert (len(cache), cache.bytes) == (0, 0)


def test_what_an_entry_is_counted_is_what_it_takes():
    count = 50_000
    cache = MemberCache(lambda login, site: RECORD, 1 << 30)
    tracemalloc.start()
    try:
        for i in range(count):
            cache.get(*_key(i))
        taken, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 0.85 < cache.bytes / taken < 1.15, (cache.bytes / count, taken / count)


def _fill(cache: MemberCache) -> None:
    for login in ("ann", "ben"):
        for site in ("1", "2", "none"):
            cache.get(login, site)


def test_an_identity_change_drops_every_entry_of_that_person_and_only_those():
    reads: list = []
    cache = _cache(reads)
    _fill(cache)
    assert isinstance(cache.get("ann", "none"), Absent)
    cache.on_changes([Change(7, "identity", None, "ann")])
    assert len(cache) == 3
    reads.clear()
    _fill(cache)
    assert reads == [("ann", "1"), ("ann", "2"), ("ann", "none")]  # ben's stayed cached


def test_a_membership_change_drops_one_entry_and_a_site_wide_change_everything():
    reads: list = []
    cache = _cache(reads)
    _fill(cache)
    cache.on_changes([Change(8, "membership", "1", "ben"), Change(9, "api_key", None, None)])
    assert len(cache) == 5
    cache.on_changes([Change(10, "import", None, None)])
    assert len(cache) == 0
