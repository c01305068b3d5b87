"""Notification commands: deliver the outbox over SMTP, list its messages.

Exit codes of `authz notify ...`:
  0  the command ran. For `deliver` this includes an unreachable SMTP server: that
     is expected from time to time and loses nothing (the messages stay pending and
     go out on a later run), so it is reported on stderr without failing a cron job
     or systemd timer that runs deliver every minute. Watch the pending count, or
     `notify list --status failed`, to alert.
  2  usage or configuration error (bad option, bad AUTHZ_SMTP_PORT).
  3  database error (unreachable, or the outbox table is missing: run `authz migrate`).
"""

from __future__ import annotations

import argparse
import sys

from authz.cli.common import open_db, table_header, table_line, timestamp, whole_number
from authz.config import Settings

DATABASE_ERROR = 3
# Columns of `authz notify list`: header, width (None: the rest of the line).
_COLUMNS = (("ID", 7), ("STATUS", 8), ("KIND", 16), ("SITE", 12), ("TRIES", 5),
            ("CREATED (UTC)", 19), ("NEXT/SENT (UTC)", 19), ("RECIPIENT", 32), ("LAST ERROR", None))


def cmd_deliver(args, settings: Settings) -> int:
    """Send due messages; print "sent X, failed Y, pending Z" on stdout."""
    from authz.accounts.notifications import deliver
    if not _open_outbox(settings):
        return DATABASE_ERROR
    report = deliver(settings.smtp_host, settings.smtp_port, settings.mail_from, limit=args.limit)
    print(f"sent {report.sent}, failed {report.failed}, pending {report.pending}")
    if report.smtp_error:
        print(f"authz: {report.smtp_error}; messages stay pending for the next run", file=sys.stderr)
    return 0


def cmd_list(args, settings: Settings) -> int:
    """Print messages newest first, one per line, under a header."""
    from models.outbox import OutboxMessage
    if not _open_outbox(settings):
        return DATABASE_ERROR
    query = OutboxMessage.select().order_by(OutboxMessage.id.desc()).limit(args.limit)
    if args.status:
        query = query.where(OutboxMessage.status == args.status)
    print(table_header(_COLUMNS))
    for message in query:
        when = message.sent_at if message.status == "sent" else (
            message.next_attempt_at if message.status == "pending" else None)
        print(table_line(_COLUMNS, [
            str(message.id), message.status, message.kind, message.site_number or "-",
            str(message.attempts), timestamp(message.created_at), timestamp(when), message.recipient,
            message.last_error or "",
        ]))
    return 0


def _open_outbox(settings: Settings) -> bool:
    """Bind the models and check the outbox table is there; say why on stderr if not."""
    from models.db import db
    open_db(settings)
    present = db.table_exists("outbox_message")
    if not present:
        print("authz: the outbox table does not exist; run `authz migrate`", file=sys.stderr)
    return present


def _guarded(command):
    """Turn a database error during COMMAND into exit 3 with a one-line message,
    rather than a traceback: it is the operator's problem, not a bug."""
    def run(args, settings: Settings) -> int:
        from peewee import PeeweeException
        try:
            return command(args, settings)
        except PeeweeException as exc:
            print(f"authz: database error: {exc}".rstrip(), file=sys.stderr)
            return DATABASE_ERROR
    return run


def register(sub) -> None:
    from models.outbox import STATUSES
    notify = sub.add_parser(
        "notify", help="notification outbox", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).add_subparsers(dest="notify_command", required=True)
    p = notify.add_parser("deliver", help="send due messages over SMTP (AUTHZ_SMTP_HOST, AUTHZ_SMTP_PORT)")
    p.add_argument("--limit", type=whole_number(1), default=100,
                   help="at most this many messages this run (default 100)")
    p.set_defaults(run=_guarded(cmd_deliver))
    p = notify.add_parser("list", help="list outbox messages, newest first")
    p.add_argument("--status", choices=STATUSES, help="only messages with this status (default: all)")
    p.add_argument("--limit", type=whole_number(1), default=50, help="at most this many (default 50)")
    p.set_defaults(run=_guarded(cmd_list))
