"""Reading a site's audit trail: primary and secondaries with manage-access view only."""


def change_carol(client, acting_as, level):
    resp = client.simulate_patch(
        "/v1/sites/1001/members/carol@acme.example",
        headers=acting_as("alice@acme.example"),
        json={"levels": {"reporting": level}},
    )
    assert resp.status_code == 200


def test_primary_reads_changes_with_before_and_after_newest_first(client, acting_as, demo):
    change_carol(client, acting_as, "none")
    change_carol(client, acting_as, "view")
    resp = client.simulate_get("/v1/sites/1001/audit", headers=acting_as("alice@acme.example"))
    assert resp.status_code == 200
    first, second = resp.json["records"][:2]
    assert first["seq"] > second["seq"]
    assert (first["action"], first["actor"], first["target"], first["outcome"]) == (
        "update_user",
        "alice@acme.example",
        "carol@acme.example",
        "done",
    )
    assert first["before"]["levels"]["reporting"] == "none" and first["after"]["levels"]["reporting"] == "view"


def test_pages_follow_next_before(client, acting_as, demo):
    for level in ("none", "view", "none", "view"):
        change_carol(client, acting_as, level)
    seen, before = [], None
    while True:
        params = {"limit": 3, **({"before": before} if before else {})}
        page = client.simulate_get("/v1/sites/1001/audit", params=params, headers=acting_as("alice@acme.example")).json
        seen += [r["seq"] for r in page["records"]]
        if page["next_before"] is None:
            break
        before = page["next_before"]
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) >= 4


def test_a_secondary_with_manage_access_view_may_read(client, acting_as, demo):
    assert client.simulate_get("/v1/sites/2002/audit", headers=acting_as("Dana.Diaz")).status_code == 200


def test_a_user_may_not_and_the_refusal_is_itself_audited(client, acting_as, demo):
    resp = client.simulate_get("/v1/sites/1001/audit", headers=acting_as("carol@acme.example"))
    assert resp.status_code == 403
    records = client.simulate_get("/v1/sites/1001/audit", headers=acting_as("alice@acme.example")).json["records"]
    assert (records[0]["action"], records[0]["actor"], records[0]["outcome"]) == (
        "view_audit",
        "carol@acme.example",
        "refused",
    )


def test_another_site_is_not_found(client, acting_as, demo):
    other = client.simulate_get("/v1/sites/2002/audit", headers=acting_as("bob@acme.example"))
    missing = client.simulate_get("/v1/sites/4040/audit", headers=acting_as("bob@acme.example"))
    assert other.status_code == missing.status_code == 404
    assert other.json["error"] == missing.json["error"] == "not_found"
