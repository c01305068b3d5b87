"""The audit trail: who changed what, on which site, from what to what, and every
refused administrative attempt. Append-only and hash-chained, so that `verify`
finds an edited, deleted or inserted record.

Each record's hash is sha256(prev_hash + canonical JSON of all its fields,
including seq and time); the first record follows GENESIS_HASH. The newest seq
and hash are also kept in audit_head, written in the same transaction as the
record, so that deleting the newest records is found too (the rest of the chain
would still be intact).

Writers are serialised for the length of their transaction (PostgreSQL: an
advisory lock, taken after the change log's; SQLite: the single write lock of
write_transaction()), so seq is gap-free and the chain linear. seq is assigned
here (head + 1), not by a database sequence: a PostgreSQL sequence skips the
values of rolled-back transactions, and a gap must mean a deleted record. Were
the lock ever bypassed, the primary key on seq turns a fork into an error.

Limit: the hash is not keyed. Someone who can write the database and who rewrites
every record from the one they edit onwards, and audit_head, is not detected."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from authz.errors import InvalidInput
from models import locks
from models.audit import AuditHead, AuditRecord
from models.db import db, is_postgres, write_transaction
from models.schema import utcnow

GENESIS_HASH = "0" * 64  # prev_hash of seq 1; equals the seed row of m0002
OUTCOMES = ("done", "refused")
MAX_PAGE = 500  # most records page() returns at once

# Audited changes also append to the change log, some before record() and some
# after; record() takes the change-log lock before its own so that every
# transaction takes the two in the same order (models/locks.py) and two writers
# can never deadlock on them, whatever order their code calls in.
_CHAIN_LOCK = locks.AUDIT_CHAIN
_CHANGE_LOG_LOCK = locks.CHANGE_LOG
_VERIFY_BATCH = 1000  # rows read per query while walking the chain

# Column -> (maximum length, may be None): checked here so that SQLite, which
# does not enforce VARCHAR lengths, refuses what PostgreSQL would.
_TEXT_LIMITS = {
    "actor": (320, False),
    "action": (64, False),
    "site_number": (64, True),
    "target": (320, True),
}


# -- writing -----------------------------------------------------------------


def record(
    actor: str,
    action: str,
    *,
    site_number: str | None = None,
    target: str | None = None,
    before: Any = None,
    after: Any = None,
    outcome: str = "done",
    detail: str | None = None,
) -> AuditRecord:
    """Append one record inside the caller's open transaction and return it.

    Call it from within the transaction that makes the change (opened with
    models.db.write_transaction()), so the record commits or rolls back with it;
    outside a transaction it raises RuntimeError. before/after are any
    JSON-serialisable values (dicts, lists, str, numbers, datetimes, sets) or None;
    anything else raises TypeError. Malformed fields raise ValueError.

    From here to the end of the transaction, other audited writers wait (that is
    what keeps the chain linear): call it once the change itself is written."""
    if not db.in_transaction():
        raise RuntimeError("audit.record() must run inside the transaction of the change it records")
    fields = {"actor": actor, "action": action, "site_number": site_number, "target": target}
    for name, value in fields.items():
        _check_text(name, value)
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {OUTCOMES}, got {outcome!r}")
    if detail is not None and not isinstance(detail, str):
        raise ValueError("audit detail must be text")
    # Serialise before taking the lock: a bad value then costs no lock time.
    before_json, after_json = canonical_json(before), canonical_json(after)

    _lock_chain()
    head = _read_head()
    row = AuditRecord(
        seq=head.seq + 1,
        at=utcnow(),
        outcome=outcome,
        before=before_json,
        after=after_json,
        detail=detail,
        prev_hash=head.hash,
        **fields,
    )
    row.hash = record_hash(row)
    row.save(force_insert=True)
    AuditHead.update(seq=row.seq, hash=row.hash).where(AuditHead.id == 1).execute()
    return row


def record_refusal(
    actor: str,
    action: str,
    *,
    detail: str,
    site_number: str | None = None,
    target: str | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditRecord:
    """Record a refused attempt in a transaction of its own, so it persists although
    the attempted change is rolled back. DETAIL says why it was refused.

    Call it after the change's transaction has ended (typically in an `except`
    outside the `with write_transaction()` block); inside an open transaction the
    record would roll back with it, so that raises RuntimeError. An over-long
    SITE_NUMBER or TARGET (the attempt may have been malformed) is cut to fit."""
    if db.in_transaction():
        raise RuntimeError("audit.record_refusal() must run after the refused change's transaction has ended")
    # The attempt may itself have been malformed (a 2 kB site number in a URL):
    # recording it must not fail, and DETAIL keeps the whole story.
    site_number, target = _clip("site_number", site_number), _clip("target", target)
    with write_transaction():
        return record(
            actor,
            action,
            site_number=site_number,
            target=target,
            before=before,
            after=after,
            outcome="refused",
            detail=detail,
        )


def _check_text(name: str, value: object) -> None:
    limit, optional = _TEXT_LIMITS[name]
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"audit {name} must be non-empty text, got {value!r}")
    if len(value) > limit:
        raise ValueError(f"audit {name} is longer than {limit} characters")


def _clip(name: str, value: str | None) -> str | None:
    """VALUE cut to the column's length (marked with an ellipsis); blank: None."""
    if not isinstance(value, str):
        return value  # None stays None; anything else is refused by _check_text
    if not value.strip():
        return None
    limit, _ = _TEXT_LIMITS[name]
    return value if len(value) <= limit else value[: limit - 1] + "\u2026"


