"""audit_record.key_id: which key chained each record (authz/audit/keys.py).

From here on a record's hash is an HMAC under a key kept outside the database,
named by key_id (part of what the HMAC covers). Records written before stay
NULL: they were chained with plain sha256 and are verified as such, and no
keyed record may be followed by one of them."""

UP = [
    "ALTER TABLE audit_record ADD COLUMN key_id VARCHAR(32)",
]

DOWN = [
    "ALTER TABLE audit_record DROP COLUMN key_id",
]
