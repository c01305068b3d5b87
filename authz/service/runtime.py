"""What one worker (or one command) holds while it serves: the active policy,
the change feed, the member cache, the key ring and the token verifier (with the
identity provider's keys). Built once, never at import."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from authz.authn.keys import KeyRing
from authz.authn.tokens import TokenVerifier
from authz.config import Settings
from authz.decisions.freshness import ChangeFeed
from authz.decisions.member_cache import MemberCache
from authz.decisions.point import DecisionPoint
from authz.decisions.reload import Attempt, PolicyReloader, now_iso
from authz.decisions.resident import ResidentTable
from authz.engine.acceptance import accept_policy
from authz.engine.table import DecisionTable
from authz.errors import PolicyInvalid
from models import directory, member_table
from models.change_channel import ChangeListener, connector
from models.db import db, is_postgres
from models.directory import Change
from models.snapshot import ReadSnapshot

log = logging.getLogger("authz")


class ActivePolicy(Protocol):
    """Where the decision table in force comes from."""

    @property
    def table(self) -> DecisionTable: ...

    def maybe_reload(self) -> None: ...
    def reload(self, trigger: str) -> Attempt: ...
    def request_reload_everywhere(self) -> None: ...
    def status(self) -> dict: ...


class FixedPolicy:
    """A command's policy: accepted once, when first needed (a command that does not
    decide anything never reads it); a reload accepts it again."""

    def __init__(self, policy_dir: Path):
        self._policy_dir = policy_dir
        self._table: DecisionTable | None = None
        self._since = now_iso()
        self._last: Attempt | None = None

    @property
    def table(self) -> DecisionTable:
        if self._table is None:
            self._table = accept_policy(self._policy_dir)
        return self._table

    def maybe_reload(self) -> None:
        pass

    def reload(self, trigger: str) -> Attempt:
        try:
            self._table = accept_policy(self._policy_dir)
        except PolicyInvalid as exc:
            self._last = Attempt(now_iso(), trigger, False, None, tuple(str(p) for p in exc.problems))
        else:
            self._last = Attempt(now_iso(), trigger, True, self.table.version, ())
        return self._last

    def request_reload_everywhere(self) -> None:
        pass

    def status(self) -> dict:
        return {
            "active": {"version": self.table.version, "since": self._since, "source": "configured"},
            "last_attempt": asdict(self._last) if self._last else None,
            "workers": [],
        }


class LivePolicy:
    """A server worker's policy: hot-reloaded by PolicyReloader (decisions/reload.py)."""

    def __init__(self, settings: Settings):
        state_dir = settings.state_dir or Path(tempfile.mkdtemp(prefix="authz-state-"))
        self._reloader = PolicyReloader(settings.policy_dir, state_dir, settings.policy_poll_ms / 1000, apply=self._use)
        self.table: DecisionTable = self._reloader.start()
        log.info("policy %s active (from %s)", self.table.version, self._reloader.active_source)
        self.maybe_reload = self._reloader.maybe_reload  # on every request: one call, not two

    def _use(self, table: DecisionTable) -> None:
        self.table = table  # one reference assignment: requests see the old or the new table whole

    def reload(self, trigger: str) -> Attempt:
        return self._reloader.reload(trigger)

    def request_reload_everywhere(self) -> None:
        self._reloader.request_reload_everywhere()

    def status(self) -> dict:
        return self._reloader.status()


class _ChangeLog:
    """The change log, as the feed reads it. Each read of the log first ends the
    read snapshot, so member reads after a poll are at least as new as the poll."""

    def __init__(self, snapshot: ReadSnapshot):
        self._snapshot = snapshot

    def latest(self) -> int:
        self._snapshot.renew()
        return directory.latest_change_seq()

    def since(self, seq: int, limit: int) -> list[Change]:
        self._snapshot.renew()
        return directory.changes_since(seq, limit)


class Runtime:
    def __init__(self, settings: Settings, policy: ActivePolicy):
        self.settings = settings
        self.policy = policy
        self.snapshot = ReadSnapshot(lock_timeout_ms=settings.db_lock_timeout_ms)
        # PostgreSQL: changes are also pushed; the listener starts with the feed's first read.
        self.listener = ChangeListener(connector(db.obj)) if settings.change_notify and is_postgres() else None
        self.feed = ChangeFeed(_ChangeLog(self.snapshot), settings.change_poll_ms / 1000, signal=self.listener)
        budget = settings.member_cache_mb << 20
        resident = ResidentTable(budget) if settings.member_table and member_table.readable() else None
        self.members = MemberCache(directory.member_finder(self.snapshot.rows), budget, settings.cache_size, resident)
        self.keys = KeyRing()
        self.tokens = TokenVerifier.configured(settings.identity)  # None while OpenID Connect is off
        self.feed.subscribe(self.members.on_changes)
        self.feed.subscribe(self.keys.on_changes)
        self.point = DecisionPoint(self.members)

    @property
    def table(self) -> DecisionTable:
        """The policy in force now: read it once per operation."""
        return self.policy.table

    def close(self) -> None:
        """Let go of what this runtime holds beyond peewee's connection (the change
        listener's session, the read snapshot). A worker never needs to: it ends."""
        if self.listener is not None:
            self.listener.close()
        self.snapshot.close()
