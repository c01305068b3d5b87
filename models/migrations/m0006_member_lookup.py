"""member_lookup: one row per membership, keyed by (login_key, site_number), with
the role and the stored levels ("application:level,..."). The check path reads a
member with one index search here instead of a four-table join (at 1M memberships:
about 23k instructions instead of 41k, and a single leaf page).

It is derived data, kept up to date in the writer's transaction by
models.directory.record_change, which every membership write already calls for
the caches; the test suite compares it with the join after every test."""

UP = [
    """CREATE TABLE member_lookup (
        login_key VARCHAR(320) NOT NULL,
        site_number VARCHAR(64) NOT NULL,
        role VARCHAR(16) NOT NULL,
        levels TEXT NOT NULL,
        PRIMARY KEY (login_key, site_number)){without_rowid}""",
    "INSERT INTO member_lookup (login_key, site_number, role, levels) {member_lookup_rows}",
]

DOWN = [
    "DROP TABLE member_lookup",
]
