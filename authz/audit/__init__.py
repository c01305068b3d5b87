"""The audit trail: append-only records of every change and refused attempt,
hash-chained so that editing, inserting or deleting a record is found
(trail.py: record, record_refusal, page, verify).

May import: authz.contract, authz.errors, models."""
