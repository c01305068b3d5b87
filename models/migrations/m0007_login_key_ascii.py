"""Login ids match after folding ASCII letters only (models/identifiers.py): the
keys of existing people are made again that way, and on PostgreSQL the check on
person.login_key no longer asks for LOWER(), which folds every script. SQLite's
LOWER() folds ASCII letters only, so its check stays as it is. member_lookup,
keyed by login_key, is rebuilt."""

_ASCII = "translate({column}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"

UP = [
    {"postgres": "ALTER TABLE person DROP CONSTRAINT person_login_key_check"},
    {
        "postgres": "UPDATE person SET login_key = " + _ASCII.format(column="login_id"),
        "sqlite": "UPDATE person SET login_key = lower(login_id)",  # ASCII letters only in SQLite
    },
    {
        "postgres": "ALTER TABLE person ADD CONSTRAINT person_login_key_check "
        "CHECK (login_key = " + _ASCII.format(column="login_key") + ")"
    },
    "DELETE FROM member_lookup",
    "INSERT INTO member_lookup (login_key, site_number, role, levels) {member_lookup_rows}",
]

DOWN = [
    {"postgres": "ALTER TABLE person DROP CONSTRAINT person_login_key_check"},
    "UPDATE person SET login_key = lower(login_id)",
    {"postgres": "ALTER TABLE person ADD CONSTRAINT person_login_key_check CHECK (login_key = LOWER(login_key))"},
    "DELETE FROM member_lookup",
    "INSERT INTO member_lookup (login_key, site_number, role, levels) {member_lookup_rows}",
]
