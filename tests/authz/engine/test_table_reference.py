"""The compiled table against a reference written from DOMAIN.md alone, for
every role x application x level x action. Nothing here reads policies/."""

import itertools

import pytest

from authz.contract.checks import Reason
from tests import domain_reference as domain

# The domain as tests/domain_reference.py writes it from DOMAIN.md.
LEVELS = {application: list(levels) for application, levels in domain.LEVELS.items()}
ACCOUNT_MANAGEMENT = domain.ACCOUNT_MANAGEMENT
ROLES = list(domain.ROLES)
MINIMUM = domain.MINIMUM  # action -> (application, the lowest level that permits it)


def reference(role: str, action: str, level: str) -> bool:
    application, minimum = MINIMUM[action]
    if role == "user" and application in ACCOUNT_MANAGEMENT:
        return False  # a plain user never can, whatever is assigned
    if role == "primary":
        return True  # every privilege at its highest level
    order = LEVELS[application]
    return order.index(level) >= order.index(minimum)


CELLS = [
    (role, action, level) for role, action in itertools.product(ROLES, MINIMUM) for level in LEVELS[MINIMUM[action][0]]
]


@pytest.mark.parametrize("role,action,level", CELLS, ids=["-".join(c) for c in CELLS])
def test_cell_matches_reference(policy_table, role, action, level):
    verdict = policy_table.verdict(role, action, level)
    assert verdict.allowed is reference(role, action, level)
    if verdict.allowed:
        assert verdict.reason.rule.startswith("p, ")
        assert verdict.reason.source.startswith("policy.csv:")
    elif role == "user" and MINIMUM[action][0] in ACCOUNT_MANAGEMENT:
        assert verdict.reason.code == "role_may_not_hold"
    else:
        assert verdict.reason == Reason(
            "level_too_low", role=role, application=MINIMUM[action][0], level=level, required_level=MINIMUM[action][1]
        )


def test_table_covers_exactly_the_reference(policy_table):
    assert {cell for cell, _ in policy_table.cells()} == set(CELLS)
    assert dict(policy_table.catalogue.action_application) == {a: app for a, (app, _) in MINIMUM.items()}
    assert {app: list(policy_table.level_order(app)) for app in LEVELS} == LEVELS


def test_unknown_role_or_level_is_denied(policy_table):
    assert policy_table.verdict("superuser", "view_reports", "view").allowed is False
    assert policy_table.verdict("user", "view_reports", "admin").reason.code == "unknown_level"


def test_a_stored_level_the_policy_does_not_define_neither_takes_from_the_primary_nor_gives_a_user(policy_table):
    """Found by tests/authz/engine/test_differential.py: a primary storing a level no
    policy defines (a renamed level, a hand-written row) was denied everything."""
    assert policy_table.decide("primary", {"reporting": "admin"}, "view_reports").allowed
    assert policy_table.decide("primary", {"manage_access": "admin"}, "remove_user").allowed
    assert policy_table.decide("user", {"manage_access": "admin"}, "list_users").reason.code == "role_may_not_hold"
    assert policy_table.decide("secondary", {"manage_access": "admin"}, "list_users").reason.code == "unknown_level"
