"""Apply or roll back the numbered migrations, on SQLite or PostgreSQL."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from models import locks, migrations
from models.db import db, is_postgres, write_transaction
from models.directory import member_lookup_rows
from models.schema import SchemaVersion

DIALECT = {
    "sqlite": {
        "pk": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "fk": "INTEGER",
        "ts": "TIMESTAMP",
        "without_rowid": " WITHOUT ROWID",
    },
    "postgres": {"pk": "BIGSERIAL PRIMARY KEY", "fk": "BIGINT", "ts": "TIMESTAMP", "without_rowid": ""},
}


def available() -> list[tuple[str, ModuleType]]:
    """(version, module) of every migration, in order."""
    names = sorted(m.name for m in pkgutil.iter_modules(migrations.__path__) if m.name.startswith("m"))
    versions = [name[1:5] for name in names]
    duplicates = sorted({v for v in versions if versions.count(v) > 1})
    if duplicates:  # only one of them would ever be applied
        raise RuntimeError(f"two migrations share the number {duplicates[0]}: renumber one")
    return [(name[1:5], importlib.import_module(f"models.migrations.{name}")) for name in names]


def applied() -> list[str]:
    if not db.table_exists("schema_version"):
        return []
    return [row.version for row in SchemaVersion.select().order_by(SchemaVersion.version)]


def head() -> str:
    return available()[-1][0]


def is_current() -> bool:
    """The schema this code needs is in place. A newer schema (applied by the next
    release's migration, which must stay backward compatible) still counts, so
    a rolling upgrade does not take the old replicas out of service."""
    return head() in applied()


def migrate(target: str | None = None) -> list[str]:
    """Bring the schema to TARGET (default: the latest), up or down. Each step
    runs in its own transaction, under a lock, so concurrent runs are safe."""
    db.create_tables([SchemaVersion], safe=True)
    target = target or head()
    done = []
    for version, module in available():
        if version <= target and _step(version, module.UP, applying=True):
            done.append(f"up {version}")
    for version, module in reversed(available()):
        if version > target and _step(version, module.DOWN, applying=False):
            done.append(f"down {version}")
    return done


# A statement of a migration: SQL for both databases (formatted with DIALECT), or
# {"sqlite": SQL, "postgres": SQL} where they differ (a missing one: nothing to do there).
Statement = str | dict[str, str]


def _step(version: str, statements: list[Statement], *, applying: bool) -> bool:
    dialect = "postgres" if is_postgres() else "sqlite"
    types = DIALECT[dialect]
    with write_transaction():
        if is_postgres():
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (locks.MIGRATION,))
        if (version in applied()) == applying:
            return False  # another run got here first
        # A migration that fills member_lookup leaves inactive persons out once
        # person has its active flag (0009); before, every membership is in.
        has_active = any(column.name == "active" for column in db.get_columns("person"))
        rows = member_lookup_rows(is_postgres(), active_only=has_active)
        for statement in statements:
            sql = statement.get(dialect) if isinstance(statement, dict) else statement
            if sql:
                db.execute_sql(sql.format(**types, member_lookup_rows=rows))
        if applying:
            SchemaVersion.create(version=version)
        else:
            SchemaVersion.delete().where(SchemaVersion.version == version).execute()
    return True
