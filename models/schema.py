"""The tables. Their DDL lives in numbered migrations (models/migrations/);
these classes only map rows, and must agree with the latest migration."""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    CompositeKey,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from models.db import db

ROLES = ("primary", "secondary", "user")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class Site(BaseModel):
    id = AutoField()
    number = CharField(max_length=64, unique=True)
    name = CharField(max_length=255)
    created_at = DateTimeField(default=utcnow)


class Person(BaseModel):
    id = AutoField()
    login_id = CharField(max_length=320)  # as the person typed it
    login_key = CharField(max_length=320, unique=True)  # models.identifiers.login_key(login_id)
    email = CharField(max_length=320)
    first_name = CharField(max_length=100, default="")
    last_name = CharField(max_length=100, default="")
    phone = CharField(max_length=50, default="")
    notification_email = CharField(max_length=320, null=True)  # None: use email
    created_at = DateTimeField(default=utcnow)
    # Kept by the identity provider (SCIM, migration 0009): see models/identities.py.
    # False: every check denies them (their memberships are kept). None: the identity
    # provider asserts nothing, which counts as active (is_active).
    active = BooleanField(null=True, default=True)
    external_id = CharField(max_length=255, null=True)
    version = IntegerField(default=1)  # the ETag; one more on every change of what SCIM shows
    updated_at = DateTimeField(null=True)  # None: unchanged since created_at
    deleted_at = DateTimeField(null=True)  # a tombstone: login_key freed, kept for its requests
    phone_numbers = TextField(null=True)  # JSON list of {value, type, primary}; None: just phone

    @property
    def is_active(self) -> bool:
        return self.active is not False

    @classmethod
    def by_key(cls, key: str) -> Person | None:
        """The person whose login_key is KEY (models.identifiers.login_key).
        A deleted identity no longer has its key, so it is never found here."""
        return cls.get_or_none(cls.login_key == key)


class Membership(BaseModel):
    id = AutoField()
    site = ForeignKeyField(Site, backref="memberships", on_delete="CASCADE")
    person = ForeignKeyField(Person, backref="memberships", on_delete="CASCADE")
    # The raw key of each foreign key (peewee adds these accessors; declared for the type checker).
    site_id: int
    person_id: int
    role = CharField(max_length=16)
    created_at = DateTimeField(default=utcnow)
    created_by = CharField(max_length=320, null=True)

    @classmethod
    def for_site(cls, site: Site):
        return cls.select(cls, Person).join(Person).where(cls.site == site)


class MembershipLevel(BaseModel):
    """One row per application where the member holds more than the lowest level."""

    membership = ForeignKeyField(Membership, backref="levels", on_delete="CASCADE")
    membership_id: int  # peewee's accessor of the raw key
    application = CharField(max_length=64)
    level = CharField(max_length=64)

    class Meta:
        primary_key = CompositeKey("membership", "application")


class ApiKey(BaseModel):
    id = AutoField()
    key_id = CharField(max_length=32, unique=True)
    name = CharField(max_length=100)
    scope = CharField(max_length=32)
    secret_hash = CharField(max_length=64)  # sha256 hex of the secret part
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)


class ChangeLog(BaseModel):
    """Every committed change that can alter a decision, in commit order. Workers
    poll it to drop exactly the cache entries it names."""

    seq = AutoField()
    kind = CharField(max_length=32)
    site_number = CharField(max_length=64, null=True)
    login_key = CharField(max_length=320, null=True)
    at = DateTimeField(default=utcnow)


class SchemaVersion(BaseModel):
    version = CharField(max_length=16, primary_key=True)
    applied_at = DateTimeField(default=utcnow)
