"""Bulk loads and reads of memberships: the storage side of `authz import` (CSV,
JSON lines) and `authz export memberships`.

An import is staged first: rows already checked one by one are copied, in
batches, into a temporary table (`import_row`; PostgreSQL COPY, SQLite
executemany), outside the write lock. The checks that span rows (duplicates, a
site's primary and secondaries counted with what the database already holds,
one person's details alike on every row) are then set-based queries over it,
and the merge into the real tables is a handful of INSERT ... SELECT and
UPDATE ... FROM statements, all in the caller's one write transaction. Memory
stays flat in the size of the file: nothing is held per row in Python.

Level columns are positional (l0, l1, ...): the caller maps them to the
catalogue's applications; NULL means the application's lowest level (never
stored)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from models.db import SQLITE_PRAGMAS, db, is_postgres, read_transaction
from models.errors import DRIVER_ERRORS, classified
from models.schema import utcnow

STAGING = "import_row"
MAX_SECONDARIES = 4
# Staged columns before the levels, in the order a staged row carries them.
STAGED = (
    "line",
    "site",
    "site_name",
    "login_id",
    "login_key",
    "email",
    "first_name",
    "last_name",
    "phone",
    "role",
    "levels",
)
PEOPLE = "import_person"  # one row per person of the file (index_staging)
EXPORT_FETCH = 2000  # rows fetched per round trip while exporting


@dataclass(frozen=True)
class RowProblem:
    """A problem found across rows: the file's line (or record number), the field, what is wrong."""

    line: int
    field: str
    message: str


@dataclass(frozen=True)
class MergeCounts:
    sites_created: int
    people_created: int
    people_updated: int
    memberships_created: int
    memberships_updated: int


# -- staging -------------------------------------------------------------------


def _level_columns(applications: int) -> list[str]:
    return [f"l{i}" for i in range(applications)]


# SQLite's page cache for this connection while it imports (KiB, as a negative
# cache_size; it grows only as pages are used): the merge writes a million rows
# into several indexes in one transaction, and once its dirty pages outgrow the
# cache SQLite spills them to the WAL and reads them back, one page at a time.
SQLITE_IMPORT_CACHE_KIB = 1024 * 1024
PG_IMPORT_SETTINGS = {"work_mem": "256MB", "maintenance_work_mem": "512MB"}
PG_TEMP_BUFFERS = "1GB"


def create_staging(applications: int) -> None:
    """A fresh temporary table for one import on this connection."""
    drop_staging()
    if is_postgres():
        # This session's memory for its temporary tables (the default, 8 MB, sends a
        # large import's staging to disk), sorts and hashes, and index builds.
        for setting, value in PG_IMPORT_SETTINGS.items():
            db.execute_sql(f"SET {setting} = '{value}'")
        _more_temp_buffers()
    else:
        db.execute_sql(f"PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KIB}")
        db.execute_sql(f"PRAGMA temp.cache_size = -{SQLITE_IMPORT_CACHE_KIB}")
        db.execute_sql("PRAGMA temp_store = MEMORY")
    levels = "".join(f", {c} VARCHAR(64)" for c in _level_columns(applications))
    db.execute_sql(
        f"CREATE TEMPORARY TABLE {STAGING} (line INTEGER PRIMARY KEY, site VARCHAR(64) NOT NULL, "
        "site_name VARCHAR(255), login_id VARCHAR(320) NOT NULL, login_key VARCHAR(320) NOT NULL, "
        "email VARCHAR(320) NOT NULL, first_name VARCHAR(100), last_name VARCHAR(100), phone VARCHAR(50), "
        f"role VARCHAR(16) NOT NULL, levels TEXT NOT NULL{levels}, membership_id INTEGER)"
    )


def _more_temp_buffers() -> None:
    """PostgreSQL lets a session size its temporary tables' buffers only before it
    first uses one: a later import in the same session keeps what it has."""
    [(current,)] = db.execute_sql("SELECT current_setting('temp_buffers')").fetchall()
    if current == PG_TEMP_BUFFERS:
        return
    with contextlib.suppress(*DRIVER_ERRORS):  # slower, not wrong
        db.execute_sql(f"SET temp_buffers = '{PG_TEMP_BUFFERS}'")


