"""Manage access: the member workflows of a site (DOMAIN.md, "Manage access"
and "Add a new user"). Each function authorizes the actor through admin.run."""

from __future__ import annotations

import csv
import io
from typing import Any, Iterator

from authz.audit import trail
from authz.accounts import notifications
from authz.accounts.authority import Actor, Authority, run
from authz.errors import Conflict, InvalidInput, NotFound, RuleViolation
from authz.accounts.rules import (check_grant, check_may_act_on, check_secondary_room, full_levels,
                          parse_levels, parse_role)
from authz.engine.table import DecisionTable
from models.directory import record_change
from models.schema import Membership, MembershipLevel, Person, login_key

DETAIL_FIELDS = {"email": 320, "first_name": 100, "last_name": 100, "phone": 50}
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(body: dict, field: str, limit: int, *, required: bool = True) -> str | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"'{field}' is required and must be non-empty text", field=field)
    if len(value) > limit:
        raise InvalidInput(f"'{field}' is longer than {limit} characters", field=field)
    return value.strip()


def _member(site_id: int, login_id: str) -> Membership:
    member = (Membership.select(Membership, Person).join(Person)
              .where((Membership.site == site_id) & (Person.login_key == login_key(login_id))).first())
    if member is None:
        raise NotFound(f"'{login_id}' is not a member of this site")
    return member


def _stored_levels(membership_ids: list[int]) -> dict[int, dict[str, str]]:
    levels: dict[int, dict[str, str]] = {mid: {} for mid in membership_ids}
    for row in MembershipLevel.select().where(MembershipLevel.membership.in_(membership_ids)):
        levels[row.membership_id][row.application] = row.level
    return levels


def describe(table: DecisionTable, member: Membership, stored: dict[str, str]) -> dict:
    from authz.accounts.authority import effective_levels
    person = member.person
    return {
        "login_id": person.login_id, "email": person.email,
        "first_name": person.first_name, "last_name": person.last_name, "phone": person.phone,
        "role": member.role, "levels": effective_levels(table, member.role, stored),
        "added_at": member.created_at.isoformat(timespec="seconds") + "Z", "added_by": member.created_by,
    }


def _write_levels(table: DecisionTable, member: Membership, levels: dict[str, str]) -> None:
    MembershipLevel.delete().where(MembershipLevel.membership == member).execute()
    rows = [{"membership": member, "application": app, "level": level}
            for app, level in levels.items() if level != table.lowest_level(app)]
    if rows:
        MembershipLevel.insert_many(rows).execute()


# -- reading -----------------------------------------------------------------

def list_members(table: DecisionTable, actor: Actor, site_number: str, *, role: str | None = None,
                 search: str | None = None, after: str = "", limit: int = 100) -> dict:
    """A page of members by login id, optionally of one role or matching SEARCH
    (in login id, names or email)."""
    def work(authority: Authority) -> dict:
        query = (Membership.select(Membership, Person).join(Person)
                 .where((Membership.site == authority.site) & (Person.login_key > login_key(after))))
        if role:
            query = query.where(Membership.role == role)
        if search:  # contains() is case-insensitive on both databases
            query = query.where(Person.login_key.contains(search) | Person.email.contains(search)
                                | Person.first_name.contains(search) | Person.last_name.contains(search))
        rows = list(query.order_by(Person.login_key).limit(limit + 1))
        page = rows[:limit]
        levels = _stored_levels([m.id for m in page])
        return {"site": site_number, "members": [describe(table, m, levels[m.id]) for m in page],
                "next_after": page[-1].person.login_key if len(rows) > limit else None}
    return run(table, actor, site_number, "list_users", work, writes=False)


def get_member(table: DecisionTable, actor: Actor, site_number: str, login_id: str) -> dict:
    def work(authority: Authority) -> dict:
        member = _member(authority.site.id, login_id)
        return describe(table, member, _stored_levels([member.id])[member.id])
    return run(table, actor, site_number, "list_users", work, target=login_id, writes=False)


def export_csv(table: DecisionTable, actor: Actor, site_number: str) -> Iterator[bytes]:
    """The complete user list as spreadsheet-safe CSV, streamed. Authorization
    happens now; rows are read as the caller consumes them."""
    site = run(table, actor, site_number, "export_users", lambda authority: authority.site, writes=False)
    apps = list(table.catalogue.applications)
    header = ["login_id", "first_name", "last_name", "email", "role", *apps, "added_at", "added_by"]

    def rows() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        query = (Membership.select(Membership, Person).join(Person)
                 .where(Membership.site == site).order_by(Person.login_key))
        batch: list[Membership] = []
        for member in query.iterator():
            batch.append(member)
            if len(batch) == 500:
                yield _csv_batch(table, batch, writer, buffer)
                batch = []
        yield _csv_batch(table, batch, writer, buffer)
    return rows()


