"""Access requests over HTTP: asking, reviewing, granting and denying, with the
status codes and error bodies a client relies on, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from authz.accounts.importer import import_data
from authz.audit.trail import as_dict
from models.access_requests import DENY_REASONS, AccessRequest
from models.audit import AuditRecord
from models.outbox import OutboxMessage

ALICE, BOB, CAROL, DANA = "alice@acme.example", "bob@acme.example", "carol@acme.example", "Dana.Diaz"
ERIN, FRANK = "erin@globex.example", "frank@globex.example"
WHY = "Needs the quarterly license reports"


def ask(client, acting_as, login: str, site: str, justification: str | None = WHY) -> int:
    body = {"business_justification": justification} if justification else {}
    resp = client.simulate_post(f"/v1/sites/{site}/access-requests", json=body, headers=acting_as(login))
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def grant(client, acting_as, login: str, site: str, rid, body: dict):
    return client.simulate_post(f"/v1/sites/{site}/access-requests/{rid}/grant", json=body, headers=acting_as(login))


def deny(client, acting_as, login: str, site: str, rid, reason):
    return client.simulate_post(
        f"/v1/sites/{site}/access-requests/{rid}/deny", json={"reason": reason}, headers=acting_as(login)
    )


def listing(client, acting_as, login: str, site: str, query: str = ""):
    return client.simulate_get(f"/v1/sites/{site}/access-requests", query_string=query, headers=acting_as(login))


# -- asking ------------------------------------------------------------------------


def test_a_known_person_asks_for_themselves(client, demo, acting_as):
    resp = client.simulate_post(
        "/v1/sites/1001/access-requests", json={"business_justification": WHY}, headers=acting_as(FRANK)
    )
    assert resp.status_code == 201
    assert resp.json["status"] == "pending" and resp.json["requester"]["login_id"] == FRANK
    assert AccessRequest.get_by_id(resp.json["id"]).person.login_id == FRANK
    # No body at all is a request without a justification.
    resp = client.simulate_post("/v1/sites/2002/access-requests", headers=acting_as(CAROL))
    assert resp.status_code == 201 and resp.json["business_justification"] is None


def test_an_unknown_identity_is_refused(client, demo, acting_as):
    resp = client.simulate_post("/v1/sites/1001/access-requests", json={}, headers=acting_as("ghost@nowhere.example"))
    assert resp.status_code == 422 and resp.json["field"] == "login_id"
    assert AccessRequest.select().count() == 0


def test_a_member_cannot_ask_and_only_one_request_is_open(client, demo, acting_as):
    resp = client.simulate_post("/v1/sites/1001/access-requests", json={}, headers=acting_as(CAROL))
    assert resp.status_code == 409 and "already a member" in resp.json["message"]
    ask(client, acting_as, FRANK, "1001")
    resp = client.simulate_post("/v1/sites/1001/access-requests", json={}, headers=acting_as(FRANK))
    assert resp.status_code == 409 and "open access request" in resp.json["message"]
    assert AccessRequest.select().count() == 1


def test_asking_for_a_missing_site_is_404(client, demo, acting_as):
    resp = client.simulate_post("/v1/sites/4040/access-requests", json={}, headers=acting_as(FRANK))
    assert resp.status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"business_justification": ["x"]}, "business_justification"),
        ({"justification": WHY}, "justification"),
        ({"login_id": ERIN}, "login_id"),  # a person asks only for themselves (403)
    ],
)
def test_bad_request_bodies_name_the_field(client, demo, acting_as, body, field):
    resp = client.simulate_post("/v1/sites/1001/access-requests", json=body, headers=acting_as(FRANK))
    assert resp.status_code in (400, 403) and resp.json["field"] == field
    assert resp.status_code == (403 if field == "login_id" else 400)


def test_an_operator_key_asks_for_the_person_it_names(client, demo, operator_headers):
    resp = client.simulate_post("/v1/sites/1001/access-requests", json={"login_id": FRANK}, headers=operator_headers)
    assert resp.status_code == 201 and resp.json["requester"]["login_id"] == FRANK
    resp = client.simulate_post("/v1/sites/1001/access-requests", json={}, headers=operator_headers)
    assert resp.status_code == 422 and resp.json["field"] == "login_id"  # well formed: a rule of who asks for whom


def test_a_check_key_may_not_call_these_routes(client, demo, auth):
    assert client.simulate_post("/v1/sites/1001/access-requests", json={}, headers=auth).status_code == 403
    assert client.simulate_get("/v1/sites/1001/access-requests", headers=auth).status_code == 403


# -- reviewing ---------------------------------------------------------------------


def test_the_list_shows_details_for_review(client, demo, acting_as):
    rid = ask(client, acting_as, FRANK, "1001")
    resp = listing(client, acting_as, ALICE, "1001")
    assert resp.status_code == 200 and resp.json["next_after"] is None
    [item] = resp.json["requests"]
    assert item["id"] == rid and item["business_justification"] == WHY
    assert item["requester"] == {
        "login_id": FRANK,
        "first_name": "Frank",
        "last_name": "Fox",
        "email": FRANK,
        "phone": "+1 555 0202",
    }


def test_the_list_pages_and_filters(client, demo, acting_as, policy_table):
    import_data(
        {"people": [{"login_id": f"p{i}@example.test", "email": f"p{i}@example.test"} for i in range(3)]}, policy_table
    )
    ids = [ask(client, acting_as, f"p{i}@example.test", "1001") for i in range(3)]
    first = listing(client, acting_as, BOB, "1001", "limit=2").json
    assert [r["id"] for r in first["requests"]] == ids[:2] and first["next_after"] == ids[1]
    rest = listing(client, acting_as, BOB, "1001", f"limit=2&after={first['next_after']}").json
    assert [r["id"] for r in rest["requests"]] == ids[2:] and rest["next_after"] is None
    assert deny(client, acting_as, ALICE, "1001", ids[0], "requestor_unknown").status_code == 200
    assert [r["id"] for r in listing(client, acting_as, BOB, "1001", "status=denied").json["requests"]] == ids[:1]
    assert [r["id"] for r in listing(client, acting_as, BOB, "1001").json["requests"]] == ids[1:]


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=open", "status"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("limit=1001", "limit"),
        ("after=-3", "after"),
    ],
)
def test_bad_list_parameters_name_the_field(client, demo, acting_as, query, field):
    resp = listing(client, acting_as, ALICE, "1001", query)
    assert resp.status_code == 400 and resp.json["field"] == field


def test_a_plain_user_may_not_list(client, demo, acting_as):
    ask(client, acting_as, FRANK, "1001")
    resp = listing(client, acting_as, CAROL, "1001")
    assert resp.status_code == 403 and "frank" not in resp.text


def test_a_non_member_gets_what_a_missing_site_gets(client, demo, acting_as):
    ask(client, acting_as, FRANK, "1001")
    not_member = listing(client, acting_as, ERIN, "1001")
    missing = listing(client, acting_as, ERIN, "4040")
    assert not_member.status_code == missing.status_code == 404
    assert not_member.json == {"error": "not_found", "message": "no site '1001'"}
    assert missing.json == {"error": "not_found", "message": "no site '4040'"}


# -- granting ----------------------------------------------------------------------


def test_grant_makes_the_member_visible_to_checks_notifies_and_audits(client, demo, acting_as, auth):
    rid = ask(client, acting_as, FRANK, "1001")
    resp = grant(client, acting_as, ALICE, "1001", rid, {"role": "user", "levels": {"purchase_download": "full"}})
    assert resp.status_code == 200, resp.json
    assert resp.json["request"]["status"] == "granted" and resp.json["member"]["role"] == "user"
    check = client.simulate_post(
        "/v1/check",
        headers=auth,
        json={"user": FRANK, "site": "1001", "action": "renew_licenses", "min_change_seq": resp.json["change_seq"]},
    )
    assert check.json["allowed"] is True
    [message] = OutboxMessage.select()
    assert (message.kind, message.recipient, message.site_number) == ("request_granted", FRANK, "1001")
    [record] = AuditRecord.select().where(AuditRecord.action == "grant_access_request")
    record = as_dict(record)
    assert record["actor"] == ALICE and record["target"] == FRANK
    assert record["before"]["status"] == "pending" and record["after"]["levels"]["purchase_download"] == "full"


def test_grant_to_dana_goes_to_her_notification_address(client, make, acting_as, policy_table):
    site = make.site()
    import_data(
        {
            "people": [
                {"login_id": DANA, "email": "dana@consult.example", "notification_email": "dana.alerts@consult.example"}
            ]
        },
        policy_table,
    )
    rid = ask(client, acting_as, DANA, site)
    assert grant(client, acting_as, f"primary-{site}@example.test", site, rid, {"role": "user"}).status_code == 200
    assert [m.recipient for m in OutboxMessage.select()] == ["dana.alerts@consult.example"]


def test_grant_without_any_justification_is_422(client, demo, acting_as):
    rid = ask(client, acting_as, FRANK, "1001", justification=None)
    resp = grant(client, acting_as, ALICE, "1001", rid, {"role": "user"})
    assert resp.status_code == 422 and resp.json["field"] == "business_justification"
    assert OutboxMessage.select().count() == 0 and AccessRequest.get_by_id(rid).status == "pending"
    resp = grant(client, acting_as, ALICE, "1001", rid, {"role": "user", "business_justification": "Auditor"})
    assert resp.status_code == 200 and resp.json["request"]["business_justification"] == "Auditor"


def test_grant_above_the_deciders_level_is_403(client, demo, acting_as):
    rid = ask(client, acting_as, FRANK, "1001")
    resp = grant(client, acting_as, BOB, "1001", rid, {"role": "user", "levels": {"purchase_download": "full"}})
    assert resp.status_code == 403 and resp.json["field"] == "levels.purchase_download"
    assert AccessRequest.get_by_id(rid).status == "pending"


def test_a_user_with_manage_access_is_422(client, demo, acting_as):
    rid = ask(client, acting_as, FRANK, "1001")
    resp = grant(client, acting_as, ALICE, "1001", rid, {"role": "user", "levels": {"manage_access": "update"}})
    assert resp.status_code == 422 and resp.json["field"] == "levels.manage_access"


def test_a_fifth_secondary_is_409(client, demo, make, acting_as):
    for _ in range(3):
        make.member("1001", role="secondary")
    rid = ask(client, acting_as, FRANK, "1001")
    resp = grant(client, acting_as, ALICE, "1001", rid, {"role": "secondary"})
    assert resp.status_code == 409 and "at most 4" in resp.json["message"]
    assert AccessRequest.get_by_id(rid).status == "pending"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"role": "owner"}, "role"),
        ({"role": "user", "levels": {"nope": "x"}}, "levels.nope"),
        ({"role": "user", "extra": 1}, "extra"),
    ],
)
def test_bad_grant_bodies_name_the_field(client, demo, acting_as, body, field):
    rid = ask(client, acting_as, FRANK, "1001")
    resp = grant(client, acting_as, ALICE, "1001", rid, body)
    assert resp.status_code == 400 and resp.json["field"] == field


# -- denying and deciding once ------------------------------------------------------


@pytest.mark.parametrize("reason", list(DENY_REASONS))
def test_deny_with_each_reason(client, demo, acting_as, reason):
    rid = ask(client, acting_as, FRANK, "1001")
    resp = deny(client, acting_as, BOB, "1001", rid, reason)
    assert resp.status_code == 200 and resp.json["deny_reason"] == reason
    assert resp.json["deny_reason_text"] == DENY_REASONS[reason]
    [message] = OutboxMessage.select()
    assert message.kind == "request_denied" and DENY_REASONS[reason] in message.body


@pytest.mark.parametrize("reason", ["made_up", "", None, ["requestor_unknown", "access_not_necessary"]])
def test_any_other_reason_is_422(client, demo, acting_as, reason):
    rid = ask(client, acting_as, FRANK, "1001")
    resp = deny(client, acting_as, ALICE, "1001", rid, reason)
    assert resp.status_code == 422 and resp.json["field"] == "reason"
    assert AccessRequest.get_by_id(rid).status == "pending" and OutboxMessage.select().count() == 0


def test_deciding_twice_is_409(client, demo, acting_as):
    rid = ask(client, acting_as, FRANK, "1001")
    assert deny(client, acting_as, ALICE, "1001", rid, "access_not_necessary").status_code == 200
    assert deny(client, acting_as, ALICE, "1001", rid, "requestor_unknown").status_code == 409
    assert grant(client, acting_as, BOB, "1001", rid, {"role": "user"}).status_code == 409
    assert OutboxMessage.select().count() == 1


def test_manage_access_view_may_not_decide(client, demo, acting_as):
    rid = ask(client, acting_as, CAROL, "2002")
    assert listing(client, acting_as, DANA, "2002").status_code == 200  # view is enough to review
    assert grant(client, acting_as, DANA, "2002", rid, {"role": "user"}).status_code == 403
    assert deny(client, acting_as, DANA, "2002", rid, "requestor_unknown").status_code == 403
    assert AccessRequest.get_by_id(rid).status == "pending"


def test_a_decider_of_another_site_gets_404(client, demo, acting_as):
    rid = ask(client, acting_as, CAROL, "2002")
    resp = grant(client, acting_as, ALICE, "2002", rid, {"role": "user"})
    assert resp.status_code == 404 and resp.json["message"] == "no site '2002'"
    assert deny(client, acting_as, ALICE, "2002", rid, "requestor_unknown").status_code == 404
    assert AccessRequest.get_by_id(rid).status == "pending"


def test_a_request_id_of_another_site_is_404(client, demo, acting_as, policy_table):
    import_data({"people": [{"login_id": "gina@example.test", "email": "gina@example.test"}]}, policy_table)
    rid = ask(client, acting_as, "gina@example.test", "2002")
    assert grant(client, acting_as, ALICE, "1001", rid, {"role": "user"}).status_code == 404
    assert deny(client, acting_as, ALICE, "1001", rid, "requestor_unknown").status_code == 404
    assert AccessRequest.get_by_id(rid).status == "pending" and OutboxMessage.select().count() == 0


def test_a_malformed_request_id_is_400(client, demo, acting_as):
    resp = deny(client, acting_as, ALICE, "1001", "abc", "requestor_unknown")
    assert resp.status_code == 400 and resp.json["field"] == "request_id"
