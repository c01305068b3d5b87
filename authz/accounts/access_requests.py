"""Access requests (DOMAIN.md, "Access requests"): a person asks for access to a
site; a primary, or a secondary with manage-access update, grants it (the person
becomes a member, under the same grant rules as add_member) or denies it with one
of three reasons. A request is decided once. The requester is told either way,
through the outbox, in the decision's transaction. Deciding and listing go
through admin.run, which authorizes the actor and audits refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar, cast

from authz.accounts import notifications
from authz.accounts.authority import Authority, NotPermitted, run
from authz.accounts.memberships import describe, is_member, require_active, stored_levels, write_levels
from authz.accounts.rules import check_grant, check_secondary_room, full_levels, known_levels
from authz.audit import trail
from authz.contract.access_requests import AccessRequest as AccessRequestOut
from authz.contract.access_requests import (
    AccessRequestInput,
    AccessRequestPage,
    AccessRequestQuery,
    Denial,
    DenyReason,
    Grant,
    Granted,
    Requester,
    RequestStatus,
)
from authz.contract.actors import Actor
from authz.contract.common import AssignableRole
from authz.engine.table import DecisionTable
from authz.errors import Conflict, DomainError, InvalidInput, NotFound, RuleViolation
from models.access_requests import DENY_REASONS, AccessRequest
from models.db import is_postgres, write_transaction
from models.directory import record_change
from models.errors import StoreConflict
from models.identifiers import login_key
from models.schema import Membership, Person, Site, utcnow

T = TypeVar("T")


def parse_request_id(value: str | int) -> int:
    """A request id from a URL or a command line: a positive whole number (else 400)."""
    text = str(value)
    if not (text.isascii() and text.isdigit() and len(text) <= 18 and int(text) >= 1):
        raise InvalidInput("the request id must be a positive whole number", field="request_id")
    return int(text)


# -- describing --------------------------------------------------------------


def _at(value) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def describe_request(request: AccessRequest, site_number: str) -> AccessRequestOut:
    """A request with the requester's details, as a decider reviews it."""
    person = request.person
    # The table's CHECK constraints hold status, deny_reason and granted_role to the contract's values.
    return AccessRequestOut(
        id=request.id,
        site=site_number,
        status=cast(RequestStatus, request.status),
        business_justification=request.justification,
        requested_at=_at(request.created_at),
        requester=Requester(person.login_id, person.first_name, person.last_name, person.email, person.phone),
        decided_at=_at(request.decided_at),
        decided_by=request.decided_by,
        deny_reason=cast(DenyReason | None, request.deny_reason),
        deny_reason_text=DENY_REASONS.get(request.deny_reason) if request.deny_reason else None,
        granted_role=cast(AssignableRole | None, request.granted_role),
        granted_levels=request.levels,
    )


# -- asking ------------------------------------------------------------------


def request_access(table: DecisionTable, actor: Actor, site_number: str, asked: AccessRequestInput) -> AccessRequestOut:
    """The acting person asks for access to a site, optionally with a
    `business_justification`. An operator files a request for the person named by
    `login_id`; a person asks only for themselves.

    This is the one operation a person may do on a site they are not a member of,
    so it is NOT checked by the policy (which decides for members of a site). Its
    rules instead: the requester is a known identity (a row in `person`; else
    422), the site exists (else 404), the requester is not already a member (409)
    and has no open request for the site (409; the database's partial unique index
    enforces it too). The request, and every refused attempt, is audited."""
    justification = (asked.business_justification or "").strip() or None
    named = asked.login_id or None
    if actor.login_id is None:
        if named is None:
            raise RuleViolation("'login_id' is required: an operator files a request for someone", field="login_id")
        login_id = named
    else:
        login_id = actor.login_id
    for_someone_else = actor.login_id is not None and named is not None and login_key(named) != login_key(login_id)

    def work() -> AccessRequestOut:
        if for_someone_else:
            raise NotPermitted("a person may ask for access only for themselves", field="login_id")
        site = _site_for_update(site_number)
        person = Person.by_key(login_key(login_id))
        if person is None:
            raise RuleViolation(
                f"'{login_id}' is not a known identity; only a known identity may ask for access", field="login_id"
            )
        require_active(person)
        if is_member(site.id, person):
            raise Conflict(f"'{person.login_id}' is already a member of site '{site_number}'")
        if _open_request_exists(site, person):
            raise Conflict(_ALREADY_OPEN.format(login=person.login_id, site=site_number))
        request = AccessRequest.create(
            site=site, person=person, justification=justification, status="pending", created_at=utcnow()
        )
        trail.record(
            actor.audit_name,
            "request_access",
            site_number=site_number,
            target=person.login_id,
            after={"request": request.id, "status": "pending", "business_justification": justification},
        )
        request.person = person
        return describe_request(request, site_number)

    return _unchecked(actor, site_number, "request_access", work, target=login_id)


