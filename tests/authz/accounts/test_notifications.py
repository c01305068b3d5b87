"""The outbox: templates, enqueue in the caller's transaction, delivery over a real
SMTP server on loopback (aiosmtpd), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
from datetime import date, timedelta

import pytest
from aiosmtpd.controller import Controller

from authz.accounts.notifications import (
    BACKOFF_CAP,
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    backoff,
    deliver,
    enqueue,
    message_id,
    recipient_for,
    render,
    request_denied,
    request_granted,
    review_reminder,
    welcome,
)
from models.db import db
from models.outbox import OutboxMessage
from models.schema import Person, Site, utcnow

SENDER = "authz@portal.example"
LEVELS = {"Purchase & Download": "software downloads only", "Reporting": "view"}
WELCOME = dict(
    site_name="Acme Corp", person_name="Dana Scully", login_id="dana", role="user", levels=LEVELS, added_by="Fox Mulder"
)


# --- A real SMTP server on loopback ----------------------------------------------


class Collector:
    """aiosmtpd handler: keeps every message it accepts; refuses the addresses in
    `refused` with a permanent 550."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # Recorded before the 250 goes out, so by the time deliver() returns the
        # message is here: no waiting needed.
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]


class Rendezvous(Collector):
    """Holds every DATA until two different SMTP sessions have reached DATA: proof
    that two deliverers were each in the middle of a send at the same moment."""

    def __init__(self):
        super().__init__()
        self.peers: set = set()
        self.met = asyncio.Event()

    async def handle_DATA(self, server, session, envelope):
        self.peers.add(session.peer)
        if len(self.peers) >= 2:
            self.met.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.met.wait(), 10)
        return await super().handle_DATA(server, session, envelope)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def smtp_server(handler):
    """A running SMTP server for HANDLER on 127.0.0.1; yields its port."""
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.fixture
def smtp():
    """(handler, port) of a running server that accepts everything by default."""
    handler = Collector()
    with smtp_server(handler) as port:
        yield handler, port


