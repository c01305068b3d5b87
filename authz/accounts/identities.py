"""Identities provisioned by the identity provider (SCIM): the only way a
person comes to exist besides an import or a new site's primary, and the way
they leave.

- Provisioning creates a person; the login id follows the service's rule, and
  a login id that matches another person's (models.identifiers.login_key) is
  refused as already existing.
- Deactivation (active: false) keeps the person's memberships for the record,
  and every check for them answers identity_inactive from the change's
  change_seq on (models.directory keeps inactive people out of member_lookup);
  reactivation restores them. A primary contact may be deactivated: their site
  then needs a new primary (authz/accounts/sites.py lists it).
- Deletion removes the memberships, closes the person's pending access
  requests, and leaves a tombstone whose login key is freed (the same login id
  may be provisioned again as a new identity); checks then answer unknown_user.
  The primary contact of a site is not deleted: the site needs a transfer first.

Every change is audited (as the identity provider's key) and written to the
change log, in the transaction of the change."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from authz.accounts.identity_search import matching
from authz.accounts.memberships import stored_levels
from authz.audit import trail
from authz.contract.actors import Actor
from authz.contract.identities import (
    Email,
    Identity,
    IdentityInput,
    IdentityPage,
    IdentityQuery,
    IdentityRemoved,
    Phone,
)
from authz.errors import AlreadyExists, Conflict, DomainError, NotFound, PreconditionFailed
from models.access_requests import AccessRequest
from models.db import is_postgres, read_transaction, write_transaction
from models.directory import latest_change_seq, record_change
from models.errors import StoreConflict
from models.identifiers import login_key
from models.identities import Address, emails_of, primary_of, tombstone_key, write_emails
from models.schema import Membership, Person, Site, utcnow

T = TypeVar("T")


# -- reading -----------------------------------------------------------------


def identity(identity_id: str) -> Identity:
    with read_transaction():
        person = _find(identity_id)
        return describe(person, emails_of([person])[person.id])


def search(query: IdentityQuery) -> IdentityPage:
    """A page of the live identities matching the query's filter, by id."""
    with read_transaction():
        live = Person.select().where(Person.deleted_at.is_null())
        if query.filter is not None:
            live = live.where(matching(query.filter))
        total = live.count()
        page = live.order_by(Person.id).offset(query.start_index - 1).limit(query.count)
        people = list(page) if query.count else []
        emails = emails_of(people)
    return IdentityPage(total, query.start_index, [describe(p, emails[p.id]) for p in people])


def describe(person: Person, emails: list[Address]) -> Identity:
    return Identity(
        id=str(person.id),
        login_id=person.login_id,
        emails=[Email(e.value, e.type, e.primary) for e in emails],
        first_name=person.first_name,
        last_name=person.last_name,
        phones=[Phone(p.value, p.type, p.primary) for p in _phones(person)],
        active=person.active,
        external_id=person.external_id,
        created=_utc(person.created_at),
        last_modified=_utc(person.updated_at or person.created_at),
        version=person.version,
    )


def _phones(person: Person) -> list[Address]:
    """Every phone number; the primary one's value from person.phone (see models/identities.py)."""
    if person.phone_numbers is None:
        return [Address(person.phone, None, True)] if person.phone else []
    entries = [Address(**entry) for entry in json.loads(person.phone_numbers)]
    if entries:
        main = primary_of(entries)
        entries[main] = Address(person.phone, entries[main].type, entries[main].primary)
    return entries


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def _find(identity_id: str, *, lock: bool = False) -> Person:
    """The live person with that id (as SCIM shows it), or NotFound."""
    text = str(identity_id)
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise NotFound(f"no identity '{text[:40]}'")
    query = Person.select().where((Person.id == int(text)) & Person.deleted_at.is_null())
    if lock and is_postgres():
        query = query.for_update()  # concurrent changes of one identity apply one after the other
    person = query.first()
    if person is None:
        raise NotFound(f"no identity '{text[:40]}'")
    return person


# -- changing ----------------------------------------------------------------


