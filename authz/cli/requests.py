"""Access-request commands: list a site's requests, file one for a person, grant
or deny one. Without --as the command acts as an operator ("cli"); with --as LOGIN
it acts as that person, checked by the policy like the API."""

from __future__ import annotations

import argparse
from typing import Any, get_args

from authz.cli.common import (
    acting,
    add_acting,
    cli_operator,
    level_pair,
    lowest_levels,
    raised_levels,
    service,
    table_header,
    table_line,
    whole_number,
)
from authz.config import Settings
from authz.contract.access_requests import DENY_REASON_TEXT, AccessRequest, RequestStatus
from authz.contract.common import AssignableRole
from authz.contract.parsing import convert

# Columns of `authz requests list`: header, width (None: the rest of the line).
_COLUMNS = (
    ("ID", 6),
    ("STATUS", 8),
    ("REQUESTED (UTC)", 20),
    ("LOGIN", 28),
    ("NAME", 24),
    ("EMAIL", 28),
    ("PHONE", 16),
    ("JUSTIFICATION / DECISION", None),
)
MAX_PAGE = 1000


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from authz.contract.access_requests import AccessRequestQuery

    query = convert({"status": args.status, "after": args.after or 0, "limit": args.limit}, AccessRequestQuery)
    page = service(settings).access_requests.page(acting(args), args.site, query)
    print(table_header(_COLUMNS))
    for r in page.requests:
        who = r.requester
        print(
            table_line(
                _COLUMNS,
                [
                    str(r.id),
                    r.status,
                    (r.requested_at or "")[:19].replace("T", " "),
                    who.login_id,
                    f"{who.first_name} {who.last_name}".strip() or "-",
                    who.email,
                    who.phone or "-",
                    _outcome(r),
                ],
            )
        )
    if not page.requests:
        which = "" if args.status == "all" else f"{args.status} "
        print(f"(no {which}access requests on site {args.site})")
    if page.next_after is not None:
        print(f"(more: --after {page.next_after})")
    return 0


def _outcome(r: AccessRequest) -> str:
    justification = r.business_justification or "(no justification)"
    if r.status == "granted":
        return f"{justification} -> granted {r.granted_role} by {r.decided_by}"
    if r.status == "denied":
        return f"{justification} -> denied by {r.decided_by}: {r.deny_reason_text}"
    return justification


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    from authz.contract.access_requests import AccessRequestInput

    body: dict[str, Any] = {"login_id": args.user}
    if args.justification is not None:
        body["business_justification"] = args.justification
    r = service(settings).access_requests.ask(cli_operator(), args.site, convert(body, AccessRequestInput))
    print(f"access request {r.id}: {r.requester.login_id} asks for access to site {args.site} (pending)")
    return 0


def cmd_grant(args: argparse.Namespace, settings: Settings) -> int:
    from authz.contract.access_requests import Grant

    body: dict[str, Any] = {"role": args.role, "levels": dict(args.level or [])}
    if args.justification is not None:
        body["business_justification"] = args.justification
    svc = service(settings)
    result = svc.access_requests.grant(acting(args), args.site, args.request_id, convert(body, Grant))
    member, r = result.member, result.request
    print(
        f"granted access request {r.id}: {member.login_id} is now a {member.role} of site {args.site} "
        f"({raised_levels(member.levels, lowest_levels(svc))}); change {result.change_seq}; "
        "they will be notified"
    )
    return 0


def cmd_deny(args: argparse.Namespace, settings: Settings) -> int:
    from authz.contract.access_requests import Denial

    denial = convert({"reason": args.reason}, Denial)
    r = service(settings).access_requests.deny(acting(args), args.site, args.request_id, denial)
    print(
        f"denied access request {r.id} of {r.requester.login_id} on site {args.site}: "
        f"{r.deny_reason_text}; they will be notified"
    )
    return 0


def _request_id(text: str) -> int:
    """An access request's id: a positive whole number."""
    if not (text.isascii() and text.isdigit() and len(text) <= 18 and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"not a request id (a positive whole number): {text!r}")
    return int(text)


def register(sub: argparse._SubParsersAction) -> None:
    requests = sub.add_parser("requests", help="access requests: list, create, grant, deny").add_subparsers(
        dest="requests_command", required=True
    )

    p = requests.add_parser("list", help="list a site's access requests with the requesters' details")
    p.add_argument("--site", required=True)
    p.add_argument("--status", choices=(*get_args(RequestStatus), "all"), default="pending", help="default: pending")
    p.add_argument(
        "--limit", type=whole_number(1, MAX_PAGE), default=100, help=f"at most this many (1..{MAX_PAGE}; default 100)"
    )
    p.add_argument("--after", type=whole_number(0), metavar="ID", help="only requests after this id (next page)")
    add_acting(p)
    p.set_defaults(run=cmd_list)

    p = requests.add_parser("create", help="file an access request for a known person")
    p.add_argument("--site", required=True)
    p.add_argument("--user", required=True, metavar="LOGIN", help="the person asking")
    p.add_argument("--justification", help="the business justification (optional)")
    p.set_defaults(run=cmd_create)

    p = requests.add_parser("grant", help="grant a pending request: the person becomes a member")
    p.add_argument("--site", required=True)
    p.add_argument("request_id", metavar="ID", type=_request_id)
    p.add_argument("--role", required=True, choices=get_args(AssignableRole))
    p.add_argument(
        "--level",
        type=level_pair,
        action="append",
        metavar="APP=LEVEL",
        help="a level to grant (repeat; unnamed applications get the lowest)",
    )
    p.add_argument("--justification", help="required when the request gave none")
    add_acting(p)
    p.set_defaults(run=cmd_grant)

    p = requests.add_parser("deny", help="deny a pending request with one reason")
    p.add_argument("--site", required=True)
    p.add_argument("request_id", metavar="ID", type=_request_id)
    p.add_argument(
        "--reason",
        required=True,
        choices=list(DENY_REASON_TEXT),
        help="; ".join(f"{key}: {words}" for key, words in DENY_REASON_TEXT.items()),
    )
    add_acting(p)
    p.set_defaults(run=cmd_deny)
