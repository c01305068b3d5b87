"""API keys: hashed at rest, constant body on every failure, scopes, revocation."""

import pytest

from authz.authn.keys import create_key, list_keys, revoke_key
from models.schema import ApiKey

BODY = {"user": "carol@acme.example", "site": "1001", "action": "download_software"}


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer azk_000000000000_secret",
    ],
)
def test_missing_unknown_or_malformed_key_is_401_with_one_body(client, demo, header):
    headers = {"Authorization": header} if header is not None else {}
    resp = client.simulate_post("/v1/check", json=BODY, headers=headers)
    assert resp.status_code == 401
    assert resp.json == {
        "error": "unauthenticated",
        "message": "a valid API key is required (Authorization: Bearer <key>)",
    }
    assert resp.headers["WWW-Authenticate"] == "Bearer"


def test_wrong_secret_for_a_real_key_id_is_401_with_the_same_body(client, demo, check_key):
    prefix, key_id, _ = check_key.split("_", 2)
    resp = client.simulate_post("/v1/check", json=BODY, headers={"Authorization": f"Bearer {prefix}_{key_id}_wrong"})
    assert resp.status_code == 401
    assert resp.json["error"] == "unauthenticated"


def test_key_is_stored_only_hashed(database, check_key):
    secret = check_key.split("_", 2)[2]
    row = ApiKey.get()
    assert secret not in (row.secret_hash, row.key_id, row.name)
    assert len(row.secret_hash) == 64


def test_revoked_key_stops_working_without_restart(client, demo, check_key, service):
    auth = {"Authorization": f"Bearer {check_key}"}
    assert client.simulate_post("/v1/check", json=BODY, headers=auth).status_code == 200
    revoke_key(check_key.split("_", 2)[1])
    service._runtime.feed.refresh(at_least=service._runtime.feed.seq + 1)  # what the next poll does
    assert client.simulate_post("/v1/check", json=BODY, headers=auth).status_code == 401


def test_a_verified_key_does_not_vouch_for_another_secret(client, demo, check_key):
    prefix, key_id, secret = check_key.split("_", 2)
    good = {"Authorization": f"Bearer {check_key}"}
    assert client.simulate_post("/v1/check", json=BODY, headers=good).status_code == 200
    for forged in (f"Bearer {prefix}_{key_id}_{secret[:-1]}", f"Bearer {prefix}_{key_id}_{secret}x"):
        resp = client.simulate_post("/v1/check", json=BODY, headers={"Authorization": forged})
        assert resp.status_code == 401


def test_the_map_of_verified_headers_is_bounded(client, demo, check_key, service):
    from authz.authn.keys import KeyRing

    for spaces in range(1, KeyRing.VERIFIED_MAX + 10):  # every spelling verifies, each once
        header = "Bearer" + " " * spaces + check_key
        assert service._runtime.keys.verify(header).scope == "check"
    assert len(service._runtime.keys._verified) <= KeyRing.VERIFIED_MAX


def test_scope_limits_routes(client, demo):
    policy_key, _ = create_key("reloader", "policy")
    resp = client.simulate_post("/v1/check", json=BODY, headers={"Authorization": f"Bearer {policy_key}"})
    assert resp.status_code == 403
    assert client.simulate_get("/v1/policy", headers={"Authorization": f"Bearer {policy_key}"}).status_code == 200


def test_unknown_scope_is_refused(database):
    from authz.errors import InvalidInput

    with pytest.raises(InvalidInput):
        create_key("x", "root")
    assert list_keys() == []


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json"])
def test_operational_routes_need_no_key(client, path):
    assert client.simulate_get(path).status_code == 200


def test_key_creation_and_revocation_are_audited_without_the_secret(database):
    from authz.audit import trail

    plaintext, row = create_key("billing", "check")
    revoke_key(row.key_id)
    revoked, created = trail.page_all(limit=2)
    assert (created["action"], created["target"], created["after"]) == (
        "create_api_key",
        f"key:{row.key_id}",
        {"name": "billing", "scope": "check"},
    )
    assert (revoked["action"], revoked["after"]) == ("revoke_api_key", {"revoked": True})
    secret = plaintext.split("_", 2)[2]
    assert all(secret not in str(record) for record in (created, revoked))
    assert trail.verify().ok