def drop_staging() -> None:
    """Drop the staging tables, and give the connection back its usual settings."""
    db.execute_sql(f"DROP TABLE IF EXISTS {PEOPLE}")
    db.execute_sql(f"DROP TABLE IF EXISTS {STAGING}")
    if is_postgres():
        for setting in PG_IMPORT_SETTINGS:
            db.execute_sql(f"RESET {setting}")
    else:
        db.execute_sql(f"PRAGMA cache_size = {SQLITE_PRAGMAS['cache_size']}")
        db.execute_sql("PRAGMA temp_store = DEFAULT")


def stage(rows: Sequence[tuple], applications: int) -> None:
    """Append ROWS (STAGED columns, then one level per application) to the staging
    table. The levels column holds what member_lookup keeps ("application:level,...",
    by application), the level columns what membership_level keeps."""
    if not rows:
        return
    columns = [*STAGED, *_level_columns(applications)]
    # A transaction per batch (SQLite would otherwise commit row by row); the
    # staging table is temporary, so this takes no lock on the stored tables.
    with classified(), db.atomic():
        if is_postgres():
            _copy(rows, columns)
        else:
            marks = ", ".join("?" for _ in columns)
            db.cursor().executemany(f"INSERT INTO {STAGING} ({', '.join(columns)}) VALUES ({marks})", rows)


def _copy(rows: Sequence[tuple], columns: list[str]) -> None:
    """PostgreSQL COPY in its text format. Every staged text is printable (the row
    checks refuse the rest), so DEL can stand for NULL, and a line needs escaping
    only if it holds a backslash."""
    buffer = io.StringIO()
    write = buffer.write
    for row in rows:
        line = "\t".join(["\x7f" if v is None else str(v) for v in row])
        write(line.replace("\\", "\\\\") if "\\" in line else line)
        write("\n")
    buffer.seek(0)
    db.cursor().copy_expert(f"COPY {STAGING} ({', '.join(columns)}) FROM STDIN WITH (NULL E'\\x7f')", buffer)


def index_staging() -> None:
    """Indexes for the checks and the merge, built once the rows are in (faster than
    keeping them up while loading); statistics for PostgreSQL's planner, which
    never analyses a temporary table by itself."""
    db.execute_sql(f"CREATE INDEX {STAGING}_member ON {STAGING} (site, login_key)")
    db.execute_sql(f"CREATE INDEX {STAGING}_person ON {STAGING} (login_key)")
    if is_postgres():
        db.execute_sql(f"ANALYZE {STAGING}")
    # Each person once: their first row's login id and email, the names given on
    # any row, and whether their rows disagree (then _disagreements says where).
    differ = " OR ".join(f"MIN({c}) <> MAX({c})" for c in ("email", "first_name", "last_name", "phone"))
    db.execute_sql(
        f"CREATE TEMPORARY TABLE {PEOPLE} AS SELECT f.login_key, f.login_id, f.email, g.first_name, g.last_name, "
        f"g.phone, g.differ FROM (SELECT login_key, MIN(line) AS first, MAX(first_name) AS first_name, "
        f"MAX(last_name) AS last_name, MAX(phone) AS phone, CASE WHEN {differ} THEN 1 ELSE 0 END AS differ "
        f"FROM {STAGING} GROUP BY login_key) g JOIN {STAGING} f ON f.line = g.first"
    )
    db.execute_sql(f"CREATE UNIQUE INDEX {PEOPLE}_key ON {PEOPLE} (login_key)")
    if is_postgres():
        db.execute_sql(f"ANALYZE {PEOPLE}")


# -- checks across rows ----------------------------------------------------------


def cross_row_problems() -> list[RowProblem]:
    """Every problem that needs more than one row or the stored data, by line."""
    problems = [*_duplicates(), *_disagreements(), *_unnamed_sites(), *_inactive_people(), *_role_counts()]
    return sorted(problems, key=lambda p: p.line)


def _rows(sql: str, params: tuple = ()) -> list[tuple]:
    return list(db.execute_sql(sql, params).fetchall())


def _duplicates() -> list[RowProblem]:
    sql = (
        f"SELECT r.line, r.site, r.login_id, f.first FROM {STAGING} r JOIN "
        f"(SELECT site, login_key, MIN(line) AS first FROM {STAGING} GROUP BY site, login_key "
        "HAVING COUNT(*) > 1) f ON f.site = r.site AND f.login_key = r.login_key WHERE r.line > f.first"
    )
    return [
        RowProblem(line, "login_id", f"'{login}' is already listed for site '{site}' at line {first}")
        for line, site, login, first in _rows(sql)
    ]


