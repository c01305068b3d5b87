"""A person's own preferences. The notification email is where messages go; it is
separate from any contact record's email and from the login email."""

from __future__ import annotations

from typing import Any

from authz.audit import trail
from authz.accounts.authority import Actor
from authz.errors import Forbidden, InvalidInput, NotFound
from models.db import write_transaction
from models.schema import Person


def _profile(person: Person) -> dict:
    return {"login_id": person.login_id, "email": person.email, "first_name": person.first_name,
            "last_name": person.last_name, "phone": person.phone,
            "notification_email": person.notification_email}


def _me(actor: Actor) -> Person:
    if actor.is_operator:
        raise Forbidden("an operator key has no person; act as one with an admin key and X-Acting-User")
    person = Person.by_login(actor.login_id)
    if person is None:
        raise NotFound(f"'{actor.login_id}' is not a known identity")
    return person


def my_profile(actor: Actor) -> dict:
    return _profile(_me(actor))


def set_notification_email(actor: Actor, body: Any) -> dict:
    """Set (or, with null, clear: messages then go to the login email) one's own
    notification email."""
    if not isinstance(body, dict) or set(body) != {"notification_email"}:
        raise InvalidInput("the body must be {\"notification_email\": \"<address>\" or null}", field="notification_email")
    address = body["notification_email"]
    if address is not None and (not isinstance(address, str) or "@" not in address or len(address) > 320
                                or any(c.isspace() for c in address.strip())):
        raise InvalidInput("'notification_email' must be an email address or null", field="notification_email")
    with write_transaction():
        person = _me(actor)
        before = person.notification_email
        person.notification_email = address.strip() if address else None
        person.save()
        trail.record(actor.audit_name, "set_notification_email", target=person.login_id,
                     before={"notification_email": before}, after={"notification_email": person.notification_email})
    return _profile(person)
