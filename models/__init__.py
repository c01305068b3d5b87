"""Peewee models, database setup and migrations."""
