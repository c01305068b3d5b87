"""What the command modules share: opening the database and the policy, who a
command acts as, argument types, and the lines of a listing.

Imports of the models and the engine stay inside the functions, as in the
command modules."""

from __future__ import annotations

import argparse

from authz.config import Settings

ACTING_HELP = "act as this person, checked by the policy (default: as an operator)"


# -- the database and the policy ---------------------------------------------

def open_db(settings: Settings) -> None:
    """Bind the models to the configured database (settings.database_url)."""
    from models.db import open_database
    open_database(settings.database_url)


def open_policy(settings: Settings):
    """Open the database, then return the compiled policy (the decision table)."""
    from authz.engine.compiler import compile_policy
    open_db(settings)
    return compile_policy(settings.policy_dir)


# -- who acts ------------------------------------------------------------------

def add_acting(parser: argparse.ArgumentParser, help: str = ACTING_HELP) -> None:
    """Give a subcommand the --as LOGIN option that acting(args) reads."""
    parser.add_argument("--as", dest="acting", metavar="LOGIN", help=help)


def cli_operator():
    """The Actor of a command run without --as: the operator, audited as ACTOR_CLI."""
    from authz.accounts.authority import Actor
    from authz.audit.trail import ACTOR_CLI
    return Actor.operator(ACTOR_CLI)


def acting(args):
    """The Actor of a command: the person named by --as LOGIN, else the CLI operator."""
    from authz.accounts.authority import Actor
    login = getattr(args, "acting", None)  # a command without --as acts as the operator
    if login is None:
        return cli_operator()
    # An empty --as (say, an unset variable in a script) is refused, never taken as the operator.
    return Actor.person(login)


# -- argument types ------------------------------------------------------------

def whole_number(minimum: int, maximum: int | None = None, *, complaint: str | None = None):
    """An argparse type for a whole number from MINIMUM to MAXIMUM (None: no upper bound)."""
    # COMPLAINT, if given, is the one message for any bad value: a format string of text=.
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                complaint.format(text=text) if complaint else f"not a whole number: {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            if complaint:
                raise argparse.ArgumentTypeError(complaint.format(text=text))
            if maximum is None:
                raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
            raise argparse.ArgumentTypeError(f"must be from {minimum} to {maximum}, got {value}")
        return value
    return parse


def level_pair(text: str) -> tuple[str, str]:
    """An argparse type for APP=LEVEL: the (application, level) pair, spaces stripped."""
    app, sep, level = text.partition("=")
    if not sep or not app.strip() or not level.strip():
        raise argparse.ArgumentTypeError(f"expected APP=LEVEL, got {text!r}")
    return app.strip(), level.strip()


# -- listings ------------------------------------------------------------------

def table_line(columns, cells: list[str]) -> str:
    """One line of a listing: cell i padded to the width of columns[i] (header, width; None: the rest)."""
    # A value wider than its column pushes the rest right rather than being cut:
    # a listing must never hide part of a login, an actor or a target.
    parts = [cell.ljust(width) if width else cell for cell, (_, width) in zip(cells, columns)]
    return " ".join(parts).rstrip()


def table_header(columns) -> str:
    """The header line of a listing with these columns."""
    return table_line(columns, [header for header, _ in columns])


def timestamp(value) -> str:
    """A datetime as YYYY-MM-DD HH:MM:SS, or "-" for none."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def raised_levels(table, levels: dict[str, str]) -> str:
    """The levels above each application's lowest, as "app=level, ...", or "no application privileges"."""
    shown = [f"{app}={level}" for app, level in levels.items() if level != table.lowest_level(app)]
    return ", ".join(shown) or "no application privileges"
