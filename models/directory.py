"""Reads and writes that the decision path depends on: a member's role and
levels, why a member is absent, and the change log that keeps caches honest.

fetch_member and why_absent are on the hot path of every uncached check, so each
is one constant SQL statement (built once per dialect) instead of a query built
per call: peewee's query builder costs more than SQLite's lookup itself."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

from models import locks
from models.db import db, is_postgres
from models.schema import ChangeLog, Membership, MembershipLevel, Person, Site


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
    return (
        "SELECT m.role, ml.application, ml.level FROM person p "
        "JOIN membership m ON m.person_id = p.id "
        "JOIN site s ON s.id = m.site_id "
        "LEFT JOIN membership_level ml ON ml.membership_id = m.id "
        f"WHERE p.login_key = {param} AND s.number = {param}"
    )


def fetch_member(login_key: str, site_number: str) -> MemberRecord | None:
    rows = db.execute_sql(_member_sql(db.obj.param), (login_key, site_number)).fetchall()
    if not rows:
        return None
    return _shared_record(rows[0][0], tuple((app, level) for _, app, level in rows if app is not None))


# Records are immutable and few are distinct (a role times a handful of levels per
# application), so members who hold the same role and levels share one record: a
# worker's member cache then costs little more than its keys. The bound only
# guards against a catalogue with very many combinations.
_RECORDS: dict[tuple[str, tuple[tuple[str, str], ...]], MemberRecord] = {}
_MAX_SHARED_RECORDS = 10_000


def _shared_record(role: str, levels: tuple[tuple[str, str], ...]) -> MemberRecord:
    key = (role, levels)
    record = _RECORDS.get(key)
    if record is None:
        if len(_RECORDS) >= _MAX_SHARED_RECORDS:
            _RECORDS.clear()
        record = _RECORDS[key] = MemberRecord(role, MappingProxyType(dict(levels)))
    return record


@lru_cache(maxsize=4)
def _absence_sql(param: str) -> str:
    return (
        f"SELECT EXISTS (SELECT 1 FROM person WHERE login_key = {param}), "
        f"EXISTS (SELECT 1 FROM site WHERE number = {param})"
    )


def why_absent(login_key: str, site_number: str) -> str:
    """The reason code for a (login, site) pair with no membership."""
    person_exists, site_exists = db.execute_sql(_absence_sql(db.obj.param), (login_key, site_number)).fetchone()
    if not person_exists:
        return "unknown_user"
    if not site_exists:
        return "unknown_site"
    return "no_membership"


def record_change(kind: str, site_number: str | None = None, login_key: str | None = None) -> int:
    """Append to the change log inside the caller's transaction; return its seq.

    On PostgreSQL, sequence numbers are handed out before commit, so a poller could
    see seq 11 commit before seq 10 and skip 10 for ever. The transaction-scoped
    lock makes change-log writers commit in seq order."""
    if is_postgres():
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (locks.CHANGE_LOG,))
    return ChangeLog.insert(kind=kind, site_number=site_number, login_key=login_key).execute()


def changes_since(seq: int, limit: int) -> list[Change]:
    query = (ChangeLog.select().where(ChangeLog.seq > seq).order_by(ChangeLog.seq).limit(limit))
    return [Change(c.seq, c.kind, c.site_number, c.login_key) for c in query]


def latest_change_seq() -> int:
    from peewee import fn
    return ChangeLog.select(fn.COALESCE(fn.MAX(ChangeLog.seq), 0)).scalar()


def members_allowed(site_number: str, application: str, lowest_level: str,
                    allowed: Mapping[str, tuple[str, ...]], after: str, limit: int) -> list[dict]:
    """Members of a site whose role and level in APPLICATION are among ALLOWED
    (role -> levels), ordered by login, from AFTER (exclusive), at most LIMIT."""
    from peewee import JOIN, fn
    level = fn.COALESCE(MembershipLevel.level, lowest_level)
    condition = None
    for role, levels in allowed.items():
        if levels:
            term = (Membership.role == role) & level.in_(list(levels))
            condition = term if condition is None else condition | term
    if condition is None:
        return []
    query = (
        Membership.select(Person.login_id, Person.login_key, Person.email, Membership.role, level.alias("level"))
        .join(Person).switch(Membership).join(Site)
        .switch(Membership)
        .join(MembershipLevel, JOIN.LEFT_OUTER,
              on=(MembershipLevel.membership == Membership.id) & (MembershipLevel.application == application))
        .where((Site.number == site_number) & (Person.login_key > after) & condition)
        .order_by(Person.login_key).limit(limit).dicts()
    )
    return list(query)