_ALREADY_OPEN = "'{login}' already has an open access request for site '{site}'"


def _site_for_update(site_number: str) -> Site:
    query = Site.select().where(Site.number == site_number)
    if is_postgres():
        query = query.for_update()  # the lock admin.run takes: one writer per site
    site = query.first()
    if site is None:
        raise NotFound(f"no site '{site_number}'")
    return site


def _open_request_exists(site: Site, person: Person) -> bool:
    return (
        AccessRequest.select()
        .where((AccessRequest.site == site) & (AccessRequest.person == person) & (AccessRequest.status == "pending"))
        .exists()
    )


def _unchecked(actor: Actor, site_number: str, action: str, work: Callable[[], T], *, target: str) -> T:
    """Like admin.run without the policy check: WORK in one write transaction; a
    refusal is audited in a transaction of its own, then re-raised."""
    try:
        try:
            with write_transaction():
                return work()
        except StoreConflict:
            # Only the one-open-request index can be hit here: a concurrent request won.
            raise Conflict(_ALREADY_OPEN.format(login=target, site=site_number)) from None
    except InvalidInput:
        raise
    except DomainError as exc:
        trail.record_refusal(actor.audit_name, action, detail=exc.message, site_number=site_number, target=target)
        raise


# -- reviewing ---------------------------------------------------------------


def list_requests(table: DecisionTable, actor: Actor, site_number: str, query: AccessRequestQuery) -> AccessRequestPage:
    """A page of the site's requests of a status (pending, granted, denied or all),
    oldest first after a request id (or newest first before one), each with the
    requester's details."""

    def work(authority: Authority) -> AccessRequestPage:
        newest = query.order == "newest"
        rows_query = (
            AccessRequest.select(AccessRequest, Person).join(Person).where(AccessRequest.site == authority.site)
        )
        if query.after:
            rows_query = rows_query.where(AccessRequest.id < query.after if newest else AccessRequest.id > query.after)
        if query.status != "all":
            rows_query = rows_query.where(AccessRequest.status == query.status)
        order = AccessRequest.id.desc() if newest else AccessRequest.id
        rows = list(rows_query.order_by(order).limit(query.limit + 1))
        page = rows[: query.limit]
        return AccessRequestPage(
            site_number,
            query.status,
            [describe_request(r, site_number) for r in page],
            page[-1].id if len(rows) > query.limit else None,
        )

    return run(table, actor, site_number, "view_access_requests", work, writes=False)


def get_request(table: DecisionTable, actor: Actor, site_number: str, request_id: int) -> AccessRequestOut:
    """One of the site's requests, whatever its status, with the requester's details."""

    def work(authority: Authority) -> AccessRequestOut:
        return describe_request(_request_of_site(authority, request_id), site_number)

    return run(table, actor, site_number, "view_access_requests", work, target=_target(request_id), writes=False)


# -- deciding ----------------------------------------------------------------


def _target(request_id: int) -> str:
    return f"access_request:{request_id}"


def _request_of_site(authority: Authority, request_id: int) -> AccessRequest:
    """The request, only if it is this site's: another site's is reported missing."""
    request = (
        AccessRequest.select(AccessRequest, Person)
        .join(Person)
        .where((AccessRequest.id == request_id) & (AccessRequest.site == authority.site))
        .first()
    )
    if request is None:
        raise NotFound(f"no access request {request_id} on site '{authority.site.number}'")
    return request


def _pending_request(authority: Authority, request_id: int) -> AccessRequest:
    request = _request_of_site(authority, request_id)
    if request.status != "pending":
        raise Conflict(
            f"access request {request_id} was already {request.status} "
            f"by {request.decided_by} at {_at(request.decided_at)}"
        )
    return request


