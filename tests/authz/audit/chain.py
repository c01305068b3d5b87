"""What the audit tests share: the key records are chained under, records to
chain, and the hands of someone with write access to the database (raw SQL)."""

from __future__ import annotations

from collections.abc import Callable

from authz.audit import keys as audit_keys
from authz.audit import trail
from models.audit import AuditRecord
from models.db import db, write_transaction

KEY = "k" * 16 + "the test audit key, 32+ chars"
OTHER_KEY = "o" * 16 + "another test audit key, 32+ chars"


def sql(statement: str, *params) -> None:
    """Run STATEMENT (written with ? placeholders) outside any transaction."""
    db.execute_sql(statement.replace("?", db.obj.param), params)


def write(count: int, *, site: str | None = "S1", actor: str = "alice@example.test") -> list[AuditRecord]:
    """COUNT records, each in a transaction of its own, through the trail."""
    rows = []
    for i in range(count):
        with write_transaction():
            rows.append(
                trail.record(
                    actor,
                    "member.update",
                    site_number=site,
                    target=f"user{i}@example.test",
                    before={"role": "user", "levels": {"reporting": "none"}},
                    after={"role": "secondary", "levels": {"reporting": "view"}},
                )
            )
    return rows


def seqs() -> list[int]:
    return [row.seq for row in AuditRecord.select(AuditRecord.seq).order_by(AuditRecord.seq)]


def records() -> list[AuditRecord]:
    return list(AuditRecord.select().order_by(AuditRecord.seq))


# -- an attacker's hashes: what can be computed without the key ------------------------


def plain_sha256(row: AuditRecord) -> str:
    """The hash as it was before keys (sha256 of prev_hash and the fields)."""
    legacy = AuditRecord(**{**row.__data__, "key_id": None})  # (copy.copy would share the fields)
    return trail.record_hash(legacy)


def development_key(row: AuditRecord) -> str:
    """The hash under the development key, which is public."""
    return trail.record_hash(row, audit_keys.AuditKeys())


def rechain(rows: list[AuditRecord], hash_of: Callable[[AuditRecord], str], *, key_id: object = ...) -> None:
    """Write ROWS back (by seq) as a chain of their own: each prev_hash the hash of
    the row before (the first keeps its own), each hash HASH_OF(row), key_id set
    to KEY_ID if given; then move audit_head to the last. All with raw SQL."""
    for previous, row in zip([None, *rows], rows, strict=False):
        if previous is not None:
            row.prev_hash = previous.hash
        if key_id is not ...:
            row.key_id = key_id
        row.hash = hash_of(row)
        sql(
            "UPDATE audit_record SET actor = ?, detail = ?, prev_hash = ?, hash = ?, key_id = ? WHERE seq = ?",
            row.actor,
            row.detail,
            row.prev_hash,
            row.hash,
            row.key_id,
            row.seq,
        )
    sql("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", rows[-1].seq, rows[-1].hash)
