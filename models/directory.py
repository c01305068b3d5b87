"""Reads and writes that the decision path depends on: a member's role and
levels, why a member is absent, and the change log that keeps caches honest.

fetch_member and why_absent are on the hot path of every uncached check, so each
is one constant SQL statement (built once per dialect) run on the driver's own
connection: peewee's, or the check path's read snapshot (models/snapshot.py).
fetch_member reads member_lookup, a copy of the membership tables kept by
record_change, with one index search: peewee's query builder, and even its
execute_sql wrapper, cost more than SQLite's lookup itself. Driver errors are
answered like peewee's (api/errors.py)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any, cast

from peewee import fn

from models import locks
from models.change_channel import announce
from models.db import db, is_postgres
from models.errors import DRIVER_ERRORS, classify
from models.schema import ChangeLog, Membership, MembershipLevel, Person, Site
from models.snapshot import SqlForParam, database_rows

Rows = Callable[[SqlForParam, tuple], list[tuple]]


# A person counts unless deactivated (person.active NULL: nothing asserted).
ACTIVE = fn.COALESCE(Person.active, True) == True  # noqa: E712  (SQL, not Python)


@dataclass(frozen=True)
class MemberRecord:
    role: str
    levels: Mapping[str, str]  # application -> level; absent means the lowest


@dataclass(frozen=True)
class Change:
    seq: int
    kind: str
    site_number: str | None
    login_key: str | None


@lru_cache(maxsize=4)
def _member_sql(param: str) -> str:
    return f"SELECT role, levels FROM member_lookup WHERE login_key = {param} AND site_number = {param}"


def member_lookup_rows(postgres: bool, where: str = "", *, active_only: bool = True) -> str:
    """The SELECT that derives member_lookup rows from the membership tables
    (migration 0006 fills the table with it; refreshes reuse it with a WHERE of
    conditions on p (person) and s (site)). Only active persons have rows: an
    inactive person is absent, and why_absent says why, so every check denies
    them while their memberships are kept. Migrations that run before person
    had an active flag (0006) pass ACTIVE_ONLY False.
    Levels are "application:level" joined by ',': ids never hold either (see
    authz/catalogue.py), and the string is also the key of the shared record."""
    if postgres:
        levels = "string_agg(ml.application || ':' || ml.level, ',' ORDER BY ml.application)"
    else:
        levels = "group_concat(ml.application || ':' || ml.level, ',')"
    conditions = [c for c in (where, "p.active IS NOT FALSE" if active_only else "") if c]
    return (
        f"SELECT p.login_key, s.number, m.role, "
        f"coalesce((SELECT {levels} FROM membership_level ml WHERE ml.membership_id = m.id), '') "
        f"FROM membership m JOIN person p ON p.id = m.person_id JOIN site s ON s.id = m.site_id"
        + (" WHERE " + " AND ".join(conditions) if conditions else "")
    )


def _refresh_member_lookup(login_key: str | None, site_number: str | None) -> None:
    """Bring member_lookup up to date, inside the caller's transaction: one
    member's row when both keys are known, one person's rows when only the
    login key is, else every row."""
    postgres, param = is_postgres(), db.obj.param
    if login_key is not None and site_number is not None:
        keys: tuple[str, ...] = (login_key, site_number)
        db.execute_sql(f"DELETE FROM member_lookup WHERE login_key = {param} AND site_number = {param}", keys)
        where = f"p.login_key = {param} AND s.number = {param}"
    elif login_key is not None:
        keys = (login_key,)
        db.execute_sql(f"DELETE FROM member_lookup WHERE login_key = {param}", keys)
        where = f"p.login_key = {param}"
    else:
        keys = ()
        db.execute_sql("DELETE FROM member_lookup")
        where = ""
    db.execute_sql(
        "INSERT INTO member_lookup (login_key, site_number, role, levels) " + member_lookup_rows(postgres, where), keys
    )


def fetch_member(login_key: str, site_number: str, rows: Rows = database_rows) -> MemberRecord | None:
    """ROWS runs the query: peewee's connection by default (inside the caller's
    transaction, if any); the check path passes its ReadSnapshot's."""
    found = rows(_member_sql, (login_key, site_number))
    if not found:
        return None
    role, levels = found[0]
    return shared_record(role, levels)


