"""The audit trail: who changed what, on which site, from what to what, and every
refused administrative attempt. Append-only and chained, so that `verify`
finds an edited, deleted, inserted or reordered record.

Each record's hash is an HMAC-SHA256, under a key held outside the database
(keys.py), of prev_hash followed by the canonical JSON of all its fields,
including seq, time and the key's id; the first record follows GENESIS_HASH.
Records from before keys (key_id NULL) were chained with plain sha256 and are
verified as such. The newest seq and hash are also kept in audit_head, written
in the same transaction as the record, so deleting the newest records is found
too, unless whoever deletes them also rolls audit_head back: that truncation
is found only against something kept outside the database, a checkpoint
("the chain had reached seq S with hash H": `verify(checkpoint)`), which
operators take with `authz audit checkpoint` or from the log line each record
emits on the `authz.audit` logger once its transaction has committed.

Writers are serialised for the length of their transaction (PostgreSQL: an
advisory lock, taken after the change log's; SQLite: the single write lock of
write_transaction()), so seq is gap-free and the chain linear. seq is assigned
here (head + 1), not by a database sequence: a PostgreSQL sequence skips the
values of rolled-back transactions, and a gap must mean a deleted record. Were
the lock ever bypassed, the primary key on seq turns a fork into an error.

Text fields never hold a non-printable character: record() refuses them (they
come from identifiers that are already refused them), and record_refusal(),
which records whatever a refused attempt carried, stores them escaped.

Limit: records chained without a secret key (before one was configured, or
under the public development key) can be rewritten by whoever can write the
database; verify() says how many there are, and a checkpoint taken since still
finds the rewrite."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from authz.audit import keys as audit_keys
from authz.audit.keys import AuditKeys
from authz.config import ConfigError
from authz.errors import InvalidInput
from authz.printable import printable
from models import locks
from models.audit import AuditHead, AuditRecord
from models.db import after_commit, db, is_postgres, write_transaction
from models.schema import utcnow

log = logging.getLogger("authz.audit")  # one JSON line per committed record: the chain, exported

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

    Call it from within the transaction that makes the change, opened with
    models.db.write_transaction(), so the record commits or rolls back with it;
    elsewhere it raises RuntimeError. before/after are any
    JSON-serialisable values (dicts, lists, str, numbers, datetimes, sets) or None;
    anything else raises TypeError. Malformed fields, and text holding a
    non-printable character, raise ValueError; a process that lacks the key of
    the chain's newest record raises ConfigError. Once the transaction commits,
    the record's line goes to the `authz.audit` log.

    From here to the end of the transaction, other audited writers wait (that is
    what keeps the chain linear): call it once the change itself is written."""
    if not db.in_transaction():
        raise RuntimeError("audit.record() must run inside the transaction of the change it records")
    fields = {"actor": actor, "action": action, "site_number": site_number, "target": target}
    for name, value in fields.items():
        _check_text(name, value)
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome must be one of {OUTCOMES}, got {outcome!r}")
    if detail is not None and (not isinstance(detail, str) or not detail.isprintable()):
        raise ValueError("audit detail must be text of printable characters")
    # Serialise before taking the lock: a bad value then costs no lock time.
    before_json, after_json = canonical_json(before), canonical_json(after)
    keys = audit_keys.in_use()

    _lock_chain()
    head = _read_head()
    _check_signing_key(keys, head)
    row = AuditRecord(
        seq=head.seq + 1,
        at=utcnow(),
        outcome=outcome,
        before=before_json,
        after=after_json,
        detail=detail,
        prev_hash=head.hash,
        key_id=keys.signing.key_id,
        **fields,
    )
    row.hash = record_hash(row, keys)
    after_commit(lambda: log.info("%s", log_line(row)))  # refused outside a write_transaction()
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
    record would roll back with it, so that raises RuntimeError. The attempt may
    have been malformed: non-printable characters in its text are stored escaped
    (authz.printable), and an over-long SITE_NUMBER or TARGET is cut to fit."""
    if db.in_transaction():
        raise RuntimeError("audit.record_refusal() must run after the refused change's transaction has ended")
    # The attempt may itself have been malformed (a 2 kB site number, a newline):
    # recording it must not fail, and DETAIL keeps the whole story.
    site_number, target = _clip("site_number", _escaped(site_number)), _clip("target", _escaped(target))
    with write_transaction():
        return record(
            _escaped(actor),
            _escaped(action),
            site_number=site_number,
            target=target,
            before=before,
            after=after,
            outcome="refused",
            detail=_escaped(detail),
        )


def _check_text(name: str, value: object) -> None:
    limit, optional = _TEXT_LIMITS[name]
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"audit {name} must be non-empty text, got {value!r}")
    if len(value) > limit:
        raise ValueError(f"audit {name} is longer than {limit} characters")
    if not value.isprintable():
        raise ValueError(f"audit {name} holds a character that is not printable: {printable(value)!r}")


def _escaped(value: Any) -> Any:
    return printable(value) if isinstance(value, str) else value


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


def _check_signing_key(keys: AuditKeys, head: AuditHead) -> None:
    """Fail closed (ConfigError) unless this process's key is at least as new as
    the newest record's: a replica without the current key would otherwise append
    records that verify() must call a downgrade."""
    newest = AuditRecord.select(AuditRecord.key_id).where(AuditRecord.seq == head.seq).first()
    if newest is None:
        return  # an empty chain, or its newest record deleted (verify() says so)
    rank = keys.rank(newest.key_id)
    if rank is None or rank > keys.signing.rank:
        raise ConfigError(
            f"the newest audit record (seq {head.seq}) is chained with key {newest.key_id!r}, newer than this "
            "process's audit key or unknown to it: configure the current key (AUTHZ_AUDIT_KEY_FILE) here too"
        )


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


def record_hash(row: AuditRecord, keys: AuditKeys | None = None) -> str:
    """The hash of ROW: an HMAC-SHA256, under the key ROW.key_id names (one of
    KEYS, default: this process's), of its prev_hash followed by the canonical
    form of all its other fields; for a record from before keys (key_id None),
    plain sha256 of the same without key_id. Depends only on values that survive
    a round trip through either database. An unknown key raises LookupError."""
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
    if row.key_id is not None:
        fields["key_id"] = row.key_id
    # ASCII-only, so the bytes hashed do not depend on any encoding choice.
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    message = (row.prev_hash + payload).encode("ascii", "backslashreplace")
    if row.key_id is None:
        return hashlib.sha256(message).hexdigest()
    key = (keys or audit_keys.in_use()).get(row.key_id)
    if key is None:
        raise LookupError(f"no audit key {row.key_id!r} here")
    return key.mac(message)


def log_line(row: AuditRecord) -> str:
    """The line a record leaves in the log: its place in the chain and what it is
    about, as JSON of ASCII only (every control character escaped), without the
    people it names or its before and after."""
    return json.dumps(
        {
            "seq": row.seq,
            "hash": row.hash,
            "prev_hash": row.prev_hash,
            "key_id": row.key_id,
            "at": _iso(row.at),
            "site": row.site_number,
            "action": row.action,
            "outcome": row.outcome,
        },
        ensure_ascii=True,
        separators=(",", ":"),
    )


def _timestamp(value: datetime | str) -> str:
    # Microseconds always written out: str(datetime) drops them when zero.
    # A stored value the driver could not parse comes back as text; it is hashed
    # as it is, and so cannot match.
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    return str(value)


# -- reading -----------------------------------------------------------------


def page(
    site_number: str,
    *,
    limit: int,
    before_seq: int | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> list[dict]:
    """SITE_NUMBER's records, newest first: at most LIMIT (1..MAX_PAGE) with seq
    below BEFORE_SEQ (none: from the newest), only ACTOR's and only of ACTION when
    given. The next page starts before the last seq returned. Raises InvalidInput
    for a bad limit or cursor."""
    if not isinstance(site_number, str) or not site_number:
        raise InvalidInput("a site number is required", field="site")
    condition = AuditRecord.site_number == site_number
    if actor:
        condition &= AuditRecord.actor == actor
    if action:
        condition &= AuditRecord.action == action
    return _page(condition, limit, before_seq)


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
        "at": _iso(row.at),
        "actor": row.actor,
        "site_number": row.site_number,
        "action": row.action,
        "target": row.target,
        "outcome": row.outcome,
        "before": _decode(row.before),
        "after": _decode(row.after),
        "detail": row.detail,
    }


def _iso(value: datetime | str) -> str:
    """Time as ISO 8601 UTC with microseconds and a Z (a tampered value: as stored)."""
    return value.isoformat(timespec="microseconds") + "Z" if isinstance(value, datetime) else str(value)


def _decode(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # tampered with; verify() reports it, the reader still sees it


# -- verifying ---------------------------------------------------------------


_CHECKPOINT = re.compile(r"(\d{1,18}):([0-9a-f]{64})")


@dataclass(frozen=True)
class Checkpoint:
    """What an operator kept outside the database: the chain had reached SEQ, and
    its record there had hash HASH. Written SEQ:HASH."""

    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """A checkpoint from its SEQ:HASH form (surrounding space ignored); InvalidInput if malformed."""
        found = _CHECKPOINT.fullmatch(text.strip())
        if found is None:
            shown = printable(text.strip()[:100])
            raise InvalidInput(f"a checkpoint is SEQ:HASH (64 lowercase hex digits), got {shown!r}", field="checkpoint")
        return cls(int(found[1]), found[2])

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of walking the chain. When broken, BROKEN_SEQ is the first seq
    found wrong (None when the head itself is missing), KIND one of "edited"
    (contents differ from the hash), "missing" (a gap: records deleted),
    "relinked" (does not follow its predecessor: inserted, replaced or moved),
    "head" (audit_head disagrees with the newest record), "key" (chained with a
    key this process does not hold: cannot be verified), "downgraded" (chained
    with an older key, or none, than the record before it: rewritten without the
    current key), "diverged" (differs from the checkpoint at its seq),
    "truncated" (ends before the checkpoint's seq), and REASON says more.
    WARNINGS name what the walk cannot vouch for."""

    ok: bool
    records: int  # records read
    head_seq: int | None  # as audit_head says
    broken_seq: int | None = None
    kind: str | None = None
    reason: str | None = None
    head_hash: str | None = None
    checkpoint: Checkpoint | None = None  # the one the chain was held against
    warnings: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.ok:
            reached = f", checkpoint seq {self.checkpoint.seq} matched" if self.checkpoint else ""
            return f"audit trail intact: {self.records} records, head seq {self.head_seq}{reached}"
        where = f"seq {self.broken_seq}" if self.broken_seq is not None else "the chain head"
        return f"audit trail BROKEN at {where} ({self.kind}): {self.reason}"

    @property
    def head(self) -> Checkpoint | None:
        """The head as a checkpoint to keep elsewhere (meaningful when OK)."""
        if self.head_seq is None or self.head_hash is None:
            return None
        return Checkpoint(self.head_seq, self.head_hash)


@dataclass
class _Walked:
    """How far the walk got: the last record that checked out."""

    records: int = 0
    seq: int = 0
    hash: str = GENESIS_HASH
    rank: int = audit_keys.UNKEYED_RANK
    unkeyed: int = 0  # records chained without a secret key (always the first ones)


def verify(checkpoint: Checkpoint | None = None) -> VerifyReport:
    """Walk the whole chain in seq order and report the first break found, then
    compare the newest record with audit_head and, given a CHECKPOINT, check the
    chain still reaches it unchanged. Reads one consistent snapshot, so writers
    running meanwhile cannot cause a false alarm."""
    keys = audit_keys.in_use()
    with _snapshot():
        head = AuditHead.get_or_none(AuditHead.id == 1)
        walked = _Walked()
        for row in _walk():
            walked.records += 1
            broken = _check_link(row, walked, keys) or _check_against(checkpoint, row)
            if broken:
                return _report(walked, head, checkpoint, keys, broken)
            walked.seq, walked.hash, walked.rank = row.seq, row.hash, keys.rank(row.key_id) or walked.rank
            if not keys.is_secret(row.key_id):
                walked.unkeyed += 1
        if head is None:
            return _report(walked, None, checkpoint, keys, (None, "head", "audit_head has no row"))
        broken = _check_head(head, walked.seq, walked.hash) or _check_reached(checkpoint, walked)
        return _report(walked, head, checkpoint, keys, broken)


def _report(
    walked: _Walked,
    head: AuditHead | None,
    checkpoint: Checkpoint | None,
    keys: AuditKeys,
    broken: tuple[int | None, str, str] | None,
) -> VerifyReport:
    warnings = []
    if keys.is_development:
        warnings.append(audit_keys.DEVELOPMENT_WARNING)
    if walked.unkeyed:
        warnings.append(
            f"records 1..{walked.unkeyed} are chained without a secret key (from before one was configured, "
            "or under the development key): whoever can write the database could have rewritten them "
            "undetected, unless a checkpoint taken since is given"
        )
    broken_seq, kind, reason = broken or (None, None, None)
    return VerifyReport(
        broken is None,
        walked.records,
        head.seq if head else None,
        broken_seq,
        kind,
        reason,
        head_hash=head.hash if head else None,
        checkpoint=checkpoint,
        warnings=tuple(warnings),
    )


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


def _check_link(row: AuditRecord, walked: _Walked, keys: AuditKeys) -> tuple[int, str, str] | None:
    """(broken seq, kind, reason) if ROW does not validly follow the last record WALKED."""
    expected = walked.seq + 1
    if row.seq != expected:
        missing = str(expected) if row.seq == expected + 1 else f"{expected}..{row.seq - 1}"
        return expected, "missing", f"record(s) {missing} missing: seq {walked.seq} is followed by {row.seq}"
    rank = keys.rank(row.key_id)
    if rank is None:
        return row.seq, "key", f"chained with audit key {row.key_id!r}, which is not configured here: cannot verify"
    if rank < walked.rank:
        return row.seq, "downgraded", "chained with an older key (or none) than the record before it: rewritten"
    if not _same(record_hash(row, keys), row.hash):
        return row.seq, "edited", "the record's contents do not match its hash"
    if not _same(row.prev_hash, walked.hash):
        previous = f"seq {walked.seq}" if walked.seq else "the start of the chain"
        return row.seq, "relinked", f"prev_hash does not match {previous}: a record was inserted or replaced"
    return None


def _check_against(checkpoint: Checkpoint | None, row: AuditRecord) -> tuple[int, str, str] | None:
    """(broken seq, kind, reason) if ROW is the CHECKPOINT's record and differs from it."""
    if checkpoint is None or row.seq != checkpoint.seq or _same(row.hash, checkpoint.hash):
        return None
    return row.seq, "diverged", f"the record differs from the checkpoint {checkpoint}: the chain was rewritten"


def _check_reached(checkpoint: Checkpoint | None, walked: _Walked) -> tuple[int, str, str] | None:
    """(broken seq, kind, reason) if the chain WALKED ends before the CHECKPOINT."""
    if checkpoint is None:
        return None
    if checkpoint.seq == 0 and not _same(checkpoint.hash, GENESIS_HASH):
        return 0, "diverged", f"the checkpoint {checkpoint} names no record of any chain"
    if checkpoint.seq > walked.seq:
        return (
            walked.seq + 1,
            "truncated",
            f"the chain ends at seq {walked.seq}, but had reached seq {checkpoint.seq} (checkpoint): "
            "newest records deleted",
        )
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
    if not _same(head.hash, last_hash):
        return last_seq, "head", "the newest record's hash differs from the chain head's: it was replaced"
    return None


def _same(a: str, b: str) -> bool:
    """Equal, compared in constant time (any text: a tampered value may not be ASCII)."""
    return hmac.compare_digest(str(a).encode(), str(b).encode())
