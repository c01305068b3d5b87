"""Access requests (DOMAIN.md, "Access requests"): a person asks for access to a
site; a primary, or a secondary with manage-access update, grants it (the person
becomes a member, under the same grant rules as add_member) or denies it with one
of three reasons. A request is decided once. The requester is told either way,
through the outbox, in the decision's transaction. Deciding and listing go
through admin.run, which authorizes the actor and audits refusals."""

from __future__ import annotations

import json
from typing import Any, Callable, TypeVar

import peewee

from authz.audit import trail
from authz.accounts import notifications
from authz.accounts.authority import Actor, Authority, NotPermitted, run
from authz.errors import Conflict, DomainError, InvalidInput, NotFound, RuleViolation
from authz.accounts.rules import check_grant, check_secondary_room, full_levels, parse_levels, parse_role
from authz.accounts.members import _stored_levels, _text, _write_levels, describe
from authz.engine.table import DecisionTable
from models.access_requests import DENY_REASONS, STATUSES, AccessRequest
from models.db import is_postgres, write_transaction
from models.directory import record_change
from models.schema import Membership, Person, Site, login_key, utcnow

T = TypeVar("T")

JUSTIFICATION_MAX = 2000
MAX_PAGE = 1000
LIST_STATUSES = (*STATUSES, "all")
_REQUEST_FIELDS = {"business_justification", "login_id"}
_GRANT_FIELDS = {"role", "levels", "business_justification"}
_DENY_FIELDS = {"reason"}


# -- parsing -----------------------------------------------------------------

def _object(body: Any, allowed: set[str]) -> dict:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput(f"unknown field '{unknown[0]}'", field=unknown[0])
    return body


def _optional_text(body: dict, field: str, limit: int) -> str | None:
    """Text, or None when absent or blank."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"'{field}' must be text", field=field)
    if len(value.strip()) > limit:
        raise InvalidInput(f"'{field}' is longer than {limit} characters", field=field)
    return value.strip() or None


def parse_request_id(value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidInput("the request id must be a positive whole number", field="request_id")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        number = int(value)
    else:
        raise InvalidInput("the request id must be a positive whole number", field="request_id")
    if number < 1:
        raise InvalidInput("the request id must be a positive whole number", field="request_id")
    return number


def _whole(value: Any, field: str, lowest: int, highest: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest or (
            highest is not None and value > highest):
        upper = f" to {highest}" if highest is not None else " or more"
        raise InvalidInput(f"'{field}' must be a whole number from {lowest}{upper}", field=field)
    return value


# -- describing --------------------------------------------------------------

def _at(value) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def describe_request(request: AccessRequest, site_number: str) -> dict:
    """A request with the requester's details, as a decider reviews it."""
    person = request.person
    return {
        "id": request.id, "site": site_number, "status": request.status,
        "business_justification": request.justification, "requested_at": _at(request.created_at),
        "requester": {"login_id": person.login_id, "first_name": person.first_name,
                      "last_name": person.last_name, "email": person.email, "phone": person.phone},
        "decided_at": _at(request.decided_at), "decided_by": request.decided_by,
        "deny_reason": request.deny_reason,
        "deny_reason_text": DENY_REASONS.get(request.deny_reason) if request.deny_reason else None,
        "granted_role": request.granted_role, "granted_levels": request.levels,
    }


# -- asking ------------------------------------------------------------------

