"""A person's own notification email: separate from the login email, audited."""

import pytest

from authz.audit import trail
from models.identifiers import login_key
from models.schema import Person


def test_a_person_sets_and_clears_their_notification_email(client, acting_as, demo):
    resp = client.simulate_patch(
        "/v1/me", headers=acting_as("carol@acme.example"), json={"notification_email": "carol.alerts@acme.example"}
    )
    assert resp.status_code == 200 and resp.json["notification_email"] == "carol.alerts@acme.example"
    carol = Person.by_key(login_key("carol@acme.example"))
    assert (carol.email, carol.notification_email) == ("carol@acme.example", "carol.alerts@acme.example")
    assert (
        client.simulate_get("/v1/me", headers=acting_as("CAROL@acme.example")).json["notification_email"]
        == "carol.alerts@acme.example"
    )
    client.simulate_patch("/v1/me", headers=acting_as("carol@acme.example"), json={"notification_email": None})
    assert Person.by_key(login_key("carol@acme.example")).notification_email is None
    record = trail.page_all(limit=1)[0]
    assert (record["action"], record["actor"], record["after"]) == (
        "set_notification_email",
        "carol@acme.example",
        {"notification_email": None},
    )


@pytest.mark.parametrize(
    "body,field",
    [
        ({"notification_email": "not an address"}, "notification_email"),
        # NUL, which PostgreSQL cannot store: once a 500 there (found by schemathesis)
        ({"notification_email": "dana\u0000@consult.example"}, "notification_email"),
        ({"email": "x@example.test"}, "email"),
        ([], None),
    ],
)
def test_bad_input_is_400_and_changes_nothing(client, acting_as, demo, body, field):
    resp = client.simulate_patch("/v1/me", headers=acting_as("Dana.Diaz"), json=body)
    assert resp.status_code == 400 and resp.json.get("field") == field
    assert Person.by_key(login_key("dana.diaz")).notification_email == "dana.alerts@consult.example"


def test_an_unknown_person_is_404(client, acting_as, demo):
    assert client.simulate_get("/v1/me", headers=acting_as("ghost@example.test")).status_code == 404
