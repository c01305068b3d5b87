"""How an administrative operation runs: who is acting, whether the policy lets
them do this action on this site, and one transaction that makes the change
together with its audit record, change-log entry and messages. A refused
attempt is audited in a transaction of its own."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from authz.audit import trail
from authz.contract.actors import Actor
from authz.contract.checks import Reason
from authz.engine.table import DecisionTable
from authz.errors import DomainError, Forbidden, InvalidInput, NotFound
from models.db import is_postgres, read_transaction, write_transaction
from models.directory import fetch_member
from models.identifiers import login_key
from models.schema import Site

T = TypeVar("T")


@dataclass(frozen=True)
class Authority:
    """What the actor holds on the site, read inside the operation's transaction."""

    site: Site
    actor: Actor
    role: str | None  # None for an operator
    levels: Mapping[str, str]  # effective level per application (operator: the highest)

    def is_self(self, login_id: str) -> bool:
        return self.actor.login_id is not None and login_key(login_id) == login_key(self.actor.login_id)


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
    if actor.login_id is None:
        if site is None:
            raise NotFound(f"no site '{site_number}'")
        top = {app: table.level_order(app)[-1] for app in table.catalogue.applications}
        return Authority(site, actor, None, top)
    member = fetch_member(login_key(actor.login_id), site_number) if site is not None else None
    if member is None:
        raise NotFound(f"no site '{site_number}'")
    verdict = table.decide(member.role, member.levels, action)
    if not verdict.allowed:
        raise NotPermitted(f"{actor.login_id} may not {action} on site {site_number} ({_explain(verdict.reason)})")
    return Authority(site, actor, member.role, table.effective_levels(member.role, member.levels))


def _explain(reason: Reason) -> str:
    if reason.code == "level_too_low":
        return f"needs {reason.application} {reason.required_level}, holds {reason.level}"
    if reason.code == "role_may_not_hold":
        return f"a {reason.role} may not hold {reason.application}"
    return reason.code.replace("_", " ")


def run(
    table: DecisionTable,
    actor: Actor,
    site_number: str,
    action: str,
    work: Callable[[Authority], T],
    *,
    target: str | None = None,
    writes: bool = True,
) -> T:
    """Authorize ACTION and do WORK in one transaction. Any refusal (not permitted,
    not found, a rule of the site, a conflict) is audited, then re-raised."""
    try:
        with write_transaction() if writes else read_transaction():
            return work(authorize(table, actor, site_number, action, lock=writes))
    except InvalidInput:
        raise  # malformed, not refused: nothing to audit
    except DomainError as exc:
        trail.record_refusal(actor.audit_name, action, detail=exc.message, site_number=site_number, target=target)
        raise