@pytest.fixture
def down_port():
    """A port where nothing listens: bound (so nobody else takes it), never listening,
    so a connection is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def queue(recipient: str = "dana@example.test", site: str = "S1", kind: str = "welcome", **data) -> OutboxMessage:
    """Enqueue one message in a committed transaction of its own."""
    data = data or dict(WELCOME)
    with db.atomic():
        return enqueue(kind, recipient, site_number=site, **data)


def row(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.get_by_id(message.id)


# --- Templates --------------------------------------------------------------------


def test_welcome_names_site_person_role_levels_and_who_added_them():
    out = welcome(site_number="S1", **WELCOME)
    assert "S1" in out.subject and "Acme Corp" in out.subject and "Welcome" in out.subject
    for essential in (
        "Dear Dana Scully",
        "Fox Mulder",
        "Login id: dana",
        "Role: User",
        "Purchase & Download: software downloads only",
        "Reporting: view",
    ):
        assert essential in out.body


def test_request_granted_names_decider_role_and_levels():
    out = request_granted(
        site_number="S7",
        site_name="Acme Corp",
        person_name="Dana",
        login_id="dana",
        role="secondary",
        levels={"Reporting": "view"},
        decided_by="Fox Mulder",
    )
    assert "granted" in out.subject and "S7" in out.subject
    for essential in ("S7 (Acme Corp)", "granted by Fox Mulder", "Role: Secondary Contact", "Reporting: view"):
        assert essential in out.body


def test_request_granted_without_levels_says_so():
    out = request_granted(
        site_number="S7",
        site_name="Acme",
        person_name="Dana",
        login_id="dana",
        role="user",
        levels={},
        decided_by="Fox",
    )
    assert "no application privileges" in out.body


def test_request_denied_gives_the_reason_and_decider():
    reason = "The requestor has no business relationship to this site."
    out = request_denied(
        site_number="S7",
        site_name="Acme Corp",
        person_name="Dana",
        login_id="dana",
        reason=reason,
        decided_by="Fox Mulder",
    )
    assert "denied" in out.subject and "S7" in out.subject
    assert f"Reason: {reason}" in out.body and "denied by Fox Mulder" in out.body and "dana" in out.body


def test_review_reminder_says_when_contacts_were_last_reviewed():
    out = review_reminder(
        site_number="S7", site_name="Acme Corp", person_name="Walter", last_reviewed_at=date(2024, 1, 31)
    )
    assert "S7" in out.subject and "review" in out.subject.lower()
    assert "Dear Walter" in out.body and "last reviewed on 2024-01-31" in out.body
    never = review_reminder(site_number="S7", site_name="Acme Corp", person_name="Walter", last_reviewed_at=None)
    assert "not been reviewed yet" in never.body


def test_a_line_break_in_a_name_cannot_reach_the_subject_header():
    out = welcome(site_number="S1", **{**WELCOME, "site_name": "Acme\r\nBcc: victim@example.test"})
    assert "\n" not in out.subject and "\r" not in out.subject


def test_render_refuses_unknown_kinds_and_missing_fields():
    with pytest.raises(ValueError, match="unknown message kind"):
        render("party_invitation", site_number="S1")
    with pytest.raises(TypeError, match="added_by"):
        render("welcome", **{k: v for k, v in WELCOME.items() if k != "added_by"}, site_number="S1")


def test_recipient_is_the_notification_email_if_set_else_the_email():
    assert recipient_for(Person(login_id="d", email="d@work.test", notification_email=None)) == "d@work.test"
    assert recipient_for(Person(login_id="d", email="d@work.test", notification_email="n@home.test")) == "n@home.test"


def test_backoff_doubles_from_a_minute_up_to_the_cap():
    assert [backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert backoff(7) == BACKOFF_CAP == backoff(1000)


# --- Enqueue ----------------------------------------------------------------------


class Boom(Exception):
    pass


def test_enqueue_in_a_transaction_that_rolls_back_leaves_nothing(database):
    with pytest.raises(Boom), db.atomic():
        Site.create(number="S1", name="Acme Corp")
        message = enqueue("welcome", "dana@example.test", site_number="S1", **WELCOME)
        assert OutboxMessage.select().count() == 1  # it was there, inside
        assert message.id is not None
        raise Boom
    assert OutboxMessage.select().count() == 0
    assert Site.select().count() == 0


def test_enqueue_commits_with_the_change_as_a_due_pending_message(database):
    before = utcnow()
    with db.atomic():
        Site.create(number="S1", name="Acme Corp")
        enqueue(
            "request_denied",
            "dana@example.test",
            site_number="S1",
            site_name="Acme Corp",
            person_name="Dana",
            login_id="dana",
            reason="The requestor is unknown.",
            decided_by="Fox",
        )
    stored = OutboxMessage.get()
    assert (stored.kind, stored.status, stored.attempts, stored.site_number) == ("request_denied", "pending", 0, "S1")
    assert stored.recipient == "dana@example.test" and "denied" in stored.subject
    assert "The requestor is unknown." in stored.body
    assert before <= stored.next_attempt_at <= utcnow() and stored.sent_at is None


def test_enqueue_outside_a_transaction_is_refused(database):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        enqueue("welcome", "dana@example.test", site_number="S1", **WELCOME)
    assert OutboxMessage.select().count() == 0


def test_enqueue_refuses_what_is_not_an_address(database):
    for bad in ("", "dana", "dana@example.test\nBcc: x@y.test", "Dana <dana@example.test>"):
        with pytest.raises(ValueError, match="not an email address"), db.atomic():
            enqueue("welcome", bad, site_number="S1", **WELCOME)
    assert OutboxMessage.select().count() == 0


# --- Deliver ----------------------------------------------------------------------


def test_deliver_sends_each_pending_message_exactly_once(database, smtp):
    handler, port = smtp
    first = queue("dana@example.test", "S1")
    second = queue(
        "fox@example.test", "S2", kind="review_reminder", site_name="Basic Co", person_name="Fox", last_reviewed_at=None
    )
    now = utcnow()
    report = deliver("127.0.0.1", port, SENDER, now=now)
    assert (report.sent, report.failed, report.pending, report.smtp_error) == (2, 0, 0, None)
    assert handler.envelopes == [(SENDER, ["dana@example.test"]), (SENDER, ["fox@example.test"])]
    welcome_mail = handler.messages[0]
    assert welcome_mail["To"] == "dana@example.test" and welcome_mail["From"] == SENDER
    assert welcome_mail["Subject"] == row(first).subject and "Fox Mulder" in welcome_mail.get_content()
    assert welcome_mail["Message-ID"] == message_id(row(first), SENDER)
    assert welcome_mail["Message-ID"].startswith(f"<outbox.{first.id}.")
    assert welcome_mail["Auto-Submitted"] == "auto-generated"
    assert "review" in handler.messages[1]["Subject"].lower()
    for message in (first, second):
        assert (row(message).status, row(message).sent_at, row(message).attempts) == ("sent", now, 0)

    again = deliver("127.0.0.1", port, SENDER, now=now + timedelta(days=1))
    assert (again.sent, again.failed, again.pending) == (0, 0, 0)
    assert len(handler.messages) == 2


def test_deliver_with_nothing_due_does_not_touch_the_server(database, down_port):
    report = deliver("127.0.0.1", down_port, SENDER)
    assert (report.sent, report.failed, report.pending, report.smtp_error) == (0, 0, 0, None)


def test_deliver_respects_the_limit(database, smtp):
    handler, port = smtp
    for n in range(3):
        queue(f"p{n}@example.test")
    report = deliver("127.0.0.1", port, SENDER, limit=2)
    assert (report.sent, report.pending) == (2, 1) and len(handler.messages) == 2


def test_with_smtp_down_nothing_is_lost_and_a_later_run_sends_it_once(database, smtp, down_port):
    handler, port = smtp
    messages = [queue(f"p{n}@example.test") for n in range(3)]
    t0 = utcnow()
    report = deliver("127.0.0.1", down_port, SENDER, now=t0)
    assert (report.sent, report.failed, report.pending) == (0, 1, 3)
    assert f"127.0.0.1:{down_port} unavailable" in report.smtp_error
    tried, *untouched = [row(m) for m in messages]
    assert (tried.status, tried.attempts, tried.next_attempt_at) == ("pending", 1, t0 + backoff(1))
    assert "unavailable" in tried.last_error and "refused" in tried.last_error.lower()
    # The run stopped at the first connection failure: the others were not tried.
    assert all((m.status, m.attempts, m.last_error) == ("pending", 0, None) for m in untouched)

    later = deliver("127.0.0.1", port, SENDER, now=t0 + timedelta(hours=2))
    assert (later.sent, later.failed, later.pending) == (3, 0, 0)
    assert sorted(handler.message_ids()) == sorted(message_id(row(m), SENDER) for m in messages)
    assert deliver("127.0.0.1", port, SENDER, now=t0 + timedelta(hours=4)).sent == 0
    assert len(handler.messages) == 3


def test_backoff_is_respected_after_a_failure(database, smtp, down_port):
    handler, port = smtp
    message = queue()
    t0 = utcnow()
    deliver("127.0.0.1", down_port, SENDER, now=t0)
    deliver("127.0.0.1", down_port, SENDER, now=t0 + backoff(1))  # second failure: waits twice as long
    retry_at = t0 + backoff(1) + backoff(2)
    assert (row(message).attempts, row(message).next_attempt_at) == (2, retry_at)

    early = deliver("127.0.0.1", port, SENDER, now=retry_at - timedelta(seconds=1))
    assert (early.sent, early.pending) == (0, 1) and handler.messages == []
    due = deliver("127.0.0.1", port, SENDER, now=retry_at)
    assert due.sent == 1 and len(handler.messages) == 1
    assert row(message).status == "sent" and row(message).attempts == 2


def test_an_outage_never_gives_a_message_up(database, down_port):
    message = queue()
    OutboxMessage.update(attempts=MAX_ATTEMPTS + 5).where(OutboxMessage.id == message.id).execute()
    deliver("127.0.0.1", down_port, SENDER, now=utcnow())
    assert (row(message).status, row(message).attempts) == ("pending", MAX_ATTEMPTS + 6)


def test_a_refused_message_is_retried_then_failed_and_kept(database, smtp):
    handler, port = smtp
    handler.refused.add("gone@example.test")
    refused = queue("gone@example.test")
    accepted = queue("dana@example.test")
    now = utcnow()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = deliver("127.0.0.1", port, SENDER, now=now)
        stored = row(refused)
        assert stored.attempts == attempt and "550" in stored.last_error
        assert stored.status == ("failed" if attempt == MAX_ATTEMPTS else "pending")
        assert report.failed == 1 and report.smtp_error is None  # a refusal is not an outage
        now = stored.next_attempt_at
    # The refusal did not stop the first run: the other message went out, once.
    assert [to for _, to in handler.envelopes] == [["dana@example.test"]]
    assert row(accepted).status == "sent"

    later = deliver("127.0.0.1", port, SENDER, now=now + timedelta(days=30))
    assert (later.sent, later.failed, later.pending) == (0, 0, 0)
    assert row(refused).status == "failed" and row(refused).attempts == MAX_ATTEMPTS


def test_deliver_inside_a_transaction_is_refused(database, down_port):
    queue()
    with pytest.raises(RuntimeError, match="outside a transaction"), db.atomic():
        deliver("127.0.0.1", down_port, SENDER)
    assert row(OutboxMessage.get()).attempts == 0


def test_a_claimed_message_is_not_due_for_another_deliverer_until_its_lease_ends(database, smtp):
    """A deliverer that died after claiming must not lose the message: once the
    lease is over, it is due again."""
    from authz.accounts.notifications import _claim_next

    handler, port = smtp
    message = queue()
    now = utcnow()
    assert _claim_next(now).id == message.id  # ...and this deliverer dies here
    assert deliver("127.0.0.1", port, SENDER, now=now).sent == 0
    assert deliver("127.0.0.1", port, SENDER, now=now + CLAIM_LEASE).sent == 1
    assert len(handler.messages) == 1


def test_two_concurrent_deliverers_never_send_the_same_message(database):
    count = 12
    messages = [queue(f"p{n}@example.test") for n in range(count)]
    now = utcnow()
    handler = Rendezvous()
    reports, errors = [], []
    with smtp_server(handler) as port:
        start = threading.Barrier(2)

        def run():
            # Each thread gets its own peewee connection (connections are per thread).
            try:
                start.wait(timeout=10)
                reports.append(deliver("127.0.0.1", port, SENDER, now=now))
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.close()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert handler.met.is_set(), "both deliverers should have been sending at the same time"
    ids = handler.message_ids()
    assert len(ids) == count and len(set(ids)) == count
    assert sorted(ids) == sorted(message_id(row(m), SENDER) for m in messages)
    assert len(reports) == 2 and all(r.sent >= 1 for r in reports)  # both did part of the work
    assert sum(r.sent for r in reports) == count
    assert OutboxMessage.select().where(OutboxMessage.status == "sent").count() == count


def test_on_postgres_a_deliverer_skips_a_message_another_one_holds(postgres_database, smtp):
    """SKIP LOCKED: a row locked by another deliverer's claim is passed over, not
    waited for and not taken. (SQLite serialises claims with its write lock.)"""
    handler, port = smtp
    held, free = queue("held@example.test"), queue("free@example.test")
    reports = []
    with db.atomic():
        OutboxMessage.select().where(OutboxMessage.id == held.id).for_update().get()
        other = threading.Thread(target=lambda: (reports.append(deliver("127.0.0.1", port, SENDER)), db.close()))
        other.start()
        other.join(timeout=10)
        assert not other.is_alive(), "the deliverer waited for the locked message"
    assert reports[0].sent == 1 and [to for _, [to] in handler.envelopes] == ["free@example.test"]
    assert (row(held).status, row(held).attempts) == ("pending", 0)
    assert row(free).status == "sent"
    assert deliver("127.0.0.1", port, SENDER).sent == 1
    assert [to for _, [to] in handler.envelopes] == ["free@example.test", "held@example.test"]


# --- CLI --------------------------------------------------------------------------


@pytest.fixture
def cli(cli, monkeypatch):
    """The shared cli, sending from SENDER over SMTP on loopback; run(..., port=N) talks to port N."""
    monkeypatch.setenv("AUTHZ_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AUTHZ_MAIL_FROM", SENDER)

    def run(*argv, port: int | None = None):
        if port is not None:
            monkeypatch.setenv("AUTHZ_SMTP_PORT", str(port))
        return cli(*argv)

    return run


def test_cli_deliver_reports_counts_and_survives_smtp_down(cli, database, smtp, down_port):
    handler, port = smtp
    queue("dana@example.test", "S1")
    queue("fox@example.test", "S2")

    code, out, err = cli("notify", "deliver", port=down_port)
    assert code == 1 and out == "sent 0, failed 1, pending 2\n"  # non-zero, so cron alerts
    assert "unavailable" in err and "stay pending" in err

    code, out, _ = cli("notify", "list", "--status", "pending")
    lines = out.splitlines()
    assert lines[0].startswith("ID") and len(lines) == 3
    assert any("dana@example.test" in line and "refused" in line.lower() for line in lines[1:])

    OutboxMessage.update(next_attempt_at=utcnow()).execute()  # make the backed-off one due again
    code, out, _ = cli("notify", "deliver", "--limit", "1", port=port)
    assert code == 0 and out == "sent 1, failed 0, pending 1\n"
    code, out, _ = cli("notify", "deliver", port=port)
    assert code == 0 and out == "sent 1, failed 0, pending 0\n"
    assert sorted(to for _, [to] in handler.envelopes) == ["dana@example.test", "fox@example.test"]

    code, out, _ = cli("notify", "list", "--status", "sent")
    assert len(out.splitlines()) == 3 and all(" sent " in line for line in out.splitlines()[1:])
    code, out, _ = cli("notify", "list", "--status", "failed")
    assert out.splitlines()[1:] == []


def test_cli_usage_and_database_errors(cli, database, tmp_path, monkeypatch):
    with pytest.raises(SystemExit) as exit_:
        cli("notify", "deliver", "--limit", "0")
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        cli("notify", "list", "--status", "lost")
    assert exit_.value.code == 2

    monkeypatch.setenv("AUTHZ_SMTP_PORT", "0")
    code, _, err = cli("notify", "deliver")
    assert code == 2 and "AUTHZ_SMTP_PORT must be positive" in err

    monkeypatch.setenv("AUTHZ_SMTP_PORT", "25")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/never-migrated.db")
    code, out, err = cli("notify", "deliver")
    assert code == 3 and out == "" and "authz migrate" in err
