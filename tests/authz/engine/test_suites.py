"""The policy test runner (authz/policy_tests.py) and `authz policy test`: failures
read as sentences, coverage names what no case exercised, a malformed suite is
refused with its position, and --min-coverage gates the exit status."""

import shutil
import textwrap

import pytest

from authz.cli import main
from authz.engine.compiler import compile_policy
from authz.engine.suites import load_cases, run_case, run_suites
from authz.errors import PolicyInvalid
from tests.conftest import POLICY_DIR

POLICY_CSV = (POLICY_DIR / "policy.csv").read_text().splitlines()


def line_of(rule: str) -> int:
    return POLICY_CSV.index(rule) + 1


@pytest.fixture(scope="module")
def table():
    return compile_policy(POLICY_DIR)


@pytest.fixture
def suites(tmp_path):
    """Write suites into a fresh directory: suites(name=yaml_text, ...) -> the directory."""
    directory = tmp_path / "tests"
    directory.mkdir()

    def write(**files):
        for name, text in files.items():
            (directory / f"{name}_test.yaml").write_text(textwrap.dedent(text))
        return directory

    return write


PURCHASE = """\
    suite: purchase
    principals:
      carol: {role: user, levels: {purchase_download: media}}
      alice: {role: primary}
      dana: {role: user, levels: {manage_access: update}}
    cases:
"""


def test_a_wrong_expectation_reads_as_a_sentence_citing_the_rule(table, suites):
    directory = suites(
        wrong=PURCHASE
        + """\
      - name: a user with media may not request media
        principal: carol
        deny: [request_media]
    """
    )
    report = run_suites(table, directory)
    rule = "p, user, purchase_download:media, request_media"
    assert [str(f) for f in report.failures] == [
        "tests/wrong_test.yaml:7: 'a user with media may not request media': carol (user, purchase_download media) "
        f"was expected to be denied request_media, but policy.csv:{line_of(rule)} allows it ({rule})"
    ]
    assert not report.passed and report.cases == 1 and report.expectations == 1


def test_a_wrong_allow_says_why_it_is_denied(table, suites):
    directory = suites(
        wrong=PURCHASE
        + """\
      - name: wishful thinking
        principals: [carol, dana]
        allow: [view_quotes, list_users]
    """
    )
    assert [str(f) for f in run_suites(table, directory).failures] == [
        "tests/wrong_test.yaml:7: 'wishful thinking': carol (user, purchase_download media) was expected to be "
        "allowed view_quotes, but a user needs purchase_download full or higher for it",
        "tests/wrong_test.yaml:7: 'wishful thinking': carol (user, manage_access none) was expected to be allowed "
        "list_users, but a user may not hold manage_access (catalogue.yaml holders)",
        "tests/wrong_test.yaml:7: 'wishful thinking': dana (user, purchase_download none) was expected to be "
        "allowed view_quotes, but a user needs purchase_download full or higher for it",
        "tests/wrong_test.yaml:7: 'wishful thinking': dana (user, manage_access update) was expected to be allowed "
        "list_users, but a user may not hold manage_access (catalogue.yaml holders)",
    ]


def test_the_primary_is_described_at_the_level_it_is_judged_at(table, suites):
    directory = suites(
        wrong=PURCHASE
        + """\
      - name: the primary may not renew
        principal: alice
        deny: [renew_licenses]
    """
    )
    [failure] = run_suites(table, directory).failures
    assert failure.source == "tests/wrong_test.yaml" and failure.line == 7
    assert "alice (primary, purchase_download full) was expected to be denied renew_licenses" in str(failure)


def test_an_allowed_expectation_exercises_its_rule_and_the_inheritance_it_used(table, suites):
    directory = suites(
        cover=PURCHASE
        + """\
      - name: the primary lists users
        principal: alice
        allow: [list_users]
      - name: a user with media downloads
        principal: carol
        allow: [download_software]
      - name: a user without reporting is denied reports
        principal: carol
        deny: [view_reports]
    """
    )
    primary, media, no_reports = (run_case(table, case).exercised for case in load_cases(table, directory))
    assert primary == {
        line_of("p, secondary, manage_access:view, list_users"),
        line_of("g, primary, secondary"),
        line_of("g2, manage_access:update, manage_access:view"),
    }
    assert media == {
        line_of("p, user, purchase_download:downloads, download_software"),
        line_of("g2, purchase_download:media, purchase_download:downloads"),
    }
    assert no_reports == {line_of("g2, reporting:view, reporting:none")}


