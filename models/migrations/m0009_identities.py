"""Identities provisioned by the identity provider (SCIM): a person can be
inactive (every check denies them; their memberships are kept), carries the
provider's externalId, a version for ETags, when it last changed, and, once
deleted, when (the row stays as a tombstone so the requests it made keep their
requester; its login_key is freed, see models/identities.py).

A person's primary email and phone stay in person.email and person.phone, which
the rest of the service reads; identity_email keeps every email the provider
asserted (so a filter on emails.value finds any of them) and
person.phone_numbers every phone number, as JSON."""

UP = [
    # NULL: the provider asserts nothing (it removed the attribute); counts as active.
    "ALTER TABLE person ADD COLUMN active BOOLEAN DEFAULT TRUE",
    "ALTER TABLE person ADD COLUMN external_id VARCHAR(255)",
    "ALTER TABLE person ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE person ADD COLUMN updated_at {ts}",
    "ALTER TABLE person ADD COLUMN deleted_at {ts}",
    "ALTER TABLE person ADD COLUMN phone_numbers TEXT",
    "CREATE INDEX person_external_id ON person (external_id)",
    """CREATE TABLE identity_email (
        person_id {fk} NOT NULL REFERENCES person (id) ON DELETE CASCADE,
        position INTEGER NOT NULL CHECK (position >= 0),
        value VARCHAR(320) NOT NULL,
        value_key VARCHAR(320) NOT NULL,
        type VARCHAR(32),
        is_primary BOOLEAN,  -- NULL: the provider did not say
        PRIMARY KEY (person_id, position))""",
    # filter: emails.value eq "..." (compared case-insensitively)
    "CREATE INDEX identity_email_value ON identity_email (value_key)",
]

DOWN = [
    # Before 0009 every person counts: the check path's copy holds them all again.
    "DELETE FROM member_lookup",
    "INSERT INTO member_lookup (login_key, site_number, role, levels) {member_lookup_rows}",
    "DROP TABLE identity_email",
    "DROP INDEX person_external_id",
    "ALTER TABLE person DROP COLUMN phone_numbers",
    "ALTER TABLE person DROP COLUMN deleted_at",
    "ALTER TABLE person DROP COLUMN updated_at",
    "ALTER TABLE person DROP COLUMN version",
    "ALTER TABLE person DROP COLUMN external_id",
    "ALTER TABLE person DROP COLUMN active",
]
