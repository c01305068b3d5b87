"""The policy as the service reports it, and the operations' health answers."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct


class PolicyRole(Struct):
    id: str
    label: str
    holds_highest_level: bool


class PolicyLevel(Struct):
    id: str
    label: str


class PolicyAction(Struct):
    id: str
    label: str
    minimum_level: dict[str, str | None]  # role -> the lowest level allowing it (None: never)


class PolicyApplication(Struct):
    id: str
    label: str
    holders: list[str]
    # Account management (DOMAIN.md): never held by a plain user, whatever the files say.
    account_management: bool
    levels: list[PolicyLevel]  # lowest first
    actions: list[PolicyAction]


class ActivePolicy(Struct):
    version: str
    since: str | None
    source: Literal["configured", "last good snapshot"]


class ReloadAttempt(Struct):
    at: str
    trigger: str
    ok: bool
    version: str | None
    errors: list[str]


class WorkerPolicy(Struct):
    """What one worker of this server serves."""

    pid: int
    version: str
    since: str | None
    source: str
    last_attempt_ok: bool | None


class PolicyCatalogue(Struct):
    """The policy in force: its roles and applications with their levels and actions, in order."""

    version: str
    roles: list[PolicyRole]
    applications: list[PolicyApplication]


class PolicyDescription(Struct):
    version: str
    roles: list[PolicyRole]
    applications: list[PolicyApplication]
    active: ActivePolicy
    last_attempt: ReloadAttempt | None
    workers: list[WorkerPolicy]


class ReloadResult(Struct):
    ok: bool
    version: str | None
    errors: list[str]
    active_version: str


class Health(Struct):
    status: Literal["ok"]


class Readiness(Struct):
    ready: bool
    database: Literal["ok", "unavailable", "schema not migrated"]
    policy_version: str
