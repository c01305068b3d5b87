"""`authz policy validate` refuses each broken fixture (tests/policies/broken/<case>/)
with exactly the problems its expected.txt lists, and accepts the shipped policy."""

import pytest

from authz.cli import main
from tests.policies.fixtures import BROKEN, SHIPPED, cases, expected_problems, materialise

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
    } <= set(CASES)


def test_a_fixture_holds_only_what_differs_from_the_shipped_policy():
    for case in CASES:
        overlays = [p for p in (BROKEN / case).iterdir() if p.name != "expected.txt"]
        assert overlays, f"{case}: no file to lay over the shipped policy"
        for path in overlays:
            assert (SHIPPED / path.name).is_file(), f"{case}/{path.name} replaces no file of the shipped policy"
            assert path.read_bytes() != (SHIPPED / path.name).read_bytes(), f"{case}/{path.name} is the shipped file"


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