def _csv_batch(table: DecisionTable, batch: list[Membership], writer, buffer: io.StringIO) -> bytes:
    levels = _stored_levels([m.id for m in batch]) if batch else {}
    for member in batch:
        row = describe(table, member, levels[member.id])
        writer.writerow([spreadsheet_safe(v) for v in (
            row["login_id"], row["first_name"], row["last_name"], row["email"], row["role"],
            *row["levels"].values(), row["added_at"], row["added_by"] or "")])
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def spreadsheet_safe(value: Any) -> str:
    """Neutralise a cell a spreadsheet would run as a formula: prefix a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def user_check(table: DecisionTable, actor: Actor, site_number: str, login_id: str) -> dict:
    """Is LOGIN_ID a known identity, and already a member here?"""
    def work(authority: Authority) -> dict:
        person = Person.by_login(login_id)
        member = person is not None and Membership.select().where(
            (Membership.site == authority.site) & (Membership.person == person)).exists()
        return {"login_id": login_id, "known": person is not None, "member": bool(member)}
    return run(table, actor, site_number, "check_user", work, target=login_id, writes=False)


# -- changing ----------------------------------------------------------------

def add_member(table: DecisionTable, actor: Actor, site_number: str, body: Any) -> dict:
    """Add a known identity directly, with a justification, a role and levels;
    they get a welcome message."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    login_id = _text(body, "login_id", 320)
    email = _text(body, "email", 320)
    justification = _text(body, "business_justification", 2000)
    role = parse_role(body.get("role"))
    levels = full_levels(table, parse_levels(table, body.get("levels")))

    def work(authority: Authority) -> dict:
        person = Person.by_login(login_id)
        if person is None:
            raise RuleViolation(f"'{login_id}' is not a known identity (check it with user check first)",
                                field="login_id")
        if person.email.lower() != email.lower():
            raise RuleViolation("the email does not match that identity's email", field="email")
        if Membership.select().where((Membership.site == authority.site) & (Membership.person == person)).exists():
            raise Conflict(f"'{login_id}' is already a member of this site")
        check_grant(table, authority, role, {}, levels)
        if role == "secondary":
            check_secondary_room(authority.site.id)
        member = Membership.create(site=authority.site, person=person, role=role, created_by=actor.audit_name)
        _write_levels(table, member, levels)
        after = {"role": role, "levels": levels, "business_justification": justification}
        trail.record(actor.audit_name, "add_user", site_number=site_number, target=person.login_id, after=after)
        seq = record_change("membership", site_number, person.login_key)
        notifications.enqueue("welcome", notifications.recipient_for(person), site_number=site_number,
                              site_name=authority.site.name, person_name=notifications.display_name(person),
                              login_id=person.login_id, role=role,
                              levels=notifications.shown_levels(table, levels),
                              added_by=notifications.actor_name(actor))
        member.person = person
        return {**describe(table, member, levels), "change_seq": seq}
    return run(table, actor, site_number, "add_user", work, target=login_id)


def update_member(table: DecisionTable, actor: Actor, site_number: str, login_id: str, body: Any) -> dict:
    """Change a member's details, role and levels (levels given are merged into
    the current ones). The whole change is applied, or none of it."""
    if not isinstance(body, dict) or not body:
        raise InvalidInput("the body must be a non-empty JSON object")
    unknown = sorted(set(body) - set(DETAIL_FIELDS) - {"role", "levels"})
    if unknown:
        raise InvalidInput(f"unknown field '{unknown[0]}'", field=unknown[0])
    details = {f: _text(body, f, limit) for f, limit in DETAIL_FIELDS.items() if f in body}
    new_role = parse_role(body["role"]) if "role" in body else None
    level_changes = parse_levels(table, body.get("levels"))

    def work(authority: Authority) -> dict:
        member = _member(authority.site.id, login_id)
        check_may_act_on(authority, login_id, member.role)
        if member.role == "primary" and (new_role or level_changes):
            # Only an operator gets here: the primary holds every level, and the
            # role moves only by a transfer (a site always has exactly one primary).
            raise RuleViolation("the primary contact's role and levels change only by a transfer of the role",
                                field="role" if new_role else "levels")
        stored = _stored_levels([member.id])[member.id]
        before = {"role": member.role, "levels": full_levels(table, stored), **_details(member.person)}
        role = new_role or member.role
        levels = {**before["levels"], **level_changes}
        check_grant(table, authority, role, before["levels"], levels)
        if role == "secondary" and member.role != "secondary":
            check_secondary_room(authority.site.id)
        if details:
            _update_details(member.person, details)
        member.role = role
        member.save()
        _write_levels(table, member, levels)
        after = {"role": role, "levels": levels, **_details(member.person)}
        trail.record(actor.audit_name, "update_user", site_number=site_number, target=member.person.login_id,
                     before=before, after=after)
        seq = record_change("membership", site_number, member.person.login_key)
        return {**describe(table, member, levels), "change_seq": seq}
    return run(table, actor, site_number, "update_user", work, target=login_id)


def _details(person: Person) -> dict:
    return {f: getattr(person, f) for f in DETAIL_FIELDS}


def _update_details(person: Person, details: dict) -> None:
    """A person's details are their identity, shared by every site they belong to:
    one site may change them only when the person belongs to no other site."""
    sites = Membership.select().where(Membership.person == person).count()
    if sites > 1:
        raise Conflict("this person also belongs to other sites; their details can be changed "
                       "only by an operator or by themselves")
    for field, value in details.items():
        setattr(person, field, value)
    person.save()


def remove_member(table: DecisionTable, actor: Actor, site_number: str, login_id: str) -> dict:
    def work(authority: Authority) -> dict:
        member = _member(authority.site.id, login_id)
        check_may_act_on(authority, login_id, member.role)
        if member.role == "primary":
            raise RuleViolation("the primary contact cannot be removed; transfer the role first")
        stored = _stored_levels([member.id])[member.id]
        before = {"role": member.role, "levels": full_levels(table, stored)}
        member.delete_instance()  # levels go with it (ON DELETE CASCADE)
        trail.record(actor.audit_name, "remove_user", site_number=site_number, target=member.person.login_id,
                     before=before)
        seq = record_change("membership", site_number, member.person.login_key)
        return {"removed": member.person.login_id, "site": site_number, "change_seq": seq}
    return run(table, actor, site_number, "remove_user", work, target=login_id)