def request_access(table: DecisionTable, actor: Actor, site_number: str, body: Any = None) -> dict:
    """The acting person asks for access to a site, optionally with a
    `business_justification`. An operator files a request for the person named by
    `login_id`; a person asks only for themselves.

    This is the one operation a person may do on a site they are not a member of,
    so it is NOT checked by the policy (which decides for members of a site). Its
    rules instead: the requester is a known identity (a row in `person`; else
    422), the site exists (else 404), the requester is not already a member (409)
    and has no open request for the site (409; the database's partial unique index
    enforces it too). The request, and every refused attempt, is audited."""
    body = _object(body, _REQUEST_FIELDS)
    justification = _optional_text(body, "business_justification", JUSTIFICATION_MAX)
    if actor.is_operator:
        login_id = _text(body, "login_id", 320)
    else:
        login_id = actor.login_id
    named = body.get("login_id")
    for_someone_else = not actor.is_operator and named is not None and (
        not isinstance(named, str) or login_key(named) != login_key(login_id))

    def work() -> dict:
        if for_someone_else:
            raise NotPermitted("a person may ask for access only for themselves", field="login_id")
        site = _site_for_update(site_number)
        person = Person.by_login(login_id)
        if person is None:
            raise RuleViolation(f"'{login_id}' is not a known identity; only a known identity may ask for access",
                                field="login_id")
        if Membership.select().where((Membership.site == site) & (Membership.person == person)).exists():
            raise Conflict(f"'{person.login_id}' is already a member of site '{site_number}'")
        if _open_request_exists(site, person):
            raise Conflict(_ALREADY_OPEN.format(login=person.login_id, site=site_number))
        request = AccessRequest.create(site=site, person=person, justification=justification,
                                       status="pending", created_at=utcnow())
        trail.record(actor.audit_name, "request_access", site_number=site_number, target=person.login_id,
                     after={"request": request.id, "status": "pending", "business_justification": justification})
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
    return AccessRequest.select().where((AccessRequest.site == site) & (AccessRequest.person == person)
                                        & (AccessRequest.status == "pending")).exists()


def _unchecked(actor: Actor, site_number: str, action: str, work: Callable[[], T], *, target: str) -> T:
    """Like admin.run without the policy check: WORK in one write transaction; a
    refusal is audited in a transaction of its own, then re-raised."""
    try:
        try:
            with write_transaction():
                return work()
        except peewee.IntegrityError:
            # Only the one-open-request index can be hit here: a concurrent request won.
            raise Conflict(_ALREADY_OPEN.format(login=target, site=site_number)) from None
    except InvalidInput:
        raise
    except DomainError as exc:
        trail.record_refusal(actor.audit_name, action, detail=exc.message, site_number=site_number, target=target)
        raise


# -- reviewing ---------------------------------------------------------------

def list_requests(table: DecisionTable, actor: Actor, site_number: str, *, status: str = "pending",
                  after: int | None = None, limit: int = 100) -> dict:
    """A page of the site's requests of STATUS (pending, granted, denied or all),
    oldest first, after request id AFTER, each with the requester's details."""
    if status not in LIST_STATUSES:
        raise InvalidInput(f"'status' must be one of {', '.join(LIST_STATUSES)}", field="status")
    after = 0 if after is None else _whole(after, "after", 0)
    limit = _whole(limit, "limit", 1, MAX_PAGE)

    def work(authority: Authority) -> dict:
        query = (AccessRequest.select(AccessRequest, Person).join(Person)
                 .where((AccessRequest.site == authority.site) & (AccessRequest.id > after)))
        if status != "all":
            query = query.where(AccessRequest.status == status)
        rows = list(query.order_by(AccessRequest.id).limit(limit + 1))
        page = rows[:limit]
        return {"site": site_number, "status": status,
                "requests": [describe_request(r, site_number) for r in page],
                "next_after": page[-1].id if len(rows) > limit else None}
    return run(table, actor, site_number, "view_access_requests", work, writes=False)


# -- deciding ----------------------------------------------------------------

def _target(request_id: int) -> str:
    return f"access_request:{request_id}"


def _request_of_site(authority: Authority, request_id: int) -> AccessRequest:
    """The request, only if it is this site's: another site's is reported missing."""
    request = (AccessRequest.select(AccessRequest, Person).join(Person)
               .where((AccessRequest.id == request_id) & (AccessRequest.site == authority.site)).first())
    if request is None:
        raise NotFound(f"no access request {request_id} on site '{authority.site.number}'")
    return request


def _pending_request(authority: Authority, request_id: int) -> AccessRequest:
    request = _request_of_site(authority, request_id)
    if request.status != "pending":
        raise Conflict(f"access request {request_id} was already {request.status} "
                       f"by {request.decided_by} at {_at(request.decided_at)}")
    return request


