"""Contact commands: list a site's contacts, mark them reviewed, list (and
remind) the sites whose monthly review is overdue.

Without --as the command acts as an operator ("cli"), trusted with every action
and audited as such; with --as LOGIN it acts as that member of the site, and the
policy decides exactly as it does for the API."""

from __future__ import annotations

import argparse

from authz.config import Settings

_CONTACT_COLUMNS = (("ID", 6), ("NAME", 24), ("EMAIL", 30), ("TELEPHONE", 18), ("TYPES", None))
_OVERDUE_COLUMNS = (("SITE", 10), ("LAST REVIEWED (UTC)", 20), ("BY", 24), ("REMINDED (UTC)", 20),
                    ("PRIMARY", 28), ("NAME", None))


def _actor(args):
    from authz.admin import Actor
    return Actor.person(args.acting) if args.acting else Actor.operator("cli")


def _table(settings: Settings):
    from authz.engine import compile_policy
    from models.db import open_database
    open_database(settings.database_url)
    return compile_policy(settings.policy_dir)


def cmd_list(args, settings: Settings) -> int:
    from authz.contacts import list_contacts
    result = list_contacts(_table(settings), _actor(args), args.site)
    review = result["review"]
    when = review["last_reviewed_at"] or "never"
    by = f" by {review['last_reviewed_by']}" if review["last_reviewed_by"] else ""
    print(f"site {args.site}: {len(result['contacts'])} contact(s); last reviewed {when}{by}"
          f"{' (OVERDUE)' if review['overdue'] else ''}")
    if result["uncovered_types"]:
        print(f"no contact of type: {', '.join(result['uncovered_types'])}")
    print(_line(_CONTACT_COLUMNS, [h for h, _ in _CONTACT_COLUMNS]))
    for c in result["contacts"]:
        print(_line(_CONTACT_COLUMNS, [str(c["id"]), f"{c['first_name']} {c['last_name']}", c["email"],
                                       c["telephone"], ",".join(c["contact_types"])]))
    return 0


def cmd_review(args, settings: Settings) -> int:
    from authz.contacts import mark_reviewed
    result = mark_reviewed(_table(settings), _actor(args), args.site)
    print(f"site {result['site']}: {result['contacts']} contact(s) marked reviewed at "
          f"{result['reviewed_at']} by {result['reviewed_by']}")
    return 0


def cmd_overdue(args, settings: Settings) -> int:
    """List overdue sites; with --remind, queue their reminders (then deliver them
    with `authz notify deliver`)."""
    from authz.admin import Actor
    from authz.contacts import overdue_sites, send_review_reminders
    from models.db import open_database
    open_database(settings.database_url)
    sites = overdue_sites(args.days)
    print(_line(_OVERDUE_COLUMNS, [h for h, _ in _OVERDUE_COLUMNS]))
    for s in sites:
        print(_line(_OVERDUE_COLUMNS, [s["site"], s["last_reviewed_at"] or "never", s["last_reviewed_by"] or "-",
                                       s["last_reminded_at"] or "-", s["primary"] or "-", s["name"]]))
    print(f"{len(sites)} site(s) not reviewed in the last {args.days} days")
    if args.remind:
        result = send_review_reminders(Actor.operator("cli"), args.days)
        for r in result["reminded"]:
            print(f"reminded site {r['site']}: {r['recipient']}")
        for s in result["skipped"]:
            print(f"skipped site {s['site']}: {s['reason'].replace('_', ' ')}")
        print(f"queued {len(result['reminded'])} reminder(s), skipped {len(result['skipped'])}")
    return 0


def _line(columns, cells: list[str]) -> str:
    parts = [cell.ljust(width) if width else cell for cell, (_, width) in zip(cells, columns)]
    return " ".join(parts).rstrip()


def _days(text: str) -> int:
    from authz.contacts import MAX_DAYS
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_DAYS}, got {value}")
    return value


def register(sub) -> None:
    contacts = sub.add_parser(
        "contacts", help="site contacts and their monthly review", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).add_subparsers(dest="contacts_command", required=True)
    p = contacts.add_parser("list", help="list a site's contacts and when they were last reviewed")
    p.add_argument("--site", required=True)
    p.add_argument("--as", dest="acting", metavar="LOGIN", help="act as this member (default: an operator)")
    p.set_defaults(run=cmd_list)
    p = contacts.add_parser("review", help="mark a site's contacts reviewed now")
    p.add_argument("--site", required=True)
    p.add_argument("--as", dest="acting", metavar="LOGIN", help="act as this member (default: an operator)")
    p.set_defaults(run=cmd_review)
    p = contacts.add_parser("overdue", help="list sites whose contacts are overdue for review")
    p.add_argument("--days", type=_days, default=30, help="overdue after this many days (default 30)")
    p.add_argument("--remind", action="store_true",
                   help="queue a reminder to each overdue site's primary (at most one per site per 7 days)")
    p.set_defaults(run=cmd_overdue)
