"""How far a long command is, on stderr: a bar redrawn in place on a terminal,
plain lines otherwise (a log, a pipe, CI), at most one per tenth of the file.

Small enough to keep here rather than add a dependency for it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from authz.contract.bulk import ImportProgress

BAR_WIDTH = 30
REDRAW_S = 0.1  # a terminal bar is redrawn at most this often
TENTHS = 10  # plain lines: one each time another tenth of the file is read


class ImportMeter:
    """An import's progress callback: ImportMeter(stream)(progress)."""

    def __init__(self, name: str, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self._out = stream or sys.stderr
        self._tty = self._out.isatty()
        self._name = name
        self._clock = clock
        self._started = clock()
        self._drawn = float("-inf")
        self._tenths = 0  # plain lines: tenths of the file reported so far
        self._rows_said = -1
        self._last = ImportProgress("reading", 0)
        self._phase = ""

    def __call__(self, progress: ImportProgress) -> None:
        phase_changed = progress.phase != self._phase
        if phase_changed and self._phase == "reading":
            self._end_reading()
        self._phase, self._last = progress.phase, progress
        if progress.phase == "reading":
            if self._tty:
                self._draw(progress, force=phase_changed)
            else:
                self._line_per_step(progress, phase_changed)
            return
        elapsed = self._clock() - self._started
        if progress.phase == "done":
            self._say(f"done: {progress.rows:,} rows in {elapsed:.1f} s")
        else:
            self._say(f"{progress.phase} {progress.rows:,} rows ({elapsed:.1f} s)")

    def _end_reading(self) -> None:
        """The reading phase's last count, shown whole before the next phase."""
        if self._tty:
            self._draw(self._last, force=True)
            self._out.write("\n")
        elif self._last.rows != self._rows_said:
            fraction = self._fraction(self._last)
            self._say(f"read {self._last.rows:,} rows" + (f" ({fraction:.0%})" if fraction is not None else ""))

    def _fraction(self, progress: ImportProgress) -> float | None:
        if progress.bytes_total and progress.bytes_read is not None:
            return min(1.0, progress.bytes_read / progress.bytes_total)
        return None

    def _draw(self, progress: ImportProgress, *, force: bool) -> None:
        now = self._clock()
        if not force and now - self._drawn < REDRAW_S:
            return
        self._drawn = now
        fraction = self._fraction(progress) or 0.0
        filled = int(fraction * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self._out.write(
            f"\rauthz import: {self._name} [{bar}] {fraction:4.0%} {progress.rows:,} rows {now - self._started:.1f} s"
        )
        self._out.flush()

    def _line_per_step(self, progress: ImportProgress, first: bool) -> None:
        fraction = self._fraction(progress)
        if first:
            self._say(f"reading {self._name}")
        if fraction is None or int(fraction * TENTHS) <= self._tenths:
            return
        self._tenths = int(fraction * TENTHS)
        self._rows_said = progress.rows
        self._say(f"read {progress.rows:,} rows ({fraction:.0%})")

    def _say(self, text: str) -> None:
        self._out.write(f"authz import: {text}\n")
        self._out.flush()
