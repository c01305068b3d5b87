"""What the identity provider asserts about a person, beyond the person row
(migration 0009): every email address it gave, in its order, and the
tombstone a deleted identity leaves.

person.email and person.phone stay the person's primary email and phone: the
rest of the service (messages, member lists, exports) reads them, and other
paths (a site administrator's edit, an import) may change them. So the primary
entry's value is always read from the person row, and the rows here matter for
the other entries and for finding a person by any of their emails."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from peewee import BooleanField, CharField, CompositeKey, ForeignKeyField, IntegerField

from models.schema import BaseModel, Person

# A deleted identity's login_key: a tab is not printable, so no acceptable login
# id (models.identifiers) can ever have this key, and the key is unique by id.
_TOMBSTONE = "\tdeleted\t{id}"


class IdentityEmail(BaseModel):
    person = ForeignKeyField(Person, backref="emails", on_delete="CASCADE")
    person_id: int  # peewee's accessor of the raw key
    position = IntegerField()
    value = CharField(max_length=320)
    value_key = CharField(max_length=320)  # email_key(value)
    type = CharField(max_length=32, null=True)
    is_primary = BooleanField(null=True)  # None: the provider did not say

    class Meta:
        table_name = "identity_email"
        primary_key = CompositeKey("person", "position")


@dataclass(frozen=True)
class Address:
    """One email address or phone number, as the identity provider gave it."""

    value: str
    type: str | None = None
    primary: bool | None = None  # None: not said (not primary)


def email_key(value: str) -> str:
    """The form in which emails are compared (SCIM: emails.value is not case-exact)."""
    return value.lower()


def tombstone_key(person_id: int) -> str:
    return _TOMBSTONE.format(id=person_id)


def primary_of(entries: list[Address]) -> int:
    """The index of the primary entry: the one marked so, else the first."""
    return next((i for i, entry in enumerate(entries) if entry.primary), 0)


def write_emails(person: Person, entries: list[Address]) -> None:
    """Replace PERSON's emails with ENTRIES (inside the caller's transaction)."""
    IdentityEmail.delete().where(IdentityEmail.person == person).execute()
    rows = [
        {
            "person": person,
            "position": position,
            "value": entry.value,
            "value_key": email_key(entry.value),
            "type": entry.type,
            "is_primary": entry.primary,
        }
        for position, entry in enumerate(entries)
    ]
    if rows:
        IdentityEmail.insert_many(rows).execute()


def emails_of(people: Iterable[Person]) -> dict[int, list[Address]]:
    """Each person's emails in order, the primary one's value from the person row.
    A person never given emails by the provider (imported, or made with a site)
    has their email alone, as the primary."""
    people = list(people)
    stored: dict[int, list[Address]] = {p.id: [] for p in people}
    query = IdentityEmail.select().where(IdentityEmail.person.in_(list(stored))).order_by(IdentityEmail.position)
    for row in query:
        stored[row.person_id].append(Address(row.value, row.type, row.is_primary))
    result = {}
    for person in people:
        entries = stored[person.id] or [Address(person.email, None, True)]
        main = primary_of(entries)
        entries[main] = Address(person.email, entries[main].type, entries[main].primary)
        result[person.id] = entries
    return result