def _disagreements() -> list[RowProblem]:
    """One person's details, and one site's name, must be alike on every row that gives them."""
    problems = []
    for field in ("email", "first_name", "last_name", "phone"):
        sql = (
            f"SELECT r.line, r.{field}, f.line, f.{field} FROM {PEOPLE} d JOIN {STAGING} r "
            f"ON r.login_key = d.login_key JOIN {STAGING} f ON f.line = (SELECT MIN(line) FROM {STAGING} x "
            f"WHERE x.login_key = d.login_key AND x.{field} IS NOT NULL) "
            f"WHERE d.differ = 1 AND r.line > f.line AND r.{field} IS NOT NULL AND r.{field} <> f.{field}"
        )
        problems += [
            RowProblem(line, field, f"{value!r} differs from {first_value!r} at line {first} for the same person")
            for line, value, first, first_value in _rows(sql)
        ]
    sql = (
        f"SELECT r.line, r.site_name, f.line, f.site_name FROM (SELECT site, MIN(line) AS first FROM {STAGING} "
        "WHERE site_name IS NOT NULL GROUP BY site HAVING COUNT(DISTINCT site_name) > 1) g "
        f"JOIN {STAGING} r ON r.site = g.site JOIN {STAGING} f ON f.line = g.first "
        "WHERE r.line > g.first AND r.site_name IS NOT NULL AND r.site_name <> f.site_name"
    )
    problems += [
        RowProblem(line, "site_name", f"{value!r} differs from {first_value!r} at line {first} for the same site")
        for line, value, first, first_value in _rows(sql)
    ]
    return problems


def _unnamed_sites() -> list[RowProblem]:
    sql = (
        f"SELECT MIN(r.line), r.site FROM {STAGING} r WHERE NOT EXISTS "
        "(SELECT 1 FROM site s WHERE s.number = r.site) GROUP BY r.site HAVING MAX(r.site_name) IS NULL"
    )
    return [
        RowProblem(line, "site_name", f"site '{site}' does not exist: give its site_name to create it")
        for line, site in _rows(sql)
    ]


def _inactive_people() -> list[RowProblem]:
    """A deactivated identity keeps its memberships but gets no new one (as when added by hand)."""
    sql = (
        f"SELECT r.line, r.login_id FROM {STAGING} r JOIN person p ON p.login_key = r.login_key "
        "WHERE p.active = FALSE AND NOT EXISTS (SELECT 1 FROM membership m JOIN site s ON s.id = m.site_id "
        "WHERE m.person_id = p.id AND s.number = r.site)"
    )
    return [
        RowProblem(line, "login_id", f"'{login}' is deactivated by the identity provider and cannot be added")
        for line, login in _rows(sql)
    ]


def _role_counts() -> list[RowProblem]:
    """Each site of the file as it would be: its rows, plus the stored members the file does not name."""
    kept = (
        "SELECT s.number AS site, m.role AS role, 0 AS line FROM membership m JOIN site s ON s.id = m.site_id "
        f"JOIN person p ON p.id = m.person_id WHERE s.number IN (SELECT site FROM {STAGING}) AND NOT EXISTS "
        f"(SELECT 1 FROM {STAGING} r WHERE r.site = s.number AND r.login_key = p.login_key)"
    )
    sql = (
        f"SELECT site, SUM(CASE WHEN role = 'primary' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN role = 'secondary' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN role = 'primary' AND line = 0 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN role = 'secondary' AND line = 0 THEN 1 ELSE 0 END) "
        f"FROM (SELECT site, role, line FROM {STAGING} UNION ALL {kept}) final GROUP BY site "
        f"HAVING SUM(CASE WHEN role = 'primary' THEN 1 ELSE 0 END) <> 1 "
        f"OR SUM(CASE WHEN role = 'secondary' THEN 1 ELSE 0 END) > {MAX_SECONDARIES}"
    )
    problems = []
    for site, primaries, secondaries, kept_primaries, kept_secondaries in _rows(sql):
        if primaries == 0:
            [(first,)] = _rows(f"SELECT MIN(line) FROM {STAGING} WHERE site = {db.obj.param}", (site,))
            problems.append(RowProblem(first, "role", f"site '{site}' would have no primary contact; it needs one"))
        elif primaries > 1:
            lines = _lines_in_role(site, "primary")[max(0, 1 - kept_primaries) :]
            message = f"site '{site}' would have {primaries} primary contacts; it needs exactly one"
            problems += [RowProblem(line, "role", message) for line in lines]
        if secondaries > MAX_SECONDARIES:
            lines = _lines_in_role(site, "secondary")[max(0, MAX_SECONDARIES - kept_secondaries) :]
            message = f"site '{site}' would have {secondaries} secondary contacts; at most {MAX_SECONDARIES}"
            problems += [RowProblem(line, "role", message) for line in lines]
    return problems


