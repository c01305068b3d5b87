"""Contact updates over HTTP: /v1/sites/{site}/contacts..., and the operators'
/v1/contacts/overdue and /v1/contacts/review-reminders."""

from datetime import timedelta

import pytest

from authz.accounts.contacts import FIELDS
from authz.contract.actors import Actor
from models.identifiers import login_key
from models.outbox import OutboxMessage
from models.schema import Person, utcnow
from tests.drive import contacts

VALID = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "telephone": "+1 555 0199",
    "email": "grace@acme.example",
    "street_address": "1 Harbor Way",
    "city": "Arlington",
    "state_province": "VA",
    "postal_code": "22201",
    "contact_types": ["primary", "technical"],
}
OTHER = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "telephone": "+44 20 7946 0018",
    "email": "ada@acme.example",
    "street_address": "12 St James's Square",
    "city": "London",
    "state_province": "Greater London",
    "postal_code": "SW1Y 4LB",
    "contact_types": ["billing"],
}


@pytest.fixture
def alice(acting_as):
    return acting_as("alice@acme.example")


def add(client, headers, site="1001", **changes):
    resp = client.simulate_post(f"/v1/sites/{site}/contacts", headers=headers, json={**VALID, **changes})
    assert resp.status_code == 201, resp.json
    return resp.json


def listing(client, headers, site="1001"):
    resp = client.simulate_get(f"/v1/sites/{site}/contacts", headers=headers)
    assert resp.status_code == 200, resp.json
    return resp.json


def audit_trail(client, alice, site="1001"):
    return client.simulate_get(f"/v1/sites/{site}/audit", headers=alice).json["records"]


# -- saving ------------------------------------------------------------------


def test_add_then_list(client, alice, demo):
    created = add(client, alice)
    assert created["first_name"] == "Grace" and created["updated_by"] == "alice@acme.example"
    page = listing(client, alice)
    assert page["contacts"] == [created]
    assert page["review"]["overdue"] is True and page["review"]["last_reviewed_at"] is None
    assert page["uncovered_types"] == ["administrative", "renewal", "media_shipping", "billing"]


def test_add_answers_201_with_where_the_contact_is(client, alice, demo):
    resp = client.simulate_post("/v1/sites/1001/contacts", headers=alice, json=VALID)
    assert resp.status_code == 201 and resp.headers["location"] == f"/v1/sites/1001/contacts/{resp.json['id']}"


def test_a_whole_save_replaces_every_field(client, alice, demo):
    contact_id = add(client, alice)["id"]
    resp = client.simulate_put(f"/v1/sites/1001/contacts/{contact_id}", headers=alice, json=OTHER)
    assert resp.status_code == 200, resp.json
    (stored,) = listing(client, alice)["contacts"]
    assert {k: stored[k] for k in OTHER} == OTHER
    assert stored["id"] == contact_id


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("how", ["missing", "empty"])
def test_a_save_missing_a_mandatory_field_is_422_naming_it_and_changes_nothing(client, alice, demo, field, how):
    contact_id = add(client, alice)["id"]
    before, trail = listing(client, alice), audit_trail(client, alice)
    incomplete = {**OTHER}  # every other field would change
    if how == "missing":
        del incomplete[field]
    else:
        incomplete[field] = ""
    resp = client.simulate_put(f"/v1/sites/1001/contacts/{contact_id}", headers=alice, json=incomplete)
    assert resp.status_code == 422
    assert resp.json["field"] == field and field in resp.json["message"]
    resp = client.simulate_post("/v1/sites/1001/contacts", headers=alice, json=incomplete)
    assert resp.status_code == 422 and resp.json["field"] == field
    assert listing(client, alice) == before
    assert audit_trail(client, alice) == trail


@pytest.mark.parametrize("types", [["primary", "reseller"], [], "billing", None])
def test_a_bad_contact_type_is_422(client, alice, demo, types):
    contact_id = add(client, alice)["id"]
    resp = client.simulate_put(
        f"/v1/sites/1001/contacts/{contact_id}", headers=alice, json={**OTHER, "contact_types": types}
    )
    assert resp.status_code == 422 and resp.json["field"] == "contact_types"
    assert listing(client, alice)["contacts"][0]["contact_types"] == ["primary", "technical"]


def test_a_bad_email_is_422(client, alice, demo):
    resp = client.simulate_post("/v1/sites/1001/contacts", headers=alice, json={**VALID, "email": "grace.acme"})
    assert resp.status_code == 422 and resp.json["field"] == "email"
    assert listing(client, alice)["contacts"] == []


