"""A worker's bounded LRU of memberships, absences included, invalidated entry
by entry from the change feed. Single-threaded by design (gunicorn sync workers)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

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


class MemberCache:
    def __init__(
        self, fetch: Callable[[str, str], MemberRecord | None], why_absent: Callable[[str, str], str], max_entries: int
    ):
        self._fetch = fetch
        self._why_absent = why_absent
        self._max = max_entries
        self._entries: OrderedDict[Key, Entry] = OrderedDict()

    def get(self, login_key: str, site_number: str) -> Entry:
        key = (login_key, site_number)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            return entry
        entry = self._fetch(login_key, site_number) or _absent(self._why_absent(login_key, site_number))
        self._entries[key] = entry
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return entry

    def __len__(self) -> int:
        return len(self._entries)

    def on_changes(self, changes: list[Change] | None) -> None:
        if changes is None:
            self._entries.clear()
            return
        people: set[str] = set()
        for change in changes:
            if change.login_key is not None and change.site_number is not None:
                self._entries.pop((change.login_key, change.site_number), None)
            elif change.kind == "identity" and change.login_key is not None:
                people.add(change.login_key)  # every entry of that person, absences too
            elif change.kind != "api_key":
                # A change to a whole site (or of unknown reach): start over.
                # An absence can also turn into a membership, so nothing is kept.
                self._entries.clear()
                return
        if people:  # one pass, however many people a batch of changes names
            for key in [key for key in self._entries if key[0] in people]:
                del self._entries[key]
