"""`authz import FILE`: sites, people and memberships (with levels) from YAML.
Every row is checked first and every problem reported by its position; then
everything is written in one transaction, or nothing is. An import by someone
(ACTOR) is audited in that transaction: one record `import` with the file's name,
SHA-256 and counts, as the bulk importer writes (bulk_import.py)."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from authz.audit import trail
from authz.engine.table import DecisionTable
from authz.errors import ImportInvalid, Problem
from models.db import write_transaction
from models.directory import record_change
from models.identifiers import login_id_problem, login_key
from models.schema import ROLES, Membership, MembershipLevel, Person, Site, utcnow

MAX_SECONDARIES = 4
_PERSON_FIELDS = {"login_id", "email", "first_name", "last_name", "phone", "notification_email"}


class _Problems(list):
    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def add(self, where: str, message: str) -> None:
        self.append(Problem(self.source, None, f"{where}: {message}"))


def import_file(path: Path | str, table: DecisionTable, actor: str | None = None) -> dict[str, int]:
    path = Path(path)
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw.decode("utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ImportInvalid(str(path), [Problem(str(path), None, f"cannot read: {exc}")]) from None
    audit = {"file": path.name, "format": "yaml", "sha256": hashlib.sha256(raw).hexdigest()}
    return import_data(data, table, source=str(path), actor=actor, audit=audit)


def import_data(
    data: Any, table: DecisionTable, source: str = "import", actor: str | None = None, audit: dict | None = None
) -> dict[str, int]:
    """Import DATA; when ACTOR is given, audit it (AUDIT: what says which file)."""
    problems = _Problems(source)
    if not isinstance(data, dict) or set(data) - {"sites", "people", "memberships"}:
        problems.add("top level", "must be a mapping with 'sites', 'people' and 'memberships' lists")
        raise ImportInvalid(source, problems)
    sites = _rows(data, "sites", problems)
    people = _rows(data, "people", problems)
    memberships = _rows(data, "memberships", problems)
    _check_sites(sites, problems)
    _check_people(people, problems)
    _check_memberships(memberships, sites, people, table, problems)
    if problems:
        raise ImportInvalid(source, problems)
    with write_transaction():
        site_ids = _write_sites(sites)
        _write_people(people)
        _write_memberships(memberships, site_ids, table)
        record_change("import")  # caches drop everything: cheaper than one entry per row
        counts = {"sites": len(sites), "people": len(people), "memberships": len(memberships)}
        if actor is not None:
            trail.record(actor, "import", after={**(audit or {}), **counts})
    return counts


def _rows(data: dict, key: str, problems: _Problems) -> list[dict]:
    rows = data.get(key) or []
    if not isinstance(rows, list):
        problems.add(key, "must be a list")
        return []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.add(f"{key}[{i}]", "must be a mapping")
    return [row if isinstance(row, dict) else {} for row in rows]


def _text(
    row: dict, field: str, where: str, problems: _Problems, *, required: bool = True, limit: int = 320
) -> str | None:
    value = row.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, (str, int)) or not str(value).strip():
        problems.add(f"{where}.{field}", "is required and must be non-empty text")
        return None
    if len(str(value)) > limit:
        problems.add(f"{where}.{field}", f"is longer than {limit} characters")
    return str(value).strip()


def _identifier(row: dict, field: str, where: str, problems: _Problems, *, limit: int = 320) -> str | None:
    """A login id or site number, as the service accepts them everywhere (models.identifiers):
    never trimmed or repaired, refused when it would need to be."""
    value = row.get(field)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        problems.add(f"{where}.{field}", "is required and must be non-empty text")
        return None
    text = str(value)
    problem = login_id_problem(text) or (f"is longer than {limit} characters" if len(text) > limit else None)
    if problem:
        problems.add(f"{where}.{field}", f"{problem}: {text!r}")
        return None
    return text


def _check_sites(sites: list[dict], problems: _Problems) -> None:
    seen: dict[str, int] = {}
    for i, row in enumerate(sites):
        number = _identifier(row, "number", f"sites[{i}]", problems, limit=64)
        _text(row, "name", f"sites[{i}]", problems, limit=255)
        if number is None:
            continue
        if number in seen:
            problems.add(f"sites[{i}].number", f"site '{number}' is already listed at sites[{seen[number]}]")
        seen.setdefault(number, i)


def _check_people(people: list[dict], problems: _Problems) -> None:
    seen: dict[str, int] = {}
    for i, row in enumerate(people):
        where = f"people[{i}]"
        for field in sorted(set(row) - _PERSON_FIELDS):
            problems.add(f"{where}.{field}", "unknown field")
        login = _identifier(row, "login_id", where, problems)
        email = _text(row, "email", where, problems)
        if email and "@" not in email:
            problems.add(f"{where}.email", f"'{email}' is not an email address")
        for field in ("first_name", "last_name", "phone", "notification_email"):
            _text(row, field, where, problems, required=False)
        if login:
            key = login_key(login)
            if key in seen:
                problems.add(
                    f"{where}.login_id",
                    f"'{login}' is already listed at people[{seen[key]}] (login ids ignore the case of ASCII letters)",
                )
            seen.setdefault(key, i)


def _check_memberships(
    rows: list[dict], sites: list[dict], people: list[dict], table: DecisionTable, problems: _Problems
) -> None:
    file_sites = {str(s.get("number")).strip() for s in sites}
    file_people = {login_key(str(p.get("login_id"))) for p in people if p.get("login_id")}
    final_roles: dict[str, dict[str, tuple[str, str]]] = {}  # site -> login -> (role, where)
    for i, row in enumerate(rows):
        where = f"memberships[{i}]"
        site = _identifier(row, "site", where, problems, limit=64)
        user = _identifier(row, "user", where, problems)
        role = row.get("role")
        if role not in ROLES:
            problems.add(f"{where}.role", f"must be one of {', '.join(ROLES)}, got {role!r}")
            role = None
        if site and site not in file_sites and not Site.select().where(Site.number == site).exists():
            problems.add(f"{where}.site", f"unknown site '{site}' (list it under 'sites')")
        if user and login_key(user) not in file_people and Person.by_key(login_key(user)) is None:
            problems.add(f"{where}.user", f"unknown person '{user}' (list them under 'people')")
        if role:
            _check_levels(row.get("levels"), role, where, table, problems)
        if site and user and role:
            roles = final_roles.setdefault(site, _existing_roles(site))
            if login_key(user) in roles and roles[login_key(user)][1] != "database":
                problems.add(where, f"'{user}' is listed twice for site '{site}'")
            roles[login_key(user)] = (role, where)
    for site, roles in final_roles.items():
        _check_site_roles(site, roles, problems)


def _check_levels(levels: Any, role: str, where: str, table: DecisionTable, problems: _Problems) -> None:
    if levels is None:
        return
    if table.catalogue.roles[role].holds_highest_level:
        problems.add(f"{where}.levels", f"a {role} holds every application at its highest level: leave 'levels' out")
        return
    if not isinstance(levels, dict):
        problems.add(f"{where}.levels", "must be a mapping of application to level")
        return
    for app, level in levels.items():
        if app not in table.catalogue.applications:
            problems.add(
                f"{where}.levels.{app}", f"unknown application (known: {', '.join(table.catalogue.applications)})"
            )
        elif level not in table.level_order(app):
            problems.add(
                f"{where}.levels.{app}", f"unknown level {level!r} (known: {', '.join(table.level_order(app))})"
            )
        elif level != table.lowest_level(app) and not table.catalogue.may_hold(role, app):
            problems.add(
                f"{where}.levels.{app}",
                f"a {role} may not hold '{app}' "
                f"(only {', '.join(sorted(table.catalogue.applications[app].holders or ()))})",
            )


def _existing_roles(site_number: str) -> dict[str, tuple[str, str]]:
    query = (
        Membership.select(Membership.role, Person.login_key)
        .join(Person)
        .switch(Membership)
        .join(Site)
        .where(Site.number == site_number)
    )
    return {m.person.login_key: (m.role, "database") for m in query}


def _check_site_roles(site: str, roles: dict[str, tuple[str, str]], problems: _Problems) -> None:
    counts = Counter(role for role, _ in roles.values())
    last_from_file = {role: where for role, where in roles.values() if where != "database"}
    if counts["primary"] != 1:
        where = last_from_file.get("primary", "memberships")
        problems.add(where, f"site '{site}' would have {counts['primary']} primary contacts; it needs exactly one")
    if counts["secondary"] > MAX_SECONDARIES:
        problems.add(
            last_from_file.get("secondary", "memberships"),
            f"site '{site}' would have {counts['secondary']} secondary contacts; at most {MAX_SECONDARIES}",
        )


def _write_sites(sites: list[dict]) -> dict[str, int]:
    for row in sites:
        number = str(row["number"]).strip()
        updated = Site.update(name=row["name"]).where(Site.number == number).execute()
        if not updated:
            Site.create(number=number, name=row["name"])
    return {s.number: s.id for s in Site.select(Site.id, Site.number)}


def _write_people(people: list[dict]) -> None:
    for row in people:
        fields = {f: str(row[f]).strip() for f in _PERSON_FIELDS if row.get(f) is not None}
        fields["login_key"] = login_key(fields["login_id"])
        # An identity's version (its SCIM ETag) moves with every change of its details.
        changed = Person.update(**fields, version=Person.version + 1, updated_at=utcnow())
        if not changed.where(Person.login_key == fields["login_key"]).execute():
            Person.create(**fields)


def _write_memberships(rows: list[dict], site_ids: dict[str, int], table: DecisionTable) -> None:
    # Demote before promote, so the one-primary index never sees two at once.
    ordered = sorted(rows, key=lambda r: r["role"] == "primary")
    for row in ordered:
        person = Person.by_key(login_key(str(row["user"])))
        site_id = site_ids[str(row["site"]).strip()]
        membership = Membership.get_or_none((Membership.site == site_id) & (Membership.person == person))
        if membership is None:
            membership = Membership.create(site=site_id, person=person, role=row["role"], created_by="import")
        elif membership.role != row["role"]:
            membership.role = row["role"]
            membership.save()
        MembershipLevel.delete().where(MembershipLevel.membership == membership).execute()
        levels = [
            {"membership": membership, "application": app, "level": level}
            for app, level in (row.get("levels") or {}).items()
            if level != table.lowest_level(app)
        ]
        if levels:
            MembershipLevel.insert_many(levels).execute()
