"""The SCIM 2.0 door (/scim/v2) in process, on both databases: discovery, users
(create, read, replace, PATCH, delete, list with filter, paging and attribute
selection), ETags, SCIM error bodies, and what deprovisioning does to checks,
memberships, access requests, the site list and the audit trail.

Runs on the demo data: site 1001: alice (primary), bob (secondary), carol (user),
Dana.Diaz (user); site 2002: erin (primary), Dana.Diaz (secondary), frank (user)."""

from __future__ import annotations

import pytest

from authz.authn.keys import create_key
from models.access_requests import AccessRequest
from models.audit import AuditRecord
from models.schema import Person

SCIM = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def scim_key(database):
    return create_key("identity provider", "scim")[0]


@pytest.fixture
def idp(client, scim_key, _keys):
    """Calls of the identity provider: idp(method, path, body=None, **headers) -> response."""

    def call(method: str, path: str, body=None, **headers: str):
        sent = {"Authorization": f"Bearer {scim_key}", "Content-Type": SCIM, **headers}
        return client.simulate_request(method, "/scim/v2" + path, json=body, headers=sent)

    return call


def new_user(login: str, *emails: str, **more) -> dict:
    addresses = emails or (login if "@" in login else f"{login}@example.test",)
    return {
        "schemas": [USER_SCHEMA],
        "userName": login,
        "emails": [{"value": e, "type": "work", "primary": i == 0} for i, e in enumerate(addresses)],
        **more,
    }


def patch(*operations: dict) -> dict:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def user_id(idp, login: str) -> str:
    found = idp("GET", f'/Users?filter=userName eq "{login}"').json["Resources"]
    assert len(found) == 1, found
    return found[0]["id"]


def check(client, auth, user: str, site: str, action: str = "download_software", seq: int | None = None) -> dict:
    body = {"user": user, "site": site, "action": action}
    if seq is not None:
        body["min_change_seq"] = seq
    resp = client.simulate_post("/v1/check", json=body, headers=auth)
    assert resp.status_code == 200, resp.text
    return resp.json


# -- the door ------------------------------------------------------------------


def test_discovery_describes_what_is_stored(idp):
    config = idp("GET", "/ServiceProviderConfig")
    assert config.status_code == 200 and config.headers["content-type"] == SCIM
    assert config.json["patch"]["supported"] and config.json["etag"]["supported"]
    assert config.json["filter"] == {"supported": True, "maxResults": 200}
    assert not config.json["bulk"]["supported"] and not config.json["sort"]["supported"]
    types = idp("GET", "/ResourceTypes").json
    assert [t["endpoint"] for t in types["Resources"]] == ["/Users"]
    assert idp("GET", "/ResourceTypes/User").json["schema"] == USER_SCHEMA
    user_schema = idp("GET", f"/Schemas/{USER_SCHEMA}").json
    attributes = {a["name"]: a for a in user_schema["attributes"]}
    assert set(attributes) == {"userName", "name", "emails", "phoneNumbers", "active"}
    assert attributes["userName"]["uniqueness"] == "server" and attributes["emails"]["required"]
    assert len(idp("GET", "/Schemas").json["Resources"]) == 4


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/Nope", 404), ("GET", "/Schemas/urn:nope", 404), ("POST", "/ServiceProviderConfig", 405)],
)
def test_every_error_is_a_scim_error(idp, method, path, status):
    resp = idp(method, path, {})
    assert resp.status_code == status
    assert resp.headers["content-type"] == SCIM
    assert resp.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert resp.json["status"] == str(status)


def test_only_a_key_of_the_scim_scope_may_call(client, auth, scim_key):
    assert client.simulate_get("/scim/v2/Users").status_code == 401
    wrong = client.simulate_get("/scim/v2/Users", headers=auth)  # a check key
    assert wrong.status_code == 403 and wrong.json["status"] == "403"
    other = client.simulate_post("/v1/check", json={}, headers={"Authorization": f"Bearer {scim_key}"})
    assert other.status_code == 403  # and the scim key calls nothing else