def _lines_in_role(site: str, role: str) -> list[int]:
    param = db.obj.param
    sql = f"SELECT line FROM {STAGING} WHERE site = {param} AND role = {param} ORDER BY line"
    return [line for (line,) in _rows(sql, (site, role))]


# -- the merge ---------------------------------------------------------------------


def merge(applications: Sequence[str], created_by: str) -> MergeCounts:
    """Write the staged rows into the tables, inside the caller's write transaction:
    sites and people created or updated, each row's membership created or given
    its role, and its levels replaced. APPLICATIONS names the level columns in order."""
    now, param = utcnow(), db.obj.param
    # Updates before inserts: they then meet only what was stored before.
    db.execute_sql(
        f"UPDATE site SET name = n.name FROM (SELECT site, MAX(site_name) AS name FROM {STAGING} "
        "WHERE site_name IS NOT NULL GROUP BY site) n WHERE n.site = site.number AND site.name <> n.name"
    )
    sites_created = _count(
        f"INSERT INTO site (number, name, created_at) SELECT site, MAX(site_name), {param} FROM {STAGING} r "
        "WHERE NOT EXISTS (SELECT 1 FROM site s WHERE s.number = r.site) GROUP BY site",
        (now,),
    )
    people = f"SELECT login_id, login_key, email, first_name, last_name, phone FROM {PEOPLE}"
    # An identity's version (its SCIM ETag) moves with every change of its details.
    people_updated = _count(
        "UPDATE person SET login_id = r.login_id, email = r.email, "
        "first_name = COALESCE(r.first_name, person.first_name), last_name = COALESCE(r.last_name, person.last_name), "
        f"phone = COALESCE(r.phone, person.phone), version = person.version + 1, updated_at = {param} "
        f"FROM ({people}) r WHERE r.login_key = person.login_key AND ("
        "person.login_id <> r.login_id OR person.email <> r.email OR person.first_name <> COALESCE(r.first_name, "
        "person.first_name) OR person.last_name <> COALESCE(r.last_name, person.last_name) "
        "OR person.phone <> COALESCE(r.phone, person.phone))",
        (now,),
    )
    people_created = _count(
        "INSERT INTO person (login_id, login_key, email, first_name, last_name, phone, created_at) "
        "SELECT login_id, login_key, email, COALESCE(first_name, ''), COALESCE(last_name, ''), COALESCE(phone, ''), "
        f"{param} FROM ({people}) r WHERE NOT EXISTS (SELECT 1 FROM person p WHERE p.login_key = r.login_key)",
        (now,),
    )
    memberships_updated = _resolve_memberships()
    # Demote before promote, so the one-primary index never sees two at once.
    for promote in (False, True):
        db.execute_sql(
            f"UPDATE membership SET role = r.role FROM {STAGING} r WHERE membership.id = r.membership_id "
            f"AND membership.role <> r.role AND (r.role = 'primary') = {param}",
            (promote,),
        )
    db.execute_sql(
        f"DELETE FROM membership_level WHERE membership_id IN "
        f"(SELECT membership_id FROM {STAGING} WHERE membership_id IS NOT NULL)"
    )
    with _foreign_keys_checked_once(staged_rows()):
        # A new membership's id is BASE + its line: known without reading it back.
        base = _membership_id_base()
        memberships_created = _count(
            "INSERT INTO membership (id, site_id, person_id, role, created_at, created_by) "
            f"SELECT {param} + r.line, s.id, p.id, r.role, {param}, {param} FROM {STAGING} r "
            "JOIN site s ON s.number = r.site JOIN person p ON p.login_key = r.login_key WHERE r.membership_id IS NULL",
            (base, now, created_by),
        )
        if memberships_created and is_postgres():
            db.execute_sql("SELECT setval('membership_id_seq', (SELECT MAX(id) FROM membership))")
        # One statement, in the primary key's order: each index page is written once.
        levels = " UNION ALL ".join(
            f"SELECT COALESCE(membership_id, {param} + line) AS id, {param} AS app, l{i} AS level "
            f"FROM {STAGING} WHERE l{i} IS NOT NULL"
            for i in range(len(applications))
        )
        db.execute_sql(
            f"INSERT INTO membership_level (membership_id, application, level) SELECT id, app, level FROM ({levels}) x "
            "ORDER BY id, app",
            tuple(value for app in applications for value in (base, app)),
        )
    return MergeCounts(sites_created, people_created, people_updated, memberships_created, memberships_updated)


