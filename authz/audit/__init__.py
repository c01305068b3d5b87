"""The audit trail: append-only records of every change and refused attempt,
chained with an HMAC under a key held outside the database, so that editing,
inserting, deleting or reordering a record is found, and truncation too,
against a checkpoint kept elsewhere (trail.py: record, record_refusal, page,
verify; keys.py: the keys and their ranks).

May import: authz.contract, authz.errors, authz.printable, models."""
