"""The outbox table (migration 0003). Rows are written by authz.notifications.enqueue
inside the transaction of the change they report, and only ever updated afterwards:
a message is never deleted, whatever becomes of it."""

from __future__ import annotations

from peewee import AutoField, CharField, DateTimeField, IntegerField, TextField

from models.schema import BaseModel, utcnow

KINDS = ("welcome", "request_granted", "request_denied", "review_reminder")
STATUSES = ("pending", "sent", "failed")
LAST_ERROR_MAX = 500  # the column's width; longer errors are cut


class OutboxMessage(BaseModel):
    id = AutoField()
    created_at = DateTimeField(default=utcnow)
    kind = CharField(max_length=32)  # one of KINDS
    site_number = CharField(max_length=64, null=True)
    recipient = CharField(max_length=320)
    subject = CharField(max_length=998)
    body = TextField()
    status = CharField(max_length=16, default="pending")  # one of STATUSES
    attempts = IntegerField(default=0)  # failed delivery attempts so far
    last_error = CharField(max_length=LAST_ERROR_MAX, null=True)
    next_attempt_at = DateTimeField(default=utcnow)  # not due before this (UTC)
    sent_at = DateTimeField(null=True)  # set exactly when status is 'sent'
