"""Audit commands: verify the chain (against a checkpoint kept elsewhere), take a
checkpoint, list the trail."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from authz.cli.common import service, table_header, table_line, whole_number
from authz.config import Settings
from authz.errors import InvalidInput
from authz.printable import printable

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
    report = service(settings).audit.verify(_checkpoint(args.checkpoint))
    print(report)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    """Verify, then print the head as SEQ:HASH alone on stdout, for the operator
    to keep outside the database; broken: nothing on stdout, exit 1."""
    report = service(settings).audit.verify(_checkpoint(args.checkpoint))
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not report.ok or report.head is None:
        print(report, file=sys.stderr)
        return 1
    print(report.head)
    return 0


def _checkpoint(value: str | None) -> str | None:
    """The checkpoint an option names: SEQ:HASH itself, or a file whose last
    non-blank line is one (a file `authz audit checkpoint >> FILE` appends to)."""
    if value is None or not Path(value).is_file():
        return value
    try:
        lines = [line for line in Path(value).read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeError) as exc:
        raise InvalidInput(f"cannot read the checkpoint file {value!r} ({type(exc).__name__})") from None
    if not lines:
        raise InvalidInput(f"the checkpoint file {value!r} is empty")
    return lines[-1]


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print records newest first, one per line, under a header. Whatever a
    record holds, non-printable characters are shown escaped, so no record can
    break its line or forge another."""
    records = service(settings).audit.records(args.site, args.limit, args.before)
    print(table_header(_COLUMNS))
    for r in records:
        print(
            table_line(
                _COLUMNS,
                [
                    printable(cell)
                    for cell in (
                        str(r.seq),
                        r.at[:19].replace("T", " "),
                        r.site_number or "-",
                        r.actor,
                        r.action,
                        r.target or "-",
                        r.outcome,
                        r.detail or "",
                    )
                ],
            )
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(dest="audit_command", required=True)
    checkpoint_help = "SEQ:HASH from `authz audit checkpoint`, or a file whose last line is one"
    p = audit.add_parser("verify", help="check the chain (exit 0 intact, 1 broken)")
    p.add_argument("--checkpoint", help=f"the chain must still reach it unchanged: {checkpoint_help}")
    p.set_defaults(run=cmd_verify)
    p = audit.add_parser("checkpoint", help="verify, then print the head (SEQ:HASH) to keep outside the database")
    p.add_argument("--checkpoint", help=f"the previous one, held against the chain: {checkpoint_help}")
    p.set_defaults(run=cmd_checkpoint)
    p = audit.add_parser("list", help="list audit records, newest first")
    p.add_argument("--site", help="only this site's records (default: every record)")
    p.add_argument("--limit", type=whole_number(1), default=50, help="at most this many (up to 500; default 50)")
    p.add_argument("--before", type=whole_number(1), metavar="SEQ", help="only records older than this seq (next page)")
    p.set_defaults(run=cmd_list)