def provision(actor: Actor, new: IdentityInput) -> Identity:
    """A new identity, as the identity provider asserts it."""

    def work() -> Identity:
        key = login_key(new.login_id)
        if Person.by_key(key) is not None:
            raise _taken(new.login_id)
        person = Person(login_id=new.login_id, login_key=key, created_at=utcnow())
        _assign(person, new)
        person.save(force_insert=True)
        write_emails(person, _addresses(new.emails))
        trail.record(actor.audit_name, "provision_identity", target=new.login_id, after=_state(person, new.emails))
        seq = record_change("identity", login_key=key)  # cached unknown_user answers for the key go
        return _changed(person, seq)

    return _audited(actor, "provision_identity", new.login_id, work)


def replace(actor: Actor, identity_id: str, new: IdentityInput, expected_version: int | None) -> Identity:
    """Replace what the identity provider asserts about a person, whole, if the
    identity is still at EXPECTED_VERSION (when given). Deactivates or
    reactivates them when `active` changes; renames them when the login id does."""

    def work() -> Identity:
        person = _find(identity_id, lock=True)
        _check_version(person, expected_version)
        emails = emails_of([person])[person.id]
        before = _state(person, emails)
        if before == _state(_assigned_copy(person, new), new.emails):
            return _changed(person, latest_change_seq())  # nothing to change: no new version
        old_key, new_key = person.login_key, login_key(new.login_id)
        if new_key != old_key and Person.by_key(new_key) is not None:
            raise _taken(new.login_id)
        was_active = person.is_active
        person.login_id, person.login_key = new.login_id, new_key
        _assign(person, new)
        _next_version(person)
        person.save()
        write_emails(person, _addresses(new.emails))
        after = _state(person, new.emails)
        action = _action(was_active, person.is_active)
        trail.record(actor.audit_name, action, target=person.login_id, before=before, after=after)
        if was_active != person.is_active:
            _audit_on_each_site(actor, person, action)
        if new_key != old_key:  # the old key's entries and rows go, the new key's come
            record_change("identity", login_key=old_key)
        return _changed(person, record_change("identity", login_key=new_key))

    return _audited(actor, "update_identity", identity_id, work)


def remove(actor: Actor, identity_id: str, expected_version: int | None) -> IdentityRemoved:
    """Delete an identity: its memberships go (each audited on its site), its
    pending access requests are closed, and its login id is freed."""

    def work() -> IdentityRemoved:
        person = _find(identity_id, lock=True)
        _check_version(person, expected_version)
        _refuse_if_primary(person)
        before = _state(person, emails_of([person])[person.id])
        _remove_memberships(actor, person)
        _close_requests(actor, person)
        old_key = person.login_key
        person.login_key, person.active, person.deleted_at = tombstone_key(person.id), False, utcnow()
        _next_version(person)
        person.save()
        write_emails(person, [])
        trail.record(actor.audit_name, "delete_identity", target=person.login_id, before=before)
        return IdentityRemoved(str(person.id), person.login_id, record_change("identity", login_key=old_key))

    return _audited(actor, "delete_identity", identity_id, work)


def _audited(actor: Actor, action: str, target: str, work: Callable[[], T]) -> T:
    """WORK in one write transaction; a refusal (a conflict, a rule) is audited
    in a transaction of its own, then re-raised."""
    try:
        try:
            with write_transaction():
                return work()
        except StoreConflict:  # another request took the same login key first
            raise AlreadyExists("that userName was just taken by another identity") from None
    except (NotFound, PreconditionFailed):
        raise  # nothing was attempted on anyone
    except DomainError as exc:
        trail.record_refusal(actor.audit_name, action, detail=exc.message, target=target)
        raise


def _taken(login_id: str) -> AlreadyExists:
    return AlreadyExists(
        f"userName '{login_id}' is taken: it matches another identity's login id "
        "(login ids match when equal after folding the case of ASCII letters)"
    )


def _check_version(person: Person, expected: int | None) -> None:
    if expected is not None and person.version != expected:
        raise PreconditionFailed(
            f"identity {person.id} is at version {person.version}, not {expected}: read it again and retry"
        )


