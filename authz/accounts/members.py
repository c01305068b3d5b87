"""Manage access: the member workflows of a site (DOMAIN.md, "Manage access"
and "Add a new user"). Each function authorizes the actor through authority.run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from msgspec import UNSET

from authz.accounts import notifications
from authz.accounts.authority import Authority, run
from authz.accounts.memberships import describe, is_member, member_of, require_active, stored_levels, write_levels
from authz.accounts.rules import check_grant, check_may_act_on, check_secondary_room, full_levels, known_levels
from authz.audit import trail
from authz.contract.actors import Actor
from authz.contract.members import (
    Member,
    MemberChange,
    MemberPage,
    MemberQuery,
    MemberRemoved,
    NewMember,
    UserCheck,
)
from authz.engine.table import DecisionTable
from authz.errors import Conflict, RuleViolation
from models.directory import record_change
from models.identifiers import login_key
from models.schema import Membership, Person, Site, utcnow

DETAIL_FIELDS = ("email", "first_name", "last_name", "phone")
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# -- reading -----------------------------------------------------------------


def list_members(table: DecisionTable, actor: Actor, site_number: str, query: MemberQuery) -> MemberPage:
    """A page of members by login id, optionally of one role or matching a search
    (in login id, names or email)."""

    def work(authority: Authority) -> MemberPage:
        rows_query = (
            Membership.select(Membership, Person)
            .join(Person)
            .where((Membership.site == authority.site) & (Person.login_key > login_key(query.after)))
        )
        if query.role:
            rows_query = rows_query.where(Membership.role == query.role)
        if query.q:  # contains() is case-insensitive on both databases
            search = query.q
            rows_query = rows_query.where(
                Person.login_key.contains(search)
                | Person.email.contains(search)
                | Person.first_name.contains(search)
                | Person.last_name.contains(search)
            )
        rows = list(rows_query.order_by(Person.login_key).limit(query.limit + 1))
        page = rows[: query.limit]
        levels = stored_levels([m.id for m in page])
        return MemberPage(
            site_number,
            [describe(table, m, levels[m.id]) for m in page],
            page[-1].person.login_key if len(rows) > query.limit else None,
        )

    return run(table, actor, site_number, "list_users", work, writes=False)


def get_member(table: DecisionTable, actor: Actor, site_number: str, login_id: str) -> Member:
    def work(authority: Authority) -> Member:
        member = member_of(authority.site.id, login_id)
        return describe(table, member, stored_levels([member.id])[member.id])

    return run(table, actor, site_number, "list_users", work, target=login_id, writes=False)


def export_csv(table: DecisionTable, actor: Actor, site_number: str) -> Iterator[bytes]:
    """The complete user list as spreadsheet-safe CSV, streamed. Authorization
    happens now, and so does the audit record of the download (who, when, how
    many rows): a list of who has access leaves only when its download is on
    record. The rows are read as the caller consumes them."""

    def work(authority: Authority) -> Site:
        rows = Membership.select().where(Membership.site == authority.site).count()
        trail.record(actor.audit_name, "export_users", site_number=site_number, after={"rows": rows})
        return authority.site

    site = run(table, actor, site_number, "export_users", work)
    apps = list(table.catalogue.applications)
    header = ["login_id", "first_name", "last_name", "email", "role", *apps, "added_at", "added_by"]

    def rows() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        query = (
            Membership.select(Membership, Person).join(Person).where(Membership.site == site).order_by(Person.login_key)
        )
        batch: list[Membership] = []
        for member in query.iterator():
            batch.append(member)
            if len(batch) == 500:
                yield _csv_batch(table, batch, writer, buffer)
                batch = []
        yield _csv_batch(table, batch, writer, buffer)

    return rows()


def _csv_batch(table: DecisionTable, batch: list[Membership], writer: Any, buffer: io.StringIO) -> bytes:
    levels = stored_levels([m.id for m in batch]) if batch else {}
    for member in batch:
        row = describe(table, member, levels[member.id])
        writer.writerow(
            [
                spreadsheet_safe(v)
                for v in (
                    row.login_id,
                    row.first_name,
                    row.last_name,
                    row.email,
                    row.role,
                    *row.levels.values(),
                    row.added_at,
                    row.added_by or "",
                )
            ]
        )
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def spreadsheet_safe(value: Any) -> str:
    """Neutralise a cell a spreadsheet would run as a formula: prefix a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def user_check(table: DecisionTable, actor: Actor, site_number: str, login_id: str) -> UserCheck:
    """Asks the identity source (the people the identity provider provisioned):
    is LOGIN_ID a known, an inactive or an unknown identity, and already a member
    here? `known` is true only for an active identity: the one that may be added."""

    def work(authority: Authority) -> UserCheck:
        person = Person.by_key(login_key(login_id))
        if person is None:
            return UserCheck(login_id, False, False, "unknown")
        member = is_member(authority.site.id, person)
        return UserCheck(login_id, person.is_active, member, "known" if person.is_active else "inactive")

    return run(table, actor, site_number, "check_user", work, target=login_id, writes=False)


# -- changing ----------------------------------------------------------------


