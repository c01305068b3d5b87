"""Sites, people, memberships with their levels, API keys and the change log."""

UP = [
    """CREATE TABLE site (
        id {pk},
        number VARCHAR(64) NOT NULL UNIQUE,
        name VARCHAR(255) NOT NULL,
        created_at {ts} NOT NULL)""",
    """CREATE TABLE person (
        id {pk},
        login_id VARCHAR(320) NOT NULL,
        login_key VARCHAR(320) NOT NULL UNIQUE,
        email VARCHAR(320) NOT NULL,
        first_name VARCHAR(100) NOT NULL DEFAULT '',
        last_name VARCHAR(100) NOT NULL DEFAULT '',
        phone VARCHAR(50) NOT NULL DEFAULT '',
        notification_email VARCHAR(320),
        created_at {ts} NOT NULL,
        CHECK (login_key = LOWER(login_key)))""",
    """CREATE TABLE membership (
        id {pk},
        site_id {fk} NOT NULL REFERENCES site (id) ON DELETE CASCADE,
        person_id {fk} NOT NULL REFERENCES person (id) ON DELETE CASCADE,
        role VARCHAR(16) NOT NULL CHECK (role IN ('primary', 'secondary', 'user')),
        created_at {ts} NOT NULL,
        created_by VARCHAR(320),
        UNIQUE (site_id, person_id))""",
    # The database itself refuses a second primary contact on a site.
    "CREATE UNIQUE INDEX membership_one_primary_per_site ON membership (site_id) WHERE role = 'primary'",
    "CREATE INDEX membership_person ON membership (person_id)",
    """CREATE TABLE membership_level (
        membership_id {fk} NOT NULL REFERENCES membership (id) ON DELETE CASCADE,
        application VARCHAR(64) NOT NULL,
        level VARCHAR(64) NOT NULL,
        PRIMARY KEY (membership_id, application))""",
    "CREATE INDEX membership_level_by_level ON membership_level (application, level)",
    """CREATE TABLE api_key (
        id {pk},
        key_id VARCHAR(32) NOT NULL UNIQUE,
        name VARCHAR(100) NOT NULL,
        scope VARCHAR(32) NOT NULL,
        secret_hash VARCHAR(64) NOT NULL,
        created_at {ts} NOT NULL,
        revoked_at {ts})""",
    """CREATE TABLE change_log (
        seq {pk},
        kind VARCHAR(32) NOT NULL,
        site_number VARCHAR(64),
        login_key VARCHAR(320),
        at {ts} NOT NULL)""",
]

DOWN = [
    "DROP TABLE change_log",
    "DROP TABLE api_key",
    "DROP TABLE membership_level",
    "DROP TABLE membership",
    "DROP TABLE person",
    "DROP TABLE site",
]
