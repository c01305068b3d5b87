"""The outbox: messages recorded with the change that causes them, delivered later
by `authz notify deliver` (authz/notifications.py)."""

UP = [
    """CREATE TABLE outbox_message (
        id {pk},
        created_at {ts} NOT NULL,
        kind VARCHAR(32) NOT NULL
            CHECK (kind IN ('welcome', 'request_granted', 'request_denied', 'review_reminder')),
        site_number VARCHAR(64),
        recipient VARCHAR(320) NOT NULL,
        subject VARCHAR(998) NOT NULL,
        body TEXT NOT NULL,
        status VARCHAR(16) NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error VARCHAR(500),
        next_attempt_at {ts} NOT NULL,
        sent_at {ts},
        CHECK ((status = 'sent') = (sent_at IS NOT NULL)))""",
    # No foreign key to site: a message outlives the site it was about (like change_log).
    # The deliverer's only query: due pending messages, oldest first.
    "CREATE INDEX outbox_message_due ON outbox_message (status, next_attempt_at)",
]

DOWN = [
    "DROP TABLE outbox_message",
]
