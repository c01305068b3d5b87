"""Notifications through an outbox, delivered over SMTP.

A workflow that changes something calls enqueue() inside its own transaction: the
message is rendered and stored as a 'pending' row of outbox_message, so it exists
if and only if the change committed. `authz notify deliver` later calls deliver(),
which sends due messages and records the outcome of each.

- Never lost: a message stays 'pending' until an SMTP server has accepted it. An
  unreachable server costs a retry later, never the message; a message the server
  keeps refusing ends 'failed', which is kept and listed, never deleted.
- Never sent twice after a successful send: acceptance is recorded ('sent') in its
  own transaction at once, and only 'pending' messages are ever taken.
- Two deliverers never take the same message: taking one (a "claim") is a short
  transaction that locks the row (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the
  database write lock) and moves its next_attempt_at a lease into the future, so it
  is no longer due for anyone else while it is being sent.

The one window that cannot be closed: the process dies (or the database becomes
unreachable) after the SMTP server accepted a message and before 'sent' commits.
The message is still 'pending'; once its claim lease expires it is sent again. So
delivery is at-least-once, never at-most-once. The window is a single UPDATE wide,
and the copy that goes out again carries the same Message-ID (derived from the
outbox row, see message_id()), so a receiving system can drop the duplicate.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from models.db import db, is_postgres, write_transaction
from models.identifiers import login_key
from models.outbox import KINDS, LAST_ERROR_MAX, OutboxMessage
from models.schema import Person, utcnow

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 30.0  # seconds per socket operation with the SMTP server
# A claim must outlast one send (a few socket operations of SMTP_TIMEOUT each); if
# the deliverer dies holding it, the message is retried when the lease ends.
CLAIM_LEASE = timedelta(minutes=10)
BACKOFF_BASE = timedelta(minutes=1)  # wait after the first failed attempt; doubles each time
BACKOFF_CAP = timedelta(hours=1)
MAX_ATTEMPTS = 10  # refusals by the server before a message is given up ('failed')

ROLE_LABELS = {"primary": "Primary Contact", "secondary": "Secondary Contact", "user": "User"}
_SIGNATURE = "This message was sent automatically by the site account management service.\nPlease do not reply to it."


# --- Templates ------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def welcome(
    *,
    site_number: str,
    site_name: str,
    person_name: str,
    login_id: str,
    role: str,
    levels: Mapping[str, str],
    added_by: str,
) -> Rendered:
    """A new member was added to a site directly (no request). LEVELS maps each
    application (as it should be shown) to the level granted, as it should be shown."""
    site = _site(site_number, site_name)
    body = (
        f"Dear {_line(person_name)},\n\n"
        f"{_line(added_by)} has added you to site {site}.\n\n"
        f"{_membership_summary(login_id, role, levels)}\n\n"
        "Sign in with your login id to use the site. If you did not expect this "
        "message, please contact the site's primary contact.\n\n"
        f"{_SIGNATURE}\n"
    )
    return Rendered(f"Welcome to site {site}", body)


def request_granted(
    *,
    site_number: str,
    site_name: str,
    person_name: str,
    login_id: str,
    role: str,
    levels: Mapping[str, str],
    decided_by: str,
) -> Rendered:
    """An access request was granted: the requester is now a member."""
    site = _site(site_number, site_name)
    body = (
        f"Dear {_line(person_name)},\n\n"
        f"Your request for access to site {site} has been granted by {_line(decided_by)}.\n\n"
        f"{_membership_summary(login_id, role, levels)}\n\n"
        "Sign in with your login id to use the site.\n\n"
        f"{_SIGNATURE}\n"
    )
    return Rendered(f"Access to site {site} granted", body)


def request_denied(
    *, site_number: str, site_name: str, person_name: str, login_id: str, reason: str, decided_by: str
) -> Rendered:
    """An access request was denied. REASON is the denial reason in words, as the
    requester should read it."""
    site = _site(site_number, site_name)
    body = (
        f"Dear {_line(person_name)},\n\n"
        f"Your request for access to site {site} (login id {_line(login_id)}) "
        f"has been denied by {_line(decided_by)}.\n\n"
        f"Reason: {_line(reason)}\n\n"
        "If you believe this is a mistake, please contact the site's primary contact.\n\n"
        f"{_SIGNATURE}\n"
    )
    return Rendered(f"Access to site {site} denied", body)


def review_reminder(
    *, site_number: str, site_name: str, person_name: str, last_reviewed_at: date | datetime | None
) -> Rendered:
    """Remind a site's primary contact that the contacts are due for their monthly
    review. LAST_REVIEWED_AT is None when they were never reviewed."""
    site = _site(site_number, site_name)
    if last_reviewed_at is None:
        when = "have not been reviewed yet"
    else:
        when = f"were last reviewed on {last_reviewed_at:%Y-%m-%d}"
    body = (
        f"Dear {_line(person_name)},\n\n"
        f"The contact records of site {site} {when}. As the site's primary contact, "
        "please review them and confirm that they are current; contacts should be "
        "reviewed every month.\n\n"
        f"{_SIGNATURE}\n"
    )
    return Rendered(f"Contacts review due for site {site}", body)


TEMPLATES: Mapping[str, Callable[..., Rendered]] = {
    "welcome": welcome,
    "request_granted": request_granted,
    "request_denied": request_denied,
    "review_reminder": review_reminder,
}
assert set(TEMPLATES) == set(KINDS), "a template per kind the table accepts"


def render(kind: str, **data) -> Rendered:
    """Subject and body of a message of KIND. Raises ValueError for an unknown kind
    and TypeError when DATA lacks (or has an unexpected) field of the template."""
    template = TEMPLATES.get(kind)
    if template is None:
        raise ValueError(f"unknown message kind {kind!r}; expected one of {', '.join(KINDS)}")
    return template(**data)


def recipient_for(person: Person) -> str:
    """Where a person's messages go: their notification email if they set one, else
    their email. (A contact record's email never counts: it is a separate record.)"""
    return (person.notification_email or "").strip() or person.email


def display_name(person: Person) -> str:
    """How a message addresses a person: their name, or their login id if unnamed."""
    return " ".join(p for p in (person.first_name, person.last_name) if p).strip() or person.login_id


def shown_levels(table, levels: Mapping[str, str]) -> dict[str, str]:
    """The levels above the lowest, as a person should read them (labels), for a
    DecisionTable's catalogue."""
    apps = table.catalogue.applications
    return {
        apps[app].label: apps[app].levels.get(level, level)
        for app, level in levels.items()
        if level != table.lowest_level(app)
    }


def actor_name(actor) -> str:
    """How a message names whoever acted (an admin.Actor)."""
    if actor.is_operator:
        return "the portal administrators"
    person = Person.by_key(login_key(actor.login_id))
    return display_name(person) if person is not None else actor.login_id


def _site(number: str, name: str) -> str:
    return f"{_line(number)} ({_line(name)})"


def _membership_summary(login_id: str, role: str, levels: Mapping[str, str]) -> str:
    lines = [f"Login id: {_line(login_id)}", f"Role: {ROLE_LABELS.get(role, _line(role))}"]
    if levels:
        lines.append("Access:")
        lines += [f"  {_line(app)}: {_line(level)}" for app, level in levels.items()]
    else:
        lines.append("Access: no application privileges yet.")
    return "\n".join(lines)


def _line(value: object) -> str:
    """VALUE on one line: a name with a line break must not break the layout, or
    the Subject header it is interpolated into."""
    return " ".join(str(value).split())


# --- Enqueue --------------------------------------------------------------------


def enqueue(kind: str, recipient: str, *, site_number: str | None = None, **data) -> OutboxMessage:
    """Render a message of KIND for RECIPIENT (a resolved address: see recipient_for)
    and store it as pending, due now.

    Must be called inside the transaction of the change that causes the message, so
    that both commit or neither does; raises RuntimeError outside a transaction.
    SITE_NUMBER is stored and also passed to the template with DATA."""
    if not db.in_transaction():
        raise RuntimeError("enqueue() must run inside the transaction of the change it reports")
    address = _checked_address(recipient)
    if site_number is not None:
        data["site_number"] = site_number
    rendered = render(kind, **data)
    now = utcnow()
    return OutboxMessage.create(
        created_at=now,
        kind=kind,
        site_number=site_number,
        recipient=address,
        subject=rendered.subject,
        body=rendered.body,
        status="pending",
        attempts=0,
        next_attempt_at=now,
    )


def _checked_address(recipient: str) -> str:
    address = (recipient or "").strip()
    if "@" not in address or any(c.isspace() for c in address) or len(address) > 320:
        raise ValueError(f"not an email address: {recipient!r}")
    return address


# --- Deliver --------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryReport:
    sent: int  # accepted by the SMTP server during this run
    failed: int  # attempts during this run that did not succeed (retried later, or given up)
    pending: int  # messages still pending after the run, due now or later
    smtp_error: str | None = None  # the server could not be reached: the run stopped there


def deliver(
    smtp_host: str,
    smtp_port: int,
    sender: str,
    *,
    limit: int = 100,
    now: datetime | None = None,
    timeout: float = SMTP_TIMEOUT,
) -> DeliveryReport:
    """Send up to LIMIT due pending messages from SENDER through one SMTP session.

    Each message is claimed, sent, and recorded in its own transaction, so this must
    not run inside a transaction (RuntimeError). NOW (naive UTC, default the clock)
    decides what is due and stamps what is recorded. A server refusal backs the
    message off (and gives it up after MAX_ATTEMPTS); an unreachable server backs off
    the message being tried and ends the run, leaving the rest untouched."""
    if db.in_transaction():
        raise RuntimeError("deliver() commits each message on its own; call it outside a transaction")
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    now = now or utcnow()
    sent = failed = 0
    outage = None
    mailer = _Mailer(smtp_host, smtp_port, timeout)
    try:
        for _ in range(limit):
            message = _claim_next(now)
            if message is None:
                break
            try:
                mailer.send(_compose(message, sender), sender, message.recipient)
            except smtplib.SMTPException as exc:  # also an OSError: test it first
                failed += 1
                if _is_outage(exc):
                    outage = _outage(smtp_host, smtp_port, exc)
                    _record_failure(message, outage, now, may_give_up=False)
                    break
                _record_failure(message, _describe(exc), now, may_give_up=True)
            except OSError as exc:  # refused, reset, timed out, name not resolved
                failed += 1
                outage = _outage(smtp_host, smtp_port, exc)
                _record_failure(message, outage, now, may_give_up=False)
                break
            else:
                _mark_sent(message, now)
                sent += 1
    finally:
        mailer.close()
    pending = OutboxMessage.select().where(OutboxMessage.status == "pending").count()
    return DeliveryReport(sent=sent, failed=failed, pending=pending, smtp_error=outage)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ATTEMPTS-th failed attempt: 1, 2, 4, ... minutes,
    at most BACKOFF_CAP."""
    return min(BACKOFF_BASE * 2 ** min(max(attempts - 1, 0), 20), BACKOFF_CAP)


def message_id(message: OutboxMessage, sender: str) -> str:
    """The Message-ID of an outbox message: the same on every attempt, so a receiver
    can drop a copy sent again after a crash. The creation time is part of it
    because ids start again at 1 in a fresh database."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<outbox.{message.id}.{message.created_at:%Y%m%d%H%M%S%f}@{domain}>"


def _claim_next(now: datetime) -> OutboxMessage | None:
    """Take the oldest due pending message for this run, or None if none is due.

    The row is locked while its next_attempt_at moves a lease ahead, so it stops
    being due for any other deliverer: PostgreSQL skips rows another claim holds
    (SKIP LOCKED) and re-checks the condition on rows claimed meanwhile; SQLite
    serialises the whole claim under the write lock (BEGIN IMMEDIATE)."""
    due = (
        OutboxMessage.select()
        .where((OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(1)
    )
    with write_transaction():
        if is_postgres():
            due = due.for_update(skip_locked=True)
        message = next(iter(due), None)
        if message is None:
            return None
        (OutboxMessage.update(next_attempt_at=now + CLAIM_LEASE).where(OutboxMessage.id == message.id).execute())
    return message


def _mark_sent(message: OutboxMessage, now: datetime) -> None:
    """Record that the server accepted MESSAGE. Its own transaction, right after the
    acceptance: the shorter this gap, the smaller the at-least-once window."""
    with write_transaction():
        (
            OutboxMessage.update(status="sent", sent_at=now, last_error=None)
            .where((OutboxMessage.id == message.id) & (OutboxMessage.status == "pending"))
            .execute()
        )
    log.info("sent outbox message %s (%s) to %s", message.id, message.kind, message.recipient)


def _record_failure(message: OutboxMessage, error: str, now: datetime, *, may_give_up: bool) -> None:
    """Count a failed attempt and schedule the next one. Only a failure that is the
    message's own (the server refused it) may give it up: an outage of the server
    must never turn a message 'failed', however long it lasts."""
    attempts = message.attempts + 1
    give_up = may_give_up and attempts >= MAX_ATTEMPTS
    with write_transaction():
        (
            OutboxMessage.update(
                attempts=attempts,
                last_error=error[:LAST_ERROR_MAX],
                next_attempt_at=now + backoff(attempts),
                status="failed" if give_up else "pending",
            )
            .where((OutboxMessage.id == message.id) & (OutboxMessage.status == "pending"))
            .execute()
        )
    log.warning(
        "outbox message %s attempt %d failed%s: %s", message.id, attempts, " (given up)" if give_up else "", error
    )


def _compose(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at.replace(tzinfo=UTC))
    email["Message-ID"] = message_id(message, sender)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to us
    email.set_content(message.body)
    return email


def _is_outage(exc: smtplib.SMTPException) -> bool:
    """True when the server, not the message, is the problem: it went away, would
    not greet us, or is shutting down (421). Anything else is a refusal of this
    message."""
    if isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPHeloError)):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code == 421 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421


def _outage(host: str, port: int, exc: Exception) -> str:
    return f"SMTP server {host}:{port} unavailable: {_describe(exc)}"


def _describe(exc: Exception) -> str:
    """A short, one-line account of an SMTP failure, for last_error."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        text = "; ".join(f"{addr}: {code} {_text(reply)}" for addr, (code, reply) in exc.recipients.items())
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = f"{exc.smtp_code} {_text(exc.smtp_error)}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return _line(text)[:LAST_ERROR_MAX]


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class _Mailer:
    """One SMTP session per run, opened on the first message, so a run with nothing
    due never touches the server."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self._smtp: smtplib.SMTP | None = None

    def send(self, email: EmailMessage, sender: str, recipient: str) -> None:
        """Returns once the server accepted EMAIL for RECIPIENT; raises otherwise."""
        if self._smtp is None:
            self._smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            self._smtp.send_message(email, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPException as exc:
            if _is_outage(exc):
                self.close()
            raise
        except OSError:
            self.close()  # the session is unusable; never reuse a half-broken socket
            raise

    def close(self) -> None:
        if self._smtp is None:
            return
        smtp, self._smtp = self._smtp, None
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


# --- Listing --------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    status: str
    kind: str
    site_number: str | None
    attempts: int
    created_at: datetime
    when: datetime | None  # sent at (sent), next attempt (pending), none (failed)
    recipient: str
    last_error: str | None


def list_messages(*, status: str | None = None, limit: int = 50) -> list[OutboxEntry]:
    """Messages newest first, optionally of one status."""
    query = OutboxMessage.select().order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    return [
        OutboxEntry(
            m.id,
            m.status,
            m.kind,
            m.site_number,
            m.attempts,
            m.created_at,
            m.sent_at if m.status == "sent" else (m.next_attempt_at if m.status == "pending" else None),
            m.recipient,
            m.last_error,
        )
        for m in query
    ]


def outbox_present() -> bool:
    """Whether the outbox table exists (the schema is migrated)."""
    return bool(db.table_exists("outbox_message"))