def _assign(person: Person, new: IdentityInput) -> None:
    emails, phones = _addresses(new.emails), _addresses(new.phones)
    person.email = emails[primary_of(emails)].value
    person.phone = phones[primary_of(phones)].value if phones else ""
    person.phone_numbers = json.dumps([a.__dict__ for a in phones]) if phones else None
    person.first_name, person.last_name = new.first_name, new.last_name
    person.active, person.external_id = new.active, new.external_id


def _assigned_copy(person: Person, new: IdentityInput) -> Person:
    copy = Person(**person.__data__)
    copy.login_id = new.login_id
    _assign(copy, new)
    return copy


def _addresses(entries: list[Email] | list[Phone]) -> list[Address]:
    return [Address(e.value, e.type, e.primary) for e in entries]


def _next_version(person: Person) -> None:
    person.version += 1
    person.updated_at = utcnow()


def _state(person: Person, emails: list[Email] | list[Address]) -> dict[str, Any]:
    """What the audit trail records of an identity (and what a change compares)."""
    return {
        "login_id": person.login_id,
        "active": person.active,
        "emails": [{"value": e.value, "type": e.type, "primary": e.primary} for e in emails],
        "first_name": person.first_name,
        "last_name": person.last_name,
        "phones": [{"value": p.value, "type": p.type, "primary": p.primary} for p in _phones(person)],
        "external_id": person.external_id,
    }


def _action(was_active: bool, active: bool) -> str:
    if was_active == active:
        return "update_identity"
    return "reactivate_identity" if active else "deactivate_identity"


def _changed(person: Person, seq: int) -> Identity:
    described = describe(person, emails_of([person])[person.id])
    described.change_seq = seq
    return described


def _memberships(person: Person) -> list[Membership]:
    return list(Membership.select(Membership, Site).join(Site).where(Membership.person == person).order_by(Site.number))


def _audit_on_each_site(actor: Actor, person: Person, action: str) -> None:
    """Each site the person belongs to sees, in its own trail, why their member
    stopped (or started again) being allowed anything."""
    for member in _memberships(person):
        trail.record(
            actor.audit_name,
            action,
            site_number=member.site.number,
            target=person.login_id,
            after={"active": person.is_active, "role": member.role},
            detail="by the identity provider: memberships are kept; checks deny an inactive identity",
        )


def _refuse_if_primary(person: Person) -> None:
    sites = [m.site.number for m in _memberships(person) if m.role == "primary"]
    if sites:
        raise Conflict(
            f"'{person.login_id}' is the primary contact of site(s) {', '.join(sites)}: transfer the primary "
            "role first (deactivating the identity is allowed meanwhile)"
        )


def _remove_memberships(actor: Actor, person: Person) -> None:
    members = _memberships(person)
    levels = stored_levels([m.id for m in members]) if members else {}
    for member in members:
        member.delete_instance()  # levels go with it (ON DELETE CASCADE)
        trail.record(
            actor.audit_name,
            "remove_user",
            site_number=member.site.number,
            target=person.login_id,
            before={"role": member.role, "levels": levels[member.id]},
            detail="the identity was deleted by the identity provider",
        )


def _close_requests(actor: Actor, person: Person) -> None:
    """Close the person's pending requests: denied as 'requestor_unknown', which
    the requester now is; nobody is notified (there is no one to tell)."""
    pending = list(
        AccessRequest.select(AccessRequest, Site)
        .join(Site)
        .where((AccessRequest.person == person) & (AccessRequest.status == "pending"))
    )
    for request in pending:
        AccessRequest.update(
            status="denied", deny_reason="requestor_unknown", decided_at=utcnow(), decided_by=actor.audit_name
        ).where(AccessRequest.id == request.id).execute()
        trail.record(
            actor.audit_name,
            "close_access_request",
            site_number=request.site.number,
            target=person.login_id,
            before={"request": request.id, "status": "pending"},
            after={"request": request.id, "status": "denied", "reason": "requestor_unknown"},
            detail="the identity was deleted by the identity provider",
        )