# -- users -----------------------------------------------------------------------


def test_create_then_read(idp):
    created = idp("POST", "/Users", new_user("Grace@Acme.example", name={"givenName": "Grace", "familyName": "Hopper"}))
    assert created.status_code == 201, created.text
    body = created.json
    assert body["userName"] == "Grace@Acme.example" and body["active"] is True
    assert body["name"] == {"givenName": "Grace", "familyName": "Hopper"}
    assert body["meta"]["version"] == created.headers["etag"] == 'W/"1"'
    assert created.headers["location"].endswith(f"/scim/v2/Users/{body['id']}") == body["meta"]["location"].endswith(
        body["id"]
    )
    assert int(created.headers["x-change-seq"]) > 0
    read = idp("GET", f"/Users/{body['id']}")
    assert read.status_code == 200 and read.json == body
    person = Person.by_key("grace@acme.example")
    assert (person.email, person.first_name, person.last_name) == ("Grace@Acme.example", "Grace", "Hopper")


@pytest.mark.parametrize(
    ("login", "problem"),
    [(" grace", "space at the start or end"), ("gr\u200bace", "not printable"), ("e\u0301", "NFC")],
)
def test_a_user_name_follows_the_login_id_rule(idp, login, problem):
    resp = idp("POST", "/Users", new_user(login, "g@example.test"))
    assert resp.status_code == 400 and resp.json["scimType"] == "invalidValue"
    assert problem in resp.json["detail"] and "userName" in resp.json["detail"]


def test_a_user_name_taken_under_the_login_id_rule_is_a_uniqueness_conflict(idp, demo):
    resp = idp("POST", "/Users", new_user("CAROL@acme.example"))
    assert resp.status_code == 409 and resp.json["scimType"] == "uniqueness"
    first = idp("POST", "/Users", new_user("new@example.test")).json
    rename = idp(
        "PATCH", f"/Users/{first['id']}", patch({"op": "replace", "path": "userName", "value": "Bob@Acme.example"})
    )
    assert rename.status_code == 409 and rename.json["scimType"] == "uniqueness"


def test_an_email_is_required(idp):
    resp = idp("POST", "/Users", {"schemas": [USER_SCHEMA], "userName": "noemail"})
    assert resp.status_code == 400 and resp.json["scimType"] == "invalidValue"


def test_attributes_and_excluded_attributes(idp):
    made = idp("POST", "/Users", new_user("attr@example.test", name={"givenName": "A"})).json
    only = idp("GET", f"/Users/{made['id']}?attributes=name").json
    assert set(only) == {"schemas", "id", "name"}
    without = idp("GET", f"/Users/{made['id']}?excludedAttributes=emails,name").json
    assert "emails" not in without and "name" not in without and without["userName"] == "attr@example.test"


def test_filters_run_in_the_database(idp):
    ids = {}
    for login, emails, active in (
        ("f1@example.test", ("f1@example.test", "shared@example.test"), True),
        ("f2@example.test", ("f2@example.test",), False),
        ("F3@Example.test", ("f3@example.test",), True),
    ):
        ids[login] = idp("POST", "/Users", new_user(login, *emails, active=active, externalId=f"ext-{login}")).json[
            "id"
        ]

    def found(expression: str) -> set[str]:
        resp = idp("GET", "/Users", params=None) if not expression else None
        resp = idp("GET", "/Users?filter=" + expression.replace(" ", "%20").replace('"', "%22"))
        assert resp.status_code == 200, resp.text
        return {u["userName"] for u in resp.json["Resources"]}

    assert found('userName eq "f3@example.TEST"') == {"F3@Example.test"}
    assert found('emails.value eq "SHARED@example.test"') == {"f1@example.test"}  # not the primary one
    assert found('emails[value eq "f2@example.test"]') == {"f2@example.test"}
    assert found("active eq false") == {"f2@example.test"}
    assert found('active eq true and userName sw "f"') == {"f1@example.test", "F3@Example.test"}
    assert found('userName eq "f2@example.test" or externalId eq "ext-F3@Example.test"') == {
        "f2@example.test",
        "F3@Example.test",
    }
    assert found('not (userName co "f") and externalId pr') == set()
    assert found(f'id eq "{ids["f1@example.test"]}"') == {"f1@example.test"}
    assert found('externalId eq "EXT-f1@example.test"') == set()  # externalId is case-exact


