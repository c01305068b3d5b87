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


def test_a_newline_in_the_path_is_refused_before_anything_is_recorded(client, acting_as, demo):
    from models.audit import AuditHead

    head = AuditHead.get().seq
    for method, path in (
        ("GET", "/v1/sites/1001%0AINFO%20forged/members"),
        ("DELETE", "/v1/sites/1001/members/carol%0Ax@acme.example"),
    ):
        resp = client.simulate_request(method, path, headers=acting_as("carol@acme.example"))
        assert resp.status_code == 400 and "not printable" in resp.json["message"]
    assert AuditHead.get().seq == head


def test_the_json_trail_escapes_what_a_record_holds(client, acting_as, demo):
    """Even a record holding raw control characters (stored before they were refused)
    reaches the caller as JSON, where they are escapes: no raw byte below 0x20."""
    from models.audit import AuditRecord
    from models.db import db

    change_carol(client, acting_as, "none")
    newest = AuditRecord.select().where(AuditRecord.site_number == "1001").order_by(AuditRecord.seq.desc()).first()
    db.execute_sql(
        f"UPDATE audit_record SET detail = {db.obj.param} WHERE seq = {db.obj.param}", ("a\nb\x1b[2J\u2028", newest.seq)
    )
    resp = client.simulate_get("/v1/sites/1001/audit", headers=acting_as("alice@acme.example"))
    assert resp.status_code == 200
    assert not any(byte < 0x20 for byte in resp.content)
    assert resp.json["records"][0]["detail"] == "a\nb\x1b[2J\u2028"


def test_a_page_of_the_most_records_allowed_is_answered(client, acting_as, demo):
    """?limit=500 (the document's maximum) was a 400: the page asked the trail for 501 records."""
    change_carol(client, acting_as, "none")
    resp = client.simulate_get("/v1/sites/1001/audit", params={"limit": 500}, headers=acting_as("alice@acme.example"))
    assert resp.status_code == 200 and resp.json["records"] and resp.json["next_before"] is None
