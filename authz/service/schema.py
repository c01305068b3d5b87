"""The database schema, for operators: bring it to a version."""

from __future__ import annotations

from authz.config import Settings
from models import migrate as migrations
from models.db import open_database
from models.errors import classified


def migrate(settings: Settings, target: str | None = None) -> list[str]:
    """Apply (or undo) migrations up (down) to TARGET, default the latest; the steps taken."""
    open_database(settings.database_url, settings.db_lock_timeout_ms)
    with classified():
        return migrations.migrate(target)
