"""Health, readiness, metrics, error shapes."""

from models.db import db


def test_readiness_reports_policy_and_database(client, policy_table):
    resp = client.simulate_get("/readyz")
    assert resp.status_code == 200
    assert resp.json == {"ready": True, "database": "ok", "policy_version": policy_table.version}


def test_not_ready_when_schema_is_behind(client, database):
    from models.migrate import migrate
    migrate("0000")
    resp = client.simulate_get("/readyz")
    assert resp.status_code == 503 and resp.json["ready"] is False


def test_metrics_count_decisions(client, auth, demo):
    def allowed_count():
        text = client.simulate_get("/metrics").text
        line = next(l for l in text.splitlines() if l.startswith('authz_decisions_total{allowed="true"}'))
        return float(line.split()[-1])
    before = allowed_count()
    client.simulate_post("/v1/check", json={"user": "alice@acme.example", "site": "1001", "action": "add_user"},
                         headers=auth)
    assert allowed_count() == before + 1


def test_unknown_route_and_method_use_the_error_shape(client, auth):
    resp = client.simulate_get("/v1/nope", headers=auth)
    assert resp.status_code == 404 and resp.json["error"] == "not_found"
    resp = client.simulate_get("/v1/check", headers=auth)
    assert resp.status_code == 405


def test_database_failure_is_503_never_a_decision(client, auth, demo, service):
    body = {"user": "ghost@example.test", "site": "1001", "action": "view_reports"}
    db.execute_sql("DROP TABLE membership_level")  # the lookup now fails inside the database
    resp = client.simulate_post("/v1/check", json=body, headers=auth)
    assert resp.status_code == 503
    assert "allowed" not in resp.json