def test_coverage_lists_every_rule_no_case_exercised(table, suites):
    directory = suites(
        reports="""\
        suite: reports
        principals:
          rita: {role: user, levels: {reporting: view}}
        cases:
          - name: a user with reporting view may view reports
            principal: rita
            allow: [view_reports]
    """
    )
    report = run_suites(table, directory)
    assert report.passed and report.total == len(table.rules) == 41
    assert report.covered == 1 and report.coverage == pytest.approx(100 / 41)
    uncovered = {rule.line: rule.text for rule in report.uncovered}
    assert uncovered[line_of("p, user, reporting:view, export_reports")] == "p, user, reporting:view, export_reports"
    assert line_of("p, user, reporting:view, view_reports") not in uncovered
    assert len(report.uncovered) == 40


def test_a_failed_expectation_covers_nothing(table, suites):
    directory = suites(
        wrong=PURCHASE
        + """\
      - name: a user with media may not download
        principal: carol
        deny: [download_software]
    """
    )
    assert run_suites(table, directory).covered == 0


HEAD = "suite: bad\nprincipals:\n  carol: {role: user}\ncases:\n"


@pytest.mark.parametrize(
    "text,line,message",
    [
        (
            HEAD + "  - name: x\n    principal: carl\n    allow: [download_software]\n",
            6,
            "case 'x': unknown principal 'carl' (known: carol)",
        ),
        (
            "suite: bad\nprincipals:\n  carol: {role: admin}\ncases:\n  - {name: x, principal: carol, deny: [add_user]}\n",
            3,
            "principal 'carol': unknown role 'admin' (known: primary, secondary, user)",
        ),
        (
            "suite: bad\nprincipals:\n  carol:\n    role: user\n    levels: {reports: view}\n"
            "cases:\n  - {name: x, principal: carol, deny: [add_user]}\n",
            5,
            "principal 'carol': unknown application 'reports'",
        ),
        (
            "suite: bad\nprincipals:\n  carol:\n    role: user\n    levels: {reporting: edit}\n"
            "cases:\n  - {name: x, principal: carol, deny: [add_user]}\n",
            5,
            "principal 'carol': unknown level 'edit' of 'reporting' (known: none, view)",
        ),
        (
            HEAD + "  - name: x\n    principal: carol\n    allow: [download_software, fly]\n",
            7,
            "case 'x': unknown action 'fly'",
        ),
        (HEAD + "  - principal: carol\n    allow: [download_software]\n", 5, "a case: 'name' is missing"),
        (
            HEAD + "  - name: x\n    principal: carol\n    alow: [download_software]\n",
            7,
            "a case: unknown key 'alow' (expected: allow, deny, name, principal, principals)",
        ),
        (
            HEAD + "  - name: x\n    principal: carol\n    deny: [add_user]\n    deny: [list_users]\n",
            8,
            "a case: 'deny' is given twice",
        ),
        (
            HEAD + "  - name: x\n    principal: carol\n",
            5,
            "case 'x': expects nothing (give 'allow' and/or 'deny' actions)",
        ),
        (
            HEAD + "  - name: x\n    principal: carol\n    allow: [add_user]\n    deny: [add_user]\n",
            8,
            "case 'x': action 'add_user' is listed twice",
        ),
        (
            HEAD
            + "  - {name: x, principal: carol, deny: [add_user]}\n  - {name: x, principal: carol, deny: [list_users]}\n",
            6,
            "another case is already named 'x'",
        ),
        (
            "principals:\n  carol: {role: user}\ncases:\n  - {name: x, principal: carol, deny: [add_user]}\n",
            1,
            "the suite: 'suite' is missing",
        ),
        (
            HEAD + "  - {name: x, principal: carol, deny: [add_user]\n",
            6,
            "not valid YAML: while parsing a flow mapping",
        ),
        (
            HEAD + "  - {name: x, principals: [], deny: [add_user]}\n",
            5,
            "case 'x': principals: name at least one principal",
        ),
    ],
)
def test_a_malformed_suite_is_refused_with_its_position(table, suites, text, line, message):
    (suites() / "bad_test.yaml").write_text(text)
    with pytest.raises(PolicyInvalid) as caught:
        run_suites(table, suites())
    problems = [str(p) for p in caught.value.problems]
    assert any(p.startswith(f"tests/bad_test.yaml:{line}: ") and message in p for p in problems), problems


