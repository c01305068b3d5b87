"""DOMAIN.md: a plain user never holds account-management privileges, whatever is
assigned. The engine enforces it from what the code fixes (the stored roles, the
actions the account-management operations run), not only from the catalogue's
editable holders lists."""

import re
import shutil
from types import MappingProxyType

import pytest

from authz.config import PROJECT_ROOT
from authz.engine.catalogue import Application, Catalogue, Role
from authz.engine.compiler import compile_policy
from authz.engine.invariants import ACCOUNT_MANAGEMENT_ACTIONS, PLAIN_USER, ROLES
from authz.errors import PolicyInvalid
from models.schema import ROLES as STORED_ROLES
from tests.conftest import POLICY_DIR

MARKED = {"manage_access", "contact_updates", "account_documents"}


@pytest.fixture
def policy_copy(tmp_path):
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    return target


def refusal(policy_dir) -> list[str]:
    with pytest.raises(PolicyInvalid) as caught:
        compile_policy(policy_dir)
    return [str(p) for p in caught.value.problems]


def replace(path, old, new, count=1) -> int:
    """Replace OLD by NEW; the line where it was."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))
    return text[: text.index(old)].count("\n") + 1


def application(app_id, catalogue_text) -> str:
    """The text of APP_ID's entry in the catalogue."""
    start = catalogue_text.index(f"\n  {app_id}:\n") + 1
    end = catalogue_text.find("\n\n", start)
    return catalogue_text[start : end if end != -1 else None]


def test_the_roles_are_the_ones_storage_holds():
    assert ROLES == STORED_ROLES and PLAIN_USER in ROLES


def test_the_shipped_catalogue_marks_the_three_account_management_applications(policy_table):
    marked = {a.id for a in policy_table.catalogue.applications.values() if a.account_management}
    assert marked == MARKED
    held = {a for app in MARKED for a in policy_table.catalogue.applications[app].actions}
    assert held == ACCOUNT_MANAGEMENT_ACTIONS


def test_every_action_an_account_management_operation_runs_is_one_the_engine_knows(policy_table):
    """The anchor holds only if the list keeps up with the code: every action the
    workflows of authz/accounts authorize with, other than those the catalogue
    does not list (operator-only), is in it."""
    run = re.compile(r'\brun\(\s*table,\s*actor,\s*site_number,\s*"(\w+)"')
    used = {m for path in (PROJECT_ROOT / "authz" / "accounts").glob("*.py") for m in run.findall(path.read_text())}
    assert {"list_users", "add_user", "edit_contacts", "view_audit"} <= used  # the pattern finds them
    assert {a for a in used if a in policy_table.catalogue.action_application} <= ACCOUNT_MANAGEMENT_ACTIONS


def test_the_attack_a_user_made_holder_and_given_a_rule_is_refused(policy_copy):
    """One change edits the holders list and writes a rule for users: refused by the
    engine's invariant, which the change cannot edit."""
    catalogue = policy_copy / "catalogue.yaml"
    text = catalogue.read_text()
    entry = application("manage_access", text)
    catalogue.write_text(text.replace(entry, entry.replace("[primary, secondary]", "[primary, secondary, user]")))
    line = text.splitlines().index("    holders: [primary, secondary]", text[: text.index(entry)].count("\n")) + 1
    replace(
        policy_copy / "policy.csv",
        "p, secondary, manage_access:view, list_users",
        "p, user, manage_access:view, list_users",
    )
    assert refusal(policy_copy) == [
        f"catalogue.yaml:{line}: applications.manage_access.holders: 'user' may never hold an account-management "
        "application (a plain user never holds account-management privileges)"
    ]


def test_dropping_the_mark_is_refused(policy_copy):
    catalogue = policy_copy / "catalogue.yaml"
    text = catalogue.read_text()
    entry = application("account_documents", text)
    catalogue.write_text(
        text.replace(
            entry,
            entry.replace("    account_management: true\n", "").replace("    holders: [primary, secondary]\n", ""),
        )
    )
    line = text.splitlines().index("  account_documents:") + 1
    assert refusal(policy_copy) == [
        f"catalogue.yaml:{line}: applications.account_documents: holds account-management actions "
        "(view_account_documents) and must be marked 'account_management: true'"
    ]


def test_a_marked_application_open_to_every_role_is_refused(policy_copy):
    catalogue = policy_copy / "catalogue.yaml"
    text = catalogue.read_text()
    entry = application("contact_updates", text)
    catalogue.write_text(text.replace(entry, entry.replace("    holders: [primary, secondary]\n", "")))
    line = text.splitlines().index("  contact_updates:") + 1
    assert refusal(policy_copy) == [
        f"catalogue.yaml:{line}: applications.contact_updates: an account-management application must list its "
        "holders, and never 'user' among them"
    ]


def test_a_catalogue_without_the_plain_user_role_is_refused(policy_copy):
    """Renaming `user` would leave the invariant nothing to hold: the roles are fixed."""
    catalogue = policy_copy / "catalogue.yaml"
    line = replace(catalogue, "  user:\n    label: User\n", "  member:\n    label: User\n")
    roles_line = catalogue.read_text().splitlines().index("roles:") + 1
    problems = refusal(policy_copy)
    assert f"catalogue.yaml:{line}: roles.member: 'member' is not a role a membership can hold " in problems[0]
    assert problems[1] == (
        f"catalogue.yaml:{roles_line}: roles: the role 'user' is missing (the roles are primary, secondary, user)"
    )


def test_a_user_inheriting_account_management_is_refused_once_at_the_g_line(policy_copy):
    line = replace(policy_copy / "policy.csv", "g, secondary, user", "g, user, secondary")
    # One cause, one message: not one per account-management rule of the secondary (13 of them).
    assert refusal(policy_copy) == [
        f"policy.csv:{line}: role 'user' would inherit the rules of 'secondary' on account_documents, "
        "contact_updates, manage_access, which 'user' may not hold"
    ]


def test_a_plain_user_never_holds_a_marked_application_whatever_its_holders_say():
    """Belt and braces: even a Catalogue built around load_catalogue bars the user."""
    app = Application(
        "manage_access",
        "Manage access",
        MappingProxyType({"none": "None", "update": "Update"}),
        MappingProxyType({"add_user": "Add"}),
        holders=frozenset(ROLES),
        account_management=True,
    )
    catalogue = Catalogue(
        MappingProxyType({r: Role(r, r, False) for r in ROLES}),
        MappingProxyType({app.id: app}),
        MappingProxyType({"add_user": app.id}),
    )
    assert not catalogue.may_hold("user", "manage_access")
    assert catalogue.may_hold("secondary", "manage_access")


def test_the_policy_description_says_which_applications_are_account_management(policy_table):
    _, applications = policy_table.describe()
    assert {a.id for a in applications if a.account_management} == MARKED
    assert all("user" not in a.holders for a in applications if a.account_management)
