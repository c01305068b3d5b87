"""Ids for decisions and requests."""

from __future__ import annotations

import itertools
import os


class _UniqueIds:
    """32 hex digits: a random half drawn once per process, and a counter. Unique
    across workers, restarts and replicas (64 random bits per process); not
    secret, so no randomness is drawn per id. A forked child draws its own
    random half."""

    def __init__(self) -> None:
        self._renew()
        os.register_at_fork(after_in_child=self._renew)

    def _renew(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


unique_id = _UniqueIds().next