def test_an_invalid_principal_is_reported_once_not_again_by_each_case(table, suites):
    suites(
        bad="suite: bad\nprincipals:\n  carol: {role: admin}\ncases:\n  - {name: x, principal: carol, deny: [add_user]}\n"
    )
    with pytest.raises(PolicyInvalid) as caught:
        run_suites(table, suites())
    assert [str(p) for p in caught.value.problems] == [
        "tests/bad_test.yaml:3: principal 'carol': unknown role 'admin' (known: primary, secondary, user)"
    ]


def test_an_empty_suite_or_no_suite_at_all_is_refused(table, suites):
    with pytest.raises(PolicyInvalid) as caught:
        run_suites(table, suites())
    assert [str(p) for p in caught.value.problems] == [
        "tests: no *_test.yaml suites found: a policy is accepted only with suites that exercise every rule"
    ]
    (suites() / "empty_test.yaml").write_text("")
    with pytest.raises(PolicyInvalid) as caught:
        run_suites(table, suites())
    assert [str(p) for p in caught.value.problems] == ["tests/empty_test.yaml: the suite is empty"]


# -- the command ---------------------------------------------------------------


@pytest.fixture
def policy_dir(tmp_path):
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("tests"))
    (target / "tests").mkdir()
    return target


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = main(["policy", "test", *map(str, argv)])
    return code, capsys.readouterr().out


def test_the_shipped_suites_pass_with_full_coverage(capsys):
    code, out = run_cli(capsys, POLICY_DIR, "--min-coverage", 100)
    assert code == 0, out
    assert out.splitlines()[-1].endswith("0 failed; rule coverage 100.0% (41/41)")
    assert "not covered" not in out


def test_min_coverage_gates_the_exit_status(capsys, policy_dir):
    (policy_dir / "tests" / "reports_test.yaml").write_text(
        "suite: reports\nprincipals:\n  rita: {role: user, levels: {reporting: view}}\n"
        "cases:\n  - {name: rita views reports, principal: rita, allow: [view_reports, export_reports]}\n"
    )
    code, out = run_cli(capsys, policy_dir)
    assert code == 0 and out.splitlines()[-1] == "1 cases, 2 expectations, 0 failed; rule coverage 4.9% (2/41)"
    assert f"not covered: {policy_dir}/policy.csv:{line_of('g, primary, secondary')}: g, primary, secondary" in out
    assert run_cli(capsys, policy_dir, "--min-coverage", 4.8)[0] == 0
    code, out = run_cli(capsys, policy_dir, "--min-coverage", 5)
    assert code == 1 and out.splitlines()[-1] == "rule coverage 4.9% is below the required 5%"


def test_a_failing_case_exits_1_and_prints_its_sentence(capsys, policy_dir):
    (policy_dir / "tests" / "wrong_test.yaml").write_text(
        "suite: wrong\nprincipals:\n  nora: {role: user}\n"
        "cases:\n  - {name: nora views reports, principal: nora, allow: [view_reports]}\n"
    )
    code, out = run_cli(capsys, policy_dir)
    assert code == 1
    assert out.splitlines()[0] == (
        f"{policy_dir}/tests/wrong_test.yaml:5: 'nora views reports': nora (user, reporting none) was expected "
        "to be allowed view_reports, but a user needs reporting view or higher for it"
    )
    assert "1 cases, 1 expectations, 1 failed" in out


def test_an_invalid_suite_or_policy_exits_2_with_positions(capsys, policy_dir):
    (policy_dir / "tests" / "bad_test.yaml").write_text("suite: bad\nprincipals:\n  nora: {role: boss}\ncases: []\n")
    code, out = run_cli(capsys, policy_dir)
    assert code == 2
    assert f"{policy_dir}/tests/bad_test.yaml:3: principal 'nora': unknown role 'boss'" in out
    assert f"{policy_dir}/tests/bad_test.yaml:4: a suite needs at least one case" in out
    (policy_dir / "policy.csv").write_text("")
    code, out = run_cli(capsys, policy_dir)
    assert code == 2 and f"{policy_dir}/policy.csv: the file is empty" in out
