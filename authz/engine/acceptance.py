"""When a policy may be used: it compiles, and its suites pass."""

from __future__ import annotations

from pathlib import Path

from authz.engine.compiler import compile_policy
from authz.engine.suites import run_suites
from authz.engine.table import DecisionTable
from authz.errors import PolicyInvalid, Problem

SUITES_DIR = "tests"


def accept_policy(policy_dir: Path | str) -> DecisionTable:
    """Compile POLICY_DIR and run its suites (policy_dir/tests); raise PolicyInvalid
    with every problem, suite failures included."""
    policy_dir = Path(policy_dir)
    table = compile_policy(policy_dir)
    suites = policy_dir / SUITES_DIR
    if suites.is_dir() and any(suites.glob("*_test.yaml")):
        report = run_suites(table, suites)
        if not report.passed:
            raise PolicyInvalid("policy tests", [Problem(SUITES_DIR, None, f) for f in report.failures])
    return table