def test_an_unknown_field_is_400_naming_it(client, alice, demo):
    resp = client.simulate_post("/v1/sites/1001/contacts", headers=alice, json={**VALID, "fax": "+1 555 0100"})
    assert resp.status_code == 400 and resp.json["field"] == "fax"
    resp = client.simulate_post("/v1/sites/1001/contacts", headers=alice, json=["not", "an", "object"])
    assert resp.status_code == 400
    assert listing(client, alice)["contacts"] == []


def test_delete(client, alice, demo):
    contact_id = add(client, alice)["id"]
    resp = client.simulate_delete(f"/v1/sites/1001/contacts/{contact_id}", headers=alice)
    assert resp.status_code == 200 and resp.json == {"deleted": contact_id, "site": "1001"}
    assert listing(client, alice)["contacts"] == []
    assert client.simulate_delete(f"/v1/sites/1001/contacts/{contact_id}", headers=alice).status_code == 404


def test_every_change_is_audited_with_before_and_after(client, alice, demo):
    contact_id = add(client, alice)["id"]
    client.simulate_put(f"/v1/sites/1001/contacts/{contact_id}", headers=alice, json=OTHER)
    client.simulate_delete(f"/v1/sites/1001/contacts/{contact_id}", headers=alice)
    client.simulate_post("/v1/sites/1001/contacts/review", headers=alice)
    review, delete, update, create = audit_trail(client, alice)[:4]
    target = f"contact:{contact_id}"
    assert (create["action"], create["target"], create["before"], create["after"]["first_name"]) == (
        "create_contact",
        target,
        None,
        "Grace",
    )
    assert (update["action"], update["before"]["first_name"], update["after"]["first_name"]) == (
        "update_contact",
        "Grace",
        "Ada",
    )
    assert update["before"]["contact_types"] == ["primary", "technical"] and update["after"]["contact_types"] == [
        "billing"
    ]
    assert (delete["action"], delete["before"]["email"], delete["after"]) == (
        "delete_contact",
        "ada@acme.example",
        None,
    )
    assert (review["action"], review["after"]["reviewed_by"]) == ("mark_contacts_reviewed", "alice@acme.example")
    assert {r["actor"] for r in (create, update, delete, review)} == {"alice@acme.example"}


def test_a_contact_email_change_leaves_the_persons_notification_email(client, alice, demo):
    dana = Person.by_key(login_key("Dana.Diaz"))
    headers = {**alice, "X-Acting-User": "Dana.Diaz"}
    contact_id = add(client, headers, site="2002", email="dana@consult.example")["id"]
    resp = client.simulate_put(
        f"/v1/sites/2002/contacts/{contact_id}", headers=headers, json={**VALID, "email": "dana.new@consult.example"}
    )
    assert resp.status_code == 200 and resp.json["email"] == "dana.new@consult.example"
    after = Person.by_key(login_key("Dana.Diaz"))
    assert (after.email, after.notification_email) == (dana.email, "dana.alerts@consult.example")


# -- who may -------------------------------------------------------------------


def test_a_secondary_with_view_lists_but_may_not_edit(client, acting_as, alice, demo):
    contact_id = add(client, alice)["id"]
    bob = acting_as("bob@acme.example")
    assert [c["id"] for c in listing(client, bob)["contacts"]] == [contact_id]
    attempts = [
        client.simulate_post("/v1/sites/1001/contacts", headers=bob, json=OTHER),
        client.simulate_put(f"/v1/sites/1001/contacts/{contact_id}", headers=bob, json=OTHER),
        client.simulate_delete(f"/v1/sites/1001/contacts/{contact_id}", headers=bob),
        client.simulate_post("/v1/sites/1001/contacts/review", headers=bob),
    ]
    assert [r.status_code for r in attempts] == [403, 403, 403, 403]
    page = listing(client, alice)
    assert [c["first_name"] for c in page["contacts"]] == ["Grace"] and page["review"]["last_reviewed_at"] is None
    refused = audit_trail(client, alice)[0]
    assert (refused["actor"], refused["action"], refused["outcome"]) == (
        "bob@acme.example",
        "mark_contacts_reviewed",
        "refused",
    )


def test_a_user_may_not_see_them(client, acting_as, demo):
    carol = acting_as("carol@acme.example")
    assert client.simulate_get("/v1/sites/1001/contacts", headers=carol).status_code == 403
    assert client.simulate_post("/v1/sites/1001/contacts", headers=carol, json=VALID).status_code == 403


