"""A policy that does not parse, is incomplete or breaks a role rule is refused,
with every problem named by file and line. Each case mutates a copy of the
shipped policy, so the cases keep up with it."""

import shutil

import pytest

from authz.engine.compiler import compile_policy
from authz.errors import PolicyInvalid
from tests.conftest import POLICY_DIR


@pytest.fixture
def policy_copy(tmp_path):
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("tests"))
    return target


def lines(path):
    return path.read_text().splitlines()


def line_of(path, text) -> int:
    return lines(path).index(text) + 1


def replace_line(path, old, new) -> int:
    number = line_of(path, old)
    content = lines(path)
    content[number - 1] = new
    path.write_text("\n".join(content) + "\n")
    return number


def refusal(policy_dir) -> list[str]:
    with pytest.raises(PolicyInvalid) as caught:
        compile_policy(policy_dir)
    return [str(p) for p in caught.value.problems]


RULE = "p, user, reporting:view, view_reports"


@pytest.mark.parametrize(
    "new,message",
    [
        ("p, user, reporting:view", "'p' rule needs 3 fields, found 2"),
        ("x, user, reporting:view, view_reports", "unknown rule type 'x' (expected p, g or g2)"),
        ("p, admin, reporting:view, view_reports", "unknown role 'admin' (known: primary, secondary, user)"),
        ("p, user, reports:view, view_reports", "unknown application 'reports'"),
        ("p, user, reporting:edit, view_reports", "unknown level 'edit' of 'reporting' (known: none, view)"),
        ("p, user, reporting:view, view_everything", "unknown action 'view_everything'"),
        (
            "p, user, reporting:view, download_software",
            "action 'download_software' belongs to 'purchase_download', not 'reporting'",
        ),
        (
            "p, user, reporting:*, view_reports",
            "'reporting:*' is not a plain name: wildcards, patterns and function calls are not part of this model",
        ),
        ("p, user, reporting:view, keyMatch(view_reports)", "is not a plain name"),
        (
            "p, user, manage_access:view, view_reports",
            "action 'view_reports' belongs to 'reporting', not 'manage_access'",
        ),
    ],
)
def test_a_broken_rule_is_named_by_line(policy_copy, new, message):
    number = replace_line(policy_copy / "policy.csv", RULE, new)
    problems = refusal(policy_copy)
    assert any(p.startswith(f"policy.csv:{number}: ") and message in p for p in problems), problems


def test_a_rule_letting_a_user_manage_access_is_refused(policy_copy):
    number = replace_line(
        policy_copy / "policy.csv",
        "p, secondary, manage_access:view, list_users",
        "p, user, manage_access:view, list_users",
    )
    assert (
        f"policy.csv:{number}: this rule would allow role 'user', which may not hold 'manage_access', to list_users"
    ) in refusal(policy_copy)


def test_duplicate_and_shadowed_rules_are_refused(policy_copy):
    path = policy_copy / "policy.csv"
    content = lines(path)
    at = content.index(RULE)
    content[at + 1 : at + 1] = [RULE, "p, secondary, reporting:view, view_reports"]
    path.write_text("\n".join(content) + "\n")
    problems = refusal(policy_copy)
    assert problems == [
        f"policy.csv:{at + 2}: rule duplicates line {at + 1} ({RULE})",
        f"policy.csv:{at + 3}: rule is shadowed by line {at + 1} ({RULE})",
    ]


def test_a_truncated_policy_is_refused_for_that_alone(policy_copy):
    path = policy_copy / "policy.csv"
    content = lines(path)
    half = len(content) // 2
    path.write_text("\n".join(content[:half]) + "\n")
    last = max(n for n, line in enumerate(content[:half], start=1) if line.strip())
    # What the cut left undefined (level orders, actions) is not reported: one cause, one message.
    assert refusal(policy_copy) == [
        f"policy.csv:{last}: the file does not end with '# end-of-policy': it may have been cut short"
    ]


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "policy.csv: the file is empty"),
        ("\n\n", "policy.csv: the file is empty"),
        ("# only a comment\n# end-of-policy\n", "policy.csv: the file holds no rules"),
    ],
)
def test_a_policy_without_rules_is_one_problem(policy_copy, text, message):
    (policy_copy / "policy.csv").write_text(text)
    [problem] = refusal(policy_copy)
    assert problem.startswith(message), problem


