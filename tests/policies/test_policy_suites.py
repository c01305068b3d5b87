"""The policy test suites (policies/tests/*_test.yaml) as pytest tests: one test per
case, with the id `suite title::case name`, so a failing case reads like a sentence."""

import pytest

from authz.engine.compiler import compile_policy
from authz.engine.suites import load_cases, run_case, run_suites
from tests.conftest import POLICY_DIR

SUITES = POLICY_DIR / "tests"
TABLE = compile_policy(POLICY_DIR)
CASES = load_cases(TABLE, SUITES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(case):
    outcome = run_case(TABLE, case)
    assert not outcome.failures, "\n".join(map(str, outcome.failures))


def test_the_suites_exercise_every_rule_of_the_shipped_policy():
    report = run_suites(TABLE, SUITES)
    assert report.uncovered == []
    assert report.coverage == 100.0 and report.covered == report.total == len(TABLE.rules)
