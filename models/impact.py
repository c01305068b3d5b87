"""Who sits on a changed cell of the decision table: the SQL behind
`authz policy diff`'s impact report.

A target is one changed cell: the members of ROLE whose level in APPLICATION is
LEVEL, where a member without a stored level holds the lowest one (the stored
row is absent). In SQL that is

    role = ROLE AND COALESCE(membership_level.level, LOWEST) IN (LEVELS)

A role that holds the highest level whatever is stored (the primary) has cells
that do not depend on the level: its target is every member of the role.

Across all sites the condition is evaluated as two index-friendly halves rather
than one LEFT JOIN per membership: stored levels are found through
membership_level's (application, level) index, and members at the lowest level
as the members of the role without a stored row for the application. Counting
is done in the database: only the per-cell and per-site counts, the largest
sites and the first members of each shown site come back.

Measured on bench/generate.py's 1M-membership SQLite file (2 shared vCPUs, load
about 6): raising request_media from media to full (225k members on 92k sites)
takes 2.3-2.9 s for the whole `authz policy diff` command (1.3 s CPU); the
heaviest change tried, every user and secondary gaining an action at the lowest
level of 11 (role, application) cells (776k members on all 100k sites), 7.6-8.9 s
(4.2 s CPU). An index on membership (role, site_id) changed neither measurably,
so there is none: the role filter keeps most rows, and the primary's partial
unique index already serves role = 'primary'.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models.db import db, is_postgres


@dataclass(frozen=True)
class Target:
    """The members that one changed cell (KEY) applies to: members of ROLE whose
    stored level in APPLICATION is LEVEL, or who store none there (UNSTORED:
    they hold the lowest level), or every member of ROLE (ANY_LEVEL)."""

    key: int
    role: str
    application: str
    level: str | None = None
    unstored: bool = False
    any_level: bool = False


@dataclass(frozen=True)
class Hit:
    """One member of a shown site on one target."""

    site_id: int
    membership_id: int
    login_id: str
    role: str
    key: int
    application: str
    level: str | None  # as stored; None: nothing stored


@dataclass(frozen=True)
class Counts:
    members: int  # distinct memberships on at least one target
    sites: int  # sites with at least one such membership
    per_key: dict[int, int]  # target key -> memberships on it
    top_sites: list[tuple[int, str, str, int]]  # (site id, number, name, memberships), most first


def _params(values: Iterable) -> str:
    return ", ".join(db.obj.param for _ in values)


MASK_BITS = 62  # applications per stored-applications bit mask (a signed 64-bit integer)


def _branches(targets: Sequence[Target], site_ids: Sequence[int] | None) -> tuple[list[str], list, list[str], list]:
    """(CTEs, their arguments, SELECTs, their arguments): the SELECTs yield
    (membership id, site id, target key, application, stored level) for every member
    on a target; only on SITE_IDS if given. A member is on at most one target per
    (role, application), so the branches never overlap."""
    p = db.obj.param
    groups: dict[tuple[str, str], list[Target]] = {}
    for t in targets:
        groups.setdefault((t.role, t.application), []).append(t)
    sql: list[str] = []
    args: list = []
    absent: dict[str, list[tuple[int, str]]] = {}  # role -> (key, application) of its unstored targets
    for (role, application), group in groups.items():
        stored = [(t.level, t.key) for t in group if t.level is not None and not t.any_level]
        unstored = next((t.key for t in group if t.unstored and not t.any_level), None)
        any_level = next((t.key for t in group if t.any_level), None)
        case = ("CASE ml.level " + " ".join(f"WHEN {p} THEN {p}" for _ in stored) + " END") if stored else "NULL"
        case_args = [v for pair in stored for v in pair]
        if any_level is not None:
            sql.append(
                f"SELECT m.id, m.site_id, {p}, {p}, NULL FROM membership m WHERE m.role = {p}"
                + (f" AND m.site_id IN ({_params(site_ids)})" if site_ids is not None else "")
            )
            args += [any_level, application, role, *(site_ids or ())]
        elif site_ids is not None:
            # A site's members, each with its stored level if any: COALESCE(level, '')
            # stands for "absent" ('' is never a level id), and keeps the join an outer
            # one, so the planner starts from the site's memberships.
            matching = [level for level, _ in stored] + ([""] if unstored is not None else [])
            sql.append(
                f"SELECT m.id, m.site_id, CASE WHEN ml.level IS NULL THEN {p} ELSE {case} END, {p}, ml.level "
                "FROM membership m LEFT JOIN membership_level ml "
                f"ON ml.membership_id = m.id AND ml.application = {p} "
                f"WHERE m.site_id IN ({_params(site_ids)}) AND m.role = {p} "
                f"AND COALESCE(ml.level, '') IN ({_params(matching)})"
            )
            args += [unstored, *case_args, application, application, *site_ids, role, *matching]
        else:
            if stored:  # found through the (application, level) index
                sql.append(
                    f"SELECT m.id, m.site_id, {case}, ml.application, ml.level "
                    "FROM membership_level ml JOIN membership m ON m.id = ml.membership_id "
                    f"WHERE ml.application = {p} AND ml.level IN ({_params(stored)}) AND m.role = {p}"
                )
                args += [*case_args, application, *(level for level, _ in stored), role]
            if unstored is not None:
                absent.setdefault(role, []).append((unstored, application))
    ctes: list[str] = []
    cte_args: list = []
    for role, pairs in absent.items():
        if len(pairs) == 1:  # the role's members without a row for the application
            ((key, application),) = pairs
            sql.append(
                f"SELECT m.id, m.site_id, {p}, {p}, NULL FROM membership m WHERE m.role = {p} "
                f"AND NOT EXISTS (SELECT 1 FROM membership_level x WHERE x.membership_id = m.id "
                f"AND x.application = {p})"
            )
            args += [key, application, role, application]
            continue
        # Several applications: one pass over the role's members, each with a bit mask
        # of the applications it stores a level in (one index range per member instead
        # of one lookup per member and application), then one cheap branch per application.
        for start in range(0, len(pairs), MASK_BITS):
            chunk = pairs[start : start + MASK_BITS]
            name = f"stores_{len(ctes)}"
            bits = " ".join(f"WHEN {p} THEN {p}" for _ in chunk)
            ctes.append(
                f"{name} AS MATERIALIZED (SELECT m.id AS mid, m.site_id AS site_id, "
                f"(SELECT COALESCE(SUM(CASE x.application {bits} END), 0) FROM membership_level x "
                f"WHERE x.membership_id = m.id) AS mask FROM membership m WHERE m.role = {p})"
            )
            cte_args += [v for i, (_, application) in enumerate(chunk) for v in (application, 1 << i)] + [role]
            for i, (key, application) in enumerate(chunk):
                sql.append(f"SELECT mid, site_id, {p}, {p}, NULL FROM {name} WHERE (mask & {p}) = 0")
                args += [key, application, 1 << i]
    return ctes, cte_args, sql, args


def _hits_cte(targets: Sequence[Target], site_ids: Sequence[int] | None) -> tuple[str, list]:
    ctes, cte_args, sql, args = _branches(targets, site_ids)
    hit = "hit (mid, site_id, cell, application, level) AS (" + " UNION ALL ".join(sql) + ")"
    return "WITH " + ", ".join([*ctes, hit]) + " ", [*cte_args, *args]


def count(targets: Sequence[Target], top: int) -> Counts:
    """Totals, memberships per target, and the TOP sites with the most memberships
    on a target (ties by site number). One statement: one pass over the data."""
    if not targets:
        return Counts(0, 0, {}, [])
    cte, args = _hits_cte(targets, None)
    p = db.obj.param
    sql = (
        cte + ", per_site AS (SELECT site_id, COUNT(DISTINCT mid) AS n FROM hit GROUP BY site_id) "
        "SELECT 0, cell, COUNT(*), NULL, NULL FROM hit GROUP BY cell "
        "UNION ALL SELECT 1, COUNT(*), COALESCE(SUM(n), 0), NULL, NULL FROM per_site "
        "UNION ALL SELECT * FROM (SELECT 2, p.site_id, p.n, s.number, s.name FROM per_site p "
        f"JOIN site s ON s.id = p.site_id ORDER BY p.n DESC, s.number LIMIT {p}) top_sites"
    )
    per_key: dict[int, int] = {}
    members = sites = 0
    top_sites = []
    for kind, a, b, number, name in db.execute_sql(sql, [*args, top]).fetchall():
        if kind == 0:
            per_key[int(a)] = int(b)
        elif kind == 1:
            sites, members = int(a), int(b)
        else:
            top_sites.append((int(a), number, name, int(b)))
    top_sites.sort(key=lambda row: (-row[3], row[1]))
    return Counts(members, sites, per_key, top_sites)


def per_site_keys(targets: Sequence[Target], site_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    """site id -> target key -> memberships of that site on it."""
    if not targets or not site_ids:
        return {}
    cte, args = _hits_cte(targets, site_ids)
    result: dict[int, dict[int, int]] = {}
    for site_id, key, n in db.execute_sql(
        cte + "SELECT site_id, cell, COUNT(*) FROM hit GROUP BY site_id, cell", args
    ).fetchall():
        result.setdefault(int(site_id), {})[int(key)] = int(n)
    return result


def first_members(targets: Sequence[Target], site_ids: Sequence[int], limit: int) -> list[Hit]:
    """Of each site in SITE_IDS, the first LIMIT members on a target (by login),
    with every target they are on."""
    if not targets or not site_ids or limit <= 0:
        return []
    cte, args = _hits_cte(targets, site_ids)
    p = db.obj.param
    sql = (
        cte + ", ranked AS (SELECT h.mid, h.site_id, pe.login_id, m.role, "
        "ROW_NUMBER() OVER (PARTITION BY h.site_id ORDER BY pe.login_key, h.mid) AS position "
        "FROM (SELECT DISTINCT mid, site_id FROM hit) h JOIN membership m ON m.id = h.mid "
        "JOIN person pe ON pe.id = m.person_id) "
        "SELECT r.site_id, r.mid, r.login_id, r.role, h.cell, h.application, h.level "
        f"FROM ranked r JOIN hit h ON h.mid = r.mid WHERE r.position <= {p} "
        "ORDER BY r.site_id, r.position, h.cell"
    )
    return [
        Hit(int(site_id), int(mid), login_id, role, int(key), application, level)
        for site_id, mid, login_id, role, key, application, level in db.execute_sql(sql, [*args, limit])
    ]


def read_snapshot():
    """A transaction in which every statement sees the same committed data:
    on SQLite a read transaction (WAL: a snapshot); on PostgreSQL REPEATABLE READ."""
    if is_postgres():
        return db.obj.atomic(isolation_level="REPEATABLE READ")
    return db.obj.atomic()