def _lock_chain() -> None:
    """Serialise chain writers until the end of the current transaction. On SQLite
    the transaction already holds the database's one write lock."""
    if is_postgres():
        # One statement each, so the order is certain. Re-taking a lock the
        # transaction already holds returns at once.
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_CHANGE_LOG_LOCK,))
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_CHAIN_LOCK,))


def _read_head() -> AuditHead:
    head = AuditHead.get_or_none(AuditHead.id == 1)
    if head is None:
        # Fail closed: appending would start a second chain nobody could verify.
        raise RuntimeError("the audit chain head (audit_head) is missing; run `authz audit verify`")
    return head


# -- hashing -----------------------------------------------------------------


def canonical_json(value: Any) -> str | None:
    """VALUE as JSON text with sorted keys and no optional whitespace, so equal
    values always give equal text; None stays None (SQL NULL)."""
    if value is None:
        return None
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_jsonable
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot record a {type(value).__name__} in the audit trail")


def record_hash(row: AuditRecord) -> str:
    """sha256 hex of ROW's prev_hash followed by the canonical form of all its
    other fields. Depends only on values that survive a round trip through
    either database."""
    fields = {
        "seq": row.seq,
        "at": _timestamp(row.at),
        "actor": row.actor,
        "site_number": row.site_number,
        "action": row.action,
        "target": row.target,
        "outcome": row.outcome,
        "before": row.before,
        "after": row.after,
        "detail": row.detail,
    }
    # ASCII-only, so the bytes hashed do not depend on any encoding choice.
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256((row.prev_hash + payload).encode("ascii")).hexdigest()


def _timestamp(value: datetime | str) -> str:
    # Microseconds always written out: str(datetime) drops them when zero.
    # A stored value the driver could not parse comes back as text; it is hashed
    # as it is, and so cannot match.
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    return str(value)


# -- reading -----------------------------------------------------------------


def page(site_number: str, *, limit: int, before_seq: int | None = None) -> list[dict]:
    """SITE_NUMBER's records, newest first: at most LIMIT (1..MAX_PAGE) with seq
    below BEFORE_SEQ (none: from the newest). The next page starts before the
    last seq returned. Raises InvalidInput for a bad limit or cursor."""
    if not isinstance(site_number, str) or not site_number:
        raise InvalidInput("a site number is required", field="site")
    return _page(AuditRecord.site_number == site_number, limit, before_seq)


def page_all(*, limit: int, before_seq: int | None = None) -> list[dict]:
    """Like page(), across every site and the records that name none. For
    operators only: a site's own trail is page(site_number)."""
    return _page(None, limit, before_seq)


def _page(condition, limit: int, before_seq: int | None) -> list[dict]:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_PAGE}", field="limit")
    if before_seq is not None and (isinstance(before_seq, bool) or not isinstance(before_seq, int) or before_seq < 1):
        raise InvalidInput("before must be a positive record number", field="before")
    query = AuditRecord.select()
    if condition is not None:
        query = query.where(condition)
    if before_seq is not None:
        query = query.where(AuditRecord.seq < before_seq)
    return [as_dict(row) for row in query.order_by(AuditRecord.seq.desc()).limit(limit)]


