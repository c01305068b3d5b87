"""Audit commands: verify the hash chain, list the trail."""

from __future__ import annotations

import argparse

from authz.cli.common import service, table_header, table_line, whole_number
from authz.config import Settings

# Columns of `authz audit list`: header, width (None: the rest of the line).
_COLUMNS = (
    ("SEQ", 7),
    ("AT (UTC)", 20),
    ("SITE", 12),
    ("ACTOR", 28),
    ("ACTION", 22),
    ("TARGET", 28),
    ("OUTCOME", 8),
    ("DETAIL", None),
)


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the chain is intact, 1 when broken (saying what and where)."""
    report = service(settings).audit.verify()
    print(report)
    return 0 if report.ok else 1


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print records newest first, one per line, under a header."""
    records = service(settings).audit.records(args.site, args.limit, args.before)
    print(table_header(_COLUMNS))
    for r in records:
        print(
            table_line(
                _COLUMNS,
                [
                    str(r.seq),
                    r.at[:19].replace("T", " "),
                    r.site_number or "-",
                    r.actor,
                    r.action,
                    r.target or "-",
                    r.outcome,
                    r.detail or "",
                ],
            )
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(dest="audit_command", required=True)
    audit.add_parser("verify", help="check the hash chain (exit 0 intact, 1 broken)").set_defaults(run=cmd_verify)
    p = audit.add_parser("list", help="list audit records, newest first")
    p.add_argument("--site", help="only this site's records (default: every record)")
    p.add_argument("--limit", type=whole_number(1), default=50, help="at most this many (up to 500; default 50)")
    p.add_argument("--before", type=whole_number(1), metavar="SEQ", help="only records older than this seq (next page)")
    p.set_defaults(run=cmd_list)
