"""The worker's member cache drops exactly what a change names: one membership,
every entry of one person (an identity change), or everything."""

from __future__ import annotations

from authz.decisions.member_cache import Absent, MemberCache
from models.directory import Change, MemberRecord


def _cache(reads: list):
    def fetch(login: str, site: str):
        reads.append((login, site))
        return MemberRecord("user", {}) if site != "none" else None

    return MemberCache(fetch, lambda login, site: "no_membership", max_entries=100)


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
