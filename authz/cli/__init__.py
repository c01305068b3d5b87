"""`authz ...`: the command line for operators and policy authors.

A door like the HTTP API: every command goes through the service layer
(authz/service). Each module in COMMAND_MODULES adds its subcommands with
register(subparsers); a subcommand sets `run(args, settings) -> exit code`.

May import: authz.service, authz.contract, authz.config, authz.errors and
models.errors (to say a database failure in one line)."""

from __future__ import annotations

import argparse
import importlib
import sys

from authz.config import ConfigError, Settings
from authz.errors import DomainError
from models.errors import StorageError

COMMAND_MODULES = [
    "authz.cli.core",
    "authz.cli.policy",
    "authz.cli.notify",
    "authz.cli.audit",
    "authz.cli.requests",
    "authz.cli.contacts",
    "authz.cli.members",
]
DATABASE_ERROR = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="authz", description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args, Settings.from_env()))
    except (DomainError, ConfigError) as exc:
        print(f"authz: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:  # the operator's problem, not a bug: one line, no traceback
        print(f"authz: database error: {exc}", file=sys.stderr)
        return DATABASE_ERROR


if __name__ == "__main__":
    sys.exit(main())
