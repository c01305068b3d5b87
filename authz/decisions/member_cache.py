"""A worker's LRU of memberships, absences included, invalidated entry by entry
from the change feed, and bounded by a memory budget (AUTHZ_MEMBER_CACHE_MB):
what an entry costs is counted as it is added, from the sizes of its key's
objects plus the dictionary's own share, so longer login ids mean fewer entries,
not more memory. Records are shared (models/directory.py) and count nothing.
When the whole membership table fits the budget, a copy of it (resident.py)
answers first and takes its share of the budget; this LRU keeps the rest.
Single-threaded by design (gunicorn sync workers)."""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable

from authz.decisions.resident import ResidentTable
from models.directory import Change, MemberRecord

Key = tuple[str, str]  # (login_key, site_number)


class Absent:
    """No membership that counts; the reason code says why (unknown_user,
    identity_inactive, unknown_site, no_membership)."""

    __slots__ = ("code",)

    def __init__(self, code: str):
        self.code = code


Entry = MemberRecord | Absent

# One Absent per reason code, shared by every cached absence (they are never changed).
_ABSENT: dict[str, Absent] = {}


def _absent(code: str) -> Absent:
    entry = _ABSENT.get(code)
    if entry is None:
        entry = _ABSENT[code] = Absent(code)
    return entry


# What an OrderedDict entry costs beyond its key's objects: its slot in the hash
# table and its node in the order list, 77 to 107 bytes by how full the table is
# (tracemalloc, CPython 3.11; tests/authz/decisions/test_member_cache.py holds it).
ENTRY_OVERHEAD = 100
_size = sys.getsizeof


def entry_cost(key: Key) -> int:
    """Bytes one cached entry under KEY takes (an estimate within a few percent)."""
    return _size(key) + _size(key[0]) + _size(key[1]) + ENTRY_OVERHEAD


Find = Callable[[str, str], MemberRecord | str]  # the record, or why there is none


class MemberCache:
    def __init__(
        self, find: Find, max_bytes: int, max_entries: int | None = None, resident: ResidentTable | None = None
    ):
        """FIND reads one member (models.directory.find_member); at most MAX_BYTES
        of entries are kept (the RESIDENT copy's included), and at most
        MAX_ENTRIES in the LRU if given."""
        self._find = find
        self.resident = resident
        self._max_bytes = max_bytes
        self._max_entries = max_entries if max_entries is not None else sys.maxsize
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self.bytes = 0  # what the entries held now cost (entry_cost)

    def get(self, login_key: str, site_number: str) -> Entry:
        if self.resident is not None:
            record = self.resident.get(login_key, site_number)
            if record is not None:
                return record
        key = (login_key, site_number)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry
        found = self._find(login_key, site_number)
        entry = _absent(found) if isinstance(found, str) else found
        self._entries[key] = entry
        self.bytes += entry_cost(key)
        budget = self._max_bytes - (self.resident.bytes if self.resident is not None else 0)
        while self.bytes > budget or len(self._entries) > self._max_entries:
            oldest, _ = self._entries.popitem(last=False)
            self.bytes -= entry_cost(oldest)
        return entry

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: Key) -> None:
        if self._entries.pop(key, None) is not None:
            self.bytes -= entry_cost(key)

    def _clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
        if self.resident is not None:
            self.resident.reload()

    def on_changes(self, changes: list[Change] | None) -> None:
        if changes is None:
            self._clear()
            return
        people: set[str] = set()
        for change in changes:
            if change.login_key is not None and change.site_number is not None:
                self._drop((change.login_key, change.site_number))
                if self.resident is not None:
                    self.resident.drop(change.login_key, change.site_number)
            elif change.kind == "identity" and change.login_key is not None:
                people.add(change.login_key)  # every entry of that person, absences too
            elif change.kind != "api_key":
                # A change to a whole site (or of unknown reach): start over.
                # An absence can also turn into a membership, so nothing is kept.
                self._clear()
                return
        if people:  # one pass, however many people a batch of changes names
            for key in [key for key in self._entries if key[0] in people]:
                self._drop(key)
            if self.resident is not None:
                self.resident.drop_people(people)
