"""A person's own preferences. The notification email is where messages go; it is
separate from any contact record's email and from the login email."""

from __future__ import annotations

from authz.audit import trail
from authz.contract.actors import Actor
from authz.contract.members import NotificationEmail, Profile
from authz.errors import Forbidden, NotFound
from models.db import read_transaction, write_transaction
from models.identifiers import login_key
from models.schema import Person


def _profile(person: Person) -> Profile:
    return Profile(
        person.login_id, person.email, person.first_name, person.last_name, person.phone, person.notification_email
    )


def _me(actor: Actor) -> Person:
    if actor.login_id is None:
        raise Forbidden("an operator key has no person; act as one with an admin key and X-Acting-User")
    person = Person.by_key(login_key(actor.login_id))
    if person is None:
        raise NotFound(f"'{actor.login_id}' is not a known identity")
    return person


def my_profile(actor: Actor) -> Profile:
    with read_transaction():
        return _profile(_me(actor))


def set_notification_email(actor: Actor, change: NotificationEmail) -> Profile:
    """Set (or, with null, clear: messages then go to the login email) one's own
    notification email."""
    address = change.notification_email.strip() if change.notification_email else None
    with write_transaction():
        person = _me(actor)
        before = person.notification_email
        person.notification_email = address
        person.save()
        trail.record(
            actor.audit_name,
            "set_notification_email",
            target=person.login_id,
            before={"notification_email": before},
            after={"notification_email": person.notification_email},
        )
    return _profile(person)