@pytest.mark.parametrize(
    "expression",
    ["userName eq", 'title eq "x"', 'emails[type eq "work"]', "active gt true"],
)
def test_a_filter_that_cannot_run_is_invalid_filter(idp, expression):
    resp = idp("GET", "/Users?filter=" + expression.replace(" ", "%20").replace('"', "%22"))
    assert resp.status_code == 400 and resp.json["scimType"] == "invalidFilter", resp.json


def test_paging_by_start_index_and_count(idp):
    for n in range(5):
        idp("POST", "/Users", new_user(f"page{n}@example.test"))
    first = idp("GET", "/Users?startIndex=1&count=2").json
    rest = idp("GET", "/Users?startIndex=3&count=10").json
    assert first["totalResults"] == rest["totalResults"] == 5
    assert (first["itemsPerPage"], rest["itemsPerPage"], rest["startIndex"]) == (2, 3, 3)
    names = [u["userName"] for u in first["Resources"] + rest["Resources"]]
    assert names == [f"page{n}@example.test" for n in range(5)]
    assert idp("GET", "/Users?count=0").json["totalResults"] == 5
    search = idp(
        "POST",
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName sw "page"',
            "startIndex": 5,
            "count": 3,
        },
    )
    assert [u["userName"] for u in search.json["Resources"]] == ["page4@example.test"]


def test_if_match_guards_every_write(idp):
    made = idp("POST", "/Users", new_user("etag@example.test"))
    uid, v1 = made.json["id"], made.headers["etag"]
    changed = idp(
        "PATCH", f"/Users/{uid}", patch({"op": "replace", "path": "name.givenName", "value": "E"}), **{"If-Match": v1}
    )
    assert changed.status_code == 200 and changed.headers["etag"] == 'W/"2"'
    stale = idp("PUT", f"/Users/{uid}", new_user("etag@example.test"), **{"If-Match": v1})
    assert stale.status_code == 412 and stale.json["status"] == "412"
    assert idp("DELETE", f"/Users/{uid}", **{"If-Match": v1}).status_code == 412
    assert idp("GET", f"/Users/{uid}").json["name"] == {"givenName": "E"}  # the stale writes changed nothing
    replaced = idp("PUT", f"/Users/{uid}", new_user("etag@example.test"), **{"If-Match": 'W/"2"'})
    assert replaced.status_code == 200 and "name" not in replaced.json  # PUT replaces whole
    assert idp("DELETE", f"/Users/{uid}", **{"If-Match": "*"}).status_code == 204


