"""Reading back what a test did: a person's membership of a site, its role and
stored levels, and a site's newest audit record."""

from __future__ import annotations

from authz.audit import trail
from models.identifiers import login_key
from models.schema import Membership, MembershipLevel, Person, Site


def membership(site: str, login_id: str) -> Membership | None:
    """LOGIN_ID's membership of SITE (with the person joined), or None."""
    return (
        Membership.select(Membership, Person)
        .join(Person)
        .switch(Membership)
        .join(Site)
        .where((Site.number == site) & (Person.login_key == login_key(login_id)))
        .first()
    )


def role_of(site: str, login_id: str) -> str | None:
    """LOGIN_ID's role on SITE, or None for no member."""
    member = membership(site, login_id)
    return member.role if member else None


def stored_levels(site: str, login_id: str) -> dict[str, str]:
    """The levels stored for LOGIN_ID's membership of SITE, by application."""
    member = membership(site, login_id)
    return {row.application: row.level for row in MembershipLevel.select().where(MembershipLevel.membership == member)}


def newest_audit(site: str) -> dict:
    """SITE's most recent audit record."""
    return trail.page(site, limit=1)[0]
