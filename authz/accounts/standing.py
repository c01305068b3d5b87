"""A person's own standing: the sites they belong to with their role on each, and
what they hold and may do on one site. Read from the membership tables (not the
check path's cache), so a page shows what the person holds now."""

from __future__ import annotations

from typing import cast

from authz.contract.actors import Actor
from authz.contract.common import Role
from authz.contract.members import MySite, MySites, Standing
from authz.engine.table import DecisionTable
from authz.errors import Forbidden, NotFound
from models.db import read_transaction
from models.directory import fetch_member
from models.identifiers import login_key
from models.schema import Membership, Person, Site


def _login(actor: Actor) -> str:
    if actor.login_id is None:
        raise Forbidden("an operator has no sites of their own")
    return actor.login_id


def my_sites(actor: Actor) -> MySites:
    """Every site the acting person belongs to, by site number, with their role there."""
    login = _login(actor)
    with read_transaction():
        person = Person.by_key(login_key(login))
        if person is None:
            return MySites(login, False, False, [])
        rows = Membership.select(Membership, Site).join(Site).where(Membership.person == person).order_by(Site.number)
        sites = [MySite(m.site.number, m.site.name, cast(Role, m.role)) for m in rows]
        return MySites(person.login_id, True, person.is_active, sites)


def standing(table: DecisionTable, actor: Actor, site_number: str) -> Standing:
    """What the acting person holds on SITE_NUMBER and the actions the policy allows
    them there; a site they are not an active member of is reported like a missing one."""
    login = _login(actor)
    with read_transaction():
        site = Site.select(Site.name).where(Site.number == site_number).first()
        member = fetch_member(login_key(login), site_number) if site is not None else None
    if site is None or member is None:
        raise NotFound(f"no site '{site_number}'")
    levels = table.effective_levels(member.role, member.levels)
    allowed = [
        action for action in table.catalogue.action_application if table.decide(member.role, levels, action).allowed
    ]
    return Standing(site_number, site.name, cast(Role, member.role), levels, allowed)
