"""`authz import`: positions in every problem, nothing half-imported."""

import pytest

from authz.accounts.importer import import_data
from authz.errors import ImportInvalid
from models.identifiers import login_key
from models.schema import Membership, MembershipLevel, Person, Site

SITE = {"number": "7", "name": "Seven"}
ANN = {"login_id": "ann@example.test", "email": "ann@example.test"}
BEN = {"login_id": "ben@example.test", "email": "ben@example.test"}


def problems_of(data, table) -> list[str]:
    with pytest.raises(ImportInvalid) as caught:
        import_data(data, table)
    return [p.message for p in caught.value.problems]


def test_import_creates_sites_people_memberships_and_levels(database, policy_table):
    counts = import_data(
        {
            "sites": [SITE],
            "people": [ANN, BEN],
            "memberships": [
                {"site": "7", "user": "ann@example.test", "role": "primary"},
                {
                    "site": "7",
                    "user": "BEN@example.test",
                    "role": "user",
                    "levels": {"reporting": "view", "allocations": "none"},
                },
            ],
        },
        policy_table,
    )
    assert counts == {"sites": 1, "people": 2, "memberships": 2}
    ben = Membership.get(Membership.person == Person.by_key(login_key("ben@example.test")))
    assert [(line.application, line.level) for line in ben.levels] == [("reporting", "view")]  # 'none' is not stored


def test_bad_rows_are_reported_by_position_and_nothing_is_written(database, policy_table):
    problems = problems_of(
        {
            "sites": [SITE, {"number": "8"}],
            "people": [ANN, {"login_id": "x", "email": "nope"}],
            "memberships": [
                {"site": "7", "user": "ann@example.test", "role": "primary"},
                {"site": "7", "user": "x", "role": "admin"},
                {"site": "7", "user": "ann@example.test", "role": "user", "levels": {"reporting": "edit"}},
                {"site": "9", "user": "zed", "role": "user"},
            ],
        },
        policy_table,
    )
    assert "sites[1].name: is required and must be non-empty text" in problems
    assert "people[1].email: 'nope' is not an email address" in problems
    assert "memberships[1].role: must be one of primary, secondary, user, got 'admin'" in problems
    assert any(p.startswith("memberships[2].levels.reporting: unknown level 'edit'") for p in problems)
    assert "memberships[3].site: unknown site '9' (list it under 'sites')" in problems
    assert "memberships[3].user: unknown person 'zed' (list them under 'people')" in problems
    assert Site.select().count() == Person.select().count() == 0


def test_a_user_may_not_hold_account_management_levels(database, policy_table):
    problems = problems_of(
        {
            "sites": [SITE],
            "people": [ANN, BEN],
            "memberships": [
                {"site": "7", "user": "ann@example.test", "role": "primary"},
                {"site": "7", "user": "ben@example.test", "role": "user", "levels": {"manage_access": "view"}},
            ],
        },
        policy_table,
    )
    assert problems == [
        "memberships[1].levels.manage_access: a user may not hold 'manage_access' (only primary, secondary)"
    ]


@pytest.mark.parametrize(
    "roles,message",
    [
        (["user"], "site '7' would have 0 primary contacts; it needs exactly one"),
        (["primary", "primary"], "site '7' would have 2 primary contacts; it needs exactly one"),
        (["primary"] + ["secondary"] * 5, "site '7' would have 5 secondary contacts; at most 4"),
    ],
)
def test_site_role_counts_are_enforced(database, policy_table, roles, message):
    people = [{"login_id": f"p{i}@example.test", "email": f"p{i}@example.test"} for i in range(len(roles))]
    memberships = [{"site": "7", "user": f"p{i}@example.test", "role": r} for i, r in enumerate(roles)]
    problems = problems_of({"sites": [SITE], "people": people, "memberships": memberships}, policy_table)
    assert any(p.endswith(message) for p in problems), problems


def test_reimport_updates_in_place(database, policy_table):
    data = {
        "sites": [SITE],
        "people": [ANN, BEN],
        "memberships": [
            {"site": "7", "user": "ann@example.test", "role": "primary"},
            {"site": "7", "user": "ben@example.test", "role": "user", "levels": {"reporting": "view"}},
        ],
    }
    import_data(data, policy_table)
    data["memberships"][1]["levels"] = {"entitlements": "update"}
    import_data(data, policy_table)
    assert Membership.select().count() == 2
    assert [(line.application, line.level) for line in MembershipLevel.select()] == [("entitlements", "update")]


def test_primary_levels_are_implied(database, policy_table):
    problems = problems_of(
        {
            "sites": [SITE],
            "people": [ANN],
            "memberships": [
                {"site": "7", "user": "ann@example.test", "role": "primary", "levels": {"reporting": "none"}}
            ],
        },
        policy_table,
    )
    assert problems == [
        "memberships[0].levels: a primary holds every application at its highest level: leave 'levels' out"
    ]
