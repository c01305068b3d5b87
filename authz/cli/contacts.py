"""Contact commands: list a site's contacts, mark them reviewed, list (and
remind) the sites whose monthly review is overdue.

Without --as the command acts as an operator ("cli"), trusted with every action
and audited as such; with --as LOGIN it acts as that member of the site, and the
policy decides exactly as it does for the API."""

from __future__ import annotations

import argparse

from authz.cli.common import acting, add_acting, cli_operator, service, table_header, table_line, whole_number
from authz.config import Settings

_CONTACT_COLUMNS = (("ID", 6), ("NAME", 24), ("EMAIL", 30), ("TELEPHONE", 18), ("TYPES", None))
_OVERDUE_COLUMNS = (
    ("SITE", 10),
    ("LAST REVIEWED (UTC)", 20),
    ("BY", 24),
    ("REMINDED (UTC)", 20),
    ("PRIMARY", 28),
    ("NAME", None),
)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    result = service(settings).contacts.of_site(acting(args), args.site)
    review = result.review
    when = review.last_reviewed_at or "never"
    by = f" by {review.last_reviewed_by}" if review.last_reviewed_by else ""
    print(
        f"site {args.site}: {len(result.contacts)} contact(s); last reviewed {when}{by}"
        f"{' (OVERDUE)' if review.overdue else ''}"
    )
    if result.uncovered_types:
        print(f"no contact of type: {', '.join(result.uncovered_types)}")
    print(table_header(_CONTACT_COLUMNS))
    for c in result.contacts:
        print(
            table_line(
                _CONTACT_COLUMNS,
                [str(c.id), f"{c.first_name} {c.last_name}", c.email, c.telephone, ",".join(c.contact_types)],
            )
        )
    return 0


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    result = service(settings).contacts.mark_reviewed(acting(args), args.site)
    print(
        f"site {result.site}: {result.contacts} contact(s) marked reviewed at "
        f"{result.reviewed_at} by {result.reviewed_by}"
    )
    return 0


def cmd_overdue(args: argparse.Namespace, settings: Settings) -> int:
    """List overdue sites; with --remind, queue their reminders (then deliver them
    with `authz notify deliver`)."""
    from authz.contract.contacts import OverdueQuery
    from authz.contract.parsing import convert

    days = convert({"days": args.days}, OverdueQuery, field="--days").days
    svc = service(settings)
    sites = svc.contacts.overdue(days).sites
    print(table_header(_OVERDUE_COLUMNS))
    for s in sites:
        print(
            table_line(
                _OVERDUE_COLUMNS,
                [
                    s.site,
                    s.last_reviewed_at or "never",
                    s.last_reviewed_by or "-",
                    s.last_reminded_at or "-",
                    s.primary or "-",
                    s.name,
                ],
            )
        )
    print(f"{len(sites)} site(s) not reviewed in the last {days} days")
    if args.remind:
        result = svc.contacts.send_reminders(cli_operator(), days)
        for r in result.reminded:
            print(f"reminded site {r.site}: {r.recipient}")
        for skipped in result.skipped:
            print(f"skipped site {skipped.site}: {skipped.reason.replace('_', ' ')}")
        print(f"queued {len(result.reminded)} reminder(s), skipped {len(result.skipped)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    acting_help = "act as this member (default: an operator)"
    contacts = sub.add_parser(
        "contacts",
        help="site contacts and their monthly review",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).add_subparsers(dest="contacts_command", required=True)
    p = contacts.add_parser("list", help="list a site's contacts and when they were last reviewed")
    p.add_argument("--site", required=True)
    add_acting(p, acting_help)
    p.set_defaults(run=cmd_list)
    p = contacts.add_parser("review", help="mark a site's contacts reviewed now")
    p.add_argument("--site", required=True)
    add_acting(p, acting_help)
    p.set_defaults(run=cmd_review)
    p = contacts.add_parser("overdue", help="list sites whose contacts are overdue for review")
    p.add_argument("--days", type=whole_number(1), default=30, help="overdue after this many days (default 30)")
    p.add_argument(
        "--remind",
        action="store_true",
        help="queue a reminder to each overdue site's primary (at most one per site per 7 days)",
    )
    p.set_defaults(run=cmd_overdue)
