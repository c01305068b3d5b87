"""Reading a site's audit trail: primary and secondaries with manage-access view only."""

import pytest

from authz.keys import create_key


@pytest.fixture
def admin(database):
    key = create_key("console", "admin")[0]
    return lambda login: {"Authorization": f"Bearer {key}", "X-Acting-User": login}


def change_carol(client, admin, level):
    resp = client.simulate_patch("/v1/sites/1001/members/carol@acme.example", headers=admin("alice@acme.example"),
                                 json={"levels": {"reporting": level}})
    assert resp.status_code == 200


def test_primary_reads_changes_with_before_and_after_newest_first(client, admin, demo):
    change_carol(client, admin, "none")
    change_carol(client, admin, "view")
    resp = client.simulate_get("/v1/sites/1001/audit", headers=admin("alice@acme.example"))
    assert resp.status_code == 200
    first, second = resp.json["records"][:2]
    assert first["seq"] > second["seq"]
    assert (first["action"], first["actor"], first["target"], first["outcome"]) == (
        "update_user", "alice@acme.example", "carol@acme.example", "done")
    assert first["before"]["levels"]["reporting"] == "none" and first["after"]["levels"]["reporting"] == "view"


def test_pages_follow_next_before(client, admin, demo):
    for level in ("none", "view", "none", "view"):
        change_carol(client, admin, level)
    seen, before = [], None
    while True:
        params = {"limit": 3, **({"before": before} if before else {})}
        page = client.simulate_get("/v1/sites/1001/audit", params=params, headers=admin("alice@acme.example")).json
        seen += [r["seq"] for r in page["records"]]
        if page["next_before"] is None:
            break
        before = page["next_before"]
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) >= 4


def test_a_secondary_with_manage_access_view_may_read(client, admin, demo):
    assert client.simulate_get("/v1/sites/2002/audit", headers=admin("Dana.Diaz")).status_code == 200


def test_a_user_may_not_and_the_refusal_is_itself_audited(client, admin, demo):
    resp = client.simulate_get("/v1/sites/1001/audit", headers=admin("carol@acme.example"))
    assert resp.status_code == 403
    records = client.simulate_get("/v1/sites/1001/audit", headers=admin("alice@acme.example")).json["records"]
    assert (records[0]["action"], records[0]["actor"], records[0]["outcome"]) == (
        "view_audit", "carol@acme.example", "refused")


def test_another_site_is_not_found(client, admin, demo):
    other = client.simulate_get("/v1/sites/2002/audit", headers=admin("bob@acme.example"))
    missing = client.simulate_get("/v1/sites/4040/audit", headers=admin("bob@acme.example"))
    assert other.status_code == missing.status_code == 404
    assert other.json["error"] == missing.json["error"] == "not_found"
