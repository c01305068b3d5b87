"""The check API contract (DESIGN.md), through Falcon's test client."""

import pytest


def check(client, auth, **body):
    return client.simulate_post("/v1/check", json=body, headers=auth)


def test_allowed_check_carries_rule_and_versions(client, auth, demo, policy_table):
    resp = check(client, auth, user="carol@acme.example", site="1001", action="download_software")
    assert resp.status_code == 200
    assert resp.json["allowed"] is True
    assert resp.json["policy_version"] == policy_table.version
    assert resp.json["reason"]["rule"] == "p, user, purchase_download:downloads, download_software"
    assert resp.json["reason"]["source"].startswith("policy.csv:")
    assert isinstance(resp.json["change_seq"], int) and resp.json["decision_id"]


@pytest.mark.parametrize(
    "user,site,action,code",
    [
        ("carol@acme.example", "1001", "request_media", "level_too_low"),
        ("Dana.Diaz", "1001", "list_users", "role_may_not_hold"),
        ("nobody@example.test", "1001", "view_reports", "unknown_user"),
        ("carol@acme.example", "9999", "view_reports", "unknown_site"),
        ("carol@acme.example", "2002", "view_reports", "no_membership"),
    ],
)
def test_denials_say_why(client, auth, demo, user, site, action, code):
    resp = check(client, auth, user=user, site=site, action=action)
    assert resp.status_code == 200
    assert resp.json["allowed"] is False
    assert resp.json["reason"]["code"] == code


def test_login_ids_compare_ignoring_the_case_of_ascii_letters(client, auth, demo):
    resp = check(client, auth, user="CAROL@Acme.Example", site="1001", action="download_software")
    assert resp.json["allowed"] is True


@pytest.mark.parametrize(
    "user",
    [
        "  carol@acme.example ",
        "carol@acme.example\n",
        "fran\u212a@globex.example",
        "carol@acme.exam\u200bple",
        "e\u0301mile@acme.example",
    ],
)
def test_a_login_id_that_would_need_repair_is_400_never_matched(client, auth, demo, user):
    resp = check(client, auth, user=user, site="1001", action="download_software")
    assert resp.status_code == 400 and resp.json["field"] == "user"
    assert "allowed" not in resp.json


def test_one_person_has_different_rights_on_each_site(client, auth, demo):
    on_acme = check(client, auth, user="dana.diaz", site="1001", action="list_users").json
    on_globex = check(client, auth, user="dana.diaz", site="2002", action="list_users").json
    assert (on_acme["allowed"], on_globex["allowed"]) == (False, True)


def test_primary_holds_every_action_at_the_highest_level(client, auth, demo, policy_table):
    for action in policy_table.catalogue.action_application:
        assert check(client, auth, user="alice@acme.example", site="1001", action=action).json["allowed"], action


@pytest.mark.parametrize(
    "body,field",
    [
        ({"site": "1001", "action": "view_reports"}, "user"),
        ({"user": "", "site": "1001", "action": "view_reports"}, "user"),
        ({"user": "a", "site": 1001, "action": "view_reports"}, "site"),
        ({"user": "a", "site": "1001"}, "action"),
        ({"user": "a" * 321, "site": "1001", "action": "view_reports"}, "user"),
        ({"user": "a", "site": "1001", "action": "view_reports", "usr": "b"}, "usr"),
        ({"user": "a", "site": "1001", "action": "view_reports", "min_change_seq": -1}, "min_change_seq"),
        ({"user": "a", "site": "1001", "action": "view_reports", "min_change_seq": 2**63}, "min_change_seq"),
    ],
)
def test_malformed_check_is_400_naming_the_field(client, auth, demo, body, field):
    resp = client.simulate_post("/v1/check", json=body, headers=auth)
    assert resp.status_code == 400
    assert resp.json["field"] == field
    assert "allowed" not in resp.json


def test_a_min_change_seq_ahead_of_the_database_is_409_never_a_decision(client, auth, demo):
    """Well formed (a 64-bit number), but no change of this database has it: a conflict with its state."""
    resp = check(client, auth, user="carol@acme.example", site="1001", action="view_reports", min_change_seq=10**9)
    assert resp.status_code == 409 and resp.json["field"] == "min_change_seq"
    assert "allowed" not in resp.json


def test_unknown_action_is_400(client, auth, demo):
    resp = check(client, auth, user="carol@acme.example", site="1001", action="launch_missiles")
    assert resp.status_code == 400
    assert resp.json["error"] == "unknown_action" and resp.json["field"] == "action"


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", "null"])
def test_body_that_is_not_a_check_object_is_400(client, auth, body):
    resp = client.simulate_post("/v1/check", body=body, headers={**auth, "Content-Type": "application/json"})
    assert resp.status_code == 400
    assert "allowed" not in (resp.json or {})


JSON_TYPES = ("application/json", "application/json; charset=utf-8")  # read by orjson directly; by Falcon


@pytest.mark.parametrize("body", ["{not json", ""])
def test_bad_json_gets_the_same_answer_on_both_ways_in(client, auth, body):
    answers = [client.simulate_post("/v1/check", body=body, headers={**auth, "Content-Type": t}) for t in JSON_TYPES]
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json == answers[1].json and answers[0].json["error"]


def test_a_check_gets_the_same_decision_on_both_ways_in(client, auth, demo):
    body = '{"user": "carol@acme.example", "site": "1001", "action": "download_software"}'
    answers = [
        client.simulate_post("/v1/check", body=body, headers={**auth, "Content-Type": t}).json for t in JSON_TYPES
    ]
    assert answers[0]["allowed"] is True
    assert [{**a, "decision_id": None} for a in answers] == [{**answers[0], "decision_id": None}] * 2


