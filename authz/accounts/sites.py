"""Operator workflows: create a site with its primary contact, and transfer the
primary role. The primary role moves only here, in one transaction."""

from __future__ import annotations

from typing import Any

from peewee import IntegrityError

from authz.audit import trail
from authz.accounts.authority import Actor, Authority, run
from authz.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from authz.accounts.rules import check_secondary_room
from authz.accounts.members import _member, _text, _write_levels
from authz.engine.table import DecisionTable
from models.db import write_transaction
from models.directory import record_change
from models.schema import Membership, Person, Site, login_key

FORMER_PRIMARY_ROLES = ("secondary", "user")


def _require_operator(actor: Actor) -> None:
    if not actor.is_operator:
        raise Forbidden("only an operator may do this")


def create_site(table: DecisionTable, actor: Actor, body: Any) -> dict:
    """A new site and its primary contact (an existing identity, or a new one
    made from the details given)."""
    _require_operator(actor)
    if not isinstance(body, dict) or not isinstance(body.get("primary"), dict):
        raise InvalidInput("the body must be an object with 'number', 'name' and 'primary'", field="primary")
    number, name = _text(body, "number", 64), _text(body, "name", 255)
    primary = body["primary"]
    login_id, email = _text(primary, "login_id", 320), _text(primary, "email", 320)
    try:
        with write_transaction():
            if Site.select().where(Site.number == number).exists():
                raise Conflict(f"site '{number}' already exists")
            person = Person.by_login(login_id) or Person.create(
                login_id=login_id, login_key=login_key(login_id), email=email,
                **{f: str(primary.get(f) or "") for f in ("first_name", "last_name", "phone")})
            site = Site.create(number=number, name=name)
            Membership.create(site=site, person=person, role="primary", created_by=actor.audit_name)
            trail.record(actor.audit_name, "create_site", site_number=number, target=person.login_id,
                         after={"name": name, "primary": person.login_id})
            seq = record_change("membership", number, person.login_key)
    except IntegrityError:  # a concurrent request created the same site (or person) first
        conflict = Conflict(f"site '{number}' already exists")
        trail.record_refusal(actor.audit_name, "create_site", detail=conflict.message, site_number=number,
                             target=login_id)
        raise conflict from None
    except Conflict as exc:
        trail.record_refusal(actor.audit_name, "create_site", detail=exc.message, site_number=number,
                             target=login_id)
        raise
    return {"number": number, "name": name, "primary": person.login_id, "change_seq": seq}


def transfer_primary(table: DecisionTable, actor: Actor, site_number: str, body: Any) -> dict:
    """Make another member the primary contact. The former primary becomes a
    secondary (or a user) holding the highest levels that role may hold."""
    _require_operator(actor)
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    to_login = _text(body, "to", 320)
    former_role = body.get("former_primary_role", "secondary")
    if former_role not in FORMER_PRIMARY_ROLES:
        raise InvalidInput(f"'former_primary_role' must be one of {', '.join(FORMER_PRIMARY_ROLES)}",
                           field="former_primary_role")

    def work(authority: Authority) -> dict:
        site = authority.site
        new = _member(site.id, to_login)
        if new.role == "primary":
            raise RuleViolation(f"'{to_login}' is already the primary contact")
        old = Membership.select(Membership, Person).join(Person).where(
            (Membership.site == site) & (Membership.role == "primary")).get()
        if former_role == "secondary":
            check_secondary_room(site.id, adding=0 if new.role == "secondary" else 1)
        before = {"primary": old.person.login_id, to_login: new.role}
        # Demote first: the database never holds two primaries, even inside the transaction.
        old.role = former_role
        old.save()
        _write_levels(table, old, {app: _highest_holdable(table, former_role, app)
                                   for app in table.catalogue.applications})
        new.role = "primary"
        new.save()
        _write_levels(table, new, {})  # a primary's levels are implied
        after = {"primary": new.person.login_id, old.person.login_id: former_role}
        trail.record(actor.audit_name, "transfer_primary", site_number=site_number, target=new.person.login_id,
                     before=before, after=after)
        record_change("membership", site_number, old.person.login_key)
        seq = record_change("membership", site_number, new.person.login_key)
        return {"change_seq": seq, "site": site_number, "primary": new.person.login_id, "former_primary": old.person.login_id,
                "former_primary_role": former_role}
    return run(table, actor, site_number, "transfer_primary", work, target=to_login)


def _highest_holdable(table: DecisionTable, role: str, app: str) -> str:
    order = table.level_order(app)
    return order[-1] if table.catalogue.may_hold(role, app) else order[0]


def list_sites() -> list[dict]:
    return [{"number": s.number, "name": s.name} for s in Site.select().order_by(Site.number)]
