"""Storage: the one database handle (db.py), the tables (schema.py and one
module per area), numbered migrations for SQLite and PostgreSQL (migrations/,
migrate.py), the check path's raw reads (directory.py, snapshot.py), the
impact queries (impact.py), bulk loads and reads of memberships (bulk.py), what the
identity provider asserts beyond the person row
(identities.py), the login-id rule the keys are made by
(identifiers.py), and the storage errors every caller sees (errors.py).

Imports nothing of authz or api."""
