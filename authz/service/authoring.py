"""Operations of the policy author's toolchain: validate, test, diff. They read
policy directories (and, for the impact, a database); nothing is served."""

from __future__ import annotations

from pathlib import Path

from authz.engine.acceptance import SUITES_DIR, judge_policy
from authz.engine.compiler import compile_policy
from authz.engine.suites import SuiteReport, run_suites
from authz.engine.table import DecisionTable
from authz.policy_tools.compare import DiffOptions, ImpactUnavailable, SidesInvalid, compare
from authz.policy_tools.diff import PolicySourceError
from authz.policy_tools.report import Report, render

# What a door needs to call diff and show its report.
__all__ = ["AuthoringService", "DiffOptions", "ImpactUnavailable", "PolicySourceError", "SidesInvalid", "render"]


class AuthoringService:
    def validate(self, policy_dir: Path) -> tuple[DecisionTable, SuiteReport]:
        """The policy as the service would accept it (compiled, its suites passing
        and exercising every rule) with its suites' report, or PolicyInvalid
        listing every problem."""
        return judge_policy(policy_dir)

    def test(self, policy_dir: Path) -> SuiteReport:
        """Run the suites of POLICY_DIR/tests; PolicyInvalid if the policy or a suite is."""
        return run_suites(compile_policy(policy_dir), Path(policy_dir) / SUITES_DIR)

    def diff(self, base: str, head: str | None, policy_dir: Path, options: DiffOptions) -> Report:
        return compare(base, head, policy_dir, options)
