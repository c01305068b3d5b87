"""Operator workflows: create a site with its primary contact, and transfer the
primary role. The primary role moves only here, in one transaction."""

from __future__ import annotations

from typing import cast

from peewee import fn

from authz.accounts.authority import Authority, run
from authz.accounts.memberships import member_of, require_active, write_levels
from authz.accounts.rules import check_secondary_room
from authz.audit import trail
from authz.contract.actors import Actor
from authz.contract.members import NewSite, PrimaryTransfer, PrimaryTransferred, SiteCreated, SiteList, SiteSummary
from authz.engine.table import DecisionTable
from authz.errors import Conflict, Forbidden, RuleViolation
from models.db import read_transaction, write_transaction
from models.directory import record_change
from models.errors import StoreConflict
from models.identifiers import login_key
from models.schema import Membership, Person, Site


def _require_operator(actor: Actor) -> None:
    if not actor.is_operator:
        raise Forbidden("only an operator may do this")


def create_site(table: DecisionTable, actor: Actor, new: NewSite) -> SiteCreated:
    """A new site and its primary contact (an existing identity, or a new one
    made from the details given)."""
    _require_operator(actor)
    number, name, primary = new.number, new.name.strip(), new.primary
    details = {f: (getattr(primary, f) or "").strip() for f in ("first_name", "last_name", "phone")}
    try:
        with write_transaction():
            if Site.select().where(Site.number == number).exists():
                raise Conflict(f"site '{number}' already exists")
            person = Person.by_key(login_key(primary.login_id)) or Person.create(
                login_id=primary.login_id, login_key=login_key(primary.login_id), email=primary.email.strip(), **details
            )
            require_active(person, field="primary.login_id")
            site = Site.create(number=number, name=name)
            Membership.create(site=site, person=person, role="primary", created_by=actor.audit_name)
            trail.record(
                actor.audit_name,
                "create_site",
                site_number=number,
                target=person.login_id,
                after={"name": name, "primary": person.login_id},
            )
            seq = record_change("membership", number, person.login_key)
    except StoreConflict:  # a concurrent request created the same site (or person) first
        conflict = Conflict(f"site '{number}' already exists")
        trail.record_refusal(
            actor.audit_name, "create_site", detail=conflict.message, site_number=number, target=primary.login_id
        )
        raise conflict from None
    except (Conflict, RuleViolation) as exc:
        trail.record_refusal(
            actor.audit_name, "create_site", detail=exc.message, site_number=number, target=primary.login_id
        )
        raise
    return SiteCreated(number, name, person.login_id, seq)


def transfer_primary(
    table: DecisionTable, actor: Actor, site_number: str, transfer: PrimaryTransfer
) -> PrimaryTransferred:
    """Make another member the primary contact. The former primary becomes a
    secondary (or a user) holding the highest levels that role may hold."""
    _require_operator(actor)
    to_login, former_role = transfer.to, transfer.former_primary_role

    def work(authority: Authority) -> PrimaryTransferred:
        site = authority.site
        new = member_of(site.id, to_login)
        if new.role == "primary":
            raise RuleViolation(f"'{to_login}' is already the primary contact")
        require_active(new.person, field="to")
        old = (
            Membership.select(Membership, Person)
            .join(Person)
            .where((Membership.site == site) & (Membership.role == "primary"))
            .get()
        )
        if former_role == "secondary":
            check_secondary_room(site.id, adding=0 if new.role == "secondary" else 1)
        before = {"primary": old.person.login_id, to_login: new.role}
        # Demote first: the database never holds two primaries, even inside the transaction.
        old.role = former_role
        old.save()
        write_levels(
            table, old, {app: _highest_holdable(table, former_role, app) for app in table.catalogue.applications}
        )
        new.role = "primary"
        new.save()
        write_levels(table, new, {})  # a primary's levels are implied
        after = {"primary": new.person.login_id, old.person.login_id: former_role}
        trail.record(
            actor.audit_name,
            "transfer_primary",
            site_number=site_number,
            target=new.person.login_id,
            before=before,
            after=after,
        )
        record_change("membership", site_number, old.person.login_key)
        seq = record_change("membership", site_number, new.person.login_key)
        return PrimaryTransferred(site_number, new.person.login_id, old.person.login_id, former_role, seq)

    return run(table, actor, site_number, "transfer_primary", work, target=to_login)


def _highest_holdable(table: DecisionTable, role: str, app: str) -> str:
    order = table.level_order(app)
    return order[-1] if table.catalogue.may_hold(role, app) else order[0]


def list_sites() -> SiteList:
    """Every site with its primary contact, how many secondaries and users it
    has, and whether it needs a new primary."""
    with read_transaction():
        counts: dict[tuple[int, str], int] = {}
        rows = (
            Membership.select(Membership.site, Membership.role, fn.COUNT(Membership.id))
            .group_by(Membership.site, Membership.role)
            .tuples()
        )
        for site_id, role, n in cast(list[tuple[int, str, int]], rows):  # peewee's stubs type tuples as the model
            counts[(site_id, role)] = n
        primaries = {
            m.site_id: m.person
            for m in Membership.select(Membership, Person).join(Person).where(Membership.role == "primary")
        }
        sites = list(Site.select().order_by(Site.number))
    return SiteList([_summary(s, primaries.get(s.id), counts) for s in sites])


def _summary(site: Site, primary: Person | None, counts: dict[tuple[int, str], int]) -> SiteSummary:
    """A site as operators see it; one whose primary was deactivated by the
    identity provider needs a new primary (a transfer)."""
    return SiteSummary(
        site.number,
        site.name,
        primary.login_id if primary else None,
        counts.get((site.id, "secondary"), 0),
        counts.get((site.id, "user"), 0),
        needs_new_primary=primary is not None and not primary.is_active,
    )
