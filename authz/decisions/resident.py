"""Every membership in a worker's memory, when member_lookup fits the member
cache's budget (AUTHZ_MEMBER_CACHE_MB).

Checks drawn from a million memberships miss any LRU of a useful size, and on
PostgreSQL each miss is a round trip that costs the worker and the database
more CPU than the rest of the check (bench/RESULTS-production.md). So when the
table fits three quarters of the budget, a worker reads it whole in a
background thread while it goes on answering from the database, and the
serving thread then puts the copy in use. The LRU (member_cache.py) keeps the
rest of the budget, for absences and for members changed since.

Fresh as the database: from the moment a load begins, every invalidation the
change feed delivers is noted, and replayed onto the copy before it is used.
The copy is read after the load began, so a change it missed committed after
the load began, and the feed delivers it after that: before the copy is used
(replayed) or after (applied to it). A change of wider reach (an import, a
feed that starts over) begins a new load, and a load it overtook is thrown
away. Members are keyed by one string, login key and site joined by NUL, which
no login key holds (printable characters only): 130 bytes a member where the
LRU's entries take 290."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import Gauge

from models.directory import MemberRecord, shared_record
from models.member_table import Row, TableReader

log = logging.getLogger("authz.members")

SEPARATOR = "\x00"
_EMPTY_KEY = sys.getsizeof("")  # a key's cost beyond its characters (ASCII)
_SLOT = 42  # the dict's own share of one entry at 1M: getsizeof(table) / len(table), 40 to 60
SHARE = 0.75  # of the member cache's budget, at most

# One series per worker (its pid): 0 while it holds no copy, so an operator sees a
# worker answering from the database (a budget too small, a load that failed).
HELD = Gauge(
    "authz_member_table_memberships",
    "Memberships in this worker's copy of the member table when it was put in use (0: no copy)",
    multiprocess_mode="liveall",
)


class Reader(Protocol):
    def size(self, limit: int) -> tuple[int, int]: ...
    def pages(self) -> Iterable[list[Row]]: ...
    def close(self) -> None: ...


Spawn = Callable[[Callable[[], None]], None]


def in_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="authz-member-table", daemon=True).start()


@dataclass
class _Load:
    generation: int
    table: dict[str, MemberRecord] | None  # None: the load ended without a copy
    bytes: int = 0
    seconds: float = 0.0


class ResidentTable:
    """The serving thread calls get, drop, drop_people and reload; a loader
    thread (SPAWN) reads the table and leaves it in `_finished`."""

    def __init__(
        self,
        max_bytes: int,
        open_reader: Callable[[], Reader] = TableReader,
        spawn: Spawn = in_thread,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._max_bytes = int(max_bytes * SHARE)
        self._open_reader = open_reader
        self._spawn = spawn
        self._clock = clock
        self.table: dict[str, MemberRecord] = {}  # in use: empty until a load is adopted
        self.bytes = 0
        self._generation = 0
        # Drops since the running load began; None while no load runs.
        self._pending: list[str | tuple[str, ...]] | None = None
        self._finished: _Load | None = None  # written by the loader, taken by the serving thread
        self._one_load = threading.Lock()  # a newer load waits for an older one to stop
        self._handoff = threading.Lock()  # `_finished` is posted and taken whole, never lost between

    def get(self, login_key: str, site_number: str) -> MemberRecord | None:
        if self._finished is not None:
            self._adopt()
        return self.table.get(login_key + SEPARATOR + site_number)

    def drop(self, login_key: str, site_number: str) -> None:
        key = login_key + SEPARATOR + site_number
        self.table.pop(key, None)
        if self._pending is not None:
            self._pending.append(key)

    def drop_people(self, login_keys: set[str]) -> None:
        """Every member who is one of these people (one pass over the copy)."""
        prefixes = tuple(login_key + SEPARATOR for login_key in login_keys)
        for key in [key for key in self.table if key.startswith(prefixes)]:
            del self.table[key]
        if self._pending is not None:
            self._pending.append(prefixes)

    def reload(self) -> None:
        """Drop the copy and read the table again (in the background)."""
        self._generation += 1
        self.table, self.bytes, self._pending = {}, 0, []
        with self._handoff:
            self._finished = None
        HELD.set(0)
        generation = self._generation
        try:
            self._spawn(lambda: self._load(generation))
        except RuntimeError as error:  # no thread to be had: the LRU serves alone
            self._pending = None
            log.warning("member table not loaded (the member cache serves alone): %s", error)

    # -- the loader thread ---------------------------------------------------

    def _load(self, generation: int) -> None:
        with self._one_load:
            if generation != self._generation:
                return  # overtaken before it began
            started = self._clock()
            load = _Load(generation, None)
            try:
                reader = self._open_reader()
                try:
                    load = self._read(reader, generation)
                finally:
                    reader.close()
            except Exception as error:  # the LRU goes on serving: never worse than no copy
                log.warning("member table not loaded (the member cache serves alone): %s", error)
            load.seconds = self._clock() - started
            with self._handoff:
                self._finished = load

    def _read(self, reader: Reader, generation: int) -> _Load:
        most = self._max_bytes // (_EMPTY_KEY + 1 + _SLOT)  # more rows than this cannot fit
        rows, characters = reader.size(most + 1)
        estimate = rows * (_EMPTY_KEY + 1 + _SLOT) + characters
        if estimate > self._max_bytes:
            log.info(
                "member table not held: %s%d memberships need about %d MiB, more than %d MiB",
                "over " if rows > most else "",
                rows,
                estimate >> 20,
                self._max_bytes >> 20,
            )
            return _Load(generation, None)
        table: dict[str, MemberRecord] = {}
        keys = 0
        for page in reader.pages():
            if generation != self._generation:
                return _Load(generation, None)  # a newer load is waiting
            for login_key, site_number, role, levels in page:
                key = login_key + SEPARATOR + site_number
                table[key] = shared_record(role, levels)
                keys += sys.getsizeof(key)
            if keys + sys.getsizeof(table) > self._max_bytes:  # grew since it was sized
                log.info("member table not held: it outgrew %d MiB while read", self._max_bytes >> 20)
                return _Load(generation, None)
        return _Load(generation, table, keys + sys.getsizeof(table))

    # -- back in the serving thread --------------------------------------------

    def _adopt(self) -> None:
        with self._handoff:
            load, self._finished = self._finished, None
        if load is None or load.generation != self._generation:
            return  # overtaken: the newer load is running, and _pending is its
        pending, self._pending = self._pending or [], None
        table = load.table
        if table is None:
            return
        for drop in pending:
            if isinstance(drop, str):
                table.pop(drop, None)
            else:
                for key in [key for key in table if key.startswith(drop)]:
                    del table[key]
        self.table, self.bytes = table, load.bytes
        HELD.set(len(table))
        log.info(
            "member table held: %d memberships, %.1f MiB, read in %.1f s", len(table), load.bytes / 2**20, load.seconds
        )
