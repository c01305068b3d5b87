"""Keeps a worker's caches as fresh as the database: reads the change log at most
every `interval` seconds, or at once when a caller asks for a newer change seq or
the change channel has announced one (PostgreSQL's LISTEN/NOTIFY,
models/change_channel.py), and tells subscribers exactly which entries changed.
The channel only makes a worker read the log sooner: the interval stays the
bound when it is down."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from authz.errors import Conflict
from models.directory import Change


class ChangeSource(Protocol):
    def latest(self) -> int: ...
    def since(self, seq: int, limit: int) -> list[Change]: ...


class ChangeSignal(Protocol):
    """`heard`: the highest change seq announced so far (another thread raises it)."""

    heard: int

    def start(self) -> None: ...


class Unsignalled:
    """No channel (SQLite, or AUTHZ_CHANGE_NOTIFY off): the poll alone."""

    heard = 0

    def start(self) -> None:
        pass


# A subscriber gets the changes, or None when it must drop everything
# (too many changes at once to replay).
Subscriber = Callable[[list[Change] | None], None]


class ChangeFeed:
    def __init__(
        self,
        source: ChangeSource,
        interval: float,
        batch: int = 1000,
        clock: Callable[[], float] = time.monotonic,
        signal: ChangeSignal | None = None,
    ):
        self._source = source
        self.signal: ChangeSignal = signal or Unsignalled()
        self._interval = interval
        self._batch = batch
        self._clock = clock
        self._subscribers: list[Subscriber] = []
        self.seq: int | None = None
        self._next_poll = 0.0
        # The highest announced seq a read of the log has answered (a seq announced
        # is committed, so the read after it found it): no second read for it.
        self._answered = 0

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def refresh(self, at_least: int | None = None) -> int:
        """Catch up if the interval has passed, or AT_LEAST or the channel names a
        change newer than what we saw. Returns the change seq the caches now reflect."""
        now = self._clock()
        seq = self.seq
        if seq is None:
            seq = self._start(now)
        elif now >= self._next_poll or self.signal.heard > self._answered or (at_least is not None and at_least > seq):
            seq = self._poll(seq, now)
        if at_least is not None and at_least > seq:
            raise Conflict(f"min_change_seq {at_least} is ahead of the database ({seq})", field="min_change_seq")
        return seq

    def _start(self, now: float) -> int:
        self.signal.start()  # first: a change committed after the read below is heard
        heard = self.signal.heard
        seq = self.seq = self._source.latest()
        self._answered = max(heard, seq)
        self._tell(None)
        self._next_poll = now + self._interval
        return seq

    def _poll(self, seq: int, now: float) -> int:
        heard = self.signal.heard
        changes = self._source.since(seq, self._batch)
        if len(changes) == self._batch:  # a flood: cheaper to start over
            return self._start(now)
        if changes:
            seq = self.seq = changes[-1].seq
            self._tell(changes)
        self._answered = max(heard, seq)
        self._next_poll = now + self._interval
        return seq

    def _tell(self, changes: list[Change] | None) -> None:
        for subscriber in self._subscribers:
            subscriber(changes)
