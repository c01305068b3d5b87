"""Site and member commands for operators: list and create sites, transfer the
primary role, list, add, update and remove members, export a site's user list.

Without --as a command acts as an operator ("cli"): trusted with every action,
still bound by the rules that protect a site (one primary, at most four
secondaries, a user never holds account management...). With --as LOGIN it acts
as that person, every action checked by the policy exactly as through the API.
Every change and every refusal is audited."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO, get_args

from authz.cli.common import (
    acting,
    add_acting,
    level_pair,
    lowest_levels,
    raised_levels,
    service,
    table_header,
    table_line,
)
from authz.config import Settings
from authz.contract.common import AssignableRole, Role
from authz.contract.parsing import convert
from authz.errors import InvalidInput

# Columns of `authz sites list` and `authz members list`: header, width (None: the rest).
_SITE_COLUMNS = (("SITE", 12), ("PRIMARY", 32), ("SECONDARIES", 11), ("USERS", 6), ("NAME", None))
_MEMBER_COLUMNS = (("LOGIN", 32), ("ROLE", 9), ("EMAIL", 32), ("NAME", 24), ("LEVELS", None))
_PAGE = 1000  # members read per page by `members list`
ROLES = get_args(Role)
ASSIGNABLE_ROLES = get_args(AssignableRole)


def _levels(pairs: list[tuple[str, str]] | None) -> dict[str, str] | None:
    """--level APP=LEVEL pairs as a mapping; naming one application twice is an error."""
    if not pairs:
        return None
    levels: dict[str, str] = {}
    for app, level in pairs:
        if levels.get(app, level) != level:
            raise InvalidInput(f"--level names '{app}' twice ({levels[app]} and {level})", field=f"levels.{app}")
        levels[app] = level
    return levels


def _secondary_warning(site: str, secondaries: int) -> None:
    if secondaries == 0:
        print(f"warning: site {site} has no secondary contact; the primary should name at least one", file=sys.stderr)


def _given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The options among NAMES that were given on the command line."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


# -- sites -------------------------------------------------------------------


def cmd_sites_list(args: argparse.Namespace, settings: Settings) -> int:
    listed = service(settings).sites.all().sites
    print(table_header(_SITE_COLUMNS))
    for site in listed:
        print(
            table_line(
                _SITE_COLUMNS, [site.number, site.primary or "-", str(site.secondaries), str(site.users), site.name]
            )
        )
    for site in listed:
        _secondary_warning(site.number, site.secondaries)
        if site.needs_new_primary:
            print(
                f"warning: site {site.number} needs a new primary: {site.primary} is an inactive identity "
                f"(authz sites transfer-primary {site.number} --to LOGIN)",
                file=sys.stderr,
            )
    if not listed:
        print("(no sites)")
    return 0


def cmd_sites_create(args: argparse.Namespace, settings: Settings) -> int:
    from authz.contract.members import NewSite

    primary = {"login_id": args.primary, "email": args.email, **_given(args, "first_name", "last_name", "phone")}
    new = convert({"number": args.number, "name": args.name, "primary": primary}, NewSite)
    site = service(settings).sites.create(acting(args), new)
    print(f"created site {site.number} ({site.name}) with primary contact {site.primary}; change {site.change_seq}")
    _secondary_warning(site.number, 0)
    return 0


def cmd_sites_transfer(args: argparse.Namespace, settings: Settings) -> int:
    from authz.contract.members import PrimaryTransfer

    transfer = convert({"to": args.to, "former_primary_role": args.former_role}, PrimaryTransfer)
    result = service(settings).sites.transfer_primary(acting(args), args.site, transfer)
    print(
        f"site {result.site}: {result.primary} is now the primary contact; "
        f"{result.former_primary} is now a {result.former_primary_role}; change {result.change_seq}"
    )
    return 0


# -- members -----------------------------------------------------------------


def cmd_members_list(args: argparse.Namespace, settings: Settings) -> int:
    from authz.contract.members import MemberQuery

    svc = service(settings)
    lowest = lowest_levels(svc)
    actor = acting(args)
    print(table_header(_MEMBER_COLUMNS))
    after, shown, secondaries = "", 0, 0
    while True:
        query = convert({"role": args.role, "q": args.search, "after": after, "limit": _PAGE}, MemberQuery)
        page = svc.members.page(actor, args.site, query)
        for m in page.members:
            name = f"{m.first_name} {m.last_name}".strip() or "-"
            levels = "all, at the highest level" if m.role == "primary" else raised_levels(m.levels, lowest)
            print(table_line(_MEMBER_COLUMNS, [m.login_id, m.role, m.email, name, levels]))
            shown += 1
            secondaries += m.role == "secondary"
        if page.next_after is None:
            break
        after = page.next_after
    if not shown:
        print(f"(no members on site {args.site} match)")
    if args.role is None and args.search is None:
        _secondary_warning(args.site, secondaries)
    return 0


def cmd_members_add(args: argparse.Namespace, settings: Settings) -> int:
    from authz.contract.members import NewMember

    body: dict[str, Any] = {
        "login_id": args.user,
        "email": args.email,
        "business_justification": args.justification,
        "role": args.role,
    }
    levels = _levels(args.level)
    if levels is not None:
        body["levels"] = levels
    svc = service(settings)
    member = svc.members.add(acting(args), args.site, convert(body, NewMember))
    print(
        f"added {member.login_id} to site {args.site} as {member.role} "
        f"({raised_levels(member.levels, lowest_levels(svc))}); change {member.change_seq}; "
        "a welcome message is queued"
    )
    return 0


def cmd_members_update(args: argparse.Namespace, settings: Settings) -> int:
    from authz.contract.members import MemberChange

    body = _given(args, "email", "first_name", "last_name", "phone", "role")
    levels = _levels(args.level)
    if levels is not None:
        body["levels"] = levels
    if not body:
        raise InvalidInput("nothing to change: give --role, --level, --email, --first-name, --last-name or --phone")
    svc = service(settings)
    member = svc.members.update(acting(args), args.site, args.user, convert(body, MemberChange))
    print(
        f"updated {member.login_id} on site {args.site}: {member.role} "
        f"({raised_levels(member.levels, lowest_levels(svc))}); change {member.change_seq}"
    )
    return 0


def cmd_members_remove(args: argparse.Namespace, settings: Settings) -> int:
    result = service(settings).members.remove(acting(args), args.site, args.user)
    print(f"removed {result.removed} from site {args.site}; change {result.change_seq}")
    return 0


# -- export ------------------------------------------------------------------


def cmd_export_users(args: argparse.Namespace, settings: Settings) -> int:
    """The site's user list as CSV on stdout: the very bytes the API serves."""
    chunks = service(settings).members.export_csv(acting(args), args.site)  # authorized now
    sys.stdout.flush()
    out = sys.stdout.buffer
    for chunk in chunks:
        out.write(chunk)
    out.flush()
    return 0


