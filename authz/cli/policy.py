"""The policy toolchain: `authz policy validate|test|diff`."""

from __future__ import annotations

from pathlib import Path

from authz.config import Settings
from authz.errors import PolicyInvalid


def cmd_validate(args, settings: Settings) -> int:
    """Exit 0 for a valid policy; otherwise 1, every problem as file:line: message."""
    from authz.engine import compile_policy
    directory = args.dir or settings.policy_dir
    try:
        table = compile_policy(directory)
    except PolicyInvalid as exc:
        for problem in exc.problems:
            print(f"{Path(directory) / problem.source}:{problem.line}: {problem.message}" if problem.line
                  else f"{Path(directory) / problem.source}: {problem.message}")
        print(f"{len(exc.problems)} problem(s) found")
        return 1
    print(f"policy {table.version} is valid")
    return 0


def register(sub) -> None:
    policy = sub.add_parser("policy", help="the policy toolchain").add_subparsers(dest="policy_command", required=True)
    p = policy.add_parser("validate", help="check a policy directory; list every problem as file:line")
    p.add_argument("dir", nargs="?", type=Path)
    p.set_defaults(run=cmd_validate)
