"""The rules that protect a site when roles and levels change hands:
nobody grants more than they hold, a plain user never holds account-management
levels, at most four secondaries, one primary that moves only by transfer."""

from __future__ import annotations

from collections.abc import Mapping

from authz.accounts.authority import Authority, NotPermitted
from authz.engine.table import DecisionTable
from authz.errors import Conflict, DomainError, InvalidInput, RuleViolation
from models.schema import Membership

MAX_SECONDARIES = 4


def known_levels(table: DecisionTable, levels: Mapping[str, str] | None, field: str = "levels") -> dict[str, str]:
    """LEVELS (application -> level), refused (400 naming the entry) unless the
    policy knows every application and level named."""
    for app, level in (levels or {}).items():
        if app not in table.catalogue.applications:
            raise InvalidInput(f"unknown application '{app}'", field=f"{field}.{app}")
        if level not in table.level_order(app):
            raise InvalidInput(
                f"unknown level {level!r} for '{app}' (known: {', '.join(table.level_order(app))})",
                field=f"{field}.{app}",
            )
    return dict(levels or {})


def full_levels(table: DecisionTable, levels: Mapping[str, str]) -> dict[str, str]:
    """Every application, the lowest level where none is given."""
    return {app: levels.get(app, order[0]) for app, order in table.structure.level_order.items()}


def check_grant(
    table: DecisionTable, authority: Authority, role: str, before: Mapping[str, str], after: Mapping[str, str]
) -> None:
    """Refuse a change of levels (BEFORE -> AFTER, full maps) for a member in ROLE
    that gives anything above what the actor holds, or that a role may not hold."""
    for app, level in after.items():
        refusal = level_refusal(table, authority.levels, role, app, level, before.get(app))
        if refusal is not None:
            raise refusal


def level_refusal(
    table: DecisionTable, held: Mapping[str, str], role: str, app: str, level: str, before: str | None
) -> DomainError | None:
    """Why an actor holding HELD (effective levels) may not leave a member in ROLE
    at LEVEL of APP, the member holding BEFORE there until now (None: nothing); None
    if they may. The one statement of both grant rules: check_grant enforces it,
    and the console's privilege matrix shows it."""
    lowest = table.lowest_level(app)
    if level == lowest:
        return None
    if not table.catalogue.may_hold(role, app):
        return RuleViolation(
            f"a {role} may not hold '{app}' (set it to {lowest} or make them a contact)", field=f"levels.{app}"
        )
    rank = table.structure.rank
    if rank(app, level) > rank(app, before or lowest) and rank(app, level) > rank(app, held[app]):
        return NotPermitted(f"you hold {app} {held[app]} and cannot grant {level}", field=f"levels.{app}")
    return None


def check_may_act_on(authority: Authority, target_login: str, target_role: str) -> None:
    if authority.is_self(target_login):
        raise NotPermitted("nobody changes their own membership")
    if target_role == "primary" and not authority.actor.is_operator:
        raise NotPermitted(
            "the primary contact cannot be changed here (a secondary cannot act on the primary; "
            "the role moves only by a transfer)"
        )


def check_secondary_room(site_id: int, *, adding: int = 1) -> None:
    """Call under the site's write lock (admin.run takes it)."""
    count = Membership.select().where((Membership.site == site_id) & (Membership.role == "secondary")).count()
    if count + adding > MAX_SECONDARIES:
        raise Conflict(f"the site already has {count} secondary contacts; at most {MAX_SECONDARIES}")
