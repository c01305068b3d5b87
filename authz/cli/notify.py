"""Notification commands: deliver the outbox over SMTP, list its messages.

Exit codes of `authz notify ...`:
  0  the command ran; for `deliver`, every message tried was accepted (or none was due).
  1  `deliver` only: at least one message was not delivered this run (the server
     refused it, or could not be reached). Nothing is lost: it stays pending and
     is tried again by a later run (a message the server keeps refusing ends
     'failed'); the non-zero exit lets cron or a systemd timer alert.
  2  usage or configuration error (bad option, bad AUTHZ_SMTP_PORT).
  3  database error (unreachable, or the outbox table is missing: run `authz migrate`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from authz.cli.common import service, table_header, table_line, timestamp, whole_number
from authz.config import Settings

if TYPE_CHECKING:
    from authz.service import Service

DATABASE_ERROR = 3
# Columns of `authz notify list`: header, width (None: the rest of the line).
_COLUMNS = (
    ("ID", 7),
    ("STATUS", 8),
    ("KIND", 16),
    ("SITE", 12),
    ("TRIES", 5),
    ("CREATED (UTC)", 19),
    ("NEXT/SENT (UTC)", 19),
    ("RECIPIENT", 32),
    ("LAST ERROR", None),
)
STATUSES = ("pending", "sent", "failed")


def cmd_deliver(args: argparse.Namespace, settings: Settings) -> int:
    """Send due messages; print "sent X, failed Y, pending Z" on stdout."""
    svc = service(settings)
    if not _outbox_present(svc):
        return DATABASE_ERROR
    report = svc.outbox.deliver(args.limit)
    print(f"sent {report.sent}, failed {report.failed}, pending {report.pending}")
    if report.smtp_error:
        print(f"authz: {report.smtp_error}; messages stay pending for the next run", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print messages newest first, one per line, under a header."""
    svc = service(settings)
    if not _outbox_present(svc):
        return DATABASE_ERROR
    print(table_header(_COLUMNS))
    for m in svc.outbox.messages(args.status, args.limit):
        print(
            table_line(
                _COLUMNS,
                [
                    str(m.id),
                    m.status,
                    m.kind,
                    m.site_number or "-",
                    str(m.attempts),
                    timestamp(m.created_at),
                    timestamp(m.when),
                    m.recipient,
                    m.last_error or "",
                ],
            )
        )
    return 0


def _outbox_present(svc: Service) -> bool:
    """Whether the outbox table is there; says why on stderr if not."""
    present = svc.outbox.present()
    if not present:
        print("authz: the outbox table does not exist; run `authz migrate`", file=sys.stderr)
    return bool(present)


def register(sub: argparse._SubParsersAction) -> None:
    notify = sub.add_parser(
        "notify",
        help="notification outbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).add_subparsers(dest="notify_command", required=True)
    p = notify.add_parser("deliver", help="send due messages over SMTP (AUTHZ_SMTP_HOST, AUTHZ_SMTP_PORT)")
    p.add_argument(
        "--limit", type=whole_number(1), default=100, help="at most this many messages this run (default 100)"
    )
    p.set_defaults(run=cmd_deliver)
    p = notify.add_parser("list", help="list outbox messages, newest first")
    p.add_argument("--status", choices=STATUSES, help="only messages with this status (default: all)")
    p.add_argument("--limit", type=whole_number(1), default=50, help="at most this many (default 50)")
    p.set_defaults(run=cmd_list)
