"""The operations the console added to the service layer: a change's preview (the
actions gained and lost, and the refusal the change itself would meet), the
privilege matrix, a person's sites and standing, one access request, requests
newest first, and the audit trail by actor and action."""

from __future__ import annotations

import pytest

from authz.audit import trail
from authz.contract.access_requests import AccessRequestInput, AccessRequestQuery
from authz.contract.actors import Actor
from authz.contract.audit import AuditQuery
from authz.contract.members import MemberChange
from authz.errors import NotFound

ALICE, BOB, DANA = Actor.person("alice@acme.example"), Actor.person("bob@acme.example"), Actor.person("Dana.Diaz")
CAROL = "carol@acme.example"


def allowed(service, login: str, site: str = "1001") -> set[str]:
    return set(service.people.standing(Actor.person(login), site).allowed_actions)


@pytest.mark.parametrize(
    "role, levels",
    [
        ("user", {"purchase_download": "full"}),
        ("user", {"purchase_download": "none", "reporting": "none"}),
        ("secondary", {"manage_access": "view", "contact_updates": "update"}),
        ("secondary", {}),
        ("user", {"entitlements": "update", "allocations": "view"}),
    ],
)
def test_the_preview_says_exactly_what_the_saved_change_does(demo, service, role, levels):
    before = allowed(service, CAROL)
    preview = service.members.preview(ALICE, "1001", CAROL, role, levels)
    assert preview.refusal is None
    service.members.update(ALICE, "1001", CAROL, MemberChange(role=role, levels=levels))
    after = allowed(service, CAROL)
    assert {a.action for a in preview.gained} == after - before
    assert {a.action for a in preview.lost} == before - after
    assert preview.levels == service.members.get(ALICE, "1001", CAROL).levels


def test_a_preview_changes_nothing_and_records_nothing(demo, service):
    records = len(trail.page("1001", limit=500))
    preview = service.members.preview(ALICE, "1001", CAROL, "secondary", {"manage_access": "update"})
    assert {"add_user", "list_users"} <= {a.action for a in preview.gained}
    assert next(a for a in preview.gained if a.action == "add_user").label == "Add a user to the site"
    assert service.members.get(ALICE, "1001", CAROL).role == "user"
    assert len(trail.page("1001", limit=500)) == records


def test_a_preview_for_someone_not_yet_a_member_gains_everything_they_would_hold(demo, service):
    preview = service.members.preview(ALICE, "1001", None, "user", {"reporting": "view"})
    assert {a.action for a in preview.gained} == {"view_reports", "export_reports"}
    assert preview.lost == [] and preview.login_id is None


def test_the_preview_meets_the_refusals_the_change_would_meet(demo, service, make):
    above = service.members.preview(BOB, "1001", CAROL, "user", {"purchase_download": "full"})
    assert "cannot grant full" in above.refusal and above.refusal_field == "levels.purchase_download"
    primary = service.members.preview(BOB, "1001", "alice@acme.example", "user", {})
    assert "primary contact" in primary.refusal
    itself = service.members.preview(BOB, "1001", "bob@acme.example", "secondary", {})
    assert "own membership" in itself.refusal
    user_holding = service.members.preview(ALICE, "1001", CAROL, "user", {"manage_access": "view"})
    assert "may not hold 'manage_access'" in user_holding.refusal
    for _ in range(3):
        make.member("1001", role="secondary")
    full = service.members.preview(ALICE, "1001", CAROL, "secondary", {})
    assert "at most 4" in full.refusal


def test_the_matrix_marks_what_the_acting_person_may_not_give_and_why(demo, service):
    as_user = {row.application: row for row in service.members.privilege_matrix(BOB, "1001", "user").rows}
    for app in ("manage_access", "contact_updates", "account_documents"):
        assert {lv.refusal for lv in as_user[app].levels} == {"role_may_not_hold"}
    purchase = {lv.level: lv.refusal for lv in as_user["purchase_download"].levels}
    assert purchase == {"none": None, "downloads": None, "media": None, "full": "above_own_level"}
    assert as_user["purchase_download"].held == "media"
    assert as_user["purchase_download"].label == "Purchase & Download"
    as_secondary = service.members.privilege_matrix(BOB, "1001", "secondary")
    rows = {row.application: {lv.level: lv.refusal for lv in row.levels} for row in as_secondary.rows}
    assert rows["manage_access"]["update"] is None  # Bob holds update
    assert rows["contact_updates"]["update"] == "above_own_level"  # Bob holds view
    assert (as_secondary.secondaries, as_secondary.max_secondaries) == (1, 4)