def test_an_action_nobody_may_perform_is_refused(policy_copy):
    path = policy_copy / "policy.csv"
    path.write_text(path.read_text().replace(RULE + "\n", ""))
    assert refusal(policy_copy) == [
        "policy.csv: action 'view_reports' is allowed by no rule (is the policy incomplete?)"
    ]


@pytest.mark.parametrize(
    "old,new,message",
    [
        (
            "g2, purchase_download:full, purchase_download:media",
            "g2, purchase_download:full, purchase_download:downloads",
            "'purchase_download:downloads' is already included by 'purchase_download:media'",
        ),
        (
            "g2, reporting:view, reporting:none",
            "g2, reporting:view, reporting:view",
            "level 'reporting:view' includes itself",
        ),
        (
            "g2, reporting:view, reporting:none",
            "g2, reporting:view, allocations:none",
            "a level of 'reporting' cannot include a level of 'allocations'",
        ),
        ("g, secondary, user", "g, secondary, secondary", "role 'secondary' inherits from itself"),
    ],
)
def test_level_and_role_orders_are_checked(policy_copy, old, new, message):
    number = replace_line(policy_copy / "policy.csv", old, new)
    problems = refusal(policy_copy)
    assert any(p.startswith(f"policy.csv:{number}: ") and message in p for p in problems), problems


def test_a_level_cycle_is_refused(policy_copy):
    path = policy_copy / "policy.csv"
    replace_line(path, "g2, reporting:view, reporting:none", "g2, reporting:none, reporting:view")
    content = lines(path)
    content.insert(content.index("g2, reporting:none, reporting:view") + 1, "g2, reporting:view, reporting:none")
    path.write_text("\n".join(content) + "\n")
    assert any("levels of 'reporting' do not form one order" in p or "already" in p for p in refusal(policy_copy))


def test_a_role_cycle_is_refused(policy_copy):
    path = policy_copy / "policy.csv"
    content = lines(path)
    content.insert(content.index("g, secondary, user") + 1, "g, user, primary")
    path.write_text("\n".join(content) + "\n")
    assert any("role inheritance has a cycle" in p for p in refusal(policy_copy))


def test_a_model_of_another_shape_is_refused_at_its_line(policy_copy):
    path = policy_copy / "model.conf"
    path.write_text(path.read_text().replace("p = role, level, act", "p = sub, obj, act"))
    number = line_of(path, "p = sub, obj, act")
    assert refusal(policy_copy) == [f"model.conf:{number}: policy_definition must be 'p = role, level, act'"]


def test_a_catalogue_that_is_not_yaml_is_refused(policy_copy):
    (policy_copy / "catalogue.yaml").write_text("roles: [unclosed\n")
    problems = refusal(policy_copy)
    assert problems[0].startswith("catalogue.yaml:") and "not valid YAML" in problems[0]


def test_the_version_is_a_content_hash(policy_copy):
    before = compile_policy(policy_copy).version
    assert compile_policy(POLICY_DIR).version == before
    path = policy_copy / "policy.csv"
    path.write_text(path.read_text().replace("# Reporting", "# Reporting (comment changed)"))
    assert compile_policy(policy_copy).version != before


def test_role_inheritance_does_not_leak_caps_upward(policy_table):
    """DESIGN's pitfall: what a user may not do must not be taken from a secondary."""
    assert policy_table.verdict("user", "list_users", "update").allowed is False
    assert policy_table.verdict("secondary", "list_users", "view").allowed is True
    assert policy_table.verdict("primary", "list_users", "none").allowed is True


@pytest.mark.parametrize(
    "old,new,message",
    [
        (
            "m = g(r.role, p.role) && g2(r.level, p.level) && r.act == p.act",
            "m = g(r.role, p.role) && g2(r.level, p.level) && keyMatch(r.act, p.act)",
            "the matcher must be",
        ),
        (
            "e = some(where (p.eft == allow))",
            "e = !some(where (p.eft == deny))",
            "the policy effect must be allow-only",
        ),
    ],
)
def test_a_model_with_another_matcher_or_effect_is_refused(policy_copy, old, new, message):
    path = policy_copy / "model.conf"
    path.write_text(path.read_text().replace(old, new))
    [problem] = refusal(policy_copy)
    assert problem.startswith(f"model.conf:{line_of(path, new)}: {message}"), problem
