"""Before a change of a member's role and levels is made: what it would do (the
actions gained and lost, decided cell by cell by the policy in force) and what
the acting person may give (the privilege matrix). Both read only, and both ask
the rules the change itself runs (rules.py), so a preview cannot disagree with
the save."""

from __future__ import annotations

from collections.abc import Mapping

from authz.accounts.authority import Authority, NotPermitted, run
from authz.accounts.memberships import member_of, stored_levels
from authz.accounts.rules import (
    MAX_SECONDARIES,
    check_grant,
    check_may_act_on,
    check_secondary_room,
    full_levels,
    known_levels,
    level_refusal,
)
from authz.contract.actors import Actor
from authz.contract.common import AssignableRole
from authz.contract.members import (
    ActionChange,
    ChangePreview,
    MatrixLevel,
    MatrixRow,
    PrivilegeMatrix,
    RefusalKind,
)
from authz.engine.table import DecisionTable
from authz.errors import DomainError
from models.schema import Membership


def preview_change(
    table: DecisionTable,
    actor: Actor,
    site_number: str,
    login_id: str | None,
    role: AssignableRole,
    levels: Mapping[str, str],
) -> ChangePreview:
    """What giving LOGIN_ID (a member; None: someone not yet a member) ROLE and LEVELS
    (merged into what they hold) would change, and the refusal it would meet."""
    chosen = known_levels(table, levels)

    def work(authority: Authority) -> ChangePreview:
        before_role: str | None = None
        before: dict[str, str] = {}
        if login_id is not None:
            member = member_of(authority.site.id, login_id)
            before_role = member.role
            before = full_levels(table, stored_levels([member.id])[member.id])
        after = full_levels(table, {**before, **chosen})
        gained, lost = _changed_actions(table, before_role, before, role, after)
        refusal = _refusal(table, authority, login_id, before_role, before, role, after)
        return ChangePreview(
            login_id,
            role,
            after,
            gained,
            lost,
            refusal.message if refusal else None,
            refusal.field if refusal else None,
        )

    return run(table, actor, site_number, "list_users", work, target=login_id, writes=False)


def _changed_actions(
    table: DecisionTable, before_role: str | None, before: Mapping[str, str], role: str, after: Mapping[str, str]
) -> tuple[list[ActionChange], list[ActionChange]]:
    gained: list[ActionChange] = []
    lost: list[ActionChange] = []
    for action, app in table.catalogue.action_application.items():
        had = before_role is not None and table.decide(before_role, before, action).allowed
        has = table.decide(role, after, action).allowed
        if had != has:
            change = ActionChange(action, table.catalogue.applications[app].actions[action], app)
            (gained if has else lost).append(change)
    return gained, lost


def _refusal(
    table: DecisionTable,
    authority: Authority,
    login_id: str | None,
    before_role: str | None,
    before: Mapping[str, str],
    role: str,
    after: Mapping[str, str],
) -> DomainError | None:
    try:
        if login_id is not None and before_role is not None:
            check_may_act_on(authority, login_id, before_role)
        check_grant(table, authority, role, before, after)
        if role == "secondary" and before_role != "secondary":
            check_secondary_room(authority.site.id)
    except DomainError as refusal:
        return refusal
    return None


def privilege_matrix(
    table: DecisionTable,
    actor: Actor,
    site_number: str,
    role: AssignableRole,
    current: Mapping[str, str] | None = None,
) -> PrivilegeMatrix:
    """Every application with its levels, each marked with why the acting person
    may not give it to a member in ROLE holding CURRENT until now (None: may)."""
    held_now = known_levels(table, current)

    def work(authority: Authority) -> PrivilegeMatrix:
        rows = []
        for app_id, app in table.catalogue.applications.items():
            holds = table.catalogue.may_hold(role, app_id)  # the whole row, its lowest level too, is shown fixed
            levels = []
            for level in table.level_order(app_id):
                refusal = level_refusal(table, authority.levels, role, app_id, level, held_now.get(app_id))
                kind: RefusalKind | None = None
                if not holds:
                    kind = "role_may_not_hold"
                elif isinstance(refusal, NotPermitted):
                    kind = "above_own_level"
                levels.append(MatrixLevel(level, app.levels[level], kind))
            rows.append(MatrixRow(app_id, app.label, app.account_management, levels, authority.levels[app_id]))
        secondaries = (
            Membership.select().where((Membership.site == authority.site) & (Membership.role == "secondary")).count()
        )
        return PrivilegeMatrix(role, rows, secondaries, MAX_SECONDARIES)

    return run(table, actor, site_number, "list_users", work, writes=False)
