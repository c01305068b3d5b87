"""The domain façade the HTTP layer and the CLI call: one method per operation.
Built once per worker process by `AuthzService.start`, never at import time."""

from __future__ import annotations

import logging
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from authz.config import Settings
from authz.decisions.point import MAX_BATCH, DecisionPoint, parse_check, parse_min_change_seq
from authz.errors import InvalidInput, NotFound, UnknownAction
from authz.decisions.freshness import ChangeFeed
from authz.authn.keys import Caller, KeyRing
from authz.decisions.member_cache import Absent, MemberCache
from authz.decisions.reload import PolicyReloader
from authz.engine.table import DecisionTable
from models import directory, migrate
from models.db import db, open_database
from models.directory import Change
from models.snapshot import ReadSnapshot
from models.schema import login_key

log = logging.getLogger("authz")


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


class AuthzService:
    def __init__(self, settings: Settings):
        """Build the caches; start() loads the policy. Nothing is connected here."""
        self.settings = settings
        self.table: DecisionTable | None = None  # swapped whole by the reloader: read it once per request
        state_dir = settings.state_dir or Path(tempfile.mkdtemp(prefix="authz-state-"))
        self.reloader = PolicyReloader(settings.policy_dir, state_dir, settings.policy_poll_ms / 1000,
                                       apply=self._use_policy)
        self.snapshot = ReadSnapshot()
        self.feed = ChangeFeed(_ChangeLog(self.snapshot), settings.change_poll_ms / 1000)
        self.members = MemberCache(partial(directory.fetch_member, rows=self.snapshot.rows),
                                   partial(directory.why_absent, rows=self.snapshot.rows), settings.cache_size)
        self.keys = KeyRing()
        self.feed.subscribe(self.members.on_changes)
        self.feed.subscribe(self.keys.on_changes)
        self.decisions = DecisionPoint(self.members)

    @classmethod
    def start(cls, settings: Settings) -> "AuthzService":
        """Open the database and load the policy (raises PolicyInvalid if it is bad
        and there is no last good one to fall back to)."""
        open_database(settings.database_url)
        service = cls(settings)
        service.reloader.start()
        log.info("policy %s active (from %s)", service.table.version, service.reloader.active_source)
        return service

    def _use_policy(self, table: DecisionTable) -> None:
        self.table = table  # one reference assignment: requests see the old or the new table whole

    def authenticate(self, authorization: str | None) -> Caller:
        self.reloader.maybe_reload()
        self.feed.refresh()
        return self.keys.verify(authorization)

    def reload_policy(self) -> dict:
        """Reload here now, and ask every other worker of this server to do the same."""
        attempt = self.reloader.reload("reload requested")
        if attempt.ok:
            self.reloader.request_reload_everywhere()
        return {"ok": attempt.ok, "version": attempt.version, "errors": list(attempt.errors),
                "active_version": self.table.version}

    def check(self, body: Any) -> dict:
        table = self.table  # one policy version for the whole answer
        check = parse_check(body, table)
        seq = self.feed.refresh(parse_min_change_seq(body))
        return self.decisions.decide(table, check, seq)

    def check_batch(self, body: Any) -> dict:
        if not isinstance(body, dict) or set(body) - {"checks", "min_change_seq"}:
            raise InvalidInput("the body must be an object with 'checks' (and optionally 'min_change_seq')", field="checks")
        items = body.get("checks")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            raise InvalidInput(f"'checks' must be a list of 1 to {MAX_BATCH} checks", field="checks")
        table = self.table  # one policy version for the whole batch
        checks = [parse_check(item, table, where=f"checks[{i}].") for i, item in enumerate(items)]
        seq = self.feed.refresh(parse_min_change_seq(body))
        return {"results": self.decisions.decide_all(table, checks, seq)}

    def permissions(self, site: str, login_id: str) -> dict:
        """Effective permissions of a member on a site."""
        seq = self.feed.refresh()
        table = self.table
        entry = self.members.get(login_key(login_id), site)
        if isinstance(entry, Absent):
            raise NotFound(f"'{login_id}' is not a member of site '{site}'")
        return {
            "user": login_id, "site": site, "role": entry.role,
            "policy_version": table.version, "change_seq": seq,
            "applications": table.effective_permissions(entry.role, entry.levels),
        }

    def who_can(self, site: str, action: str, limit: int, after: str) -> dict:
        """Members of SITE who may perform ACTION, a page at a time, by login."""
        table = self.table
        application = table.application_of(action)
        if application is None:
            raise UnknownAction(f"unknown action '{action}'", field="action")
        allowed = {role: table.levels_allowing(role, action) for role in table.catalogue.roles}
        seq = self.feed.refresh()
        rows = directory.members_allowed(site, application, table.lowest_level(application),
                                         allowed, login_key(after), limit + 1)
        page = rows[:limit]
        return {
            "site": site, "action": action, "policy_version": table.version, "change_seq": seq,
            "members": [{"user": r["login_id"], "email": r["email"], "role": r["role"],
                         "level": self._effective_level(r["role"], application, r["level"])} for r in page],
            "next_after": page[-1]["login_key"] if len(rows) > limit else None,
        }

    def _effective_level(self, role: str, application: str, stored: str) -> str:
        if self.table.catalogue.roles[role].holds_highest_level:
            return self.table.level_order(application)[-1]
        return stored

    def policy(self) -> dict:
        return {**self.table.describe(), **self.reloader.status()}

    def readiness(self) -> dict:
        """What /readyz reports; 'ready' is False when the database is unreachable
        or its schema is not at the latest migration."""
        try:
            db.execute_sql("SELECT 1")
            schema_current = migrate.is_current()
        except Exception as exc:  # any database failure means not ready
            log.warning("readiness: database unavailable: %s", exc)
            db.close()
            return {"ready": False, "database": "unavailable", "policy_version": self.table.version}
        return {"ready": schema_current, "database": "ok" if schema_current else "schema not migrated",
                "policy_version": self.table.version}
