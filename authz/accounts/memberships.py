"""Reading and writing one membership: what the member workflows, access
requests and site operations share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from authz.contract.common import Role
from authz.contract.members import Member
from authz.engine.table import DecisionTable
from authz.errors import NotFound, RuleViolation
from models.identifiers import login_key
from models.schema import Membership, MembershipLevel, Person


def member_of(site_id: int, login_id: str) -> Membership:
    """LOGIN_ID's membership of the site (the person joined), or NotFound."""
    member = (
        Membership.select(Membership, Person)
        .join(Person)
        .where((Membership.site == site_id) & (Person.login_key == login_key(login_id)))
        .first()
    )
    if member is None:
        raise NotFound(f"'{login_id}' is not a member of this site")
    return member


def require_active(person: Person, *, field: str = "login_id") -> None:
    """An inactive identity (deactivated by the identity provider) is given nothing."""
    if not person.is_active:
        raise RuleViolation(
            f"'{person.login_id}' is an inactive identity (deactivated by the identity provider): "
            "it cannot be given access",
            field=field,
        )


def is_member(site_id: int, person: Person) -> bool:
    return Membership.select().where((Membership.site == site_id) & (Membership.person == person)).exists()


def stored_levels(membership_ids: list[int]) -> dict[int, dict[str, str]]:
    """The levels stored for each membership (application -> level; the lowest is not stored)."""
    levels: dict[int, dict[str, str]] = {mid: {} for mid in membership_ids}
    for row in MembershipLevel.select().where(MembershipLevel.membership.in_(membership_ids)):
        levels[row.membership_id][row.application] = row.level
    return levels


def write_levels(table: DecisionTable, member: Membership, levels: Mapping[str, str]) -> None:
    """Store LEVELS as the member's levels, replacing what was there."""
    MembershipLevel.delete().where(MembershipLevel.membership == member).execute()
    rows = [
        {"membership": member, "application": app, "level": level}
        for app, level in levels.items()
        if level != table.lowest_level(app)
    ]
    if rows:
        MembershipLevel.insert_many(rows).execute()


def describe(table: DecisionTable, member: Membership, stored: Mapping[str, str]) -> Member:
    """The member as the contract shows them, with the levels that count."""
    person = member.person
    return Member(
        login_id=person.login_id,
        email=person.email,
        first_name=person.first_name,
        last_name=person.last_name,
        phone=person.phone,
        role=cast(Role, member.role),  # the database's CHECK holds it to the roles
        levels=table.effective_levels(member.role, stored),
        added_at=member.created_at.isoformat(timespec="seconds") + "Z",
        added_by=member.created_by,
        active=person.is_active,
    )
