"""Contact updates: a site's contact records and their monthly review
(DOMAIN.md, "Contact updates"). Each site operation authorizes the actor
through admin.run: view_contacts to read, edit_contacts to change,
mark_contacts_reviewed to confirm the review (only primary and secondary
contacts with contact-updates privilege hold them; the policy decides).

Decisions:

- A save is whole (PUT semantics): every mandatory field and contact_types must
  be given, every time. A body is checked before anyone is authorized (as in
  authz.members): a missing, empty or malformed field is answered 422 naming it,
  an unknown field 400 naming it, and nothing is read or written; the answer
  depends on the body alone, so it tells nothing about the site.
- contact_types must name at least one of CONTACT_TYPES. A contact record exists
  to be someone the vendor calls for something (renewals, shipping, billing...);
  a record with no type would be reached for nothing and is almost always a
  client that dropped the field. To retire a contact, delete it. Repeated ids are
  kept once; types are stored and returned in catalogue order.
- A contact's email is only part of that record. It is never a person's login,
  email or notification email (person.notification_email), and changing it
  changes none of them.
- The review is per site: contact_review holds when and by whom the contacts were
  last confirmed. A site with no review, or whose last review is older than
  REVIEW_PERIOD_DAYS, is overdue.
- Review reminders go to the site's primary contact (the member, at their
  notification address; never to a contact record's email). A site is reminded
  at most once per REMINDER_INTERVAL (7 days), from contact_review.last_reminded_at,
  so the reminder job can run daily (or every minute) and sends a weekly nudge
  until the primary reviews. The check and the stamp happen in one transaction
  under the site's lock, so two concurrent runs cannot both remind a site.
- Every change (create, replace, delete, review, reminder) is audited with its
  before and after in the transaction that makes it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from peewee import JOIN

from authz.accounts import notifications
from authz.accounts.authority import Authority, run
from authz.audit import trail
from authz.contract.actors import Actor
from authz.contract.contacts import (
    CONTACT_TYPE_LABELS,
    Contact,
    ContactDeleted,
    ContactInput,
    ContactList,
    ContactsReviewed,
    OverdueSite,
    Reminded,
    ReviewReminders,
    Skipped,
)
from authz.contract.contacts import (
    ContactReview as ReviewOut,
)
from authz.engine.table import DecisionTable
from authz.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from models.contacts import ContactReview, SiteContact
from models.db import is_postgres, read_transaction, write_transaction
from models.schema import Membership, Person, Site, utcnow

CONTACT_TYPES = CONTACT_TYPE_LABELS  # id -> how a person names it, in the order shown
# The mandatory fields, in the order they are checked and shown, with their
# longest length (the columns of m0005) and how a person would name them.
FIELDS = {
    "first_name": (100, "first name"),
    "last_name": (100, "last name"),
    "telephone": (50, "telephone"),
    "email": (320, "email"),
    "street_address": (500, "street address"),
    "city": (100, "city"),
    "state_province": (100, "state or province"),
    "postal_code": (20, "postal or zip code"),
}
MULTILINE_FIELDS = frozenset({"street_address"})
REVIEW_PERIOD_DAYS = 30  # the primary should review the contacts monthly
REMINDER_INTERVAL = timedelta(days=7)  # at most one reminder per site in this long
MAX_CONTACTS_PER_SITE = 100
MAX_DAYS = 3650

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_PHONE = re.compile(r"\+?[0-9 ()./-]+(\s*(x|ext\.?)\s*[0-9]+)?", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# -- validating --------------------------------------------------------------


def parse_contact(contact: ContactInput) -> dict[str, Any]:
    """The whole contact record, normalised: every field stripped, contact_types
    in catalogue order. Raises RuleViolation (422) naming the first field that is
    empty or malformed (the message lists all of them). The contract's type has
    already refused missing fields, unknown fields and wrong types."""
    body = {field: getattr(contact, field) for field in (*FIELDS, "contact_types")}
    record: dict[str, Any] = {}
    problems: list[RuleViolation] = []
    for field in FIELDS:
        try:
            record[field] = _field(body, field)
        except RuleViolation as exc:
            problems.append(exc)
    try:
        record["contact_types"] = parse_contact_types(body.get("contact_types"))
    except RuleViolation as exc:
        problems.append(exc)
    if problems:
        more = f" (also: {'; '.join(p.message for p in problems[1:])})" if len(problems) > 1 else ""
        raise RuleViolation(problems[0].message + more, field=problems[0].field)
    return record


def _field(body: dict[str, Any], field: str) -> str:
    limit, label = FIELDS[field]
    value = body.get(field)
    if value is None:
        raise RuleViolation(f"'{field}' ({label}) is required", field=field)
    if not isinstance(value, str):
        raise RuleViolation(f"'{field}' ({label}) must be text", field=field)
    value = value.replace("\r\n", "\n").strip()
    if not value:
        raise RuleViolation(f"'{field}' ({label}) is required and must not be empty", field=field)
    if len(value) > limit:
        raise RuleViolation(f"'{field}' ({label}) is longer than {limit} characters", field=field)
    if _CONTROL.search(value.replace("\n", "") if field in MULTILINE_FIELDS else value):
        raise RuleViolation(f"'{field}' ({label}) contains control characters or line breaks", field=field)
    if field == "email" and not _EMAIL.fullmatch(value):
        raise RuleViolation(f"'email' is not an email address: {value!r}", field=field)
    if field == "telephone" and (not _PHONE.fullmatch(value) or sum(c.isdigit() for c in value) < 3):
        raise RuleViolation(f"'telephone' is not a telephone number: {value!r}", field=field)
    return value


def parse_contact_types(value: Any) -> list[str]:
    """A non-empty list of CONTACT_TYPES ids, returned once each in catalogue order."""
    known = ", ".join(CONTACT_TYPES)
    if not isinstance(value, list) or not value:
        raise RuleViolation(f"'contact_types' must be a non-empty list of: {known}", field="contact_types")
    unknown = [t for t in value if not isinstance(t, str) or t not in CONTACT_TYPES]
    if unknown:
        raise RuleViolation(
            f"'contact_types' has unknown type(s) {', '.join(map(repr, unknown))}; known: {known}",
            field="contact_types",
        )
    return [t for t in CONTACT_TYPES if t in value]


def _days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number from 1 to {MAX_DAYS}", field="days")
    return days


def _naive_utc(when: datetime | None) -> datetime:
    if when is None:
        return utcnow()
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


# -- presenting --------------------------------------------------------------


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") + "Z" if when else None


def _types(contact: SiteContact) -> list[str]:
    return contact.contact_types.split(",") if contact.contact_types else []


def _record(contact: SiteContact) -> dict[str, Any]:
    """The stored record, as audited before/after."""
    return {**{f: getattr(contact, f) for f in FIELDS}, "contact_types": _types(contact)}


def describe(contact: SiteContact, site_number: str) -> Contact:
    return Contact(
        id=contact.id,
        site=site_number,
        **_record(contact),
        created_at=_iso(contact.created_at),
        updated_at=_iso(contact.updated_at),
        updated_by=contact.updated_by,
    )


def _review(review: ContactReview | None, now: datetime) -> ReviewOut:
    reviewed_at = review.reviewed_at if review else None
    return ReviewOut(
        last_reviewed_at=_iso(reviewed_at),
        last_reviewed_by=review.reviewed_by if review else None,
        last_reminded_at=_iso(review.last_reminded_at if review else None),
        overdue=_is_overdue(reviewed_at, now - timedelta(days=REVIEW_PERIOD_DAYS)),
    )


def _is_overdue(reviewed_at: datetime | None, cutoff: datetime) -> bool:
    return reviewed_at is None or reviewed_at < cutoff


# -- reading -----------------------------------------------------------------


def list_contacts(table: DecisionTable, actor: Actor, site_number: str, *, now: datetime | None = None) -> ContactList:
    """The site's contacts (oldest first), its last review, and the contact
    types no contact carries (worth a warning, not an error)."""
    moment = _naive_utc(now)

    def work(authority: Authority) -> ContactList:
        contacts = list(SiteContact.select().where(SiteContact.site == authority.site).order_by(SiteContact.id))
        covered = {t for c in contacts for t in _types(c)}
        return ContactList(
            site_number,
            [describe(c, site_number) for c in contacts],
            _review(ContactReview.get_or_none(ContactReview.site == authority.site), moment),
            [t for t in CONTACT_TYPES if t not in covered],
        )

    return run(table, actor, site_number, "view_contacts", work, writes=False)


def _contact(site: Site, contact_id: int) -> SiteContact:
    """The contact CONTACT_ID of SITE; another site's contact is not found, exactly
    like one that does not exist."""
    contact = SiteContact.get_or_none((SiteContact.id == contact_id) & (SiteContact.site == site))
    if contact is None:
        raise NotFound(f"no contact '{contact_id}' on this site")
    return contact


# -- changing ----------------------------------------------------------------


def create_contact(table: DecisionTable, actor: Actor, site_number: str, contact: ContactInput) -> Contact:
    record = parse_contact(contact)

    def work(authority: Authority) -> Contact:
        count = SiteContact.select().where(SiteContact.site == authority.site).count()
        if count >= MAX_CONTACTS_PER_SITE:
            raise Conflict(f"a site keeps at most {MAX_CONTACTS_PER_SITE} contacts; delete one first")
        now = utcnow()
        created = SiteContact.create(
            site=authority.site, **_stored(record), created_at=now, updated_at=now, updated_by=actor.audit_name
        )
        trail.record(
            actor.audit_name,
            "create_contact",
            site_number=site_number,
            target=f"contact:{created.id}",
            after=_record(created),
        )
        return describe(created, site_number)

    return run(table, actor, site_number, "edit_contacts", work)


def replace_contact(
    table: DecisionTable, actor: Actor, site_number: str, contact_id: int, contact: ContactInput
) -> Contact:
    """Save the whole record: every field is replaced, or (on any problem) none."""
    record = parse_contact(contact)

    def work(authority: Authority) -> Contact:
        stored = _contact(authority.site, contact_id)
        before = _record(stored)
        for field, value in _stored(record).items():
            setattr(stored, field, value)
        stored.updated_at = utcnow()
        stored.updated_by = actor.audit_name
        stored.save()
        trail.record(
            actor.audit_name,
            "update_contact",
            site_number=site_number,
            target=f"contact:{stored.id}",
            before=before,
            after=_record(stored),
        )
        return describe(stored, site_number)

    return run(table, actor, site_number, "edit_contacts", work, target=f"contact:{contact_id}")


def delete_contact(table: DecisionTable, actor: Actor, site_number: str, contact_id: int) -> ContactDeleted:
    def work(authority: Authority) -> ContactDeleted:
        stored = _contact(authority.site, contact_id)
        before = _record(stored)
        stored.delete_instance()
        trail.record(
            actor.audit_name, "delete_contact", site_number=site_number, target=f"contact:{stored.id}", before=before
        )
        return ContactDeleted(stored.id, site_number)

    return run(table, actor, site_number, "edit_contacts", work, target=f"contact:{contact_id}")


def _stored(record: dict[str, Any]) -> dict[str, Any]:
    return {**{f: record[f] for f in FIELDS}, "contact_types": ",".join(record["contact_types"])}


def mark_reviewed(
    table: DecisionTable, actor: Actor, site_number: str, *, now: datetime | None = None
) -> ContactsReviewed:
    """Record that ACTOR reviewed the site's contacts (at NOW, default the clock)
    and found them current."""
    moment = _naive_utc(now)

    def work(authority: Authority) -> ContactsReviewed:
        review = ContactReview.get_or_none(ContactReview.site == authority.site)
        before = {"reviewed_at": review.reviewed_at, "reviewed_by": review.reviewed_by} if review else None
        if review is None:
            review = ContactReview.create(site=authority.site, reviewed_at=moment, reviewed_by=actor.audit_name)
        else:
            review.reviewed_at, review.reviewed_by = moment, actor.audit_name
            review.save()
        contacts = SiteContact.select().where(SiteContact.site == authority.site).count()
        trail.record(
            actor.audit_name,
            "mark_contacts_reviewed",
            site_number=site_number,
            before=before,
            after={"reviewed_at": moment, "reviewed_by": actor.audit_name, "contacts": contacts},
        )
        return ContactsReviewed(site_number, _iso(moment), actor.audit_name, contacts)

    return run(table, actor, site_number, "mark_contacts_reviewed", work)


# -- the monthly review, across sites (operators) -----------------------------


def overdue_sites(days: int = REVIEW_PERIOD_DAYS, now: datetime | None = None) -> list[OverdueSite]:
    """Every site whose contacts were never reviewed, or last reviewed more than
    DAYS days before NOW (naive UTC, default the clock), by site number. Reads
    every site: for operators only (the API route has the operator scope)."""
    days, moment = _days(days), _naive_utc(now)
    cutoff = moment - timedelta(days=days)
    with read_transaction():
        query = (
            Site.select(
                Site.id,
                Site.number,
                Site.name,
                ContactReview.reviewed_at,
                ContactReview.reviewed_by,
                ContactReview.last_reminded_at,
            )
            .join(ContactReview, JOIN.LEFT_OUTER, on=(ContactReview.site == Site.id))
            .where(ContactReview.reviewed_at.is_null() | (ContactReview.reviewed_at < cutoff))
            .order_by(Site.number)
            .tuples()
        )
        rows = cast(list[tuple[Any, ...]], list(query))  # peewee's stubs type .tuples() rows as the model
        primaries = _primaries([row[0] for row in rows])
    return [
        OverdueSite(
            site=number,
            name=name,
            last_reviewed_at=_iso(reviewed_at),
            last_reviewed_by=reviewed_by,
            last_reminded_at=_iso(reminded_at),
            primary=primaries[site_id].login_id if site_id in primaries else None,
        )
        for site_id, number, name, reviewed_at, reviewed_by, reminded_at in rows
    ]


def _primaries(site_ids: list[int]) -> dict[int, Person]:
    found: dict[int, Person] = {}
    for start in range(0, len(site_ids), 500):  # keep IN (...) lists short
        query = (
            Membership.select(Membership.site, Person)
            .join(Person)
            .where(Membership.site.in_(site_ids[start : start + 500]) & (Membership.role == "primary"))
        )
        for member in query:
            found[member.site_id] = member.person
    return found


def send_review_reminders(actor: Actor, days: int = REVIEW_PERIOD_DAYS, now: datetime | None = None) -> ReviewReminders:
    """Queue a review reminder to the primary contact of each overdue site, at
    most once per REMINDER_INTERVAL per site. Each site is reminded in its own
    transaction (message, stamp and audit record together), so one site's
    failure costs no other site its reminder. Operators only."""
    if not actor.is_operator:
        raise Forbidden("only an operator may send review reminders")
    days, moment = _days(days), _naive_utc(now)
    reminded, skipped = [], []
    for site in overdue_sites(days, moment):
        outcome = _remind(actor, site.site, days, moment)
        if isinstance(outcome, Reminded):
            reminded.append(outcome)
        else:
            skipped.append(outcome)
    return ReviewReminders(days, reminded, skipped)


def _remind(actor: Actor, site_number: str, days: int, now: datetime) -> Reminded | Skipped:
    with write_transaction():
        query = Site.select().where(Site.number == site_number)
        if is_postgres():
            query = query.for_update()  # the lock authority.run takes: one reminder (or review) at a time
        site = query.first()
        if site is None:
            return Skipped(site_number, "site_gone")
        review = ContactReview.get_or_none(ContactReview.site == site)
        reviewed_at = review.reviewed_at if review else None
        last = review.last_reminded_at if review else None
        if not _is_overdue(reviewed_at, now - timedelta(days=days)):
            return Skipped(site_number, "reviewed_meanwhile")
        if last is not None and last > now - REMINDER_INTERVAL:
            return Skipped(site_number, "reminded_recently", last_reminded_at=_iso(last) or "")
        primary = (
            Person.select().join(Membership).where((Membership.site == site) & (Membership.role == "primary")).first()
        )
        if primary is None:
            return Skipped(site_number, "no_primary")
        recipient = notifications.recipient_for(primary)
        try:
            notifications.enqueue(
                "review_reminder",
                recipient,
                site_number=site_number,
                site_name=site.name,
                person_name=notifications.display_name(primary),
                last_reviewed_at=reviewed_at,
            )
        except ValueError:
            return Skipped(site_number, "no_valid_address", primary=primary.login_id)
        if review is None:
            ContactReview.create(site=site, last_reminded_at=now)
        else:
            review.last_reminded_at = now
            review.save()
        trail.record(
            actor.audit_name,
            "review_reminder",
            site_number=site_number,
            target=primary.login_id,
            before={"last_reminded_at": last},
            after={"last_reminded_at": now, "recipient": recipient, "last_reviewed_at": reviewed_at},
        )
        return Reminded(site_number, site.name, primary.login_id, recipient, _iso(reviewed_at))
