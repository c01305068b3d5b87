"""What the command modules share: the service a command acts through, who it
acts as, argument types, and the lines of a listing.

Every command goes through the service layer (authz/service), as the HTTP API
does. Imports of the service stay inside the functions, so `authz --help` and
the policy commands start without a database."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from authz.config import Settings
from authz.contract.actors import CLI_OPERATOR, Actor

if TYPE_CHECKING:
    from authz.service import Service

ACTING_HELP = "act as this person, checked by the policy (default: as an operator)"


def service(settings: Settings) -> Service:
    """The service of a command: the configured database, the policy accepted once."""
    from authz.service import Service

    return Service.open(settings)


# -- who acts ------------------------------------------------------------------


def add_acting(parser: argparse.ArgumentParser, help: str = ACTING_HELP) -> None:
    """Give a subcommand the --as LOGIN option that acting(args) reads."""
    parser.add_argument("--as", dest="acting", metavar="LOGIN", help=help)


def cli_operator() -> Actor:
    """The Actor of a command run without --as: the operator, audited as "cli"."""
    return CLI_OPERATOR


def acting(args: argparse.Namespace) -> Actor:
    """The Actor of a command: the person named by --as LOGIN, else the CLI operator."""
    login = getattr(args, "acting", None)  # a command without --as acts as the operator
    if login is None:
        return cli_operator()
    # An empty --as (say, an unset variable in a script) is refused, never taken as the operator.
    return Actor.person(login, field="--as")


# -- argument types ------------------------------------------------------------


def whole_number(minimum: int, maximum: int | None = None, *, complaint: str | None = None) -> Any:
    """An argparse type for a whole number from MINIMUM to MAXIMUM (None: no upper bound)."""

    # COMPLAINT, if given, is the one message for any bad value: a format string of text=.
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                complaint.format(text=text) if complaint else f"not a whole number: {text!r}"
            ) from None
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

Columns = tuple[tuple[str, int | None], ...]


def table_line(columns: Columns, cells: list[str]) -> str:
    """One line of a listing: cell i padded to the width of columns[i] (header, width; None: the rest)."""
    # A value wider than its column pushes the rest right rather than being cut:
    # a listing must never hide part of a login, an actor or a target.
    parts = [cell.ljust(width) if width else cell for cell, (_, width) in zip(cells, columns, strict=False)]
    return " ".join(parts).rstrip()


def table_header(columns: Columns) -> str:
    """The header line of a listing with these columns."""
    return table_line(columns, [header for header, _ in columns])


def timestamp(value: Any) -> str:
    """A datetime as YYYY-MM-DD HH:MM:SS, or "-" for none."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def lowest_levels(svc: Service) -> dict[str, str]:
    """Each application's lowest level, in the policy in force."""
    return {app.id: app.levels[0].id for app in svc.policy.describe().applications}


def raised_levels(levels: dict[str, str], lowest: dict[str, str]) -> str:
    """The levels above each application's lowest (LOWEST), as "app=level, ...", or
    "no application privileges"."""
    shown = [f"{app}={level}" for app, level in levels.items() if level != lowest.get(app)]
    return ", ".join(shown) or "no application privileges"