# Above this many staged rows, PostgreSQL checks the membership tables' foreign keys
# once, set-based, instead of row by row (see _foreign_keys_checked_once).
PG_SET_BASED_KEYS_FROM = 20_000


def staged_rows() -> int:
    return int(db.execute_sql(f"SELECT COUNT(*) FROM {STAGING}").fetchone()[0])


@contextlib.contextmanager
def _foreign_keys_checked_once(rows: int) -> Iterator[None]:
    """On PostgreSQL, for a large import: the foreign keys of membership and
    membership_level dropped before the inserts and added back after, inside the
    same transaction. Adding a key checks every row with one join, where keeping it
    runs a trigger, a lookup and a row lock per inserted row (three million of them
    for a million memberships: most of the import's time). The price: until commit,
    the two tables are locked against readers too (the check path reads
    member_lookup, not them). A violation fails the import, whole."""
    if not is_postgres() or rows < PG_SET_BASED_KEYS_FROM:
        yield
        return
    keys = db.execute_sql(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid IN ('membership'::regclass, 'membership_level'::regclass) "
        "ORDER BY conrelid::regclass::text DESC, conname"
    ).fetchall()
    for table, name, _ in keys:
        db.execute_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    for table, name, definition in keys:
        db.execute_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _membership_id_base() -> int:
    """An id above every membership id used so far (and on PostgreSQL, every id its
    sequence handed out), with the table locked against other writers until commit,
    so that no one else takes an id from BASE + 1 on. SQLite's write lock is held already."""
    if is_postgres():
        db.execute_sql("LOCK TABLE membership IN SHARE ROW EXCLUSIVE MODE")
        sql = (
            "SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM membership), "
            "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM membership_id_seq))"
        )
    else:  # AUTOINCREMENT: never an id used before, even if deleted since
        sql = (
            "SELECT MAX((SELECT COALESCE(MAX(id), 0) FROM membership), "
            "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'membership'), 0))"
        )
    return int(db.execute_sql(sql).fetchone()[0])


def _resolve_memberships() -> int:
    """Fill membership_id where the membership exists; how many were filled."""
    return _count(
        f"UPDATE {STAGING} SET membership_id = m.id FROM site s, person p, membership m "
        f"WHERE {STAGING}.membership_id IS NULL AND s.number = {STAGING}.site "
        f"AND p.login_key = {STAGING}.login_key AND m.site_id = s.id AND m.person_id = p.id"
    )


def _count(sql: str, params: tuple = ()) -> int:
    return int(db.execute_sql(sql, params).rowcount)


# -- reading for export ------------------------------------------------------------


def export_sql(postgres: bool, site: str | None, param: str) -> str:
    """Every membership (of SITE, if given) with its site, person and stored levels
    ("application:level,..."), ordered by site and login."""
    if postgres:
        levels = "string_agg(ml.application || ':' || ml.level, ',' ORDER BY ml.application)"
    else:
        levels = "group_concat(ml.application || ':' || ml.level, ',')"
    return (
        "SELECT s.number, s.name, p.login_id, p.email, p.first_name, p.last_name, p.phone, m.role, "
        f"coalesce((SELECT {levels} FROM membership_level ml WHERE ml.membership_id = m.id), '') "
        "FROM membership m JOIN site s ON s.id = m.site_id JOIN person p ON p.id = m.person_id"
        + (f" WHERE s.number = {param}" if site is not None else "")
        + " ORDER BY s.number, p.login_key"
    )


def membership_rows(site: str | None) -> Iterator[list[tuple]]:
    """The rows of export_sql in batches, streamed from one read transaction: a
    server-side cursor on PostgreSQL (DECLARE ... FETCH), SQLite's own stepping
    cursor otherwise, so memory does not grow with the number of rows."""
    postgres = is_postgres()
    sql = export_sql(postgres, site, db.obj.param)
    params = (site,) if site is not None else ()
    with read_transaction():
        if postgres:
            db.execute_sql(f"DECLARE authz_export NO SCROLL CURSOR FOR {sql}", params)
            while batch := db.execute_sql(f"FETCH {EXPORT_FETCH} FROM authz_export").fetchall():
                yield batch
            db.execute_sql("CLOSE authz_export")
            return
        cursor = db.execute_sql(sql, params)
        while batch := cursor.fetchmany(EXPORT_FETCH):
            yield batch
