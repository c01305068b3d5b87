"""The acting person proven (X-Acting-Token): an admin key plus a real token from the
provider acts as the token's person; every bad token is one 401; the token and
X-Acting-User must agree; AUTHZ_REQUIRE_ACTING_TOKEN refuses X-Acting-User alone."""

from __future__ import annotations

import time

import pytest

from authz.audit import trail
from authz.authn.acting import DISAGREE, REFUSED, REQUIRED
from authz.authn.keys import create_key
from tests.authz.authn import forge
from tests.integration.server import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite only. Who acts is decided before any storage is reached; the operations reached run on both
    backends in their own tests."""
    return f"sqlite:///{tmp_path}/authz.db"


NEW_MEMBER = {
    "login_id": "frank@globex.example",
    "email": "frank@globex.example",
    "business_justification": "Runs the Globex-Acme integration",
    "role": "user",
    "levels": {"reporting": "view"},
}
INVALID = {"error": "invalid_token", "message": REFUSED}


@pytest.fixture
def admin(database) -> dict:
    return {"Authorization": f"Bearer {create_key('console', 'admin')[0]}"}


@pytest.fixture
def api(oidc_app, demo):
    return oidc_app()


def as_token(admin: dict, token: str, **more: str) -> dict:
    return {**admin, "X-Acting-Token": token, **more}


def test_a_token_acts_as_its_person(api, admin, oidc):
    token = oidc.token_for("bob@acme.example")
    resp = api.simulate_get("/v1/me", headers=as_token(admin, token))
    assert resp.status_code == 200, resp.json
    assert resp.json["login_id"] == "bob@acme.example"


def test_an_id_token_of_the_console_client_acts_too(api, admin, oidc):
    token = oidc.token_for("alice@acme.example", kind="id")
    resp = api.simulate_get("/v1/sites/1001/members", headers=as_token(admin, token))
    assert resp.status_code == 200


def test_a_change_made_with_a_token_is_audited_as_its_person(api, admin, oidc):
    token = oidc.token_for("alice@acme.example")
    resp = api.simulate_post("/v1/sites/1001/members", json=NEW_MEMBER, headers=as_token(admin, token))
    assert resp.status_code == 201, resp.json
    [entry] = [e for e in trail.page("1001", limit=50) if e["action"] == "add_user"]
    assert entry["actor"] == "alice@acme.example"


def test_the_policy_still_decides_for_the_proven_person(api, admin, oidc):
    """Carol (a plain user; her login id from her email) may not add members; Mallory,
    known to the provider but to no site, sees site 1001 as absent."""
    carol = oidc.token_for("carol@acme.example")
    assert (
        api.simulate_post("/v1/sites/1001/members", json=NEW_MEMBER, headers=as_token(admin, carol)).status_code == 403
    )
    mallory = oidc.token_for("mallory@evil.example")
    assert api.simulate_get("/v1/sites/1001/members", headers=as_token(admin, mallory)).status_code == 404


def test_matching_x_acting_user_is_accepted_case_folded(api, admin, oidc):
    token = oidc.token_for("Dana.Diaz")
    resp = api.simulate_get("/v1/me", headers=as_token(admin, token, **{"X-Acting-User": "dana.diaz"}))
    assert resp.status_code == 200
    assert resp.json["login_id"] == "Dana.Diaz"


def test_x_acting_user_naming_another_person_is_refused_and_changes_nothing(api, admin, oidc):
    token = oidc.token_for("carol@acme.example")  # a plain user, trying to borrow Alice's rights
    headers = as_token(admin, token, **{"X-Acting-User": "alice@acme.example"})
    resp = api.simulate_post("/v1/sites/1001/members", json=NEW_MEMBER, headers=headers)
    assert resp.status_code == 401
    assert resp.json == {"error": "invalid_token", "message": DISAGREE}
    members = api.simulate_get("/v1/sites/1001/members", headers={**admin, "X-Acting-User": "alice@acme.example"})
    assert "frank@globex.example" not in {m["login_id"] for m in members.json["members"]}


def _minted(claims):
    def make(idp):
        now = int(time.time())
        return idp.mint({k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()})

    return make


BAD = {
    "tampered": lambda idp: forge.tampered(
        idp.token_for("carol@acme.example"), preferred_username="alice@acme.example"
    ),
    "expired": _minted({"sub": "a", "preferred_username": "alice@acme.example", "exp": -300}),
    "not yet valid": _minted({"sub": "a", "preferred_username": "alice@acme.example", "nbf": 600}),
    "wrong issuer": _minted(
        {"sub": "a", "preferred_username": "alice@acme.example", "iss": "https://idp.evil.example"}
    ),
    "wrong audience": _minted({"sub": "a", "preferred_username": "alice@acme.example", "aud": "urn:other:api"}),
    "unsigned": lambda idp: forge.unsigned(idp, "alice@acme.example"),
    "hmac with the public key": lambda idp: forge.hmac_with_public_key(idp, "alice@acme.example"),
    "unknown key id": lambda idp: forge.random_kid(idp, "alice@acme.example"),
    "no login claim": _minted({"sub": "a"}),
    "empty": lambda idp: "",
}


@pytest.mark.parametrize("make", BAD.values(), ids=BAD.keys())
def test_every_bad_token_is_one_401(api, admin, oidc, make):
    resp = api.simulate_get("/v1/sites/1001/members", headers=as_token(admin, make(oidc)))
    assert resp.status_code == 401
    assert resp.json == INVALID
    assert resp.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_bad_token_is_refused_even_with_a_good_x_acting_user(api, admin, oidc):
    headers = as_token(admin, forge.unsigned(oidc, "alice@acme.example"), **{"X-Acting-User": "alice@acme.example"})
    assert api.simulate_get("/v1/sites/1001/members", headers=headers).json == INVALID


def test_a_token_is_no_key(api, oidc):
    """A token is taken only alongside an admin key: alone it opens nothing."""
    token = oidc.token_for("alice@acme.example")
    resp = api.simulate_get("/v1/sites/1001/members", headers={"X-Acting-Token": token})
    assert resp.status_code == 401
    assert resp.json["error"] == "unauthenticated"


def test_x_acting_user_alone_still_works_unless_a_token_is_required(oidc_app, demo, admin, oidc):
    alone = {**admin, "X-Acting-User": "alice@acme.example"}
    assert oidc_app().simulate_get("/v1/sites/1001/members", headers=alone).status_code == 200

    strict = oidc_app(require_acting_token=True)
    resp = strict.simulate_get("/v1/sites/1001/members", headers=alone)
    assert resp.status_code == 401
    assert resp.json == {"error": "invalid_token", "message": REQUIRED}
    assert strict.simulate_get("/v1/sites/1001/members", headers=admin).status_code == 401
    token = oidc.token_for("alice@acme.example")
    assert strict.simulate_get("/v1/sites/1001/members", headers=as_token(admin, token)).status_code == 200


def test_required_tokens_leave_operator_and_check_keys_alone(oidc_app, demo, oidc, operator_headers, auth):
    strict = oidc_app(require_acting_token=True)
    assert strict.simulate_get("/v1/contacts/overdue", headers=operator_headers).status_code == 200
    body = {"user": "carol@acme.example", "site": "1001", "action": "download_software"}
    assert strict.simulate_post("/v1/check", json=body, headers=auth).json["allowed"] is True


def test_without_openid_connect_a_token_is_refused(client, demo, admin, oidc):
    """OpenID Connect off: a token cannot be verified, so it proves nothing (401), while
    X-Acting-User alone works as before."""
    token = oidc.token_for("alice@acme.example")
    resp = client.simulate_get("/v1/sites/1001/members", headers=as_token(admin, token))
    assert (resp.status_code, resp.json) == (401, INVALID)
    alone = {**admin, "X-Acting-User": "alice@acme.example"}
    assert client.simulate_get("/v1/sites/1001/members", headers=alone).status_code == 200


def test_an_unreachable_provider_is_503_not_a_decision(oidc_app, demo, admin, oidc):
    api = oidc_app(issuer=f"http://127.0.0.1:{free_port()}")
    token = oidc.token_for("alice@acme.example")
    resp = api.simulate_get("/v1/sites/1001/members", headers=as_token(admin, token))
    assert resp.status_code == 503
    assert resp.json["error"] == "identity_provider_unavailable"
    assert resp.headers["Retry-After"] == "1"


def test_the_document_describes_the_token_header(client):
    document = client.simulate_get("/openapi.json").json
    parameters = document["paths"]["/v1/sites/{site}/members"]["get"]["parameters"]
    assert {"X-Acting-User", "X-Acting-Token"} <= {p["name"] for p in parameters}
    assert "X-Acting-Token" not in str(document["paths"]["/v1/check"])