def _close(request: AccessRequest, actor: Actor, **decision) -> None:
    """Mark REQUEST decided, only if it is still pending: the update itself is the
    last word on which decision wins (the site lock of admin.run already serialises
    deciders; this holds even without it)."""
    now = utcnow()
    changed = (AccessRequest.update(decided_at=now, decided_by=actor.audit_name, **decision)
               .where((AccessRequest.id == request.id) & (AccessRequest.status == "pending")).execute())
    if changed != 1:
        raise Conflict(f"access request {request.id} has already been decided")
    for field, value in decision.items():
        setattr(request, field, value)
    request.decided_at, request.decided_by = now, actor.audit_name


def grant(table: DecisionTable, actor: Actor, site_number: str, request_id: Any, body: Any) -> dict:
    """Grant a pending request: the requester becomes a member in the chosen role
    (secondary or user) with the chosen levels, under add_member's rules. A
    `business_justification` is required when the request gave none. The
    requester is sent a request_granted message."""
    number = parse_request_id(request_id)
    body = _object(body, _GRANT_FIELDS)
    role = parse_role(body.get("role"))
    levels = full_levels(table, parse_levels(table, body.get("levels")))
    justification = _optional_text(body, "business_justification", JUSTIFICATION_MAX)

    def work(authority: Authority) -> dict:
        request = _pending_request(authority, number)
        person = request.person
        if Membership.select().where((Membership.site == authority.site) & (Membership.person == person)).exists():
            raise Conflict(f"'{person.login_id}' is already a member of this site (deny the request instead)")
        given = justification or request.justification
        if given is None:
            raise RuleViolation("the request gave no business justification: the decider must add one",
                                field="business_justification")
        check_grant(table, authority, role, {}, levels)
        if role == "secondary":
            check_secondary_room(authority.site.id)
        before = {"request": number, "status": "pending", "business_justification": request.justification}
        _close(request, actor, status="granted", granted_role=role,
               granted_levels=json.dumps(levels, sort_keys=True), justification=given)
        member = Membership.create(site=authority.site, person=person, role=role, created_by=actor.audit_name)
        _write_levels(table, member, levels)
        after = {"request": number, "status": "granted", "role": role, "levels": levels,
                 "business_justification": given}
        trail.record(actor.audit_name, "grant_access_request", site_number=site_number, target=person.login_id,
                     before=before, after=after)
        seq = record_change("membership", site_number, person.login_key)
        notifications.enqueue("request_granted", notifications.recipient_for(person), site_number=site_number,
                              site_name=authority.site.name, person_name=notifications.display_name(person),
                              login_id=person.login_id, role=role, levels=notifications.shown_levels(table, levels),
                              decided_by=notifications.actor_name(actor))
        member.person = person
        return {"request": describe_request(request, site_number),
                "member": describe(table, member, _stored_levels([member.id])[member.id]), "change_seq": seq}
    return run(table, actor, site_number, "decide_access_requests", work, target=_target(number))


def deny(table: DecisionTable, actor: Actor, site_number: str, request_id: Any, body: Any) -> dict:
    """Deny a pending request with exactly one `reason` (a key of DENY_REASONS;
    anything else is refused, 422). The requester is sent a request_denied message
    with the reason in words."""
    number = parse_request_id(request_id)
    body = _object(body, _DENY_FIELDS)
    reason = body.get("reason")

    def work(authority: Authority) -> dict:
        request = _pending_request(authority, number)
        if not isinstance(reason, str) or reason not in DENY_REASONS:
            raise RuleViolation(f"'reason' must be exactly one of: {', '.join(DENY_REASONS)}", field="reason")
        person = request.person
        before = {"request": number, "status": "pending", "business_justification": request.justification}
        _close(request, actor, status="denied", deny_reason=reason)
        trail.record(actor.audit_name, "deny_access_request", site_number=site_number, target=person.login_id,
                     before=before, after={"request": number, "status": "denied", "reason": reason})
        notifications.enqueue("request_denied", notifications.recipient_for(person), site_number=site_number,
                              site_name=authority.site.name, person_name=notifications.display_name(person),
                              login_id=person.login_id, reason=DENY_REASONS[reason],
                              decided_by=notifications.actor_name(actor))
        return describe_request(request, site_number)
    return run(table, actor, site_number, "decide_access_requests", work, target=_target(number))
