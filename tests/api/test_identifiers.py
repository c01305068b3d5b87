"""One rule for login ids on every door (models/identifiers.py): the check API,
the administrative API (bodies, paths, X-Acting-User), operators, the command
line and the importer all refuse what would need repair, with 400 naming the
field, and never match a lookalike to someone else."""

import pytest

from authz.accounts.importer import import_data
from authz.errors import ImportInvalid
from models.schema import Person, Site

KELVIN_FRANK = "fran\u212a@globex.example"  # KELVIN SIGN: looks like Frank's k
HOSTILE = [KELVIN_FRANK, "frank@globex.example\n", " frank@globex.example", "fra\u200bnk@globex.example"]


@pytest.mark.parametrize("login", HOSTILE)
def test_a_check_never_answers_for_a_lookalike(client, auth, demo, login):
    resp = client.simulate_post(
        "/v1/check", json={"user": login, "site": "2002", "action": "view_reports"}, headers=auth
    )
    assert resp.status_code == 400 and resp.json["field"] == "user"


@pytest.mark.parametrize("login", HOSTILE)
def test_creating_a_site_with_a_lookalike_primary_is_refused(client, operator_headers, demo, login):
    body = {"number": "3003", "name": "Initech", "primary": {"login_id": login, "email": "x@initech.example"}}
    resp = client.simulate_post("/v1/sites", json=body, headers=operator_headers)
    assert resp.status_code == 400 and resp.json["field"] == "primary.login_id"
    assert not Site.select().where(Site.number == "3003").exists()


# Surrounding whitespace is not part of an HTTP header's value (RFC 9110 5.5): it never reaches us.
@pytest.mark.parametrize("login", [KELVIN_FRANK, "fra\u200bnk@globex.example", "frank@globex.exampl\u0435"])
def test_the_acting_person_must_be_named_exactly(client, acting_as, demo, login):
    resp = client.simulate_get("/v1/sites/2002/members", headers=acting_as(login))
    if login.isprintable() and login.endswith("\u0435"):  # a Cyrillic e: a different, unknown person
        assert resp.status_code == 404
    else:
        assert resp.status_code == 400 and resp.json["field"] == "X-Acting-User"


def test_a_lookalike_in_the_path_is_refused(client, acting_as, demo):
    resp = client.simulate_get(
        "/v1/sites/2002/members/fran%E2%84%AA@globex.example", headers=acting_as("erin@globex.example")
    )
    assert resp.status_code == 400 and resp.json["field"] == "login_id"


def test_adding_a_lookalike_member_is_refused(client, acting_as, demo):
    body = {"login_id": KELVIN_FRANK, "email": "frank@globex.example", "business_justification": "x", "role": "user"}
    resp = client.simulate_post("/v1/sites/1001/members", json=body, headers=acting_as("alice@acme.example"))
    assert resp.status_code == 400 and resp.json["field"] == "login_id"


def test_the_command_line_refuses_a_lookalike(cli, demo):
    code, out, err = cli("members", "list", "--site", "2002", "--as", KELVIN_FRANK)
    assert code == 2 and out == "" and "--as" in err and "NFC" in err


def test_the_importer_refuses_a_lookalike(database, policy_table):
    with pytest.raises(ImportInvalid) as refused:
        import_data({"people": [{"login_id": KELVIN_FRANK, "email": "f@globex.example"}]}, policy_table)
    assert "people[0].login_id" in str(refused.value) and not Person.select().exists()
