"""The policy toolchain: `authz policy validate|test|diff`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from authz.cli.common import whole_number
from authz.config import Settings
from authz.errors import PolicyInvalid, Problem

if TYPE_CHECKING:
    from authz.service.authoring import AuthoringService


def _authoring() -> AuthoringService:
    from authz.service.authoring import AuthoringService

    return AuthoringService()


def _where(directory: Path, problem: Problem) -> str:
    """PROBLEM as `DIR/file:line: message` (or `DIR/file: message` where no line exists)."""
    place = Path(directory) / problem.source
    return f"{place}:{problem.line}: {problem.message}" if problem.line else f"{place}: {problem.message}"


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 for a policy the service would accept (it compiles, its suites pass and
    exercise every rule); otherwise 1, every problem as file:line: message."""
    directory = args.dir or settings.policy_dir
    try:
        table, report = _authoring().validate(directory)
    except PolicyInvalid as exc:
        for problem in exc.problems:
            print(_where(directory, problem))
        print(f"{len(exc.problems)} problem(s) found")
        return 1
    print(report.summary())
    print(f"policy {table.version} is valid")
    return 0


def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    """Run the suites in DIR/tests. Exit 0 if every expectation holds and rule coverage
    is at least --min-coverage; 1 otherwise; 2 if the policy or a suite is invalid."""
    directory = Path(args.dir or settings.policy_dir)
    try:
        report = _authoring().test(directory)
    except PolicyInvalid as exc:
        for problem in exc.problems:
            print(_where(directory, problem))
        print(f"{len(exc.problems)} problem(s) found; no test was run")
        return 2
    for failure in report.failures:
        print(_where(directory, failure))
    for rule in report.uncovered:
        print(f"not covered: {directory / rule.source}: {rule.text}")
    print(report.summary())
    if report.coverage < args.min_coverage:
        print(f"rule coverage {report.coverage:.1f}% is below the required {args.min_coverage:g}%")
        return 1
    return 0 if report.passed else 1


def cmd_diff(args: argparse.Namespace, settings: Settings) -> int:
    """Semantic diff of two policies, and the members it touches. Like diff(1):
    exit 0 if both decide alike, 1 if they differ, 2 on error (a side that is not
    a directory or git revision, a side that does not compile, no database)."""
    from authz.service.authoring import DiffOptions, ImpactUnavailable, PolicySourceError, SidesInvalid, render

    database = None if args.no_impact else (args.database or settings.database_url)
    options = DiffOptions(database, args.max_sites, args.max_members)
    try:
        report = _authoring().diff(args.base, args.head, settings.policy_dir, options)
    except PolicySourceError as exc:
        print(f"authz: {exc}", file=sys.stderr)
        return 2
    except SidesInvalid as exc:
        for name, label, problems in exc.failures:
            print(f"authz: {name} {label} does not compile: {len(problems)} problem(s)", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
        return 2
    except ImpactUnavailable as exc:
        print(f"authz: {exc}", file=sys.stderr)
        print("  (give --database URL, or --no-impact to report the policy change alone)", file=sys.stderr)
        return 2
    sys.stdout.write(render(report, args.format))
    return 1 if report.diff.changed else 0


def register(sub: argparse._SubParsersAction) -> None:
    not_negative = whole_number(0, complaint="expected a whole number >= 0, got {text!r}")
    policy = sub.add_parser("policy", help="the policy toolchain").add_subparsers(dest="policy_command", required=True)
    p = policy.add_parser("validate", help="check a policy directory; list every problem as file:line")
    p.add_argument("dir", nargs="?", type=Path)
    p.set_defaults(run=cmd_validate)
    t = policy.add_parser("test", help="run the policy test suites (DIR/tests/*_test.yaml) and report rule coverage")
    t.add_argument("dir", nargs="?", type=Path)
    t.add_argument(
        "--min-coverage",
        type=float,
        default=0.0,
        metavar="N",
        help="fail unless at least N%% of the rules of policy.csv are exercised (default 0)",
    )
    t.set_defaults(run=cmd_test)

    d = policy.add_parser(
        "diff",
        help="what changes if a policy change ships: changed cells and the members they touch",
        description="Semantic diff of two policies (directories or git revisions of policies/): the cells "
        "(role, application, level) whose actions are gained or lost, catalogue changes, and the "
        "members of each site whose role and level sit on a changed cell.",
        epilog="Exit status, as diff(1): 0 if both policies decide alike, 1 if they differ, 2 on trouble "
        "(a side that is neither a directory nor a git revision, a side that does not compile, a "
        "database that cannot be read).",
    )
    d.add_argument("base", metavar="BASE", help="policy directory or git revision (main, HEAD~1, REV:path)")
    d.add_argument(
        "head",
        metavar="HEAD",
        nargs="?",
        help="policy directory or git revision (default: AUTHZ_POLICY_DIR, the working tree's)",
    )
    d.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="markdown suits a pull-request comment (default: text)",
    )
    where = d.add_mutually_exclusive_group()
    where.add_argument("--database", metavar="URL", help="count the impact here (default: DATABASE_URL)")
    where.add_argument("--no-impact", action="store_true", help="report the policy change alone")
    d.add_argument(
        "--max-sites",
        type=not_negative,
        default=100,
        metavar="N",
        help="show the N sites with most members affected (all are counted; default 100)",
    )
    d.add_argument(
        "--max-members",
        type=not_negative,
        default=50,
        metavar="N",
        help="list the first N affected members of each shown site (all are counted; default 50)",
    )
    d.set_defaults(run=cmd_diff)
