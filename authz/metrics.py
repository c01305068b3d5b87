"""Prometheus metrics of the domain. Under gunicorn, PROMETHEUS_MULTIPROC_DIR is
set before this is imported (deploy/gunicorn.conf.py), so every worker's values
are summed at /metrics.

The per-request metrics are tallied in memory and written to Prometheus at most
once a second: in multiprocess mode each write takes a lock, a getpid() and a
write to a memory-mapped file, and the two or three writes of a check cost a
sixth of its CPU. A worker's tallies reach the shared files every second (a
background thread), whenever /metrics is rendered by that worker, and at exit,
so /metrics is at most a second behind; a worker that is killed outright loses
at most its last second."""

from __future__ import annotations

import atexit
import bisect
import os
import threading
from typing import Any

from prometheus_client import Counter, Histogram

FLUSH_SECONDS = 1.0


class Tally:
    """Running totals kept by the serving thread, written to Prometheus by flushes.

    Counting takes no lock: a sync worker has one serving thread, the only
    writer of the totals. A flush (the thread, /metrics, exit) copies them and
    writes to Prometheus what was added since the last flush; only flushes take
    a lock, among themselves. A flush may copy a bucket count whose sum is not
    added yet: the next flush writes it."""

    def __init__(self, interval: float | None = FLUSH_SECONDS):
        self._interval = interval  # None: only explicit flushes (tests)
        self._flush_lock = threading.Lock()
        self._counts: dict[Any, float] = {}  # counter child -> running total
        self._observations: dict[Any, list[float]] = {}  # histogram child -> per-bucket counts, then the sum
        self._counted: dict[Any, float] = {}  # counter child -> its total as last written
        self._observed: dict[Any, list[float]] = {}  # histogram child -> its slots as last written
        self._flushing = False  # whether this process has its flush thread
        os.register_at_fork(after_in_child=self._forked)

    def count(self, child: Any, amount: float = 1) -> None:
        counts = self._counts
        counts[child] = counts.get(child, 0) + amount
        if not self._flushing and self._interval:
            self._start_flusher()

    def observe(self, child: Any, value: float) -> None:
        slots = self._observations.get(child)
        if slots is None:
            slots = self._observations[child] = [0.0] * (len(child._upper_bounds) + 1)
        slots[bisect.bisect_left(child._upper_bounds, value)] += 1  # the first bucket with value <= bound
        slots[-1] += value
        if not self._flushing and self._interval:
            self._start_flusher()

    def flush(self) -> None:
        with self._flush_lock:
            for child, total in list(self._counts.items()):  # list(): one step under the GIL
                added = total - self._counted.get(child, 0)
                if added:
                    child.inc(added)
                    self._counted[child] = total
            for child, slots in list(self._observations.items()):
                now = slots.copy()
                before = self._observed.get(child) or [0.0] * len(now)
                # What Histogram.observe does, once per bucket instead of once per observation.
                # prometheus_client has kept these attributes since 0.4; tests/api/test_metrics.py
                # reads the exposition back, so a change there fails the suite.
                for bucket, total, written in zip(
                    child._buckets, now, before, strict=False
                ):  # the slots end with the sum
                    if total != written:
                        bucket.inc(total - written)
                if now[-1] != before[-1]:
                    child._sum.inc(now[-1] - before[-1])
                self._observed[child] = now

    def _forked(self) -> None:
        """In a new child: threads do not survive a fork, and what the parent held
        is the parent's to write."""
        self._flush_lock = threading.Lock()
        self._counts, self._observations, self._counted, self._observed = {}, {}, {}, {}
        self._flushing = False

    def _start_flusher(self) -> None:
        """One daemon thread per process, started by the first count there."""
        self._flushing = True
        threading.Thread(target=self._flush_forever, name="metrics-flush", daemon=True).start()

    def _flush_forever(self) -> None:
        stop = threading.Event()
        while not stop.wait(self._interval):
            self.flush()


TALLY = Tally()
atexit.register(TALLY.flush)

DECISIONS = Counter("authz_decisions_total", "Decisions made, by outcome", ["allowed"])
ALLOWED = DECISIONS.labels(allowed="true")
DENIED = DECISIONS.labels(allowed="false")

REQUEST_SECONDS = Histogram(
    "authz_http_request_duration_seconds",
    "HTTP requests, by route, method and status",
    ["route", "method", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
