"""The access_request table (migration 0004). Rows are written only by
authz.access_requests: created 'pending', decided once ('granted' or 'denied'),
never deleted (except with their site or person)."""

from __future__ import annotations

import json

from peewee import AutoField, CharField, DateTimeField, ForeignKeyField, TextField

from models.schema import BaseModel, Person, Site, utcnow

STATUSES = ("pending", "granted", "denied")
# Reason id -> the words the requester reads. The migration's CHECK lists the same ids.
DENY_REASONS = {
    "requestor_unknown": "The requestor is unknown",
    "access_not_necessary": "The primary contact has determined access is not necessary",
    "no_business_relationship": "The requestor has no business relationship to this site",
}


class AccessRequest(BaseModel):
    id = AutoField()
    site = ForeignKeyField(Site, backref="access_requests", on_delete="CASCADE")
    person = ForeignKeyField(Person, backref="access_requests", on_delete="CASCADE")
    justification = TextField(null=True)  # the requester's, or the decider's when they gave none
    status = CharField(max_length=16, default="pending")  # one of STATUSES
    created_at = DateTimeField(default=utcnow)
    decided_at = DateTimeField(null=True)
    decided_by = CharField(max_length=320, null=True)  # the deciding actor's audit name
    deny_reason = CharField(max_length=64, null=True)  # a key of DENY_REASONS when denied
    granted_role = CharField(max_length=16, null=True)  # 'secondary' or 'user' when granted
    granted_levels = TextField(null=True)  # JSON object application -> level when granted

    @property
    def levels(self) -> dict[str, str] | None:
        return json.loads(self.granted_levels) if self.granted_levels else None
