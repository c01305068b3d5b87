"""Core commands: serve, migrate, import, demo, check, keys."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from authz.cli.common import service, timestamp, whole_number
from authz.config import PROJECT_ROOT, Settings
from authz.errors import InvalidInput

# Overridable for installs where the package does not sit beside deploy/ (a wheel).
DEMO_DATA = Path(os.environ.get("AUTHZ_DEMO_DATA", PROJECT_ROOT / "deploy" / "demo-data.yaml"))
GUNICORN_CONF = Path(os.environ.get("AUTHZ_GUNICORN_CONF", PROJECT_ROOT / "deploy" / "gunicorn.conf.py"))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)])


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from authz.service.schema import migrate

    done = migrate(settings, args.to)
    print("\n".join(done) if done else "schema is up to date")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """YAML through the original importer; CSV and JSON lines in bulk, with progress on stderr."""
    from authz.cli.progress import ImportMeter
    from authz.contract.bulk import SUFFIXES

    fmt = args.format or SUFFIXES.get(args.file.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"cannot tell the format of {args.file} from its name: give --format", field="--format")
    if fmt == "yaml":
        counts = service(settings).data.import_file(args.file)
        print(f"imported {counts['sites']} sites, {counts['people']} people, {counts['memberships']} memberships")
        return 0
    report = service(settings).data.import_bulk(
        args.file, fmt, progress=ImportMeter(args.file.name), batch_rows=args.batch_rows
    )
    print(
        f"imported {report.rows:,} memberships ({report.memberships_created:,} new, "
        f"{report.memberships_updated:,} updated); {report.sites_created:,} sites and "
        f"{report.people_created:,} people created, {report.people_updated:,} people updated; "
        f"change {report.change_seq}"
    )
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Load the demo data on first run; issue a fresh demo key every run."""
    svc = service(settings)
    if svc.data.load_demo(DEMO_DATA):
        print(f"loaded demo data from {DEMO_DATA}")
    for key in svc.callers.list_keys():
        if key.name == "demo" and key.revoked_at is None:
            svc.callers.revoke_key(key.key_id)
    plaintext, _ = svc.callers.create_key("demo", "check")
    print(f"\nDemo API key (scope 'check'; a new one each run):\n\n    export AUTHZ_KEY={plaintext}\n")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    import msgspec

    from authz.contract.checks import CheckRequest
    from authz.contract.parsing import convert, encode

    request = convert({"user": args.user, "site": args.site, "action": args.action}, CheckRequest)
    decision = service(settings).decisions.check(request)
    print(msgspec.json.format(encode(decision), indent=2).decode())
    return 0 if decision.allowed else 1


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    plaintext, _ = service(settings).callers.create_key(args.name, args.scope)
    print(plaintext)
    return 0


def cmd_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    print(f"{'KEY ID':14} {'SCOPE':9} {'CREATED':20} {'REVOKED':20} NAME")
    for key in service(settings).callers.list_keys():
        print(f"{key.key_id:14} {key.scope:9} {timestamp(key.created_at):20} {timestamp(key.revoked_at):20} {key.name}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    service(settings).callers.revoke_key(args.key_id)
    print(f"revoked {args.key_id}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from authz.contract.actors import KEY_SCOPES

    sub.add_parser("serve", help="run the HTTP service under gunicorn").set_defaults(run=cmd_serve)
    p = sub.add_parser("migrate", help="bring the database schema up (or down) to a version")
    p.add_argument("--to", help="target version, e.g. 0000 to undo everything (default: latest)")
    p.set_defaults(run=cmd_migrate)
    p = sub.add_parser(
        "import", help="load memberships from CSV or JSON lines (in bulk), or sites, people and memberships from YAML"
    )
    p.add_argument("file", type=Path)
    p.add_argument("--format", choices=("csv", "jsonl", "yaml"), help="default: from the file name's ending")
    p.add_argument(
        "--batch-rows",
        dest="batch_rows",
        type=whole_number(1),
        default=5000,
        help="rows sent to the database at once (CSV, JSON lines; default 5000)",
    )
    p.set_defaults(run=cmd_import)
    sub.add_parser("demo", help="load the demo data if the database is empty; print a fresh demo key").set_defaults(
        run=cmd_demo
    )
    p = sub.add_parser("check", help="decide one check locally (exit 0 allowed, 1 denied)")
    p.add_argument("user")
    p.add_argument("site")
    p.add_argument("action")
    p.set_defaults(run=cmd_check)

    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="keys_command", required=True)
    p = keys.add_parser("create", help="create a key; prints the key alone on stdout")
    p.add_argument("--name", required=True)
    p.add_argument("--scope", required=True, choices=sorted(KEY_SCOPES))
    p.set_defaults(run=cmd_keys_create)
    keys.add_parser("list", help="list keys (never their secrets)").set_defaults(run=cmd_keys_list)
    p = keys.add_parser("revoke", help="revoke a key by its id")
    p.add_argument("key_id")
    p.set_defaults(run=cmd_keys_revoke)
