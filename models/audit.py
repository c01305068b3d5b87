"""The audit trail's tables (DDL in models/migrations/m0002_audit.py). Rows are
written only by authz.audit, which keeps the hash chain; nothing else updates or
deletes them."""

from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, IntegerField, TextField

from models.schema import BaseModel


class AuditRecord(BaseModel):
    """One change or refused attempt. before/after hold canonical JSON text."""

    # Not an AutoField: authz.audit assigns seq itself so that seqs have no gaps.
    seq = BigIntegerField(primary_key=True)
    at = DateTimeField()
    actor = CharField(max_length=320)  # login id, "key:<key_id>" or "cli"
    site_number = CharField(max_length=64, null=True)
    action = CharField(max_length=64)
    target = CharField(max_length=320, null=True)
    outcome = CharField(max_length=16)  # "done" or "refused"
    before = TextField(null=True)
    after = TextField(null=True)
    detail = TextField(null=True)
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64)
    # The key whose HMAC chained the record (m0008); None: plain sha256, from before keys.
    key_id = CharField(max_length=32, null=True)


class AuditHead(BaseModel):
    """The single row (id 1) naming the newest record's seq and hash."""

    id = IntegerField(primary_key=True)
    seq = BigIntegerField()
    hash = CharField(max_length=64)
