"""The site contact tables (DDL in models/migrations/m0005_contacts.py). Rows are
written only by authz.contacts, inside an audited transaction."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField, TextField

from models.schema import BaseModel, Site, utcnow


class SiteContact(BaseModel):
    """One contact record of a site. Unrelated to any person's login or
    notification email: it is what the site tells the vendor, nothing more."""

    id = AutoField()
    site = ForeignKeyField(Site, backref="contacts", on_delete="CASCADE")
    first_name = CharField(max_length=100)
    last_name = CharField(max_length=100)
    telephone = CharField(max_length=50)
    email = CharField(max_length=320)
    street_address = CharField(max_length=500)
    city = CharField(max_length=100)
    state_province = CharField(max_length=100)
    postal_code = CharField(max_length=20)
    contact_types = TextField()  # comma-separated type ids, in catalogue order
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=320)


class ContactReview(BaseModel):
    """When a site's contacts were last reviewed, by whom, and when its primary
    was last reminded. No row: never reviewed, never reminded."""

    site = ForeignKeyField(Site, primary_key=True, on_delete="CASCADE")
    reviewed_at = DateTimeField(null=True)
    reviewed_by = CharField(max_length=320, null=True)
    last_reminded_at = DateTimeField(null=True)
