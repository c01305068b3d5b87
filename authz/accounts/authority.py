"""How an administrative operation runs: who is acting, whether the policy lets
them do this action on this site, and one transaction that makes the change
together with its audit record, change-log entry and messages. A refused
attempt is audited in a transaction of its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, TypeVar

from authz.audit import trail
from authz.errors import DomainError, Forbidden, InvalidInput, NotFound
from authz.engine.table import DecisionTable
from models.db import db, is_postgres, write_transaction
from models.directory import fetch_member
from models.schema import Site, login_key

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """A person acting on a site (every action checked by the policy), or an
    operator (the CLI, or a key with the operator scope) who is trusted with
    every action but is still bound by the rules that protect a site."""

    login_id: str | None
    audit_name: str

    @classmethod
    def person(cls, login_id: str) -> "Actor":
        login_id = (login_id or "").strip()
        if not login_id or len(login_id) > 320:
            raise InvalidInput("the acting person's login id (X-Acting-User) is required", field="X-Acting-User")
        return cls(login_id, login_id)

    @classmethod
    def operator(cls, name: str) -> "Actor":
        return cls(None, name)

    @property
    def is_operator(self) -> bool:
        return self.login_id is None


@dataclass(frozen=True)
class Authority:
    """What the actor holds on the site, read inside the operation's transaction."""

    site: Site
    actor: Actor
    role: str | None  # None for an operator
    levels: Mapping[str, str]  # effective level per application (operator: the highest)

    def is_self(self, login_id: str) -> bool:
        return not self.actor.is_operator and login_key(login_id) == login_key(self.actor.login_id)


class NotPermitted(Forbidden):
    """The policy (or a rule protecting the site) refuses the actor."""

    code = "not_permitted"


def authorize(table: DecisionTable, actor: Actor, site_number: str, action: str, *, lock: bool) -> Authority:
    """Resolve the actor on the site and check ACTION with the policy engine.
    A site the actor is not a member of is reported exactly like a missing one."""
    query = Site.select().where(Site.number == site_number)
    if lock and is_postgres():
        query = query.for_update()  # serialises changes to one site (e.g. counting secondaries)
    site = query.first()
    if actor.is_operator:
        if site is None:
            raise NotFound(f"no site '{site_number}'")
        top = {app: table.level_order(app)[-1] for app in table.catalogue.applications}
        return Authority(site, actor, None, top)
    member = fetch_member(login_key(actor.login_id), site_number) if site is not None else None
    if member is None:
        raise NotFound(f"no site '{site_number}'")
    application = table.application_of(action)
    level = member.levels.get(application) or table.lowest_level(application)
    verdict = table.verdict(member.role, action, level)
    if not verdict.allowed:
        raise NotPermitted(f"{actor.login_id} may not {action} on site {site_number} ({_explain(verdict.reason)})")
    return Authority(site, actor, member.role, effective_levels(table, member.role, member.levels))


def effective_levels(table: DecisionTable, role: str, stored: Mapping[str, str]) -> dict[str, str]:
    holds_highest = table.catalogue.roles[role].holds_highest_level
    return {app: (order[-1] if holds_highest else stored.get(app, order[0]))
            for app, order in table.structure.level_order.items()}


def _explain(reason: dict) -> str:
    if reason["code"] == "level_too_low":
        return f"needs {reason['application']} {reason['required_level']}, holds {reason['level']}"
    if reason["code"] == "role_may_not_hold":
        return f"a {reason['role']} may not hold {reason['application']}"
    return reason["code"].replace("_", " ")


def run(table: DecisionTable, actor: Actor, site_number: str, action: str,
        work: Callable[[Authority], T], *, target: str | None = None, writes: bool = True) -> T:
    """Authorize ACTION and do WORK in one transaction. Any refusal (not permitted,
    not found, a rule of the site, a conflict) is audited, then re-raised."""
    try:
        with (write_transaction() if writes else db.atomic()):
            return work(authorize(table, actor, site_number, action, lock=writes))
    except InvalidInput:
        raise  # malformed, not refused: nothing to audit
    except DomainError as exc:
        trail.record_refusal(actor.audit_name, action, detail=exc.message, site_number=site_number, target=target)
        raise