def add_member(table: DecisionTable, actor: Actor, site_number: str, new: NewMember) -> Member:
    """Add a known identity directly, with a justification, a role and levels;
    they get a welcome message."""
    email, justification = new.email.strip(), new.business_justification.strip()
    levels = full_levels(table, known_levels(table, new.levels or None))

    def work(authority: Authority) -> Member:
        person = Person.by_key(login_key(new.login_id))
        if person is None:
            raise RuleViolation(
                f"'{new.login_id}' is not a known identity (check it with user check first)", field="login_id"
            )
        require_active(person)
        if person.email.lower() != email.lower():
            raise RuleViolation("the email does not match that identity's email", field="email")
        if is_member(authority.site.id, person):
            raise Conflict(f"'{new.login_id}' is already a member of this site")
        check_grant(table, authority, new.role, {}, levels)
        if new.role == "secondary":
            check_secondary_room(authority.site.id)
        member = Membership.create(site=authority.site, person=person, role=new.role, created_by=actor.audit_name)
        write_levels(table, member, levels)
        after = {"role": new.role, "levels": levels, "business_justification": justification}
        trail.record(actor.audit_name, "add_user", site_number=site_number, target=person.login_id, after=after)
        seq = record_change("membership", site_number, person.login_key)
        notifications.enqueue(
            "welcome",
            notifications.recipient_for(person),
            site_number=site_number,
            site_name=authority.site.name,
            person_name=notifications.display_name(person),
            login_id=person.login_id,
            role=new.role,
            levels=notifications.shown_levels(table, levels),
            added_by=notifications.actor_name(actor),
        )
        member.person = person
        added = describe(table, member, levels)
        added.change_seq = seq
        return added

    return run(table, actor, site_number, "add_user", work, target=new.login_id)


def update_member(table: DecisionTable, actor: Actor, site_number: str, login_id: str, change: MemberChange) -> Member:
    """Change a member's details, role and levels (levels given are merged into
    the current ones). The whole change is applied, or none of it."""
    details = {f: getattr(change, f).strip() for f in DETAIL_FIELDS if getattr(change, f) is not UNSET}
    new_role = change.role or None
    level_changes = known_levels(table, change.levels or None)

    def work(authority: Authority) -> Member:
        member = member_of(authority.site.id, login_id)
        check_may_act_on(authority, login_id, member.role)
        if member.role == "primary" and (new_role or level_changes):
            # Only an operator gets here: the primary holds every level, and the
            # role moves only by a transfer (a site always has exactly one primary).
            raise RuleViolation(
                "the primary contact's role and levels change only by a transfer of the role",
                field="role" if new_role else "levels",
            )
        stored = stored_levels([member.id])[member.id]
        before_levels = full_levels(table, stored)
        before = {"role": member.role, "levels": before_levels, **_details(member.person)}
        role = new_role or member.role
        levels = {**before_levels, **level_changes}
        check_grant(table, authority, role, before_levels, levels)
        if role == "secondary" and member.role != "secondary":
            check_secondary_room(authority.site.id)
        if details:
            _update_details(member.person, details)
        member.role = role
        member.save()
        write_levels(table, member, levels)
        after = {"role": role, "levels": levels, **_details(member.person)}
        trail.record(
            actor.audit_name,
            "update_user",
            site_number=site_number,
            target=member.person.login_id,
            before=before,
            after=after,
        )
        seq = record_change("membership", site_number, member.person.login_key)
        updated = describe(table, member, levels)
        updated.change_seq = seq
        return updated

    return run(table, actor, site_number, "update_user", work, target=login_id)


def _details(person: Person) -> dict[str, str]:
    return {f: getattr(person, f) for f in DETAIL_FIELDS}


def _update_details(person: Person, details: dict[str, str]) -> None:
    """A person's details are their identity, shared by every site they belong to:
    one site may change them only when the person belongs to no other site."""
    sites = Membership.select().where(Membership.person == person).count()
    if sites > 1:
        raise Conflict(
            "this person also belongs to other sites; their details can be changed only by an operator or by themselves"
        )
    for field, value in details.items():
        setattr(person, field, value)
    person.version += 1  # the identity's SCIM ETag: its email or phone may have changed
    person.updated_at = utcnow()
    person.save()


def remove_member(table: DecisionTable, actor: Actor, site_number: str, login_id: str) -> MemberRemoved:
    def work(authority: Authority) -> MemberRemoved:
        member = member_of(authority.site.id, login_id)
        check_may_act_on(authority, login_id, member.role)
        if member.role == "primary":
            raise RuleViolation("the primary contact cannot be removed; transfer the role first")
        stored = stored_levels([member.id])[member.id]
        before = {"role": member.role, "levels": full_levels(table, stored)}
        member.delete_instance()  # levels go with it (ON DELETE CASCADE)
        trail.record(
            actor.audit_name, "remove_user", site_number=site_number, target=member.person.login_id, before=before
        )
        seq = record_change("membership", site_number, member.person.login_key)
        return MemberRemoved(member.person.login_id, site_number, seq)

    return run(table, actor, site_number, "remove_user", work, target=login_id)