def test_a_secondary_with_update_may_edit(client, acting_as, demo):
    dana = acting_as("Dana.Diaz")
    contact_id = add(client, dana, site="2002")["id"]
    assert client.simulate_put(f"/v1/sites/2002/contacts/{contact_id}", headers=dana, json=OTHER).status_code == 200
    assert client.simulate_post("/v1/sites/2002/contacts/review", headers=dana).status_code == 200


def test_another_site_is_answered_like_a_missing_one(client, acting_as, demo):
    bob = acting_as("bob@acme.example")
    for method, suffix, body in (("GET", "", None), ("POST", "", VALID), ("POST", "/review", None)):
        other = client.simulate_request(method, f"/v1/sites/2002/contacts{suffix}", headers=bob, json=body)
        missing = client.simulate_request(method, f"/v1/sites/4040/contacts{suffix}", headers=bob, json=body)
        assert other.status_code == missing.status_code == 404
        assert other.json["message"].replace("2002", "N") == missing.json["message"].replace("4040", "N")


def test_a_contact_id_of_another_site_is_not_found(client, acting_as, alice, demo):
    erin = acting_as("erin@globex.example")
    theirs = add(client, erin, site="2002", city="Globex City")["id"]
    assert client.simulate_put(f"/v1/sites/1001/contacts/{theirs}", headers=alice, json=OTHER).status_code == 404
    assert client.simulate_delete(f"/v1/sites/1001/contacts/{theirs}", headers=alice).status_code == 404
    assert client.simulate_delete("/v1/sites/1001/contacts/not-a-number", headers=alice).status_code == 404
    (stored,) = listing(client, erin, site="2002")["contacts"]
    assert stored["city"] == "Globex City"


# -- review ----------------------------------------------------------------------


def test_mark_reviewed_records_when_and_who(client, acting_as, alice, demo):
    before = utcnow().replace(microsecond=0)
    resp = client.simulate_post("/v1/sites/1001/contacts/review", headers=alice)
    assert resp.status_code == 200
    assert resp.json["reviewed_by"] == "alice@acme.example" and resp.json["site"] == "1001"
    review = listing(client, acting_as("bob@acme.example"))["review"]
    assert review["last_reviewed_by"] == "alice@acme.example" and review["overdue"] is False
    assert review["last_reviewed_at"] == resp.json["reviewed_at"] >= before.isoformat() + "Z"


def test_overdue_is_for_operators_and_lists_the_sites_overdue(
    client, alice, operator_headers, demo, make, policy_table
):
    stale = make.site()
    contacts.mark_reviewed(policy_table, Actor.operator("t"), stale, now=utcnow() - timedelta(days=31))
    client.simulate_post("/v1/sites/1001/contacts/review", headers=alice)
    assert client.simulate_get("/v1/contacts/overdue", headers=alice).status_code == 403
    resp = client.simulate_get("/v1/contacts/overdue", headers=operator_headers)
    assert resp.status_code == 200 and resp.json["days"] == 30
    assert [s["site"] for s in resp.json["sites"]] == sorted(["2002", stale])
    assert {s["site"]: s["primary"] for s in resp.json["sites"]}["2002"] == "erin@globex.example"
    resp = client.simulate_get("/v1/contacts/overdue", params={"days": 40}, headers=operator_headers)
    assert [s["site"] for s in resp.json["sites"]] == ["2002"]
    assert client.simulate_get("/v1/contacts/overdue", params={"days": 0}, headers=operator_headers).status_code == 400


def test_reminders_are_queued_to_the_primary_once_per_period(client, alice, operator_headers, demo):
    erin = Person.by_key(login_key("erin@globex.example"))
    erin.notification_email = "erin.alerts@globex.example"
    erin.save()
    client.simulate_post("/v1/sites/1001/contacts/review", headers=alice)
    assert client.simulate_post("/v1/contacts/review-reminders", headers=alice).status_code == 403
    resp = client.simulate_post("/v1/contacts/review-reminders", headers=operator_headers)
    assert resp.status_code == 200
    assert [(r["site"], r["primary"], r["recipient"]) for r in resp.json["reminded"]] == [
        ("2002", "erin@globex.example", "erin.alerts@globex.example")
    ]
    resp = client.simulate_post("/v1/contacts/review-reminders", headers=operator_headers)
    assert resp.json["reminded"] == [] and resp.json["skipped"][0]["reason"] == "reminded_recently"
    messages = list(OutboxMessage.select())
    assert [(m.kind, m.site_number, m.recipient) for m in messages] == [
        ("review_reminder", "2002", "erin.alerts@globex.example")
    ]
    overdue = client.simulate_get("/v1/contacts/overdue", headers=operator_headers).json["sites"]
    assert overdue[0]["last_reminded_at"] is not None
