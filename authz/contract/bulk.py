"""Bulk data: what an import reports while it runs and when it is done, and the
formats of `authz import` and `authz export memberships`."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

BulkFormat = Literal["csv", "jsonl"]
FileFormat = Literal["csv", "jsonl", "yaml"]
ImportPhase = Literal["reading", "checking", "writing", "done"]

# The file formats by name ending (--format overrides).
SUFFIXES: dict[str, FileFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
}


class ImportProgress(Struct, frozen=True):
    """Where an import is: PHASE, the rows read so far, and the bytes of the file
    read out of its size (None: unknown)."""

    phase: ImportPhase
    rows: int
    bytes_read: int | None = None
    bytes_total: int | None = None


class ImportReport(Struct, frozen=True):
    """What an import did (all of it: an import that finds a problem writes nothing)."""

    rows: int
    sites_created: int
    people_created: int
    people_updated: int
    memberships_created: int
    memberships_updated: int
    change_seq: int