def cmd_export_memberships(args: argparse.Namespace, settings: Settings) -> int:
    """Memberships in the formats `authz import` reads, streamed to stdout or --output."""
    chunks = service(settings).data.export_memberships(args.site, args.format)  # audited now
    if args.output is None:
        sys.stdout.flush()
        _write(chunks, sys.stdout.buffer)
    else:
        with open(args.output, "wb") as out:
            _write(chunks, out)
    return 0


def _write(chunks: Iterator[bytes], out: BinaryIO) -> None:
    for chunk in chunks:
        out.write(chunk)
    out.flush()


# -- arguments ---------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    def levels(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--level",
            type=level_pair,
            action="extend",
            nargs="+",
            metavar="APP=LEVEL",
            help="a level per application (several after one --level, or repeat --level)",
        )

    sites = sub.add_parser("sites", help="sites: list, create, transfer the primary role").add_subparsers(
        dest="sites_command", required=True
    )
    sites.add_parser("list", help="list every site with its primary contact").set_defaults(run=cmd_sites_list)
    p = sites.add_parser("create", help="create a site with its primary contact (an existing or a new identity)")
    p.add_argument("number")
    p.add_argument("--name", required=True)
    p.add_argument("--primary", required=True, metavar="LOGIN", help="the primary contact's login id")
    p.add_argument("--email", required=True, help="the primary contact's email (for a new identity)")
    p.add_argument("--first-name", dest="first_name")
    p.add_argument("--last-name", dest="last_name")
    p.add_argument("--phone")
    p.set_defaults(run=cmd_sites_create)
    p = sites.add_parser("transfer-primary", help="make another member the primary contact, in one transaction")
    p.add_argument("site")
    p.add_argument("--to", required=True, metavar="LOGIN", help="a member of the site")
    p.add_argument(
        "--former-role",
        dest="former_role",
        choices=ASSIGNABLE_ROLES,
        default="secondary",
        help="what the former primary becomes (default: secondary, with the highest levels)",
    )
    p.set_defaults(run=cmd_sites_transfer)

    members = sub.add_parser("members", help="a site's members: list, add, update, remove").add_subparsers(
        dest="members_command", required=True
    )
    p = members.add_parser("list", help="list a site's members with their roles and levels")
    p.add_argument("--site", required=True)
    p.add_argument("--role", choices=ROLES, help="only members in this role")
    p.add_argument("--search", metavar="TEXT", help="only members whose login, name or email contains TEXT")
    add_acting(p)
    p.set_defaults(run=cmd_members_list)

    p = members.add_parser("add", help="add a known identity to a site; they get a welcome message")
    p.add_argument("--site", required=True)
    p.add_argument("--user", required=True, metavar="LOGIN", help="a known identity's login id")
    p.add_argument("--email", required=True, help="must be that identity's email")
    p.add_argument("--justification", required=True, help="the business justification")
    p.add_argument("--role", required=True, choices=ASSIGNABLE_ROLES)
    levels(p)
    add_acting(p)
    p.set_defaults(run=cmd_members_add)

    p = members.add_parser("update", help="change a member's role, levels or details (all of it, or none)")
    p.add_argument("--site", required=True)
    p.add_argument("--user", required=True, metavar="LOGIN")
    p.add_argument("--role", choices=ASSIGNABLE_ROLES)
    levels(p)
    p.add_argument("--email")
    p.add_argument("--first-name", dest="first_name")
    p.add_argument("--last-name", dest="last_name")
    p.add_argument("--phone")
    add_acting(p)
    p.set_defaults(run=cmd_members_update)

    p = members.add_parser("remove", help="remove a member from a site (never the primary contact)")
    p.add_argument("--site", required=True)
    p.add_argument("--user", required=True, metavar="LOGIN")
    add_acting(p)
    p.set_defaults(run=cmd_members_remove)

    export = sub.add_parser("export", help="exports").add_subparsers(dest="export_command", required=True)
    p = export.add_parser("users", help="a site's user list as spreadsheet-safe CSV on stdout (as the API serves it)")
    p.add_argument("--site", required=True)
    add_acting(p)
    p.set_defaults(run=cmd_export_users)
    p = export.add_parser(
        "memberships", help="memberships of one site or of every site, as `authz import` reads them (streamed)"
    )
    p.add_argument("--site", help="only this site (default: every site)")
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE (default: stdout)")
    p.set_defaults(run=cmd_export_memberships)