def test_a_level_the_member_already_holds_stays_givable(demo, service):
    frank = service.members.get(Actor.person("erin@globex.example"), "2002", "frank@globex.example")
    kept = service.members.privilege_matrix(DANA, "2002", "user", frank.levels)
    allocations = {lv.level: lv.refusal for row in kept.rows if row.application == "allocations" for lv in row.levels}
    assert allocations == {"none": None, "view": None, "update": None}  # Frank holds update; Dana none
    fresh = service.members.privilege_matrix(DANA, "2002", "user")
    allocations = {lv.level: lv.refusal for row in fresh.rows if row.application == "allocations" for lv in row.levels}
    assert allocations == {"none": None, "view": "above_own_level", "update": "above_own_level"}


def test_a_persons_sites_and_standing(demo, service):
    mine = service.people.sites(DANA)
    assert [(s.number, s.name, s.role) for s in mine.sites] == [
        ("1001", "Acme Manufacturing", "user"),
        ("2002", "Globex Logistics", "secondary"),
    ]
    nobody = service.people.sites(Actor.person("nobody@example.test"))
    assert (nobody.known, nobody.sites) == (False, [])
    standing = service.people.standing(DANA, "2002")
    assert (standing.role, standing.name, standing.levels["manage_access"]) == ("secondary", "Globex Logistics", "view")
    assert {"list_users", "view_contacts", "edit_contacts"} <= set(standing.allowed_actions)
    assert "add_user" not in standing.allowed_actions
    with pytest.raises(NotFound) as theirs:
        service.people.standing(Actor.person("frank@globex.example"), "1001")
    with pytest.raises(NotFound) as missing:
        service.people.standing(Actor.person("frank@globex.example"), "9999")
    assert str(theirs.value).replace("1001", "X") == str(missing.value).replace("9999", "X")


def test_one_request_and_requests_newest_first(demo, service):
    first = service.access_requests.ask(Actor.person("frank@globex.example"), "1001", AccessRequestInput("one")).id
    second = service.access_requests.ask(Actor.person("erin@globex.example"), "1001", AccessRequestInput("two")).id
    assert service.access_requests.get(ALICE, "1001", first).business_justification == "one"
    newest = service.access_requests.page(ALICE, "1001", AccessRequestQuery(order="newest", limit=1))
    assert [r.id for r in newest.requests] == [second] and newest.next_after == second
    older = service.access_requests.page(ALICE, "1001", AccessRequestQuery(order="newest", after=second))
    assert [r.id for r in older.requests] == [first]
    theirs = service.access_requests.ask(Actor.person("carol@acme.example"), "2002", AccessRequestInput("x")).id
    with pytest.raises(NotFound):
        service.access_requests.get(ALICE, "1001", theirs)


def test_the_trail_by_actor_and_action(demo, service):
    service.members.update(ALICE, "1001", CAROL, MemberChange(levels={"reporting": "none"}))
    service.members.update(BOB, "1001", CAROL, MemberChange(levels={"reporting": "view"}))
    service.contacts.mark_reviewed(ALICE, "1001")
    by_bob = service.site_audit.trail(ALICE, "1001", AuditQuery(actor="bob@acme.example"))
    assert [(r.actor, r.action) for r in by_bob.records] == [("bob@acme.example", "update_user")]
    updates = service.site_audit.trail(ALICE, "1001", AuditQuery(action="update_user"))
    assert [r.actor for r in updates.records] == ["bob@acme.example", "alice@acme.example"]
    both = service.site_audit.trail(
        ALICE, "1001", AuditQuery(action="update_user", actor="alice@acme.example", limit=1)
    )
    assert len(both.records) == 1 and both.next_before is None
