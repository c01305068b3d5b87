"""Safe hot reload of the policy, per worker.

A new policy is built aside (compiled, validated, its test suites run) and swapped
in only if all of that passes; otherwise the worker keeps serving the last good
policy and says why. Triggers: a change of the policy files (checked on the
request path at most every `interval`), a reload request (any worker's
POST /v1/policy/reload touches a file every worker watches), and a worker start
(gunicorn's SIGHUP restarts the workers: one that finds the configured policy
broken falls back to the last good snapshot instead of failing to boot).

State shared by the workers of one server lives in `state_dir`: snapshots of
good policies, the reload request file, and one status file per worker."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import Counter

from authz.engine.acceptance import PolicyFiles, accept_policy, read_policy_dir
from authz.engine.compiler import compile_policy
from authz.engine.table import DecisionTable
from authz.errors import PolicyInvalid

log = logging.getLogger("authz.reload")

RELOADS = Counter("authz_policy_reloads_total", "Policy reload attempts, by result", ["result"])
_REQUEST_FILE = "reload-requested"


@dataclass(frozen=True)
class Attempt:
    at: str
    trigger: str
    ok: bool
    version: str | None
    errors: tuple[str, ...]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PolicyReloader:
    def __init__(
        self,
        policy_dir: Path,
        state_dir: Path,
        interval: float,
        apply: Callable[[DecisionTable], None],
        clock: Callable[[], float] = time.monotonic,
    ):
        self._policy_dir = Path(policy_dir)
        self._state = Path(state_dir)
        self._interval = interval
        self._apply = apply
        self._clock = clock
        self._next_check = 0.0
        self._seen: str | None = None
        self._active: DecisionTable | None = None
        self.active_since: str | None = None
        self.active_source: str | None = None
        self.last_attempt: Attempt | None = None

    @property
    def active(self) -> DecisionTable:
        """The policy in force (after start())."""
        if self._active is None:
            raise RuntimeError("the reloader has not started")
        return self._active

    # -- start ---------------------------------------------------------------

    def start(self) -> DecisionTable:
        """The policy to boot with: the configured one if it passes, else the last
        good snapshot (the failure is kept and reported); with neither, raise."""
        files = read_policy_dir(self._policy_dir)
        self._seen = self._fingerprint(files)
        try:
            table = accept_policy(self._policy_dir, files)
        except PolicyInvalid as exc:
            snapshot = self._last_good()
            if snapshot is None:
                raise
            self._record(Attempt(now_iso(), "start", False, None, tuple(str(p) for p in exc.problems)))
            log.error(
                "policy in %s refused at start; serving last good %s:\n%s", self._policy_dir, snapshot.name, exc.message
            )
            return self._activate(compile_policy(snapshot), "last good snapshot")
        self._snapshot(table)
        return self._activate(table, "configured")

    # -- reload --------------------------------------------------------------

    def maybe_reload(self) -> None:
        """Called on the request path: cheap (a few stat calls) at most every interval."""
        now = self._clock()
        if now < self._next_check:
            return
        self._next_check = now + self._interval
        files = read_policy_dir(self._policy_dir)
        seen = self._fingerprint(files)
        if seen != self._seen:
            self._seen = seen
            self.reload("policy files changed", files)

    def request_reload_everywhere(self) -> None:
        """Make every worker of this server reload on its next check."""
        (self._state / _REQUEST_FILE).write_text(now_iso())

    def reload(self, trigger: str, files: PolicyFiles | None = None) -> Attempt:
        """Judge the policy directory (FILES, if already read) and swap it in if it passes."""
        try:
            table = accept_policy(self._policy_dir, files)
        except PolicyInvalid as exc:
            attempt = Attempt(now_iso(), trigger, False, None, tuple(str(p) for p in exc.problems))
            RELOADS.labels("refused").inc()
            log.error("policy reload (%s) refused; still serving %s:\n%s", trigger, self.active.version, exc.message)
        else:
            attempt = Attempt(now_iso(), trigger, True, table.version, ())
            RELOADS.labels("applied").inc()
            # Same version as a snapshot served since a refused start: the same
            # decisions, but now from the configured files, and the status must say so.
            if table.version != self.active.version or self.active_source != "configured":
                self._snapshot(table)
                self._activate(table, "configured")
                log.info("policy %s now active (%s)", table.version, trigger)
        self._record(attempt)
        return attempt

    # -- status --------------------------------------------------------------

    def status(self) -> dict:
        return {
            "active": {"version": self.active.version, "since": self.active_since, "source": self.active_source},
            "last_attempt": asdict(self.last_attempt) if self.last_attempt else None,
            "workers": self._workers(),
        }

    def _workers(self) -> list[dict]:
        workers = []
        for path in sorted((self._state / "workers").glob("*.json")):
            try:
                workers.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # a worker is rewriting it, or has just exited
        return workers

    # -- internals -----------------------------------------------------------

    def _activate(self, table: DecisionTable, source: str) -> DecisionTable:
        self._active, self.active_since, self.active_source = table, now_iso(), source
        self._apply(table)
        self._write_worker_status()
        return table

    def _record(self, attempt: Attempt) -> None:
        self.last_attempt = attempt
        if self._active is not None:
            self._write_worker_status()

    def _write_worker_status(self) -> None:
        folder = self._state / "workers"
        folder.mkdir(parents=True, exist_ok=True)
        status = {
            "pid": os.getpid(),
            "version": self.active.version,
            "since": self.active_since,
            "source": self.active_source,
            "last_attempt_ok": self.last_attempt.ok if self.last_attempt else None,
        }
        _write_atomically(folder / f"{os.getpid()}.json", json.dumps(status))

    def _fingerprint(self, files: PolicyFiles) -> str:
        """A hash of the bytes judged (policy files and suites) and of the reload
        request. Contents, not mtimes: two writes within one clock tick must not look
        the same. Hashing what was judged, not the directory as it is a moment later,
        means a directory rewritten during a read is judged again on the next look."""
        try:
            request = (self._state / _REQUEST_FILE).read_bytes()
        except FileNotFoundError:
            request = b""
        return hashlib.sha256(files.fingerprint().encode() + b"\0" + request).hexdigest()

    def _snapshot(self, table: DecisionTable) -> None:
        """Keep a copy of a good policy so a restarting worker can fall back to it:
        the bytes that were compiled, not the directory as it is now."""
        target = self._state / "good" / table.version
        if not target.exists():
            scratch = self._state / "good" / f".{table.version}.{os.getpid()}"
            scratch.mkdir(parents=True)
            for name, data in table.source_files.items():
                if data is not None:
                    (scratch / name).write_bytes(data)
            try:
                os.rename(scratch, target)
            except OSError:  # another worker saved the same version first
                shutil.rmtree(scratch, ignore_errors=True)
        _write_atomically(self._state / "last-good", table.version)

    def _last_good(self) -> Path | None:
        try:
            version = (self._state / "last-good").read_text().strip()
        except FileNotFoundError:
            return None
        path = self._state / "good" / version
        return path if path.is_dir() else None


def _write_atomically(path: Path, text: str) -> None:
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(text)
    os.replace(scratch, path)


def forget_worker(state_dir: Path, pid: int) -> None:
    """Called by the gunicorn master when a worker exits."""
    (Path(state_dir) / "workers" / f"{pid}.json").unlink(missing_ok=True)
