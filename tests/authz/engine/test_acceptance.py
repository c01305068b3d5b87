"""A policy is accepted for service only with its suites: they must exist, pass, and
exercise every rule of policy.csv. Every refusal names file:line (or the file)."""

import shutil

import pytest

from authz.engine.acceptance import accept_policy, judge_policy
from authz.engine.compiler import compile_policy
from authz.errors import PolicyInvalid
from tests.conftest import POLICY_DIR

RULE = "p, user, reporting:view, export_reports"


@pytest.fixture
def policy_copy(tmp_path):
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def refusal(policy_dir) -> list[str]:
    with pytest.raises(PolicyInvalid) as caught:
        accept_policy(policy_dir)
    return [str(p) for p in caught.value.problems]


def test_the_shipped_policy_is_accepted_with_every_rule_exercised():
    table, report = judge_policy(POLICY_DIR)
    assert table.version == compile_policy(POLICY_DIR).version
    assert report.passed and report.coverage == 100.0


NO_SUITES = "tests: no *_test.yaml suites found: a policy is accepted only with suites that exercise every rule"


def test_a_policy_without_its_suites_directory_is_refused(policy_copy):
    shutil.rmtree(policy_copy / "tests")
    compile_policy(policy_copy)  # a sound policy on its own...
    assert refusal(policy_copy) == [NO_SUITES]  # ...but not one the service takes


def test_a_suites_directory_holding_no_suite_is_refused(policy_copy):
    for suite in (policy_copy / "tests").glob("*_test.yaml"):
        suite.unlink()
    assert refusal(policy_copy) == [NO_SUITES]


def test_every_rule_no_case_exercises_is_refused_at_its_line(policy_copy):
    # Only the reporting suite is left: the rules the other suites exercised are now uncovered.
    for suite in (policy_copy / "tests").glob("*_test.yaml"):
        if suite.name != "reporting_test.yaml":
            suite.unlink()
    problems = refusal(policy_copy)
    lines = (policy_copy / "policy.csv").read_text().splitlines()
    uncovered = f"policy.csv:{lines.index('p, user, purchase_download:media, request_media') + 1}: "
    assert uncovered + "no suite case exercises this rule (p, user, purchase_download:media, request_media)" in problems
    assert not any(f"policy.csv:{lines.index(RULE) + 1}:" in p for p in problems)  # reporting's own rules are covered
    assert all(p.startswith("policy.csv:") and "no suite case exercises this rule" in p for p in problems)


def test_a_failed_expectation_is_refused_at_its_case_without_the_coverage_it_costs(policy_copy):
    path = policy_copy / "tests" / "reporting_test.yaml"
    text = path.read_text()
    case = "  - name: a user with reporting view may view and export reports"
    assert case in text.splitlines()
    path.write_text(text.replace("allow: [view_reports, export_reports]", "deny: [view_reports, export_reports]", 1))
    rules = (policy_copy / "policy.csv").read_text().splitlines()
    at = f"tests/reporting_test.yaml:{text.splitlines().index(case) + 1}: "
    # One problem per failed expectation, at the line where its case starts; the rules
    # those expectations exercised are not reported as uncovered on top.
    assert refusal(policy_copy) == [
        at + "'a user with reporting view may view and export reports': rita (user, reporting view) was expected "
        f"to be denied {action}, but policy.csv:{rules.index(rule) + 1} allows it ({rule})"
        for action in ("view_reports", "export_reports")
        for rule in [f"p, user, reporting:view, {action}"]
    ]
