"""Keeps a worker's caches as fresh as the database: reads the change log at most
every `interval` seconds (or at once when a caller asks for a newer change seq)
and tells subscribers exactly which entries changed."""

from __future__ import annotations

import time
from typing import Callable, Protocol

from authz.errors import InvalidInput
from models.directory import Change


class ChangeSource(Protocol):
    def latest(self) -> int: ...
    def since(self, seq: int, limit: int) -> list[Change]: ...


# A subscriber gets the changes, or None when it must drop everything
# (too many changes at once to replay).
Subscriber = Callable[[list[Change] | None], None]


class ChangeFeed:
    def __init__(self, source: ChangeSource, interval: float, batch: int = 1000,
                 clock: Callable[[], float] = time.monotonic):
        self._source = source
        self._interval = interval
        self._batch = batch
        self._clock = clock
        self._subscribers: list[Subscriber] = []
        self.seq: int | None = None
        self._next_poll = 0.0

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def refresh(self, at_least: int | None = None) -> int:
        """Catch up if the interval has passed or AT_LEAST is newer than what we saw.
        Returns the change seq the caches now reflect."""
        now = self._clock()
        if self.seq is None:
            self._start(now)
        elif now >= self._next_poll or (at_least is not None and at_least > self.seq):
            self._poll(now)
        if at_least is not None and at_least > self.seq:
            raise InvalidInput(f"min_change_seq {at_least} is ahead of the database ({self.seq})",
                               field="min_change_seq")
        return self.seq

    def _start(self, now: float) -> None:
        self.seq = self._source.latest()
        self._tell(None)
        self._next_poll = now + self._interval

    def _poll(self, now: float) -> None:
        changes = self._source.since(self.seq, self._batch)
        if len(changes) == self._batch:  # a flood: cheaper to start over
            self._start(now)
            return
        if changes:
            self.seq = changes[-1].seq
            self._tell(changes)
        self._next_poll = now + self._interval

    def _tell(self, changes: list[Change] | None) -> None:
        for subscriber in self._subscribers:
            subscriber(changes)
