"""Operations of the check API and of the policy in force."""

from __future__ import annotations

import logging
from typing import cast

import msgspec

from authz.contract.checks import (
    BatchCheckRequest,
    BatchResult,
    CheckRequest,
    Decision,
    Holder,
    Permissions,
    WhoCan,
    WhoCanQuery,
)
from authz.contract.common import Role
from authz.contract.policy import (
    ActivePolicy,
    PolicyCatalogue,
    PolicyDescription,
    Readiness,
    ReloadAttempt,
    ReloadResult,
    WorkerPolicy,
)
from authz.decisions.member_cache import Absent
from authz.engine.table import DecisionTable
from authz.errors import NotFound, UnknownAction
from authz.service.operation import operation
from authz.service.runtime import Runtime
from models import directory, migrate
from models.db import db
from models.errors import DRIVER_ERRORS, classify
from models.identifiers import login_key

log = logging.getLogger("authz")


def _known_action(table: DecisionTable, action: str, field: str = "action") -> str:
    application = table.application_of(action)
    if application is None:
        raise UnknownAction(f"unknown action '{action}' (GET /v1/policy lists them)", field=field)
    return application


class DecisionService:
    def __init__(self, runtime: Runtime):
        self._rt = runtime

    def check(self, request: CheckRequest) -> Decision:
        """The hot path: no wrapper call, the same classification inline."""
        table = self._rt.policy.table  # one policy version for the whole answer
        if table.application_of(request.action) is None:
            _known_action(table, request.action)  # raises, naming the field
        try:
            seq = self._rt.feed.refresh(request.min_change_seq)
            return self._rt.point.decide(table, request, seq)
        except DRIVER_ERRORS as error:
            raise classify(error) from error

    @operation
    def check_batch(self, batch: BatchCheckRequest) -> BatchResult:
        table = self._rt.policy.table  # one policy version for the whole batch
        for i, item in enumerate(batch.checks):
            _known_action(table, item.action, field=f"checks[{i}].action")
        seq = self._rt.feed.refresh(batch.min_change_seq)
        return BatchResult(self._rt.point.decide_all(table, batch.checks, seq))

    @operation
    def permissions(self, site: str, login_id: str) -> Permissions:
        """Effective permissions of a member on a site."""
        seq = self._rt.feed.refresh()
        table = self._rt.policy.table
        entry = self._rt.members.get(login_key(login_id), site)
        if isinstance(entry, Absent):
            if entry.code == "identity_inactive":  # holds nothing while inactive
                raise NotFound(f"'{login_id}' is an inactive identity: they hold no permissions anywhere")
            raise NotFound(f"'{login_id}' is not a member of site '{site}'")
        role = cast(Role, entry.role)  # member_lookup holds the membership's role, one of the roles
        return Permissions(login_id, site, role, table.version, seq, table.effective_permissions(role, entry.levels))

    @operation
    def who_can(self, site: str, action: str, query: WhoCanQuery) -> WhoCan:
        """Members of SITE who may perform ACTION, a page at a time, by login."""
        table = self._rt.policy.table
        application = _known_action(table, action)
        allowed = {role: table.levels_allowing(role, action) for role in table.catalogue.roles}
        seq = self._rt.feed.refresh()
        rows = directory.members_allowed(
            site, application, table.lowest_level(application), allowed, login_key(query.after), query.limit + 1
        )
        page = rows[: query.limit]
        return WhoCan(
            site,
            action,
            table.version,
            seq,
            [
                Holder(
                    r["login_id"],
                    r["email"],
                    r["role"],
                    table.effective_levels(r["role"], {application: r["level"]})[application],
                )
                for r in page
            ],
            page[-1]["login_key"] if len(rows) > query.limit else None,
        )


class PolicyService:
    def __init__(self, runtime: Runtime):
        self._rt = runtime
        self._catalogue: PolicyCatalogue | None = None  # built once per policy version

    def describe(self) -> PolicyDescription:
        """The policy in force, its catalogue in order, and what every worker serves."""
        table = self._rt.policy.table
        roles, applications = table.describe()
        status = self._rt.policy.status()
        return PolicyDescription(
            version=table.version,
            roles=roles,
            applications=applications,
            active=msgspec.convert(status["active"], ActivePolicy),
            last_attempt=msgspec.convert(status["last_attempt"], ReloadAttempt | None),
            workers=msgspec.convert(status["workers"], list[WorkerPolicy]),
        )

    def catalogue(self) -> PolicyCatalogue:
        """The roles, applications, levels and actions of the policy in force, with their labels."""
        table = self._rt.policy.table
        if self._catalogue is None or self._catalogue.version != table.version:
            roles, applications = table.describe()
            self._catalogue = PolicyCatalogue(table.version, roles, applications)
        return self._catalogue

    def reload(self) -> ReloadResult:
        """Reload here now, and ask every other worker of this server to do the same."""
        attempt = self._rt.policy.reload("reload requested")
        if attempt.ok:
            self._rt.policy.request_reload_everywhere()
        return ReloadResult(attempt.ok, attempt.version, list(attempt.errors), self._rt.policy.table.version)

    def readiness(self) -> Readiness:
        """Not ready when the database is unreachable or its schema is not at the
        latest migration."""
        version = self._rt.policy.table.version
        try:
            db.execute_sql("SELECT 1")
            schema_current = migrate.is_current()
        except DRIVER_ERRORS as exc:
            log.warning("readiness: database unavailable: %s", exc)
            classify(exc)  # drops the connection
            return Readiness(False, "unavailable", version)
        return Readiness(schema_current, "ok" if schema_current else "schema not migrated", version)
