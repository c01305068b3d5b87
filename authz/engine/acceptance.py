"""When a policy may be used: it compiles, it has suites, they pass, and they
exercise every rule of policy.csv.

The suites are mandatory, not a bonus: a policy directory without them, or with a
rule no case exercises, is refused, by `authz policy validate`, at service start
and on hot reload alike. An edit whose effect no expectation pins down is an
edit nobody has looked at."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from authz.engine.compiler import compile_files
from authz.engine.source import RULES_FILE, read_policy_files
from authz.engine.suites import SuiteReport, read_suites, run_suites
from authz.engine.table import DecisionTable
from authz.errors import PolicyInvalid, Problem

SUITES_DIR = "tests"


@dataclass(frozen=True)
class PolicyFiles:
    """Everything acceptance judges, read once: the policy files and the suites. A
    verdict is about exactly these bytes, so a directory rewritten while it was
    read can be told apart (fingerprint) and judged again, never mistaken for it."""

    policy: dict[str, bytes | None]  # read_policy_files
    suites: dict[str, bytes | None]  # read_suites: file name -> bytes

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name, data in [
            *sorted(self.policy.items()),
            *((f"{SUITES_DIR}/{n}", d) for n, d in sorted(self.suites.items())),
        ]:
            digest.update(name.encode() + b"\0" + (b"missing" if data is None else b"=" + data) + b"\0")
        return digest.hexdigest()


def read_policy_dir(policy_dir: Path | str) -> PolicyFiles:
    policy_dir = Path(policy_dir)
    return PolicyFiles(read_policy_files(policy_dir), read_suites(policy_dir / SUITES_DIR))


def accept_policy(policy_dir: Path | str, files: PolicyFiles | None = None) -> DecisionTable:
    """Compile POLICY_DIR and run its suites (policy_dir/tests), from FILES if they
    were already read; raise PolicyInvalid with every problem, suite failures and
    uncovered rules included."""
    return judge_policy(policy_dir, files)[0]


def judge_policy(policy_dir: Path | str, files: PolicyFiles | None = None) -> tuple[DecisionTable, SuiteReport]:
    """The accepted policy and what its suites found (see accept_policy)."""
    policy_dir = Path(policy_dir)
    files = files or read_policy_dir(policy_dir)
    table = compile_files(policy_dir, files.policy)
    report = run_suites(table, policy_dir / SUITES_DIR, files.suites)  # refuses a directory with no suite
    # A failed expectation exercises nothing: the rules it would have covered are
    # not reported as uncovered until the failures are fixed (one message per cause).
    problems = list(report.failures) or [
        Problem(RULES_FILE, rule.line, f"no suite case exercises this rule ({rule.text})") for rule in report.uncovered
    ]
    if problems:
        raise PolicyInvalid("policy tests", problems)
    return table, report