def as_dict(row: AuditRecord) -> dict:
    """A record as plain data (before/after decoded, time as ISO 8601 UTC)."""
    return {
        "seq": row.seq,
        "at": row.at.isoformat(timespec="microseconds") + "Z" if isinstance(row.at, datetime) else str(row.at),
        "actor": row.actor,
        "site_number": row.site_number,
        "action": row.action,
        "target": row.target,
        "outcome": row.outcome,
        "before": _decode(row.before),
        "after": _decode(row.after),
        "detail": row.detail,
    }


def _decode(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # tampered with; verify() reports it, the reader still sees it


# -- verifying ---------------------------------------------------------------


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of walking the chain. When broken, BROKEN_SEQ is the first seq
    found wrong (None when the head itself is missing), KIND one of "edited"
    (contents differ from the hash), "missing" (a gap: records deleted),
    "relinked" (does not follow its predecessor: inserted or replaced),
    "head" (audit_head disagrees with the newest record), and REASON says more."""

    ok: bool
    records: int  # records read
    head_seq: int | None  # as audit_head says
    broken_seq: int | None = None
    kind: str | None = None
    reason: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.records} records, head seq {self.head_seq}"
        where = f"seq {self.broken_seq}" if self.broken_seq is not None else "the chain head"
        return f"audit trail BROKEN at {where} ({self.kind}): {self.reason}"


def verify() -> VerifyReport:
    """Walk the whole chain in seq order and report the first break found, then
    compare the newest record with audit_head. Reads one consistent snapshot, so
    writers running meanwhile cannot cause a false alarm."""
    with _snapshot():
        head = AuditHead.get_or_none(AuditHead.id == 1)
        head_seq = head.seq if head else None
        count, last_seq, last_hash = 0, 0, GENESIS_HASH
        for row in _walk():
            count += 1
            broken = _check_link(row, last_seq, last_hash)
            if broken:
                return VerifyReport(False, count, head_seq, *broken)
            last_seq, last_hash = row.seq, row.hash
        if head is None:
            return VerifyReport(False, count, None, None, "head", "audit_head has no row")
        broken = _check_head(head, last_seq, last_hash)
        if broken:
            return VerifyReport(False, count, head_seq, *broken)
        return VerifyReport(True, count, head_seq)


def _snapshot():
    """A read transaction seeing one state of the database throughout."""
    if db.in_transaction():
        return db.atomic()
    if is_postgres():
        return db.obj.atomic(isolation_level="REPEATABLE READ")
    return db.atomic()  # SQLite in WAL mode: the snapshot of the first read


def _walk() -> Iterator[AuditRecord]:
    """Every record in seq order, read in batches (keyset, not OFFSET)."""
    after = None
    while True:
        query = AuditRecord.select().order_by(AuditRecord.seq).limit(_VERIFY_BATCH)
        if after is not None:
            query = query.where(AuditRecord.seq > after)
        rows = list(query)
        yield from rows
        if len(rows) < _VERIFY_BATCH:
            return
        after = rows[-1].seq


def _check_link(row: AuditRecord, last_seq: int, last_hash: str) -> tuple[int, str, str] | None:
    """(broken seq, kind, reason) if ROW does not validly follow (LAST_SEQ, LAST_HASH)."""
    expected = last_seq + 1
    if row.seq != expected:
        missing = str(expected) if row.seq == expected + 1 else f"{expected}..{row.seq - 1}"
        return expected, "missing", f"record(s) {missing} missing: seq {last_seq} is followed by {row.seq}"
    if record_hash(row) != row.hash:
        return row.seq, "edited", "the record's contents do not match its hash"
    if row.prev_hash != last_hash:
        previous = f"seq {last_seq}" if last_seq else "the start of the chain"
        return row.seq, "relinked", f"prev_hash does not match {previous}: a record was inserted or replaced"
    return None


def _check_head(head: AuditHead, last_seq: int, last_hash: str) -> tuple[int, str, str] | None:
    """(broken seq, kind, reason) if the newest record is not the recorded head."""
    if head.seq > last_seq:
        missing = str(head.seq) if head.seq == last_seq + 1 else f"{last_seq + 1}..{head.seq}"
        return last_seq + 1, "missing", f"newest record(s) {missing} missing: the chain head is seq {head.seq}"
    if head.seq < last_seq:
        return (
            head.seq + 1,
            "head",
            (
                f"records from seq {head.seq + 1} are beyond the chain head "
                f"(seq {head.seq}): written around authz.audit, or the head was rewound"
            ),
        )
    if head.hash != last_hash:
        return last_seq, "head", "the newest record's hash differs from the chain head's: it was replaced"
    return None