def test_patch_changes_emails_names_phones_and_user_name(idp, client, auth, demo):
    uid = user_id(idp, "carol@acme.example")
    resp = idp(
        "PATCH",
        f"/Users/{uid}",
        patch(
            {"op": "add", "path": "emails", "value": [{"value": "carol@home.example", "type": "home"}]},
            {"op": "replace", "path": "name", "value": {"givenName": "Carol", "familyName": "Cole"}},
            {
                "op": "replace",
                "path": "phoneNumbers",
                "value": [{"value": "+1 555 0100", "type": "work", "primary": True}],
            },
            {"op": "replace", "path": "userName", "value": "carol.cole@acme.example"},
        ),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json
    assert [e["value"] for e in body["emails"]] == ["carol@acme.example", "carol@home.example"]
    assert body["phoneNumbers"] == [{"value": "+1 555 0100", "type": "work", "primary": True}]
    person = Person.by_key("carol.cole@acme.example")
    assert (person.first_name, person.last_name, person.phone) == ("Carol", "Cole", "+1 555 0100")
    seq = int(resp.headers["x-change-seq"])
    assert check(client, auth, "carol.cole@acme.example", "1001", seq=seq)["allowed"] is True  # renamed, still a member
    assert check(client, auth, "carol@acme.example", "1001", seq=seq)["reason"]["code"] == "unknown_user"
    removed = idp("PATCH", f"/Users/{uid}", patch({"op": "remove", "path": 'emails[value eq "carol@home.example"]'}))
    assert [e["value"] for e in removed.json["emails"]] == ["carol@acme.example"]
    required = idp("PATCH", f"/Users/{uid}", patch({"op": "remove", "path": "emails"}))
    assert required.status_code == 400 and required.json["scimType"] == "mutability"


# -- deprovisioning ------------------------------------------------------------------


def test_deactivation_denies_every_check_at_once_and_reactivation_restores(idp, client, auth, demo):
    assert check(client, auth, "Dana.Diaz", "1001", "view_reports")["allowed"] is True  # cached now
    uid = user_id(idp, "dana.diaz")
    off = idp("PATCH", f"/Users/{uid}", patch({"op": "replace", "value": {"active": False}}))
    assert off.status_code == 200 and off.json["active"] is False
    seq = int(off.headers["x-change-seq"])
    for site in ("1001", "2002", "9999"):  # member, member, no such site
        answer = check(client, auth, "Dana.Diaz", site, "view_reports", seq=seq)
        assert (answer["allowed"], answer["reason"]["code"]) == (False, "identity_inactive")
        assert answer["change_seq"] >= seq
    who = client.simulate_get("/v1/sites/1001/actions/view_reports/members", headers=auth).json["members"]
    assert "Dana.Diaz" not in {m["user"] for m in who} and who  # who can: not an inactive person
    members = client.simulate_get("/v1/sites/2002/members", headers=_admin(client, "erin@globex.example")).json
    dana = next(m for m in members["members"] if m["login_id"] == "Dana.Diaz")
    assert dana["active"] is False and dana["role"] == "secondary"  # kept for the record
    on = idp("PATCH", f"/Users/{uid}", patch({"op": "replace", "path": "active", "value": True}))
    assert check(client, auth, "Dana.Diaz", "1001", "view_reports", seq=int(on.headers["x-change-seq"]))["allowed"]


def test_an_inactive_person_acts_nowhere(idp, client, demo):
    uid = user_id(idp, "bob@acme.example")
    idp("PATCH", f"/Users/{uid}", patch({"op": "replace", "path": "active", "value": False}))
    resp = client.simulate_get("/v1/sites/1001/members", headers=_admin(client, "bob@acme.example"))
    assert resp.status_code == 404  # as for a site they are not a member of
    asked = client.simulate_post("/v1/sites/2002/access-requests", json={}, headers=_admin(client, "bob@acme.example"))
    assert asked.status_code == 422


def test_the_user_check_asks_the_identity_source_and_an_inactive_identity_cannot_be_added(idp, client, demo):
    alice = _admin(client, "alice@acme.example")
    idp("POST", "/Users", new_user("newhire@acme.example"))
    gone = idp("POST", "/Users", new_user("leaver@acme.example", active=False))
    assert gone.status_code == 201
    seen = {
        login: client.simulate_get(f"/v1/sites/1001/identities/{login}", headers=alice).json
        for login in ("newhire@acme.example", "leaver@acme.example", "nobody@acme.example", "carol@acme.example")
    }
    assert [(s["status"], s["known"], s["member"]) for s in seen.values()] == [
        ("known", True, False),
        ("inactive", False, False),
        ("unknown", False, False),
        ("known", True, True),
    ]
    body = {
        "login_id": "leaver@acme.example",
        "email": "leaver@acme.example",
        "business_justification": "x",
        "role": "user",
    }
    refused = client.simulate_post("/v1/sites/1001/members", json=body, headers=alice)
    assert refused.status_code == 422 and "inactive" in refused.json["message"]
    body["login_id"] = body["email"] = "newhire@acme.example"
    assert client.simulate_post("/v1/sites/1001/members", json=body, headers=alice).status_code == 201


def test_a_primary_contact_is_deactivated_but_not_deleted(idp, client, operator_headers, demo):
    uid = user_id(idp, "alice@acme.example")
    refused = idp("DELETE", f"/Users/{uid}")
    assert refused.status_code == 409 and "1001" in refused.json["detail"] and "transfer" in refused.json["detail"]
    assert idp("PATCH", f"/Users/{uid}", patch({"op": "replace", "path": "active", "value": False})).status_code == 200
    sites = {s["number"]: s for s in client.simulate_get("/v1/sites", headers=operator_headers).json["sites"]}
    assert sites["1001"]["needs_new_primary"] is True and sites["2002"]["needs_new_primary"] is False
    refusal = AuditRecord.select().where(AuditRecord.action == "delete_identity").get()
    assert refusal.outcome == "refused" and refusal.actor.startswith("key:")


def test_delete_removes_memberships_closes_requests_and_frees_the_login(idp, client, auth, demo):
    frank = _admin(client, "frank@globex.example")
    asked = client.simulate_post("/v1/sites/1001/access-requests", json={}, headers=frank)
    assert asked.status_code == 201
    uid = user_id(idp, "frank@globex.example")
    gone = idp("DELETE", f"/Users/{uid}")
    assert gone.status_code == 204
    seq = int(gone.headers["x-change-seq"])
    assert check(client, auth, "frank@globex.example", "2002", seq=seq)["reason"]["code"] == "unknown_user"
    assert idp("GET", f"/Users/{uid}").status_code == 404
    request = AccessRequest.get_by_id(asked.json["id"])
    assert (request.status, request.deny_reason, request.decided_by) == ("denied", "requestor_unknown", _key_actor())
    trail = {
        (r.action, r.site_number) for r in AuditRecord.select().where(AuditRecord.target == "frank@globex.example")
    }
    assert {("remove_user", "2002"), ("close_access_request", "1001"), ("delete_identity", None)} <= trail
    again = idp("POST", "/Users", new_user("frank@globex.example"))  # a new identity with the freed login id
    assert again.status_code == 201 and again.json["id"] != uid
    assert (
        check(client, auth, "frank@globex.example", "2002", seq=int(again.headers["x-change-seq"]))["reason"]["code"]
        == "no_membership"
    )


def test_every_change_is_audited_as_the_key(idp, scim_key):
    made = idp("POST", "/Users", new_user("audit@example.test")).json
    idp("PATCH", f"/Users/{made['id']}", patch({"op": "replace", "path": "active", "value": False}))
    idp("DELETE", f"/Users/{made['id']}")
    key_actor = "key:" + scim_key.split("_")[1]
    records = list(AuditRecord.select().where(AuditRecord.target == "audit@example.test").order_by(AuditRecord.seq))
    assert [(r.action, r.actor) for r in records] == [
        ("provision_identity", key_actor),
        ("deactivate_identity", key_actor),
        ("delete_identity", key_actor),
    ]


def _key_actor() -> str:
    return AuditRecord.select().where(AuditRecord.action == "delete_identity").get().actor


def _admin(client, login: str) -> dict:
    return {"Authorization": f"Bearer {client.admin_key}", "X-Acting-User": login}


@pytest.fixture(autouse=True)
def _keys(client, database):
    """Keys made before the first request: the worker reads its key ring once."""
    client.admin_key = create_key("console", "admin")[0]