def test_body_that_is_not_json_is_415(client, auth):
    resp = client.simulate_post(
        "/v1/check", body="user=a&site=b", headers={**auth, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status_code == 415


def test_batch_answers_in_order_under_one_version(client, auth, demo):
    checks = [
        {"user": "carol@acme.example", "site": "1001", "action": "download_software"},
        {"user": "carol@acme.example", "site": "1001", "action": "request_media"},
        {"user": "dana.diaz", "site": "2002", "action": "edit_contacts"},
    ]
    resp = client.simulate_post("/v1/check/batch", json={"checks": checks}, headers=auth)
    assert resp.status_code == 200
    assert [r["allowed"] for r in resp.json["results"]] == [True, False, True]
    assert len({r["policy_version"] for r in resp.json["results"]}) == 1
    assert len({r["decision_id"] for r in resp.json["results"]}) == 3


@pytest.mark.parametrize(
    "body,field",
    [
        ({"checks": []}, "checks"),
        ({"checks": [{"user": "a", "site": "1001", "action": "view_reports"}] * 1001}, "checks"),
        ({"checks": "x"}, "checks"),
        (
            {"checks": [{"user": "a", "site": "1001", "action": "view_reports"}, {"user": "a", "site": "1001"}]},
            "checks[1].action",
        ),
        ({"checks": [{"user": "a", "site": "1001", "action": "nope"}]}, "checks[0].action"),
        (
            {"checks": [{"user": "a", "site": "1001", "action": "view_reports", "min_change_seq": 1}]},
            "checks[0].min_change_seq",
        ),
    ],
)
def test_malformed_batch_is_400_naming_the_item(client, auth, body, field):
    resp = client.simulate_post("/v1/check/batch", json=body, headers=auth)
    assert resp.status_code == 400
    assert resp.json["field"] == field


def test_batch_of_1000_is_accepted(client, auth, demo):
    checks = [{"user": "carol@acme.example", "site": "1001", "action": "view_reports"}] * 1000
    resp = client.simulate_post("/v1/check/batch", json={"checks": checks}, headers=auth)
    assert resp.status_code == 200 and len(resp.json["results"]) == 1000
    assert all(r["allowed"] for r in resp.json["results"])


def test_effective_permissions_of_a_member(client, auth, demo):
    resp = client.simulate_get("/v1/sites/2002/members/DANA.DIAZ/permissions", headers=auth)
    assert resp.status_code == 200
    assert resp.json["role"] == "secondary"
    apps = {a["application"]: a for a in resp.json["applications"]}
    assert apps["manage_access"] == {
        "application": "manage_access",
        "level": "view",
        "allowed_actions": ["list_users", "export_users", "view_access_requests", "view_audit"],
    }
    assert apps["reporting"]["allowed_actions"] == []


def test_effective_permissions_of_a_non_member_is_404(client, auth, demo):
    assert client.simulate_get("/v1/sites/2002/members/carol@acme.example/permissions", headers=auth).status_code == 404


def test_who_can_lists_members_meeting_the_minimum(client, auth, demo):
    resp = client.simulate_get("/v1/sites/1001/actions/view_reports/members", headers=auth)
    assert resp.status_code == 200
    assert [m["user"] for m in resp.json["members"]] == [
        "alice@acme.example",
        "bob@acme.example",
        "carol@acme.example",
        "Dana.Diaz",
    ]
    assert resp.json["members"][0] == {
        "user": "alice@acme.example",
        "email": "alice@acme.example",
        "role": "primary",
        "level": "view",
    }
    resp = client.simulate_get("/v1/sites/1001/actions/add_user/members", headers=auth)
    assert [m["user"] for m in resp.json["members"]] == ["alice@acme.example", "bob@acme.example"]


def test_who_can_pages_by_login(client, auth, make):
    site = make.site(primary="a-primary@example.test")
    for i in range(5):
        make.member(site, f"user{i}@example.test", reporting="view")
    make.member(site, "no-reports@example.test")
    seen, after = [], ""
    while True:
        page = client.simulate_get(
            f"/v1/sites/{site}/actions/view_reports/members", params={"limit": 2, "after": after}, headers=auth
        ).json
        seen += [m["user"] for m in page["members"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == ["a-primary@example.test"] + [f"user{i}@example.test" for i in range(5)]


def test_who_can_refuses_unknown_action_and_bad_limit(client, auth, demo):
    assert client.simulate_get("/v1/sites/1001/actions/nope/members", headers=auth).status_code == 400
    resp = client.simulate_get("/v1/sites/1001/actions/view_reports/members", params={"limit": 0}, headers=auth)
    assert resp.status_code == 400


def test_policy_lists_the_catalogue_in_level_order(client, auth, policy_table):
    resp = client.simulate_get("/v1/policy", headers=auth)
    assert resp.status_code == 200
    assert resp.json["version"] == policy_table.version
    purchase = next(a for a in resp.json["applications"] if a["id"] == "purchase_download")
    assert [line["id"] for line in purchase["levels"]] == ["none", "downloads", "media", "full"]
    media = next(a for a in purchase["actions"] if a["id"] == "request_media")
    assert media["minimum_level"] == {"primary": "none", "secondary": "media", "user": "media"}


def test_a_whole_number_written_as_a_float_is_an_integer(client, auth, demo):
    """JSON Schema counts 3.0 as an integer; the document promises integers, so it is one."""
    resp = check(client, auth, user="carol@acme.example", site="1001", action="view_reports", min_change_seq=1.0)
    assert resp.status_code == 200 and "allowed" in resp.json
    resp = check(client, auth, user="carol@acme.example", site="1001", action="view_reports", min_change_seq=1.5)
    assert resp.status_code == 400 and resp.json["field"] == "min_change_seq"