# Records are immutable and few are distinct (a role times a handful of levels per
# application), so members who hold the same role and levels share one record: a
# worker's member cache then costs little more than its keys. The bound only
# guards against a catalogue with very many combinations.
_RECORDS: dict[tuple[str, str], MemberRecord] = {}
_MAX_SHARED_RECORDS = 10_000


def shared_record(role: str, levels: str) -> MemberRecord:
    key = (role, levels)
    record = _RECORDS.get(key)
    if record is None:
        if len(_RECORDS) >= _MAX_SHARED_RECORDS:
            _RECORDS.clear()
        held = dict(pair.split(":", 1) for pair in levels.split(",")) if levels else {}
        record = _RECORDS[key] = MemberRecord(role, MappingProxyType(held))
    return record


@lru_cache(maxsize=4)
def _absence_sql(param: str) -> str:
    # The person's flag as 1/0 (NULL: no such person), alike on both databases.
    return (
        f"SELECT (SELECT CASE WHEN active IS NOT FALSE THEN 1 ELSE 0 END FROM person WHERE login_key = {param}), "
        f"EXISTS (SELECT 1 FROM site WHERE number = {param})"
    )


def why_absent(login_key: str, site_number: str, rows: Rows = database_rows) -> str:
    """The reason code for a (login, site) pair with no row in member_lookup.
    An inactive person is denied as such on every site, whatever they hold."""
    [(active, site_exists)] = rows(_absence_sql, (login_key, site_number))
    return _absence(active, site_exists)


def find_member(login_key: str, site_number: str, rows: Rows = database_rows) -> MemberRecord | str:
    """The member's record, or the reason code of their absence (why_absent).
    Two statements: on SQLite they cost no round trip (PostgreSQL: PreparedFind)."""
    record = fetch_member(login_key, site_number, rows)
    return record if record is not None else why_absent(login_key, site_number, rows)


class PreparedFind:
    """find_member on PostgreSQL in one round trip, planned once per session: the
    member's row, or, only when there is none (UNION ALL under LIMIT 1 stops at
    the first row), the facts why_absent needs. Prepared (PREPARE) on each
    connection peewee opens, as it is first used."""

    _NAME = "authz_find_member"
    _PREPARE = (
        f"DEALLOCATE ALL; PREPARE {_NAME} (text, text) AS "
        "(SELECT role, levels, NULL::int, NULL::bool FROM member_lookup WHERE login_key = $1 AND site_number = $2) "
        "UNION ALL (SELECT NULL, NULL, "
        "(SELECT CASE WHEN active IS NOT FALSE THEN 1 ELSE 0 END FROM person WHERE login_key = $1), "
        "EXISTS (SELECT 1 FROM site WHERE number = $2)) LIMIT 1"
    )
    _EXECUTE = f"EXECUTE {_NAME} (%s, %s)"

    def __init__(self) -> None:
        self._prepared: weakref.WeakSet[Any] = weakref.WeakSet()  # psycopg2 connections

    def __call__(self, login_key: str, site_number: str) -> MemberRecord | str:
        connection = None
        try:
            connection = db.obj.connection()
            with connection.cursor() as cursor:
                if connection not in self._prepared:
                    cursor.execute(self._PREPARE)  # DEALLOCATE ALL: a session that failed half-way starts clean
                    self._prepared.add(connection)
                cursor.execute(self._EXECUTE, (login_key, site_number))
                role, levels, active, site_exists = cursor.fetchone()
        except DRIVER_ERRORS as error:
            if connection is not None:
                self._prepared.discard(connection)
            raise classify(error) from error
        if role is not None:
            return shared_record(role, levels)
        return _absence(active, site_exists)


def member_finder(rows: Rows) -> Callable[[str, str], MemberRecord | str]:
    """find_member as the check path runs it: through ROWS (the read snapshot) on
    SQLite; prepared, in one round trip, on PostgreSQL."""
    if is_postgres():
        return PreparedFind()
    return lambda login_key, site_number: find_member(login_key, site_number, rows)


def _absence(active: int | None, site_exists: bool) -> str:
    if active is None:
        return "unknown_user"
    if not active:
        return "identity_inactive"
    if not site_exists:
        return "unknown_site"
    return "no_membership"


