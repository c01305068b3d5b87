"""Numbered migrations: mNNNN_name.py, each with UP and DOWN lists of SQL.

{pk}, {fk} and {ts} stand for the dialect's auto-increment key, foreign key
integer and timestamp types, so one file serves SQLite and PostgreSQL."""