def _close(request: AccessRequest, actor: Actor, **decision: str) -> None:
    """Mark REQUEST decided, only if it is still pending: the update itself is the
    last word on which decision wins (the site lock of authority.run already
    serialises deciders; this holds even without it)."""
    now = utcnow()
    changed = (
        AccessRequest.update(decided_at=now, decided_by=actor.audit_name, **decision)
        .where((AccessRequest.id == request.id) & (AccessRequest.status == "pending"))
        .execute()
    )
    if changed != 1:
        raise Conflict(f"access request {request.id} has already been decided")
    for field, value in decision.items():
        setattr(request, field, value)
    request.decided_at, request.decided_by = now, actor.audit_name


def grant(table: DecisionTable, actor: Actor, site_number: str, request_id: int, decision: Grant) -> Granted:
    """Grant a pending request: the requester becomes a member in the chosen role
    (secondary or user) with the chosen levels, under add_member's rules. A
    `business_justification` is required when the request gave none. The
    requester is sent a request_granted message."""
    role = decision.role
    levels = full_levels(table, known_levels(table, decision.levels or None))
    justification = (decision.business_justification or "").strip() or None

    def work(authority: Authority) -> Granted:
        request = _pending_request(authority, request_id)
        person = request.person
        if is_member(authority.site.id, person):
            raise Conflict(f"'{person.login_id}' is already a member of this site (deny the request instead)")
        require_active(person)
        given = justification or request.justification
        if given is None:
            raise RuleViolation(
                "the request gave no business justification: the decider must add one", field="business_justification"
            )
        check_grant(table, authority, role, {}, levels)
        if role == "secondary":
            check_secondary_room(authority.site.id)
        before = {"request": request_id, "status": "pending", "business_justification": request.justification}
        _close(
            request,
            actor,
            status="granted",
            granted_role=role,
            granted_levels=json.dumps(levels, sort_keys=True),
            justification=given,
        )
        member = Membership.create(site=authority.site, person=person, role=role, created_by=actor.audit_name)
        write_levels(table, member, levels)
        after = {
            "request": request_id,
            "status": "granted",
            "role": role,
            "levels": levels,
            "business_justification": given,
        }
        trail.record(
            actor.audit_name,
            "grant_access_request",
            site_number=site_number,
            target=person.login_id,
            before=before,
            after=after,
        )
        seq = record_change("membership", site_number, person.login_key)
        notifications.enqueue(
            "request_granted",
            notifications.recipient_for(person),
            site_number=site_number,
            site_name=authority.site.name,
            person_name=notifications.display_name(person),
            login_id=person.login_id,
            role=role,
            levels=notifications.shown_levels(table, levels),
            decided_by=notifications.actor_name(actor),
        )
        member.person = person
        return Granted(
            describe_request(request, site_number), describe(table, member, stored_levels([member.id])[member.id]), seq
        )

    return run(table, actor, site_number, "decide_access_requests", work, target=_target(request_id))


def deny(table: DecisionTable, actor: Actor, site_number: str, request_id: int, denial: Denial) -> AccessRequestOut:
    """Deny a pending request with exactly one reason. The requester is sent a
    request_denied message with the reason in words."""
    reason = denial.reason

    def work(authority: Authority) -> AccessRequestOut:
        request = _pending_request(authority, request_id)
        person = request.person
        before = {"request": request_id, "status": "pending", "business_justification": request.justification}
        _close(request, actor, status="denied", deny_reason=reason)
        trail.record(
            actor.audit_name,
            "deny_access_request",
            site_number=site_number,
            target=person.login_id,
            before=before,
            after={"request": request_id, "status": "denied", "reason": reason},
        )
        notifications.enqueue(
            "request_denied",
            notifications.recipient_for(person),
            site_number=site_number,
            site_name=authority.site.name,
            person_name=notifications.display_name(person),
            login_id=person.login_id,
            reason=DENY_REASONS[reason],
            decided_by=notifications.actor_name(actor),
        )
        return describe_request(request, site_number)

    return run(table, actor, site_number, "decide_access_requests", work, target=_target(request_id))