def record_change(kind: str, site_number: str | None = None, login_key: str | None = None) -> int:
    """Append to the change log inside the caller's transaction; return its seq.
    Every write to memberships or levels, and every change of a person that can
    alter a decision (kind "identity", LOGIN_KEY alone: active, renamed, deleted),
    comes through here, after the write (the worker caches depend on it), so this
    is also where member_lookup, the check path's copy, is brought up to date.

    On PostgreSQL, sequence numbers are handed out before commit, so a poller could
    see seq 11 commit before seq 10 and skip 10 for ever. The transaction-scoped
    lock makes change-log writers commit in seq order. The change is announced on
    the change channel (models/change_channel.py) in the same transaction, so
    listeners hear of it when, and only if, it commits."""
    if kind != "api_key":
        _refresh_member_lookup(login_key, site_number)
    return _append_change(kind, site_number, login_key)


def record_bulk_change(kind: str, staged: str) -> int:
    """record_change for a bulk write (models/bulk.py) of the memberships listed in
    the table STAGED (columns login_key, site, role, levels: each membership as
    member_lookup keeps it, whole; membership_id: set where the row replaced a
    stored membership): member_lookup is brought up to date for those rows only,
    and the one change-log entry names no member, so every worker drops its whole
    cache (cheaper than one entry a row)."""
    db.execute_sql(
        "DELETE FROM member_lookup WHERE (login_key, site_number) IN "
        f"(SELECT login_key, site FROM {staged} WHERE membership_id IS NOT NULL)"
    )
    db.execute_sql(
        f"INSERT INTO member_lookup (login_key, site_number, role, levels) SELECT r.login_key, r.site, r.role, "
        f"r.levels FROM {staged} r WHERE NOT EXISTS "
        "(SELECT 1 FROM person p WHERE p.login_key = r.login_key AND p.active = FALSE) "  # as member_lookup_rows
        "ORDER BY r.login_key, r.site"  # in the table's key order: each page written once
    )
    return _append_change(kind, None, None)


def _append_change(kind: str, site_number: str | None, login_key: str | None) -> int:
    if not is_postgres():
        return ChangeLog.insert(kind=kind, site_number=site_number, login_key=login_key).execute()
    db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (locks.CHANGE_LOG,))
    seq = ChangeLog.insert(kind=kind, site_number=site_number, login_key=login_key).execute()
    announce(seq)
    return seq


def changes_since(seq: int, limit: int) -> list[Change]:
    query = ChangeLog.select().where(ChangeLog.seq > seq).order_by(ChangeLog.seq).limit(limit)
    return [Change(c.seq, c.kind, c.site_number, c.login_key) for c in query]


def latest_change_seq() -> int:

    return ChangeLog.select(fn.COALESCE(fn.MAX(ChangeLog.seq), 0)).scalar()


def members_allowed(
    site_number: str,
    application: str,
    lowest_level: str,
    allowed: Mapping[str, tuple[str, ...] | None],
    after: str,
    limit: int,
) -> list[dict]:
    """Members of a site whose role and level in APPLICATION are among ALLOWED
    (role -> levels; None: whatever level is stored), ordered by login, from AFTER
    (exclusive), at most LIMIT."""
    from peewee import JOIN

    level = fn.COALESCE(MembershipLevel.level, lowest_level)
    condition = None
    for role, levels in allowed.items():
        if levels is None or levels:
            term = (Membership.role == role) if levels is None else (Membership.role == role) & level.in_(list(levels))
            condition = term if condition is None else condition | term
    if condition is None:
        return []
    query = (
        Membership.select(Person.login_id, Person.login_key, Person.email, Membership.role, level.alias("level"))
        .join(Person)
        .switch(Membership)
        .join(Site)
        .switch(Membership)
        .join(
            MembershipLevel,
            JOIN.LEFT_OUTER,
            on=(MembershipLevel.membership == Membership.id) & (MembershipLevel.application == application),
        )
        .where((Site.number == site_number) & (Person.login_key > after) & ACTIVE & condition)
        .order_by(Person.login_key)
        .limit(limit)
        .dicts()
    )
    return cast(list[dict[str, Any]], list(query))  # .dicts(): peewee's stubs type the rows as the model
