"""The audit trail: an append-only, hash-chained record of every change and
every refused administrative attempt, and the chain head kept apart from it."""

# The hash of "no previous record": the prev_hash of seq 1 and the head of an
# empty chain. authz.audit.GENESIS_HASH must equal it.
_GENESIS = "0" * 64

UP = [
    # seq is assigned by authz.audit (head seq + 1, under the chain lock), never by
    # the database: a PostgreSQL sequence skips values on rollback, and a gap must
    # mean a deleted record.
    """CREATE TABLE audit_record (
        seq {pk},
        at {ts} NOT NULL,
        actor VARCHAR(320) NOT NULL,
        site_number VARCHAR(64),
        action VARCHAR(64) NOT NULL,
        target VARCHAR(320),
        outcome VARCHAR(16) NOT NULL CHECK (outcome IN ('done', 'refused')),
        before TEXT,
        after TEXT,
        detail TEXT,
        prev_hash VARCHAR(64) NOT NULL,
        hash VARCHAR(64) NOT NULL)""",
    # A site's trail, newest first, page by page.
    "CREATE INDEX audit_record_site_seq ON audit_record (site_number, seq)",
    # One row: the last seq and hash written. Updated in the same transaction as
    # each append, so deleting the newest records (which leaves a chain that is
    # intact as far as it goes) no longer matches the head.
    """CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq {fk} NOT NULL,
        hash VARCHAR(64) NOT NULL)""",
    f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{_GENESIS}')",
]

DOWN = [
    "DROP TABLE audit_head",
    "DROP TABLE audit_record",
]
