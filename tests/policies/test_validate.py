"""`authz policy validate` refuses each broken fixture (tests/policies/broken/<case>/)
with exactly the problems its expected.txt lists, and accepts the shipped policy."""

import pytest

from authz.cli import main
from tests.policies.fixtures import (
    BROKEN,
    EXPECTED,
    REMOVE,
    SHIPPED,
    SUITES,
    cases,
    expected_problems,
    materialise,
    removed,
)

CASES = cases()


def validate(capsys, directory) -> tuple[int, list[str]]:
    code = main(["policy", "validate", str(directory)])
    out = capsys.readouterr().out
    return code, out.splitlines()


def test_the_shipped_policy_is_valid(capsys):
    code, out = validate(capsys, SHIPPED)
    assert code == 0 and out[-1].endswith("is valid"), out


def test_every_case_asked_for_has_a_fixture():
    assert {
        "wrong_number_of_fields",
        "unknown_rule_type",
        "unknown_application",
        "unknown_level",
        "unknown_action",
        "unknown_role",
        "levels_branch",
        "levels_missing_link",
        "level_cycle",
        "role_cycle",
        "user_account_management",
        "duplicate_rule",
        "shadowed_rule",
        "wildcards_patterns_functions",
        "empty_policy",
        "truncated_policy",
        "missing_end_marker",
        "catalogue_unknown_holder",
        # the policy gate: suites are mandatory and cover every rule
        "no_suites",
        "rule_not_covered",
        "suite_expectation_fails",
        # a plain user never holds account management, whatever the files say
        "user_holds_account_management_via_holders",
        "user_inherits_account_management",
        "account_management_unmarked",
        "catalogue_role_storage_cannot_hold",
        # every problem at its file:line
        "not_utf8",
        "suite_not_utf8",
        "invisible_character",
        "model_other_matcher",
        "catalogue_action_twice",
    } <= set(CASES)


def test_a_fixture_holds_only_what_differs_from_the_shipped_policy():
    for case in CASES:
        overlays = [p for p in (BROKEN / case).rglob("*") if p.is_file() and p.name not in (EXPECTED, REMOVE)]
        assert overlays or removed(case), f"{case}: changes nothing of the shipped policy"
        for path in overlays:
            relative = path.relative_to(BROKEN / case)
            if relative.parts[0] == SUITES:
                assert len(relative.parts) == 2 and path.name.endswith("_test.yaml"), f"{case}/{relative}: not a suite"
            else:
                assert (SHIPPED / relative).is_file(), f"{case}/{relative} replaces no file of the shipped policy"
            shipped = SHIPPED / relative
            assert not shipped.is_file() or path.read_bytes() != shipped.read_bytes(), f"{case}/{relative} is shipped"
        for name in removed(case):
            assert (SHIPPED / name).exists(), f"{case}: removes {name}, which the shipped policy does not have"


@pytest.mark.parametrize("case", CASES)
def test_a_broken_policy_is_refused_with_every_expected_problem(capsys, tmp_path, case):
    directory = materialise(case, tmp_path / case)
    code, out = validate(capsys, directory)
    problems = [line.removeprefix(f"{directory}/") for line in out if line.startswith(f"{directory}/")]
    expected = expected_problems(case)
    assert code == 1, out
    missing = [e for e in expected if not any(e in p for p in problems)]
    assert not missing, f"{case}: not reported: {missing}\nreported: {problems}"
    # Refused for its own reason only; anything else means the fixture is stale against policies/.
    unexpected = [p for p in problems if not any(e in p for e in expected)]
    assert not unexpected, f"{case}: also reported (is the fixture out of date?): {unexpected}"
    assert out[-1] == f"{len(problems)} problem(s) found"
